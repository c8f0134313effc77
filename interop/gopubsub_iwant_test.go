package interop

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/interop/gopubsub"
)

// TestGoPubsubIWANTBundles: a go peer answers an rlnd node's IWANT with
// one RPC carrying every message asked for, split only at
// go-libp2p-pubsub's 1 MiB frame limit (its default, which go-waku keeps);
// rlnd must read such frames and deliver every message.
//
// The go node G runs go-waku's configuration except that it is a
// bootstrapper (D = Dlo = Dhi = Dout = Dscore = 0: it keeps no mesh and
// prunes the rlnd node's GRAFT) and does not flood-publish: its own
// messages reach the rlnd node R only as IHAVE gossip, which R answers
// with one IWANT for all of them. G publishes twelve messages of about
// 100 KiB (under rlnd's 150 KiB message limit) at once.
func TestGoPubsubIWANTBundles(t *testing.T) {
	start := time.Now()
	r := newGPRLN(t, gpMembers)
	n := newGPNet(t, r.group, r.verifier, 1, 0, nil)
	R := n.all[0]
	params := gopubsub.WakuParams()
	params.D, params.Dlo, params.Dhi, params.Dout, params.Dscore = 0, 0, 0, 0, 0
	G := &gpNode{name: "go-bootstrapper", gp: gopubsub.Start(t, gopubsub.Config{ClusterID: gpCluster, Shards: []uint32{n.shard},
		IP: "127.0.4.1", Topics: []string{n.topic}, Protocols: gopubsub.ProtocolsV11, Params: &params, NoFloodPublish: true})}
	// R dials, so that G sees R as inbound and refuses its GRAFT.
	n.link(t, R, G)
	n.waitTopicPeers(t, gpLinkWithin, [][2]*gpNode{{R, G}})
	testnet.WaitFor(t, 10*time.Second, "G to keep R out of its mesh and R to have G out of its own (pruned)", func() bool {
		return len(G.mesh(n.topic)) == 0 && !slices.Contains(R.mesh(n.topic), G.ID())
	})

	const count, size = 12, 100 << 10
	var msgs []gpMsg
	for i := range count {
		msgs = append(msgs, r.message(t, n.topic, gpHonest, fmt.Sprintf("bundled %d", i), size))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, m := range msgs {
		G.publish(t, ctx, n.topic, m)
	}
	defer func() {
		st := R.rl.Relay().PubSub().Stats()
		tr := G.gp.Trace(R.ID())
		t.Logf("G's largest RPC to R: %d bytes; R: %d RPCs in, %d bad frames, %d broken promises, scores G %.1f, %d delivered of %d",
			tr.LargestSent, st.RPCsIn, st.BadFrames, st.BrokenPromises, R.rl.Relay().PubSub().Score(G.ID()), countDelivered(R, msgs), count)
	}()
	n.waitDelivered(t, 30*time.Second, "R to deliver every message G published, received through IWANT", []*gpNode{R}, msgs...)
	if tr := G.gp.Trace(R.ID()); tr.LargestSent <= 2*size {
		t.Errorf("G's largest RPC to R was %d bytes: no bundle of several messages was sent", tr.LargestSent)
	}
	t.Logf("done after %v", time.Since(start).Round(time.Millisecond))
}

// countDelivered counts the messages of msgs that nd delivered.
func countDelivered(nd *gpNode, msgs []gpMsg) int {
	k := 0
	for _, m := range msgs {
		if nd.hasDelivered(m) {
			k++
		}
	}
	return k
}
