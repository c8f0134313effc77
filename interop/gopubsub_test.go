package interop

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/interop/gopubsub"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
)

// Mixed networks of 5 rlnd nodes and 5 go-libp2p-pubsub nodes configured
// as go-waku (interop/gopubsub) on random links. The rlnd nodes validate
// with RLN; the go nodes with go-waku's validator without RLN (any
// well-formed WakuMessage), so what an rlnd node lets through the go nodes
// deliver: invalid messages have to be stopped by the rlnd node that
// receives them first.

// gpSeed fixes the links of the mixed networks: 14 links, 3 between rlnd
// nodes, 3 between go nodes and 8 mixed, and rlnd0 (the hostile peer's
// first hop) has 2 rlnd and 2 go neighbours.
const gpSeed = 8

// The memberships: every honest node proves with gpHonest (one member may
// publish from several nodes; its rate limit has room for all), the
// hostile peer with gpHostile.
const (
	gpHonest = iota
	gpHostile
	gpMembers
)

// gpPayloadSize is the payload of the test messages: their encoding is
// above both IDONTWANT thresholds (go-libp2p-pubsub v0.19.0's
// GossipSubIDontWantMessageThreshold, 1,024 bytes of message data, and
// rlnd's IDontWantMinSize, 512).
const gpPayloadSize = 2000

// TestGoPubsubMixedMeshsub11 runs the mixed network with the go nodes
// offering /vac/waku/relay/2.0.0 and /meshsub/1.1.0 (go-waku's list): no
// stream runs gossipsub v1.2, so the go nodes send no IDONTWANT, while rlnd
// sends it on Waku relay's id, as nwaku does.
func TestGoPubsubMixedMeshsub11(t *testing.T) {
	runGPMixed(t, gopubsub.ProtocolsV11)
}

// TestGoPubsubMixedMeshsub12 runs it with the go nodes offering
// /meshsub/1.2.0 first, then the relay id and /meshsub/1.1.0: their
// streams to rlnd run v1.2 and carry IDONTWANT.
func TestGoPubsubMixedMeshsub12(t *testing.T) {
	runGPMixed(t, gopubsub.ProtocolsV12)
}

// runGPMixed checks, on 5 rlnd and 5 go nodes on random links:
//
//	(a) every node's message (RLN-proved, 2 kB) is delivered by every node;
//	(c) a hostile go node linked to one rlnd node sends a valid message,
//	    a double signal of it, a proof that does not verify, a proof on an
//	    unknown root and a message without a proof: that rlnd node rejects
//	    the four (recovering the member's secret from the double signal),
//	    scores the sender negative and prunes it, and no node delivers
//	    them, while the valid one reaches everyone;
//	(d) IDONTWANT between the go and rlnd nodes: none without v1.2; with
//	    it, the go nodes send it on their /meshsub/1.2.0 streams to rlnd;
//	(b) and throughout, no go node scored an rlnd peer below zero.
func runGPMixed(t *testing.T, protos []protocol.ID) {
	start := time.Now()
	r := newGPRLN(t, gpMembers)
	n := newGPNet(t, r.group, r.verifier, 5, 5, protos)
	links := randomLinks(gpSeed, len(n.all), 5, 6)
	var desc []string
	for _, l := range links {
		desc = append(desc, n.all[l[0]].name+"-"+n.all[l[1]].name)
	}
	t.Logf("links: %v", desc)
	n.connect(t, links)
	t.Logf("network up after %v", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// (a)
	var msgs []gpMsg
	for _, nd := range n.all {
		m := r.message(t, n.topic, gpHonest, "from "+nd.name, gpPayloadSize)
		nd.publish(t, ctx, n.topic, m)
		msgs = append(msgs, m)
	}
	n.waitDelivered(t, 30*time.Second, "every node to deliver the message of every node (5 published by rlnd nodes, 5 by go nodes)", n.all, msgs...)
	t.Logf("(a) %d messages delivered by all %d nodes after %v", len(msgs), len(n.all), time.Since(start).Round(time.Millisecond))

	// (c)
	gpFirstHop(t, ctx, n, r, protos)
	t.Logf("(c) invalid messages stopped at the first hop after %v", time.Since(start).Round(time.Millisecond))

	// (d)
	v12 := slices.Contains(protos, protocol.ID("/meshsub/1.2.0"))
	var toRlnd, fromRlnd int
	for _, g := range n.goes {
		for _, rl := range n.rlnd {
			if g.gp.Host().Network().Connectedness(rl.ID()) != network.Connected {
				continue
			}
			tr := g.gp.Trace(rl.ID())
			in, out := g.gp.Streams(rl.ID())
			t.Logf("%s-%s: streams from rlnd %v, to rlnd %v; IDONTWANT sent %d (%d ids), received %d (%d ids)",
				g.name, rl.name, in, out, tr.IDontWantSent, tr.IDontWantSentIDs, tr.IDontWantReceived, tr.IDontWantReceivedIDs)
			toRlnd += tr.IDontWantSent
			fromRlnd += tr.IDontWantReceived
			if len(tr.SentAfterIDontWant) > 0 {
				t.Errorf("%s sent %s %d messages after it said IDONTWANT for them", g.name, rl.name, len(tr.SentAfterIDontWant))
			}
			// go-libp2p-pubsub sends IDONTWANT only on /meshsub/1.2.0 (go-waku's
			// feature test); rlnd sends it on Waku relay's id too, as nwaku does.
			if !v12 && tr.IDontWantSent > 0 {
				t.Errorf("%s sent %s IDONTWANT without gossipsub v1.2 (%d)", g.name, rl.name, tr.IDontWantSent)
			}
			// rlnd offers /meshsub/1.2.0 first: with a go node that serves it,
			// IDONTWANT then goes both ways on gossipsub v1.2.
			if v12 && !slices.Equal(in, []protocol.ID{"/meshsub/1.2.0"}) {
				t.Errorf("%s's stream to %s runs %v, want /meshsub/1.2.0", rl.name, g.name, in)
			}
			if want := protos[0]; !slices.Equal(out, []protocol.ID{want}) {
				t.Errorf("%s's stream to %s runs %v, want %s (the first of the go node's protocols; rlnd serves them all)", g.name, rl.name, out, want)
			}
		}
	}
	t.Logf("(d) IDONTWANT entries: go to rlnd %d, rlnd to go %d", toRlnd, fromRlnd)
	if v12 && toRlnd == 0 {
		t.Error("no go node sent IDONTWANT to an rlnd peer on /meshsub/1.2.0")
	}
	if fromRlnd == 0 {
		t.Error("no rlnd node sent IDONTWANT to a go peer (its streams run Waku relay's id, on which nwaku sends it)")
	}

	// (b)
	for _, g := range n.goes {
		for _, rl := range n.rlnd {
			if g.gp.Host().Network().Connectedness(rl.ID()) != network.Connected {
				continue
			}
			low, ok := g.gp.MinScore(rl.ID())
			switch {
			case !ok:
				t.Errorf("%s never scored its peer %s", g.name, rl.name)
			case low < 0:
				t.Errorf("%s scored %s %.2f at its lowest (last snapshot %+v)", g.name, rl.name, low, g.gp.Score(rl.ID()))
			}
		}
	}
	t.Logf("done after %v", time.Since(start).Round(time.Millisecond))
}

// gpFirstHop is check (c): a hostile go node (go-waku's configuration,
// accepting anything well-formed) linked only to rlnd0 publishes a valid
// message of its membership, then four invalid ones.
func gpFirstHop(t *testing.T, ctx context.Context, n *gpNet, r *gpRLN, protos []protocol.ID) {
	t.Helper()
	r0 := n.rlnd[0]
	hostile := &gpNode{name: "hostile", gp: gopubsub.Start(t, gopubsub.Config{ClusterID: gpCluster, Shards: []uint32{n.shard},
		IP: "127.0.5.1", Topics: []string{n.topic}, Protocols: protos})}
	n.link(t, hostile, r0)
	n.waitTopicPeers(t, gpLinkWithin, [][2]*gpNode{{hostile, r0}})
	testnet.WaitFor(t, 10*time.Second, "rlnd0 to graft the hostile peer (so that pruning it is seen)", func() bool {
		return slices.Contains(r0.mesh(n.topic), hostile.ID())
	})

	first := r.message(t, n.topic, gpHostile, "hostile: first", gpPayloadSize)
	// The same message id of the same epoch for another payload: double
	// signalling, the member exceeding its rate.
	spam := r.messageAt(t, n.topic, gpHostile, "hostile: second", gpPayloadSize, first.Msg.GetTimestamp(), first.RLNID)
	// A proof that does not verify: a share changed after proving.
	broken := r.message(t, n.topic, gpHostile, "hostile: broken proof", gpPayloadSize)
	p, err := rln.UnmarshalRateLimitProof(broken.Msg.RateLimitProof)
	if err != nil {
		t.Fatal(err)
	}
	p.ShareY.SetUint64(7)
	broken.Msg.RateLimitProof = p.Marshal()
	broken = newGPMsg(t, n.topic, broken.Msg)
	// A proof on a Merkle root outside the group's window.
	unknown := wire.NewMessage(gpContentTopic, gpPayload("hostile: unknown root", gpPayloadSize), time.Now().UnixNano())
	p, err = rln.UnmarshalRateLimitProof(first.Msg.RateLimitProof)
	if err != nil {
		t.Fatal(err)
	}
	p.MerkleRoot.SetUint64(12345)
	unknown.RateLimitProof = p.Marshal()
	// No proof at all.
	none := wire.NewMessage(gpContentTopic, gpPayload("hostile: no proof", gpPayloadSize), time.Now().UnixNano())
	invalid := []gpMsg{spam, broken, newGPMsg(t, n.topic, unknown), newGPMsg(t, n.topic, none)}
	names := []string{"double signal", "broken proof", "unknown root", "no proof"}

	st := r0.rl.Relay().PubSub().Stats()
	for _, m := range append([]gpMsg{first}, invalid...) {
		hostile.publish(t, ctx, n.topic, m)
	}
	testnet.WaitFor(t, 20*time.Second, "rlnd0 to judge the hostile peer's 5 messages (1 accepted, 4 rejected)", func() bool {
		now := r0.rl.Relay().PubSub().Stats()
		return now.Rejected-st.Rejected >= uint64(len(invalid)) && r0.hasDelivered(first)
	})
	select {
	case ev := <-n.evidence:
		if want := r.members[gpHostile].Identity.Secret; !ev.Secret.Equal(&want) {
			t.Errorf("double-signalling evidence recovered secret %s, want the hostile member's", ev.Secret.String())
		}
	case <-ctx.Done():
		t.Fatal("no rlnd node reported double-signalling evidence")
	}
	testnet.WaitFor(t, 10*time.Second, "rlnd0 to score the hostile peer below zero and prune it from its mesh", func() bool {
		return r0.rl.Relay().PubSub().Score(hostile.ID()) < 0 && !slices.Contains(r0.mesh(n.topic), hostile.ID())
	})
	t.Logf("rlnd0 scores the hostile peer %.1f", r0.rl.Relay().PubSub().Score(hostile.ID()))

	// A message rlnd0 publishes after judging them follows anything it
	// forwarded before on every link: once everyone has it, what was not
	// delivered was not forwarded.
	marker := r.message(t, n.topic, gpHonest, "after the hostile messages", gpPayloadSize)
	r0.publish(t, ctx, n.topic, marker)
	n.waitDelivered(t, 20*time.Second, "every node to deliver the hostile peer's valid message and rlnd0's next one", n.all, first, marker)
	for _, nd := range n.all {
		for i, m := range invalid {
			if nd.hasDelivered(m) {
				t.Errorf("%s delivered the hostile peer's %s", nd.name, names[i])
			}
		}
	}
	if peers := hostile.gp.Host().Network().Peers(); !slices.Equal(peers, []peer.ID{r0.ID()}) {
		var ps []string
		for _, p := range peers {
			ps = append(ps, p.String())
		}
		t.Errorf("the hostile peer is connected to %s, want rlnd0 only (%s)", strings.Join(ps, ", "), r0.ID())
	}
}
