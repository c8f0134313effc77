package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/interop/gopubsub"
)

// TestGoPubsubIDontWantFromRlnd: an rlnd node tells its go mesh peers
// IDONTWANT for the large messages it receives (on its stream to them,
// which runs Waku relay's id: rlnd sends IDONTWANT there as nwaku does),
// and go-libp2p-pubsub honours it.
//
// Nodes: go nodes G1 and G2 (offering /meshsub/1.2.0 first) and rlnd node
// R, linked in a triangle, all in the mesh. G1 publishes messages to R and
// G2 at once. R, on receiving each (from G1, or first from G2 if G2 was
// quicker to forward it), must send IDONTWANT to the other go node (a mesh
// peer other than the sender) before validating it; neither go node may
// queue a message for R after reading R's IDONTWANT for it.
func TestGoPubsubIDontWantFromRlnd(t *testing.T) {
	start := time.Now()
	r := newGPRLN(t, gpMembers)
	n := newGPNet(t, r.group, r.verifier, 1, 2, gopubsub.ProtocolsV12)
	R, G1, G2 := n.all[0], n.all[1], n.all[2]
	R.name, G1.name, G2.name = "R", "G1", "G2"
	n.connect(t, [][2]int{{1, 0}, {2, 0}, {1, 2}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const count = 5
	var msgs []gpMsg
	for i := range count {
		m := r.message(t, n.topic, gpHonest, fmt.Sprintf("from G1, %d", i), gpPayloadSize)
		G1.publish(t, ctx, n.topic, m)
		msgs = append(msgs, m)
	}
	n.waitDelivered(t, 20*time.Second, "R and G2 to deliver G1's messages", []*gpNode{R, G2}, msgs...)
	// R's IDONTWANT for a message precedes its own forward of it, if any,
	// and R's next publish follows both on the same stream.
	q := r.message(t, n.topic, gpHonest, "from R", gpPayloadSize)
	R.publish(t, ctx, n.topic, q)
	testnet.WaitFor(t, 10*time.Second, "G2 to receive R's message from R", func() bool { return G2.gp.ReceivedFrom(R.ID(), q.ID) })

	ids := 0
	for _, g := range []*gpNode{G1, G2} {
		tr := g.gp.Trace(R.ID())
		in, out := g.gp.Streams(R.ID())
		t.Logf("%s-R: streams from R %v, to R %v; IDONTWANT from R %d (%d ids), to R %d (%d ids)",
			g.name, in, out, tr.IDontWantReceived, tr.IDontWantReceivedIDs, tr.IDontWantSent, tr.IDontWantSentIDs)
		ids += tr.IDontWantReceivedIDs
		if len(tr.SentAfterIDontWant) > 0 {
			t.Errorf("%s queued %d messages for R after R said IDONTWANT for them", g.name, len(tr.SentAfterIDontWant))
		}
	}
	if ids < count {
		t.Errorf("the go nodes got IDONTWANT from R for %d message ids, want %d (one for each of G1's messages)", ids, count)
	}
	t.Logf("done after %v", time.Since(start).Round(time.Millisecond))
}
