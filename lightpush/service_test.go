package lightpush

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/rlnd/rlnd/internal/relaytest"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

const (
	cluster      = 7
	contentTopic = "/rlnd/1/lightpush-test/proto"
)

var (
	proverOnce sync.Once
	prover     *rln.Prover
	verifier   *rln.Verifier
	proverErr  error
)

func loadProver(tb testing.TB) (*rln.Prover, *rln.Verifier) {
	tb.Helper()
	proverOnce.Do(func() {
		prover, proverErr = rln.LoadProver(artefacts.DefaultDir(), rln.WakuRLNIdentifier)
		if proverErr == nil {
			verifier, proverErr = prover.Verifier()
		}
	})
	if proverErr != nil {
		tb.Fatal(proverErr)
	}
	return prover, verifier
}

// testNet is a lightpush service node and a relay peer, with a group of
// members: the service holds the first `held`, the others are the clients'
// own (for messages that carry their own proofs).
type testNet struct {
	service  *Service
	node     *relaytest.Node
	svcHost  host.Host
	svcRelay *relay.Relay
	peer     *relay.Relay
	peerSub  *relay.Subscription
	members  []relay.Member
	group    *membership.StaticGroup
	topic    string
}

func startNet(tb testing.TB, held int, limit uint64, edit func(*ServiceConfig)) *testNet {
	tb.Helper()
	p, v := loadProver(tb)
	n := &testNet{}
	var leaves []fr.Element
	for i := range held + 1 {
		id := rln.IdentityFromSeed(fmt.Appendf(nil, "lightpush test member %d", i))
		n.members = append(n.members, relay.Member{Identity: id, Index: uint64(i), UserMessageLimit: limit})
		leaves = append(leaves, id.RateCommitment(limit))
	}
	g, err := membership.NewStaticGroup(leaves, 0)
	if err != nil {
		tb.Fatal(err)
	}
	n.group = g
	cfg := ServiceConfig{
		Prover: p, Group: g, Memberships: n.members[:held], Signal: rln.SignalTimestamped,
		SlotsPath: filepath.Join(tb.TempDir(), "slots"), PerPeerQuota: 100,
	}
	if edit != nil {
		edit(&cfg)
	}
	validator := func() *relay.Validator {
		val, err := relay.NewValidator(relay.ValidatorConfig{Group: cfg.Group, Verifier: v, RLN: true, Signal: rln.SignalTimestamped, EpochPeriod: cfg.EpochPeriod})
		if err != nil {
			tb.Fatal(err)
		}
		return val
	}
	n.node = relaytest.Start(tb, cluster, validator())
	n.svcHost, n.svcRelay = n.node.Host.Libp2p(), n.node.Relay
	cfg.Relay = n.svcRelay
	s, err := NewService(n.svcHost, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	n.service = s
	n.topic, _ = n.svcRelay.TopicFor(contentTopic)
	peer := relaytest.Start(tb, cluster, validator())
	n.peer = peer.Relay
	n.peerSub = n.peer.Subscribe()
	relaytest.Link(tb, 10*time.Second, peer, n.node, n.topic)
	return n
}

// client is a new host connected to the service.
func (n *testNet) client(tb testing.TB) host.Host {
	return n.clientAt(tb, "127.0.0.1")
}

// clientAt is a new host at ip (testnet.HostAt: the service sees it in
// ip's /24) connected to the service.
func (n *testNet) clientAt(tb testing.TB, ip string) host.Host {
	h := testnet.HostAt(tb, cluster, ip)
	testnet.Connect(tb, h, n.node.Host)
	return h.Libp2p()
}

func message(payload string) *messagepb.WakuMessage {
	return wire.NewMessage(contentTopic, []byte(payload), time.Now().UnixNano())
}

// waitRelayed waits for the relay peer to deliver a message with payload.
func (n *testNet) waitRelayed(tb testing.TB, payload string) *relay.Envelope {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case env := <-n.peerSub.C():
			if string(env.Message.GetPayload()) == payload {
				return env
			}
		case <-timeout:
			tb.Fatalf("relay peer never got %q", payload)
			return nil
		}
	}
}

func push(tb testing.TB, c host.Host, n *testNet, topic string, m *messagepb.WakuMessage) *Response {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := Push(ctx, c, n.svcHost.ID(), topic, m)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// A message without a proof gets one from the service's membership and
// reaches the relay peer, which validates it.
func TestProofAsAService(t *testing.T) {
	n := startNet(t, 1, 5, nil)
	c := n.client(t)
	r := push(t, c, n, "", message("hello from a light client"))
	if r.Status != StatusOK || r.RelayPeers != 1 {
		t.Fatalf("response %+v", r)
	}
	env := n.waitRelayed(t, "hello from a light client")
	if env.Message.RateLimitProof == nil || env.PubsubTopic != n.topic {
		t.Fatalf("relayed %v on %s", env.Message, env.PubsubTopic)
	}
	if left := n.service.SlotsLeft(); left != 4 {
		t.Fatalf("%d slots left, want 4", left)
	}
	// v2-beta1 (go-waku's) works too.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := PushV2(ctx, c, n.svcHost.ID(), n.topic, message("over v2"))
	if err != nil || r.Status != StatusOK {
		t.Fatalf("v2: %+v %v", r, err)
	}
	n.waitRelayed(t, "over v2")
}

// Each status code of lightpush v3 where it belongs.
func TestStatusCodes(t *testing.T) {
	inOneEpoch(t, faultTestBound) // the slots used up must be one epoch's
	n := startNet(t, 1, 2, func(c *ServiceConfig) { c.PerPeerQuota, c.ReservedShare = 100, -1 })
	c := n.client(t)

	// 400: no message; a content topic that gives no shard.
	// (Our client refuses to send a request without a message.)
	if r := n.service.Push(context.Background(), c.ID(), n.topic, nil); r.Status != StatusBadRequest {
		t.Fatalf("no message: %+v", r)
	}
	bad := wire.NewMessage("not-a-content-topic", []byte("x"), time.Now().UnixNano())
	if r := push(t, c, n, "", bad); r.Status != StatusBadRequest {
		t.Fatalf("bad content topic: %+v", r)
	}
	// 413: over the size limit.
	if r := push(t, c, n, n.topic, message(strings.Repeat("x", wire.MaxMessageSize))); r.Status != StatusTooLarge {
		t.Fatalf("too large: %+v", r)
	}
	// 421: a shard this node does not relay.
	if r := push(t, c, n, fmt.Sprintf("/waku/2/rs/%d/900", cluster), message("x")); r.Status != StatusUnsupportedTopic {
		t.Fatalf("other shard: %+v", r)
	}
	// 420: a message with an invalid proof of its own.
	own := message("own proof")
	p, _ := loadProver(t)
	proof, err := relay.AttachProof(p, n.group, n.members[1], relay.ProofParams{Signal: rln.SignalTimestamped}, own, 0)
	if err != nil {
		t.Fatal(err)
	}
	proof.ShareY.SetUint64(3)
	own.RateLimitProof = proof.Marshal()
	if r := push(t, c, n, "", own); r.Status != StatusInvalidMessage {
		t.Fatalf("bad proof: %+v", r)
	}
	// A valid proof of its own is relayed as is, without using a slot.
	own = message("own valid proof")
	if _, err := relay.AttachProof(p, n.group, n.members[1], relay.ProofParams{Signal: rln.SignalTimestamped}, own, 1); err != nil {
		t.Fatal(err)
	}
	if r := push(t, c, n, "", own); r.Status != StatusOK {
		t.Fatalf("own proof: %+v", r)
	}
	if env := n.waitRelayed(t, "own valid proof"); !bytes.Equal(env.Message.RateLimitProof, own.RateLimitProof) {
		t.Fatal("own proof replaced")
	}
	// 504 once the two slots are used, with the time to the next epoch.
	for i := range 2 {
		if r := push(t, c, n, "", message(fmt.Sprintf("slot %d", i))); r.Status != StatusOK {
			t.Fatalf("slot %d: %+v", i, r)
		}
	}
	r := push(t, c, n, "", message("no slot left"))
	if r.Status != StatusOutOfProofs || !strings.Contains(r.Description, "next epoch starts in") {
		t.Fatalf("out of slots: %+v", r)
	}
}

// 429 past the client's quota; 505 without relay peers; 420 when the
// service holds no membership.
func TestQuotaNoPeersNoPaaS(t *testing.T) {
	n := startNet(t, 1, 10, func(c *ServiceConfig) { c.PerPeerQuota = 2 })
	c := n.client(t)
	for i := range 2 {
		if r := push(t, c, n, "", message(fmt.Sprintf("q %d", i))); r.Status != StatusOK {
			t.Fatalf("within quota: %+v", r)
		}
	}
	if r := push(t, c, n, "", message("q over")); r.Status != StatusTooManyRequests {
		t.Fatalf("over quota: %+v", r)
	}
	// Another client still has its quota.
	if r := push(t, c2(t, n), n, "", message("other client")); r.Status != StatusOK {
		t.Fatalf("other client: %+v", r)
	}

	p, v := loadProver(t)
	val, _ := relay.NewValidator(relay.ValidatorConfig{Group: n.group, Verifier: v, RLN: true})
	lone := relaytest.Start(t, cluster, val)
	ls, err := NewService(lone.Host.Libp2p(), ServiceConfig{Relay: lone.Relay, Prover: p, Group: n.group, Memberships: n.members[:1], SlotsPath: filepath.Join(t.TempDir(), "s")})
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	if r := ls.Push(context.Background(), "client", "", message("nobody to relay to")); r.Status != StatusNoPeers {
		t.Fatalf("no peers: %+v", r)
	}
	if ls.SlotsLeft() != 10 {
		t.Fatal("a refused request used a slot")
	}

	plain, err := NewService(testnet.Host(t, cluster).Libp2p(), ServiceConfig{Relay: n.svcRelay})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if r := plain.Push(context.Background(), "client", "", message("no proof")); r.Status != StatusInvalidMessage {
		t.Fatalf("no PaaS: %+v", r)
	}
}

func c2(tb testing.TB, n *testNet) host.Host { return n.client(tb) }

// Fairness: a greedy client pushing concurrently gets its quota and no
// more, while other clients get theirs.
func TestFairness(t *testing.T) {
	const quota = 3
	n := startNet(t, 2, 20, func(c *ServiceConfig) { c.PerPeerQuota = quota })
	greedy := n.client(t)
	others := []host.Host{n.client(t), n.client(t)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[StatusCode]int{}
	for i := range 20 {
		wg.Go(func() {
			r := push(t, greedy, n, "", message(fmt.Sprintf("greedy %d", i)))
			mu.Lock()
			codes[r.Status]++
			mu.Unlock()
		})
	}
	okOthers := 0
	for j, o := range others {
		for i := range quota {
			wg.Go(func() {
				if r := push(t, o, n, "", message(fmt.Sprintf("other %d/%d", j, i))); r.Status == StatusOK {
					mu.Lock()
					okOthers++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if codes[StatusOK] != quota || codes[StatusTooManyRequests] != 20-quota {
		t.Fatalf("greedy client got %v, want %d OK and the rest 429", codes, quota)
	}
	if okOthers != quota*len(others) {
		t.Fatalf("other clients got %d proofs, want %d", okOthers, quota*len(others))
	}
}
