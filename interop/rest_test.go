package interop

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/rest/client"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/wire"
)

// A js-waku relay node and rlnd's REST API see the same messages: one
// published through REST (its proof from the node's own membership in
// rln.keystore) reaches js-waku with the same payload, timestamp and
// proof that REST hands out; one js-waku publishes (with a proof made
// here) is handed out by REST as js-waku sent it.
func TestJSWakuAndRESTSeeTheSameMessages(t *testing.T) {
	t.Parallel()
	const cluster, numShards = 43, 8
	const contentTopic = "/rlnd/1/interop-rest/proto"

	prover, err := rln.LoadProver(artefacts.DefaultDir(), rln.WakuRLNIdentifier)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := prover.Verifier()
	if err != nil {
		t.Fatal(err)
	}
	// Two members: the node's own (in a keystore) and js-waku's.
	cred, err := membership.NewIdentityCredential(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	own, err := cred.Identity()
	if err != nil {
		t.Fatal(err)
	}
	jsMember := relay.Member{Identity: rln.IdentityFromSeed([]byte("interop rest js member")), Index: 1, UserMessageLimit: 20}
	group, err := membership.NewStaticGroup([]fr.Element{own.RateCommitment(20), jsMember.Identity.RateCommitment(20)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ks := filepath.Join(dir, "keystore.json")
	if _, err := membership.AddToFile(ks, membership.Membership{Contract: membership.Contract{ChainID: "0x539", Address: "0xa1C51e71CFb1dBB016dF743FD5dc48D62Ebb917B"},
		TreeIndex: 0, Identity: cred, UserMessageLimit: 20}, "pw", 2); err != nil {
		t.Fatal(err)
	}
	nd, cfg := startRlndNodeWith(t, cluster, numShards, group, verifier, func(o *node.Options) { o.Prover = prover }, func(c *config.Config) {
		c.REST.Enabled, c.REST.Address = true, "127.0.0.1:0"
		c.RLN.Keystore, c.RLN.KeystorePassword = ks, "pw"
		c.Node.DataDir = dir
	})
	rc, err := client.New("http://"+nd.RESTAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	topic, err := nd.Relay().TopicFor(contentTopic)
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
	started, err := js.Start(ctx, WakuStart{Peer: wsAddr(t, nd.Host()), ClusterID: cluster, Shards: []uint32{shard}, Mode: "relay", WaitFor: "mesh"})
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
	testnet.WaitFor(t, 20*time.Second, "js-waku in rlnd's mesh of "+topic, func() bool { return contains(nd.Relay().PubSub().MeshPeers(topic), jsID) })
	if err := restPost(ctx, rc, "/relay/v1/auto/subscriptions", []string{contentTopic}); err != nil {
		t.Fatal(err)
	}

	// REST -> js-waku.
	tsREST := time.Now().UnixNano()
	if err := restPost(ctx, rc, "/relay/v1/auto/messages", api.Message{Payload: base64.StdEncoding.EncodeToString([]byte("from REST")), ContentTopic: contentTopic, Timestamp: &tsREST}); err != nil {
		t.Fatal(err)
	}
	var seenByJS WakuEvent
	for got := false; !got; {
		select {
		case ev := <-js.Events():
			if ev.Event == "message" && string(ev.Payload) == "from REST" {
				seenByJS, got = ev, true
			}
		case <-ctx.Done():
			t.Fatalf("js-waku did not receive the message published through REST; stderr:\n%s", js.Stderr())
		}
	}

	// js-waku -> REST.
	nowMs := time.Now().UnixMilli()
	m := wire.NewMessage(contentTopic, []byte("from js-waku"), nowMs*1_000_000)
	if _, err := relay.AttachProof(prover, group, jsMember, relay.ProofParams{EpochPeriod: cfg.RLN.EpochPeriod, Signal: rln.SignalTimestamped}, m, 0); err != nil {
		t.Fatal(err)
	}
	if sent, err := js.Send(ctx, WakuSend{ContentTopic: contentTopic, PubsubTopic: topic, Payload: []byte("from js-waku"), TimestampMs: nowMs, RateLimitProof: m.RateLimitProof}); err != nil || !sent.OK {
		t.Fatalf("js-waku send: %+v %v", sent, err)
	}
	var fromREST []api.Message
	testnet.WaitFor(t, 30*time.Second, "REST to hand out both messages", func() bool {
		var page []api.Message
		if err := restGet(ctx, rc, "/relay/v1/auto/messages/"+client.Topic(contentTopic), &page); err != nil {
			t.Fatal(err)
		}
		fromREST = append(fromREST, page...)
		return len(fromREST) >= 2
	})
	if len(fromREST) != 2 {
		t.Fatalf("REST handed out %d messages, want 2: %+v", len(fromREST), fromREST)
	}
	byPayload := map[string]api.Message{}
	for _, msg := range fromREST {
		p, _ := base64.StdEncoding.DecodeString(msg.Payload)
		byPayload[string(p)] = msg
	}
	mine, theirs := byPayload["from REST"], byPayload["from js-waku"]
	if mine.Proof == "" || mine.Proof != base64.StdEncoding.EncodeToString(seenByJS.RateLimitProof) ||
		mine.Timestamp == nil || strconv.FormatInt(*mine.Timestamp, 10) != seenByJS.TimestampNs || *mine.Timestamp != tsREST || seenByJS.ContentTopic != mine.ContentTopic {
		t.Fatalf("REST's copy of its own message %+v differs from js-waku's %+v", mine, seenByJS)
	}
	if theirs.Proof != base64.StdEncoding.EncodeToString(m.RateLimitProof) || theirs.Timestamp == nil || *theirs.Timestamp != nowMs*1_000_000 || theirs.ContentTopic != contentTopic {
		t.Fatalf("REST's copy of js-waku's message %+v differs from what js-waku sent", theirs)
	}
}

// restPost and restGet call the REST API by path through the Go client's
// plain HTTP (the client's typed methods are tested in rest/client).
func restPost(ctx context.Context, c *client.Client, path string, in any) error {
	return c.Raw(ctx, "POST", path, in, nil)
}

func restGet(ctx context.Context, c *client.Client, path string, out any) error {
	return c.Raw(ctx, "GET", path, nil, out)
}
