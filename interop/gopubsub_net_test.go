package interop

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/interop/gopubsub"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// The mixed networks of rlnd nodes and go-libp2p-pubsub nodes (package
// interop/gopubsub, configured as go-waku configures Waku relay) share this
// support: a static RLN group and the proofs of its members' messages,
// nodes on their own loopback addresses, random links, and the record of
// what each node delivered.

// gpCluster is the mixed networks' cluster: the devnet preset's.
const gpCluster = 66

// gpContentTopic is the content topic every test message is on; its
// autoshard is the one pubsub topic of the networks.
const gpContentTopic = "/rlnd/1/gopubsub-interop/proto"

// gpMemberLimit is every membership's rate limit: room for all the
// messages one publisher sends in a test within one 10 s epoch.
const gpMemberLimit = 40

var (
	gpEngineOnce sync.Once
	gpProver     *rln.Prover
	gpVerifier   *rln.Verifier
	gpEngineErr  error
)

// gpEngine loads the RLN prover and verifier once for the package.
func gpEngine(t *testing.T) (*rln.Prover, *rln.Verifier) {
	t.Helper()
	gpEngineOnce.Do(func() {
		if gpProver, gpEngineErr = rln.LoadProver(artefacts.DefaultDir(), rln.WakuRLNIdentifier); gpEngineErr == nil {
			gpVerifier, gpEngineErr = gpProver.Verifier()
		}
	})
	if gpEngineErr != nil {
		t.Fatal(gpEngineErr)
	}
	return gpProver, gpVerifier
}

// gpRLN proves messages for the memberships of a static group: member i
// is at index i. Message ids are never reused within an epoch unless a
// test asks for it (double signalling).
type gpRLN struct {
	prover   *rln.Prover
	verifier *rln.Verifier
	group    *membership.StaticGroup
	members  []relay.Member
	pp       relay.ProofParams
	used     map[[2]uint64]uint64 // (member, epoch) -> next message id
}

func newGPRLN(t *testing.T, members int) *gpRLN {
	t.Helper()
	prover, verifier := gpEngine(t)
	r := &gpRLN{prover: prover, verifier: verifier, used: map[[2]uint64]uint64{}}
	var leaves []fr.Element
	for i := range members {
		m := relay.Member{Identity: rln.IdentityFromSeed(fmt.Appendf(nil, "gopubsub interop member %d", i)), Index: uint64(i), UserMessageLimit: gpMemberLimit}
		r.members = append(r.members, m)
		leaves = append(leaves, m.Identity.RateCommitment(m.UserMessageLimit))
	}
	g, err := membership.NewStaticGroup(leaves, 0)
	if err != nil {
		t.Fatal(err)
	}
	r.group = g
	dev, err := config.Preset("devnet")
	if err != nil {
		t.Fatal(err)
	}
	r.pp = relay.ProofParams{EpochPeriod: dev.RLN.EpochPeriod, Signal: rln.SignalTimestamped}
	return r
}

// gpMsg is a test message: the WakuMessage, its encoding (the pubsub
// message data), its gossipsub id and its Waku message hash, and the RLN
// message id it was proved with.
type gpMsg struct {
	Msg   *messagepb.WakuMessage
	Data  []byte
	ID    string
	Hash  wire.MessageHash
	RLNID uint64
}

// newGPMsg encodes m. Its id is go-waku's (gopubsub.MessageID), which
// must be rlnd's too.
func newGPMsg(t *testing.T, topic string, m *messagepb.WakuMessage) gpMsg {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	id := gopubsub.MessageID(&pubsubpb.Message{Data: data})
	if ours := wire.GossipMessageID(data); ours != id {
		t.Fatalf("rlnd's gossipsub message id %x is not go-waku's %x", ours, id)
	}
	return gpMsg{Msg: m, Data: data, ID: id, Hash: wire.Hash(topic, m)}
}

// message makes a message of member with a payload of size bytes starting
// with label, timestamped now and proved with the member's next message
// id of the epoch.
func (r *gpRLN) message(t *testing.T, topic string, member int, label string, size int) gpMsg {
	t.Helper()
	ts := time.Now().UnixNano()
	key := [2]uint64{uint64(member), rln.Epoch(time.Unix(0, ts), r.pp.EpochPeriod)}
	id := r.used[key]
	r.used[key]++
	return r.messageAt(t, topic, member, label, size, ts, id)
}

// messageAt makes a message of member timestamped ts and proved with
// message id messageID, whether used already or not.
func (r *gpRLN) messageAt(t *testing.T, topic string, member int, label string, size int, ts int64, messageID uint64) gpMsg {
	t.Helper()
	m := wire.NewMessage(gpContentTopic, gpPayload(label, size), ts)
	r.prove(t, m, member, messageID)
	gm := newGPMsg(t, topic, m)
	gm.RLNID = messageID
	return gm
}

// prove attaches a proof of member's message id to m.
func (r *gpRLN) prove(t *testing.T, m *messagepb.WakuMessage, member int, messageID uint64) {
	t.Helper()
	if messageID >= gpMemberLimit {
		t.Fatalf("member %d used its %d messages of the epoch", member, gpMemberLimit)
	}
	if _, err := relay.AttachProof(r.prover, r.group, r.members[member], r.pp, m, messageID); err != nil {
		t.Fatal(err)
	}
}

// gpPayload is label padded to size bytes.
func gpPayload(label string, size int) []byte {
	p := make([]byte, max(size, len(label)))
	copy(p, label)
	for i := len(label); i < len(p); i++ {
		p[i] = byte('a' + i%26)
	}
	return p
}

// gpNode is one node of a mixed network: an rlnd node or a go node.
type gpNode struct {
	name string
	rl   *node.Node
	gp   *gopubsub.Node

	mu        sync.Mutex
	delivered map[wire.MessageHash]time.Time // rlnd: by Waku message hash
}

func (n *gpNode) ID() peer.ID {
	if n.rl != nil {
		return n.rl.Host().ID()
	}
	return n.gp.ID()
}

func (n *gpNode) addrInfo() peer.AddrInfo {
	if n.rl != nil {
		return peer.AddrInfo{ID: n.rl.Host().ID(), Addrs: n.rl.Host().Libp2p().Addrs()}
	}
	return n.gp.AddrInfo()
}

// hasDelivered tells whether the node delivered m.
func (n *gpNode) hasDelivered(m gpMsg) bool {
	_, ok := n.deliveredAt(m)
	return ok
}

// deliveredAt is when the node delivered m.
func (n *gpNode) deliveredAt(m gpMsg) (time.Time, bool) {
	if n.gp != nil {
		d, ok := n.gp.Delivered(m.ID)
		return d.At, ok
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	at, ok := n.delivered[m.Hash]
	return at, ok
}

// topicPeers are the peers the node knows on topic.
func (n *gpNode) topicPeers(topic string) []peer.ID {
	if n.rl != nil {
		return n.rl.Relay().TopicPeers(topic)
	}
	return n.gp.PubSub().ListPeers(topic)
}

// mesh is the node's mesh on topic.
func (n *gpNode) mesh(topic string) []peer.ID {
	if n.rl != nil {
		return n.rl.Relay().PubSub().MeshPeers(topic)
	}
	return n.gp.Mesh(topic)
}

// publish publishes m from the node.
func (n *gpNode) publish(t *testing.T, ctx context.Context, topic string, m gpMsg) {
	t.Helper()
	if n.rl != nil {
		if _, sent, err := n.rl.Relay().Publish(topic, m.Msg); err != nil || sent == 0 {
			t.Fatalf("%s: publish: sent to %d peers, %v", n.name, sent, err)
		}
		return
	}
	if _, err := n.gp.Publish(ctx, topic, m.Data); err != nil {
		t.Fatalf("%s: publish: %v", n.name, err)
	}
}

// gpNet is a mixed network on one pubsub topic.
type gpNet struct {
	topic string
	shard uint32
	rlnd  []*gpNode
	goes  []*gpNode
	all   []*gpNode
	// evidence receives the double-signalling evidence of every rlnd node.
	evidence chan rln.Evidence
}

// gpTopic is the pubsub topic of gpContentTopic on the devnet preset's
// shards, and its shard.
func gpTopic(t *testing.T) (string, uint32) {
	t.Helper()
	cfg, err := config.Preset("devnet")
	if err != nil {
		t.Fatal(err)
	}
	pt, err := autoshard.ShardFor(gpContentTopic, gpCluster, cfg.Network.NumShards)
	if err != nil {
		t.Fatal(err)
	}
	return pt.String(), uint32(pt.Shard)
}

// newGPNet starts nRlnd rlnd nodes (node.New from the devnet preset as
// `rlnd node` builds them, with Waku's gossipsub parameters, RLN on group
// with verifier, relaying the test topic's shard, on 127.0.3.x) and nGo go
// nodes (on 127.0.4.x, offering protos). It links none of them.
func newGPNet(t *testing.T, group membership.Group, verifier *rln.Verifier, nRlnd, nGo int, protos []protocol.ID) *gpNet {
	t.Helper()
	topic, shard := gpTopic(t)
	n := &gpNet{topic: topic, shard: shard, evidence: make(chan rln.Evidence, 64)}
	for i := range nRlnd {
		cfg, err := config.Preset("devnet")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Network.ClusterID = gpCluster
		cfg.Network.Shards = []int{int(shard)}
		cfg.P2P.Listen = []string{fmt.Sprintf("/ip4/127.0.3.%d/tcp/0", i+1)}
		cfg.Metrics.Enabled, cfg.REST.Enabled = false, false
		nd, err := node.New(context.Background(), node.Options{Config: &cfg, Group: group, Verifier: verifier,
			OnEvidence: func(_ string, ev rln.Evidence) {
				select {
				case n.evidence <- ev:
				default:
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		gn := &gpNode{name: fmt.Sprintf("rlnd%d", i), rl: nd, delivered: map[wire.MessageHash]time.Time{}}
		sub := nd.Relay().Subscribe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for env := range sub.C() {
				gn.mu.Lock()
				if _, ok := gn.delivered[env.Hash]; !ok {
					gn.delivered[env.Hash] = env.Received
				}
				gn.mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			nd.Close()
			<-done
		})
		n.rlnd = append(n.rlnd, gn)
		n.all = append(n.all, gn)
	}
	for i := range nGo {
		gp := gopubsub.Start(t, gopubsub.Config{ClusterID: gpCluster, Shards: []uint32{shard}, IP: fmt.Sprintf("127.0.4.%d", i+1),
			Topics: []string{topic}, Protocols: protos})
		gn := &gpNode{name: fmt.Sprintf("go%d", i), gp: gp}
		n.goes = append(n.goes, gn)
		n.all = append(n.all, gn)
	}
	return n
}

// gpLinkWithin bounds one link: a dial, both metadata checks on an rlnd
// side, and the subscriptions' exchange.
const gpLinkWithin = 20 * time.Second

// link connects a to b and waits until each has the other as a peer of
// the topic (an rlnd side has admitted the other by then).
func (n *gpNet) link(t *testing.T, a, b *gpNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), gpLinkWithin)
	defer cancel()
	var err error
	if a.rl != nil {
		_, err = a.rl.Host().Connect(ctx, b.addrInfo())
	} else {
		err = a.gp.Connect(ctx, b.addrInfo())
	}
	if err != nil {
		t.Fatalf("connect %s to %s: %v", a.name, b.name, err)
	}
	if b.rl != nil {
		if _, err := b.rl.Host().WaitPeer(ctx, a.ID()); err != nil {
			t.Fatalf("%s admitting %s: %v", b.name, a.name, err)
		}
	}
}

// waitTopicPeers waits until both ends of every link know each other as
// peers of the topic.
func (n *gpNet) waitTopicPeers(t *testing.T, within time.Duration, links [][2]*gpNode) {
	t.Helper()
	var missing []string
	defer explainWait(t, &missing)
	testnet.WaitFor(t, within, "both ends of every link to see each other on "+n.topic, func() bool {
		missing = missing[:0]
		for _, l := range links {
			if !slices.Contains(l[0].topicPeers(n.topic), l[1].ID()) {
				missing = append(missing, l[0].name+" does not see "+l[1].name)
			}
			if !slices.Contains(l[1].topicPeers(n.topic), l[0].ID()) {
				missing = append(missing, l[1].name+" does not see "+l[0].name)
			}
		}
		return len(missing) == 0
	})
}

// explainWait logs what a failed wait was still missing (WaitFor's Fatal
// runs the deferred calls).
func explainWait(t *testing.T, missing *[]string) {
	if t.Failed() && len(*missing) > 0 {
		t.Logf("still missing: %v", *missing)
	}
}

// connect links the nodes of every index pair, then waits until every
// link carries the topic both ways and every node has grafted as many of
// its peers as gossipsub wants (all of them up to Dlo).
func (n *gpNet) connect(t *testing.T, links [][2]int) {
	t.Helper()
	var pairs [][2]*gpNode
	for _, l := range links {
		a, b := n.all[l[0]], n.all[l[1]]
		n.link(t, a, b)
		pairs = append(pairs, [2]*gpNode{a, b})
	}
	n.waitTopicPeers(t, gpLinkWithin, pairs)
	degree := map[*gpNode]int{}
	for _, p := range pairs {
		degree[p[0]]++
		degree[p[1]]++
	}
	var missing []string
	defer explainWait(t, &missing)
	testnet.WaitFor(t, 20*time.Second, "every node's mesh to hold min(its peers, Dlo=4) peers", func() bool {
		missing = missing[:0]
		for nd, d := range degree {
			if got := len(nd.mesh(n.topic)); got < min(d, 4) {
				missing = append(missing, fmt.Sprintf("%s: mesh %d of %d peers", nd.name, got, d))
			}
		}
		return len(missing) == 0
	})
}

// randomLinks returns the links of a random connected graph on n nodes:
// a random spanning tree plus extra links, no node with more than maxDeg.
func randomLinks(seed uint64, n, extra, maxDeg int) [][2]int {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	deg := make([]int, n)
	has := map[[2]int]bool{}
	var links [][2]int
	add := func(a, b int) bool {
		if a == b || deg[a] >= maxDeg || deg[b] >= maxDeg || has[[2]int{a, b}] || has[[2]int{b, a}] {
			return false
		}
		has[[2]int{a, b}] = true
		deg[a]++
		deg[b]++
		links = append(links, [2]int{a, b})
		return true
	}
	perm := rng.Perm(n)
	for k := 1; k < n; k++ {
		for !add(perm[k], perm[rng.IntN(k)]) {
		}
	}
	for added := 0; added < extra; {
		if add(rng.IntN(n), rng.IntN(n)) {
			added++
		}
	}
	return links
}

// waitDelivered waits until every one of nodes delivered every one of msgs
// (their indices are what a failure lists).
func (n *gpNet) waitDelivered(t *testing.T, within time.Duration, what string, nodes []*gpNode, msgs ...gpMsg) {
	t.Helper()
	var missing []string
	defer explainWait(t, &missing)
	testnet.WaitFor(t, within, what, func() bool {
		missing = missing[:0]
		for _, nd := range nodes {
			var lacks []int
			for i, m := range msgs {
				if !nd.hasDelivered(m) {
					lacks = append(lacks, i)
				}
			}
			if len(lacks) > 0 {
				missing = append(missing, fmt.Sprintf("%s lacks %d of %d (%v)", nd.name, len(lacks), len(msgs), lacks))
			}
		}
		return len(missing) == 0
	})
}
