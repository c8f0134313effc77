package interop

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// serviceNet is an rlnd node serving store and filter (svc, with its
// archive in a temporary directory) and a second rlnd relay node meshed
// with it (pub) that publishes messages carrying RLN proofs made here, on
// cluster 42 with 8 shards. js-waku light nodes connect to svc.
type serviceNet struct {
	svc, pub *node.Node
	cfg      *config.Config
	prover   *rln.Prover
	group    membership.Group // pub's: the Merkle paths of the proofs
	member   relay.Member
	topic    string // the pubsub topic of every /rlnd/1/... content topic
	shard    uint32
	nextID   uint64 // the next RLN message id
	lastMs   int64  // the last timestamp used, in ms
}

// loadEngine loads the RLN prover from the ceremony artefacts, and its
// verifier.
func loadEngine(t *testing.T) (*rln.Prover, *rln.Verifier) {
	t.Helper()
	prover, err := rln.LoadProver(artefacts.DefaultDir(), rln.WakuRLNIdentifier)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := prover.Verifier()
	if err != nil {
		t.Fatal(err)
	}
	return prover, verifier
}

func newServiceNet(t *testing.T, ctx context.Context) *serviceNet {
	t.Helper()
	return newServiceNetWith(t, ctx, false)
}

// newServiceNetWith is newServiceNet; with lightpush, svc also serves
// lightpush (v3 and v2) with proof as a service, from a second membership
// of the group, as `rlnd node` does with lightpush.enabled and a keystore.
func newServiceNetWith(t *testing.T, ctx context.Context, lightpush bool) *serviceNet {
	t.Helper()
	const cluster, numShards = 42, 8
	prover, verifier := loadEngine(t)
	// One membership, with room for every message a test sends in one
	// epoch (message ids are never reused).
	member := relay.Member{Identity: rln.IdentityFromSeed([]byte("interop store/filter member")), Index: 0, UserMessageLimit: 100}
	leaves := []fr.Element{member.Identity.RateCommitment(member.UserMessageLimit)}
	// svc's lightpush membership.
	lpMember := relay.Member{Identity: rln.IdentityFromSeed([]byte("interop service lightpush member")), Index: 1, UserMessageLimit: 20}
	if lightpush {
		leaves = append(leaves, lpMember.Identity.RateCommitment(lpMember.UserMessageLimit))
	}
	newGroup := func() membership.Group {
		g, err := membership.NewStaticGroup(leaves, 0)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	n := &serviceNet{prover: prover, member: member}
	dir := t.TempDir()
	var opts func(*node.Options)
	if lightpush {
		opts = func(o *node.Options) { o.Prover, o.LightpushMemberships = prover, []relay.Member{lpMember} }
	}
	n.svc, n.cfg = startRlndNodeWith(t, cluster, numShards, newGroup(), verifier, opts, func(c *config.Config) {
		c.Store.Enabled, c.Store.DBPath = true, filepath.Join(dir, "store.db")
		c.Filter.Enabled = true
		if lightpush {
			c.Lightpush.Enabled, c.Lightpush.SlotsFile = true, filepath.Join(dir, "slots")
		}
	})
	n.group = newGroup()
	n.pub, _ = startRlndNode(t, cluster, numShards, n.group, verifier)
	var err error
	if n.topic, err = n.svc.Relay().TopicFor("/rlnd/1/interop-service/proto"); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscanf(n.topic, fmt.Sprintf("/waku/2/rs/%d/%%d", cluster), &n.shard); err != nil {
		t.Fatal(err)
	}
	meshNodes(t, ctx, n.pub, n.svc, n.topic)
	return n
}

// publish proves a message on contentTopic (on n.topic) and publishes it
// from pub, then waits until svc's relay delivered it. Timestamps are
// strictly increasing whole milliseconds (js-waku's precision), and
// multiples of 4 ms: js-waku turns a time bound of t ms into ns as
// BigInt(t * 1e6), a float64 product, which is exact today only for
// multiples of 4 ms (ulp 256 above 2^60 ns).
func (n *serviceNet) publish(t *testing.T, ctx context.Context, contentTopic, payload string) *messagepb.WakuMessage {
	t.Helper()
	ms := (max(time.Now().UnixMilli(), n.lastMs+1) + 3) / 4 * 4
	n.lastMs = ms
	m := wire.NewMessage(contentTopic, []byte(payload), ms*1_000_000)
	pp := relay.ProofParams{EpochPeriod: n.cfg.RLN.EpochPeriod, Signal: rln.SignalTimestamped}
	if _, err := relay.AttachProof(n.prover, n.group, n.member, pp, m, n.nextID); err != nil {
		t.Fatal(err)
	}
	n.nextID++
	sub := n.svc.Relay().Subscribe()
	defer sub.Cancel()
	hash, sent, err := n.pub.Relay().Publish(n.topic, m)
	if err != nil || sent == 0 {
		t.Fatalf("publish %q: sent to %d peers, %v", payload, sent, err)
	}
	for {
		select {
		case env := <-sub.C():
			if env.Hash == hash {
				return m
			}
		case <-ctx.Done():
			t.Fatalf("publish %q: svc did not deliver it; svc stats %+v", payload, n.svc.Relay().PubSub().Stats())
		}
	}
}

// startLight starts a js-waku light node on n.topic's shard connected to
// svc, waiting for the given stage ("store-peer" or "filter-peer").
func (n *serviceNet) startLight(t *testing.T, ctx context.Context, waitFor string) (*WakuNode, *WakuStarted) {
	t.Helper()
	js := startWaku(t)
	started, err := js.Start(ctx, WakuStart{Peer: wsAddr(t, n.svc.Host()), ClusterID: 42, Shards: []uint32{n.shard}, Mode: "light", WaitFor: waitFor})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("js-waku waited on %+v; our protocols as identified: %v", started.Waited, started.RemoteProtocols)
	return js, started
}

// meshNodes connects a to b and waits until each has the other in its
// mesh on topic.
func meshNodes(t *testing.T, ctx context.Context, a, b *node.Node, topic string) {
	t.Helper()
	if _, err := a.Host().Connect(ctx, peer.AddrInfo{ID: b.Host().ID(), Addrs: b.Host().Libp2p().Addrs()}); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, 30*time.Second, "the rlnd nodes to mesh on "+topic, func() bool {
		return contains(a.Relay().PubSub().MeshPeers(topic), b.Host().ID()) && contains(b.Relay().PubSub().MeshPeers(topic), a.Host().ID())
	})
}

// hasAll tells whether every one of want is in got.
func hasAll(got []string, want ...protocol.ID) bool {
	for _, w := range want {
		if !slices.Contains(got, string(w)) {
			return false
		}
	}
	return true
}
