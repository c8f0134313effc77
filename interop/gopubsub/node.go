package gopubsub

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// Config configures a node. ClusterID, IP and Topics are required.
type Config struct {
	// ClusterID and Shards are what the node answers to metadata queries.
	ClusterID uint16
	Shards    []uint32
	// IP is the loopback address the node listens and dials on (a random
	// TCP port). Give each node of a network its own (127.0.x.y): with
	// more than five peers on one address go-waku's IP colocation score
	// would penalise them all.
	IP string
	// Topics are the pubsub topics joined and subscribed to, each with
	// go-waku's topic score parameters and validator.
	Topics []string
	// Protocols are the gossipsub protocols offered, most preferred first
	// (default ProtocolsV11).
	Protocols []protocol.ID
	// Params replaces WakuParams (tests that need a node outside the
	// mesh, for example).
	Params *pubsub.GossipSubParams
	// NoFloodPublish turns off go-waku's flood publishing, for tests that
	// must keep a node's own messages to gossip.
	NoFloodPublish bool
	// MaxMessageSize, when set, bounds the RPC frames the node reads
	// (go-libp2p-pubsub's WithMaxMessageSize; its default is 1 MiB). nwaku
	// reads frames of 150 KiB plus 64 KiB.
	MaxMessageSize int
	// ScoreInspectPeriod is how often peer scores are sampled (default
	// 200 ms; go-waku inspects every 6 s to disconnect graylisted peers,
	// which these nodes do too).
	ScoreInspectPeriod time.Duration
}

// Delivery is a message the node's subscription delivered.
type Delivery struct {
	ID    string
	Topic string
	From  peer.ID // the peer it came from (ourselves for our own)
	Data  []byte
	At    time.Time
}

// Node is a go-libp2p host running go-libp2p-pubsub as go-waku runs it.
type Node struct {
	cfg    Config
	h      host.Host
	ps     *pubsub.PubSub
	topics map[string]*pubsub.Topic
	tracer *tracer
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	delivered map[string]Delivery
	order     []string
	minScore  map[peer.ID]float64
	lastScore map[peer.ID]*pubsub.PeerScoreSnapshot
	holds     map[string]chan struct{}
	held      map[string]bool
}

// Start starts a node; it is closed at the end of the test.
func Start(tb testing.TB, cfg Config) *Node {
	tb.Helper()
	n, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(n.Close)
	return n
}

// New starts a node; the caller closes it.
func New(cfg Config) (*Node, error) {
	if cfg.IP == "" || len(cfg.Topics) == 0 {
		return nil, fmt.Errorf("gopubsub: a node needs an IP and topics")
	}
	if cfg.Protocols == nil {
		cfg.Protocols = ProtocolsV11
	}
	if cfg.ScoreInspectPeriod <= 0 {
		cfg.ScoreInspectPeriod = 200 * time.Millisecond
	}
	// go-waku's node keys are secp256k1, as in Waku ENRs.
	key, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(fmt.Sprintf("/ip4/%s/tcp/0", cfg.IP)),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.UserAgent("go-libp2p-pubsub interop (go-waku relay configuration)"),
	)
	if err != nil {
		return nil, fmt.Errorf("gopubsub: host: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{
		cfg: cfg, h: h, topics: map[string]*pubsub.Topic{}, tracer: newTracer(), cancel: cancel,
		delivered: map[string]Delivery{}, minScore: map[peer.ID]float64{}, lastScore: map[peer.ID]*pubsub.PeerScoreSnapshot{},
		holds: map[string]chan struct{}{}, held: map[string]bool{},
	}
	h.SetStreamHandler(MetadataID, n.serveMetadata)
	if err := n.startPubSub(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// startPubSub starts gossipsub with go-waku's options (waku_relay.go,
// NewWakuRelay; config.go, defaultPubsubOptions), joins the topics and
// reads their subscriptions.
func (n *Node) startPubSub(ctx context.Context) error {
	params := WakuParams()
	if n.cfg.Params != nil {
		params = *n.cfg.Params
	}
	var err error
	opts := []pubsub.Option{}
	if n.cfg.MaxMessageSize > 0 {
		opts = append(opts, pubsub.WithMaxMessageSize(n.cfg.MaxMessageSize))
	}
	n.ps, err = pubsub.NewGossipSub(ctx, n.h, append(opts,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(MessageID),
		pubsub.WithGossipSubProtocols(n.cfg.Protocols, Features),
		pubsub.WithGossipSubParams(params),
		pubsub.WithFloodPublish(!n.cfg.NoFloodPublish),
		pubsub.WithSeenMessagesTTL(WakuSeenTTL),
		pubsub.WithPeerScore(WakuPeerScoreParams(), WakuThresholds()),
		pubsub.WithPeerScoreInspect(n.inspectScores, n.cfg.ScoreInspectPeriod),
		pubsub.WithRawTracer(n.tracer),
	)...)
	if err != nil {
		return fmt.Errorf("gopubsub: gossipsub: %w", err)
	}
	for _, topic := range n.cfg.Topics {
		if err := n.ps.RegisterTopicValidator(topic, n.validate); err != nil {
			return err
		}
		t, err := n.ps.Join(topic)
		if err != nil {
			return err
		}
		if err := t.SetScoreParams(WakuTopicScoreParams()); err != nil {
			return err
		}
		sub, err := t.Subscribe()
		if err != nil {
			return err
		}
		n.topics[topic] = t
		n.wg.Add(1)
		go n.read(ctx, sub)
	}
	return nil
}

// validate is go-waku's topic validator with no validator registered on
// top (no RLN): the data must decode as a WakuMessage with a content topic
// (pb.Unmarshal and its Validate). Messages held by Hold wait here.
func (n *Node) validate(ctx context.Context, _ peer.ID, m *pubsub.Message) bool {
	var msg messagepb.WakuMessage
	if err := proto.Unmarshal(m.GetData(), &msg); err != nil || msg.GetContentTopic() == "" {
		return false
	}
	id := MessageID(m.Message)
	n.mu.Lock()
	hold := n.holds[id]
	if hold != nil {
		n.held[id] = true
	}
	n.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// Hold makes the node's validator keep message id (not yet received)
// until the returned release is called: the node has seen the message
// and told its mesh IDONTWANT (go-libp2p-pubsub does so before
// validating), but neither delivers nor forwards it meanwhile.
func (n *Node) Hold(id string) (release func()) {
	c := make(chan struct{})
	n.mu.Lock()
	n.holds[id] = c
	n.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(c) }) }
}

// Holding tells whether the node's validator is holding message id.
func (n *Node) Holding(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.held[id]
}

func (n *Node) read(ctx context.Context, sub *pubsub.Subscription) {
	defer n.wg.Done()
	defer sub.Cancel()
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return
		}
		id := MessageID(m.Message)
		n.mu.Lock()
		if _, ok := n.delivered[id]; !ok {
			n.delivered[id] = Delivery{ID: id, Topic: m.GetTopic(), From: m.ReceivedFrom, Data: m.GetData(), At: time.Now()}
			n.order = append(n.order, id)
		}
		n.mu.Unlock()
	}
}

// inspectScores samples the peer scores: it keeps each peer's lowest and
// latest, and, as go-waku's peerScoreInspector, disconnects peers below
// the graylist threshold.
func (n *Node) inspectScores(scores map[peer.ID]*pubsub.PeerScoreSnapshot) {
	n.mu.Lock()
	for p, s := range scores {
		if m, ok := n.minScore[p]; !ok || s.Score < m {
			n.minScore[p] = s.Score
		}
		n.lastScore[p] = s
	}
	n.mu.Unlock()
	for p, s := range scores {
		if s.Score < WakuThresholds().GraylistThreshold {
			_ = n.h.Network().ClosePeer(p)
		}
	}
}

// Close stops the node.
func (n *Node) Close() {
	n.cancel()
	n.wg.Wait()
	_ = n.h.Close()
}

// ID is the node's peer id.
func (n *Node) ID() peer.ID { return n.h.ID() }

// Host is the node's libp2p host.
func (n *Node) Host() host.Host { return n.h }

// AddrInfo is the node's id and listen addresses.
func (n *Node) AddrInfo() peer.AddrInfo { return peer.AddrInfo{ID: n.h.ID(), Addrs: n.h.Addrs()} }

// Streams returns the protocols of the pubsub streams open with p: those
// p opened to us (in) and ours to p (out).
func (n *Node) Streams(p peer.ID) (in, out []protocol.ID) {
	for _, c := range n.h.Network().ConnsToPeer(p) {
		for _, s := range c.GetStreams() {
			id := s.Protocol()
			if !slices.Contains(ProtocolsV12, id) {
				continue
			}
			if s.Stat().Direction == network.DirInbound {
				in = append(in, id)
			} else {
				out = append(out, id)
			}
		}
	}
	return in, out
}

// PubSub is the node's go-libp2p-pubsub instance.
func (n *Node) PubSub() *pubsub.PubSub { return n.ps }

// Connect dials ai.
func (n *Node) Connect(ctx context.Context, ai peer.AddrInfo) error { return n.h.Connect(ctx, ai) }

// Publish publishes data on a joined topic and returns its message id.
func (n *Node) Publish(ctx context.Context, topic string, data []byte) (string, error) {
	t := n.topics[topic]
	if t == nil {
		return "", fmt.Errorf("gopubsub: topic %s not joined", topic)
	}
	if err := t.Publish(ctx, data); err != nil {
		return "", err
	}
	return MessageID(&pubsubpb.Message{Data: data}), nil
}

// Delivered returns the delivery of message id, if the node delivered it.
func (n *Node) Delivered(id string) (Delivery, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, ok := n.delivered[id]
	return d, ok
}

// Deliveries is the number of messages the node delivered.
func (n *Node) Deliveries() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.order)
}

// MinScore is the lowest score the node gave p in any sample, and whether
// p was sampled at all.
func (n *Node) MinScore(p peer.ID) (float64, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s, ok := n.minScore[p]
	return s, ok
}

// Score is the node's last sampled score snapshot of p (nil if none).
func (n *Node) Score(p peer.ID) *pubsub.PeerScoreSnapshot {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lastScore[p]
}
