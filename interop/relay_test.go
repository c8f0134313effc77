package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/wire"
)

// A js-waku relay node (default stack: websocket, noise, mplex) and an rlnd
// relay with the RLN validator exchange messages both ways on
// /waku/2/rs/42/<shard>: rlnd's reach js-waku's subscription, and js-waku's
// (carrying proofs made here, as js-waku's own RLN is v1) pass rlnd's
// validation and are delivered; one with a broken proof is not.
func TestJSWakuRelayBothWays(t *testing.T) {
	t.Parallel()
	const cluster, numShards = 42, 8
	const contentTopic = "/rlnd/1/interop-relay/proto"

	dir := artefacts.DefaultDir()
	prover, err := rln.LoadProver(dir, rln.WakuRLNIdentifier)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := prover.Verifier()
	if err != nil {
		t.Fatal(err)
	}
	member := relay.Member{Identity: rln.IdentityFromSeed([]byte("interop relay member")), Index: 0, UserMessageLimit: 20}
	group, err := membership.NewStaticGroup([]fr.Element{member.Identity.RateCommitment(member.UserMessageLimit)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	nd, cfg := startRlndNode(t, cluster, numShards, group, verifier)
	h, r := nd.Host(), nd.Relay()
	pp := relay.ProofParams{EpochPeriod: cfg.RLN.EpochPeriod, Signal: rln.SignalTimestamped}
	sub := r.Subscribe()
	topic, err := r.TopicFor(contentTopic)
	if err != nil {
		t.Fatal(err)
	}
	var shard uint32
	if _, err := fmt.Sscanf(topic, fmt.Sprintf("/waku/2/rs/%d/%%d", cluster), &shard); err != nil {
		t.Fatal(err)
	}

	js := startWaku(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	started, err := js.Start(ctx, WakuStart{Peer: wsAddr(t, h), ClusterID: cluster, Shards: []uint32{shard}, Mode: "relay", WaitFor: "mesh"})
	if err != nil {
		t.Fatal(err)
	}
	jsID, err := peer.Decode(started.PeerID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Subscribe(ctx, contentTopic, topic); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, 20*time.Second, "js-waku in rlnd's mesh of "+topic, func() bool { return contains(r.PubSub().MeshPeers(topic), jsID) })

	prove := func(payload string, ms int64, messageID uint64) []byte {
		m := wire.NewMessage(contentTopic, []byte(payload), ms*1_000_000)
		if _, err := relay.AttachProof(prover, group, member, pp, m, messageID); err != nil {
			t.Fatal(err)
		}
		return m.RateLimitProof
	}

	// rlnd -> js-waku.
	now := time.Now().UnixMilli()
	out := wire.NewMessage(contentTopic, []byte("from rlnd"), now*1_000_000)
	out.RateLimitProof = prove("from rlnd", now, 0)
	if _, sent, err := r.Publish(topic, out); err != nil || sent == 0 {
		t.Fatalf("rlnd publish: sent to %d peers, %v", sent, err)
	}
	for got := false; !got; {
		select {
		case ev := <-js.Events():
			got = ev.Event == "message" && string(ev.Payload) == "from rlnd" && ev.ContentTopic == contentTopic && ev.PubsubTopic == topic
		case <-ctx.Done():
			t.Fatalf("js-waku did not receive rlnd's message; stderr:\n%s", js.Stderr())
		}
	}

	// js-waku -> rlnd, with a valid proof, then with a broken one.
	now = time.Now().UnixMilli()
	sent, err := js.Send(ctx, WakuSend{ContentTopic: contentTopic, PubsubTopic: topic, Payload: []byte("from js-waku"), TimestampMs: now, RateLimitProof: prove("from js-waku", now, 1)})
	if err != nil || !sent.OK {
		t.Fatalf("js-waku send: %+v %v", sent, err)
	}
	bad := prove("broken", now, 2)
	p, err := rln.UnmarshalRateLimitProof(bad)
	if err != nil {
		t.Fatal(err)
	}
	p.ShareY.SetUint64(7)
	if sent, err := js.Send(ctx, WakuSend{ContentTopic: contentTopic, PubsubTopic: topic, Payload: []byte("broken"), TimestampMs: now, RateLimitProof: p.Marshal()}); err != nil || !sent.OK {
		t.Fatalf("js-waku send: %+v %v", sent, err)
	}
	for {
		select {
		case env := <-sub.C():
			if env.Local {
				continue
			}
			if string(env.Message.GetPayload()) == "broken" {
				t.Fatal("rlnd delivered a message with a broken proof")
			}
			if string(env.Message.GetPayload()) != "from js-waku" || env.From != jsID || env.PubsubTopic != topic {
				t.Fatalf("rlnd got %v from %s on %s", env.Message, env.From, env.PubsubTopic)
			}
			// The broken one was judged and rejected, and counted against js-waku.
			testnet.WaitFor(t, 10*time.Second, "the broken proof to be rejected", func() bool { return r.PubSub().Stats().Rejected != 0 })
			return
		case <-ctx.Done():
			t.Fatalf("rlnd did not receive js-waku's message; stats %+v", r.PubSub().Stats())
		}
	}
}

func contains(ps []peer.ID, p peer.ID) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}
