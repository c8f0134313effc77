package interop

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/interop/gopubsub"
	"github.com/rlnd/rlnd/relay/gossipsub"
)

// TestGoPubsubIDontWantHonoured: an rlnd node does not forward a message
// to a go peer that told it IDONTWANT for it on /meshsub/1.2.0, and does
// forward it when the peer (on /meshsub/1.1.0) could not say so.
//
// Nodes: publisher P, go nodes G and H, rlnd node R; links P-G, P-H, G-R,
// H-R, all in the mesh. P publishes M. G and H tell their mesh peer R
// IDONTWANT for M as soon as it arrives (go-libp2p-pubsub does so before
// validating) and their validators hold M: neither forwards it yet. G then
// publishes N; R delivering N shows it has read G's IDONTWANT, which came
// first on the same stream. H is released: R gets M from H only, accepts
// it and forwards it to its mesh, H excepted, and G excepted if honoured.
// R then publishes Q: once G has Q from R, anything R queued for G before
// (M, if forwarded) has arrived.
func TestGoPubsubIDontWantHonoured(t *testing.T) {
	for _, tc := range []struct {
		name   string
		protos []protocol.ID
		sent   bool // R forwards M to G
	}{
		{"meshsub1.2", gopubsub.ProtocolsV12, false},
		{"meshsub1.1", gopubsub.ProtocolsV11, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := newGPRLN(t, gpMembers)
			n := newGPNet(t, r.group, r.verifier, 1, 3, tc.protos)
			R, P, G, H := n.all[0], n.all[1], n.all[2], n.all[3]
			R.name, P.name, G.name, H.name = "R", "P", "G", "H"
			n.connect(t, [][2]int{{1, 2}, {1, 3}, {2, 0}, {3, 0}})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			m := r.message(t, n.topic, gpHonest, "M, from P", gpPayloadSize)
			nm := r.message(t, n.topic, gpHonest, "N, from G", gpPayloadSize)
			q := r.message(t, n.topic, gpHonest, "Q, from R", gpPayloadSize)
			releaseG, releaseH := G.gp.Hold(m.ID), H.gp.Hold(m.ID)
			defer releaseG()
			defer releaseH()

			P.publish(t, ctx, n.topic, m)
			testnet.WaitFor(t, 10*time.Second, "G and H to hold M in validation", func() bool {
				return G.gp.Holding(m.ID) && H.gp.Holding(m.ID)
			})
			told, toldR := G.gp.IDontWantSentAt(R.ID(), m.ID)
			if toldR != !tc.sent {
				t.Fatalf("G told R IDONTWANT for M: %v, want %v (G's stream to R runs %s)", toldR, !tc.sent, G.gp.Trace(R.ID()).OutProtocol)
			}
			G.publish(t, ctx, n.topic, nm)
			n.waitDelivered(t, 10*time.Second, "R to deliver N from G", []*gpNode{R}, nm)
			releaseH()
			n.waitDelivered(t, 10*time.Second, "R to deliver M, received from H", []*gpNode{R}, m)
			if at, _ := R.deliveredAt(m); toldR {
				// R keeps an IDONTWANT for IDontWantTTL from reading it,
				// which came after G queued it: within that time of the
				// latter, R must still have honoured it.
				d := at.Sub(told)
				if d >= gossipsub.DefaultParams().IDontWantTTL {
					t.Fatalf("R accepted M %v after G's IDONTWANT, past rlnd's IDontWantTTL: inconclusive", d)
				}
				t.Logf("R accepted M %v after G queued its IDONTWANT", d.Round(time.Millisecond))
			}
			R.publish(t, ctx, n.topic, q)
			testnet.WaitFor(t, 10*time.Second, "G to receive Q from R", func() bool { return G.gp.ReceivedFrom(R.ID(), q.ID) })
			if got := G.gp.ReceivedFrom(R.ID(), m.ID); got != tc.sent {
				t.Errorf("R forwarded M to G: %v, want %v", got, tc.sent)
			}
			t.Logf("done after %v", time.Since(start).Round(time.Millisecond))
		})
	}
}
