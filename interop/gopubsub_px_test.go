package interop

import (
	"slices"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/interop/gopubsub"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
)

// TestGoPubsubPXConnects: a go node that grafts an rlnd node whose mesh
// is full is pruned with peer exchange, and connects to peers offered.
//
// Eight go nodes (the crowd) dial the rlnd node R and graft it: R's mesh
// is at Dhi (8). The go node G, which knows only R, dials and grafts it
// too: R refuses the inbound graft with a PRUNE offering its other peers
// (gossipsub v1.1 peer exchange). go-libp2p-pubsub dials the offered peers
// from the signed peer records in the PRUNE (it knows no addresses of
// them otherwise), so G ends up connected to some of the crowd only if R
// sends those records.
func TestGoPubsubPXConnects(t *testing.T) {
	start := time.Now()
	verifier, err := rln.LoadVerifier(artefacts.DefaultDir(), rln.WakuRLNIdentifier)
	if err != nil {
		t.Fatal(err)
	}
	group, err := membership.NewStaticGroup([]fr.Element{rln.IdentityFromSeed([]byte("px member")).RateCommitment(gpMemberLimit)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dhi := gossipsub.DefaultParams().Dhi
	n := newGPNet(t, group, verifier, 1, dhi+1, gopubsub.ProtocolsV11)
	R, crowd, G := n.all[0], n.all[1:dhi+1], n.all[dhi+1]
	var links [][2]int
	for i := range crowd {
		links = append(links, [2]int{i + 1, 0})
	}
	n.connect(t, links)
	testnet.WaitFor(t, 10*time.Second, "R's mesh to hold the whole crowd (Dhi peers)", func() bool { return len(R.mesh(n.topic)) >= dhi })

	n.link(t, G, R)
	testnet.WaitFor(t, 15*time.Second, "R to prune G's graft with peer exchange", func() bool { return G.gp.Trace(R.ID()).PXPeers > 0 })
	tr := G.gp.Trace(R.ID())
	t.Logf("R's PRUNE offered G %d peers, %d with a signed peer record", tr.PXPeers, tr.PXRecords)
	var missing []string
	defer explainWait(t, &missing)
	testnet.WaitFor(t, 15*time.Second, "G to connect to a peer R offered", func() bool {
		missing = missing[:0]
		for _, c := range crowd {
			if G.gp.Host().Network().Connectedness(c.ID()) == network.Connected {
				return true
			}
		}
		missing = append(missing, "G is connected to none of the crowd")
		return false
	})
	var got []string
	for _, c := range crowd {
		if slices.Contains(G.gp.Host().Network().Peers(), c.ID()) {
			got = append(got, c.name)
		}
	}
	t.Logf("G connected to %v after %v", got, time.Since(start).Round(time.Millisecond))
}
