// Package relay is Waku relay (11/WAKU2-RELAY) on rlnd's gossipsub: the
// node joins the shards of its cluster, validates every message (form,
// size, timestamp and the RLN proof) before it is delivered or forwarded,
// and publishes by pubsub topic or by content topic (autosharding).
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/relay/pubsub"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// ErrRejected wraps the reason a message of ours failed validation.
var ErrRejected = errors.New("relay: message rejected")

// Config configures a Relay.
type Config struct {
	ClusterID uint16
	// NumShards is the cluster's shard count, for autosharding.
	NumShards int
	// Shards are the shards relayed; nil means all NumShards.
	Shards []uint16
	// Validator judges every message; required.
	Validator *Validator
	Pipeline  PipelineConfig
	// Router is the gossipsub configuration; a zero value means Waku's
	// parameters (DefaultRouterConfig).
	Router *gossipsub.Config
	// SubBuffer bounds each subscriber's undelivered messages.
	SubBuffer int
	// AwaitPeer is the host's admission of a peer (p2p.Host.WaitPeer,
	// Waku's metadata check); relay takes a peer only once it passed (see
	// pubsub.Config.AwaitPeer). Nil takes every connected peer.
	AwaitPeer func(ctx context.Context, p peer.ID) error
	Logger    *slog.Logger
	// Registerer receives the relay's metrics, read from the router at
	// scrape time (nil: not registered). The validator's come with its
	// own ValidatorConfig.Registerer.
	Registerer prometheus.Registerer
}

// DefaultRouterConfig is gossipsub as nwaku runs it: its parameters and
// scores, and message ids hashing the message data. Its Seed is the zero
// value: each router draws its own from crypto/rand (set
// gossipsub.FixedSeed for a reproducible run).
func DefaultRouterConfig() gossipsub.Config {
	return gossipsub.Config{
		Params:     gossipsub.DefaultParams(),
		Score:      gossipsub.DefaultScoreParams(),
		Thresholds: gossipsub.DefaultThresholds(),
		MsgID:      func(m *gossipsubpb.Message) string { return wire.GossipMessageID(m.GetData()) },
	}
}

// Envelope is a relayed message with where it came from.
type Envelope struct {
	PubsubTopic string
	Message     *messagepb.WakuMessage
	Hash        wire.MessageHash
	From        peer.ID // empty for our own
	Local       bool
	Received    time.Time
}

// Subscription receives every message the relay delivers.
type Subscription struct {
	r    *Relay
	c    chan *Envelope
	once sync.Once
}

// C is the channel of messages, closed when the relay closes or the
// subscription is cancelled.
func (s *Subscription) C() <-chan *Envelope { return s.c }

// Cancel ends the subscription.
func (s *Subscription) Cancel() {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.once.Do(func() {
		delete(s.r.subs, s)
		close(s.c)
	})
}

// Relay is a Waku relay node.
type Relay struct {
	cfg    Config
	log    *slog.Logger
	ps     *pubsub.PubSub
	pipe   *Pipeline
	topics []string
	wg     sync.WaitGroup

	// sizes is nwaku's waku_histogram_message_size (nil without a
	// Registerer): the payload of every message relayed to us, in kB.
	sizes prometheus.Histogram

	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	dropped uint64
	closed  bool
}

// pipeValidator feeds the gossipsub driver's validations to the pipeline.
type pipeValidator struct{ p *Pipeline }

func (pv pipeValidator) Validate(_, topic string, data []byte, _ peer.ID, done func(gossipsub.Result)) bool {
	return pv.p.Submit(done, Item{Topic: topic, Data: data})
}

// New starts Waku relay on h and joins the configured shards.
func New(h host.Host, cfg Config) (*Relay, error) {
	if cfg.Validator == nil {
		return nil, errors.New("relay: a validator is required")
	}
	if cfg.NumShards <= 0 && len(cfg.Shards) == 0 {
		return nil, errors.New("relay: no shards")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SubBuffer <= 0 {
		cfg.SubBuffer = 4096
	}
	shards := cfg.Shards
	if shards == nil {
		for i := range cfg.NumShards {
			shards = append(shards, uint16(i))
		}
	}
	var topics []string
	for _, s := range shards {
		t, err := autoshard.NewPubsubTopic(int(cfg.ClusterID), int(s))
		if err != nil {
			return nil, err
		}
		topics = append(topics, t.String())
	}
	rc := DefaultRouterConfig()
	if cfg.Router != nil {
		rc = *cfg.Router
	}
	r := &Relay{cfg: cfg, log: cfg.Logger, topics: topics, subs: map[*Subscription]struct{}{}}
	r.pipe = NewPipeline(cfg.Validator, cfg.Pipeline, func(id any, o Outcome) { id.(func(gossipsub.Result))(o.Result) })
	ps, err := pubsub.New(h, pubsub.Config{Router: rc, Validator: pipeValidator{r.pipe}, AwaitPeer: cfg.AwaitPeer, Logger: cfg.Logger})
	if err != nil {
		r.pipe.Close()
		return nil, err
	}
	r.ps = ps
	if r.sizes, err = registerSizes(cfg.Registerer); err != nil {
		r.Close()
		return nil, err
	}
	for _, t := range topics {
		sub, err := ps.Subscribe(t)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.wg.Add(1)
		go r.fanIn(sub)
	}
	if err := registerCollector(cfg.Registerer, r); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Relay) fanIn(sub *pubsub.Subscription) {
	defer r.wg.Done()
	for m := range sub.C() {
		msg, err := wire.DecodeMessage(m.Data)
		if err != nil {
			// Validated messages decode; a local publish was checked too.
			r.log.Error("relayed message does not decode", "err", err)
			continue
		}
		if r.sizes != nil {
			r.sizes.Observe(float64(len(msg.GetPayload())) / 1000)
		}
		env := &Envelope{PubsubTopic: m.Topic, Message: msg, Hash: wire.Hash(m.Topic, msg), From: m.From, Local: m.Local, Received: time.Now()}
		r.mu.Lock()
		for s := range r.subs {
			select {
			case s.c <- env:
			default:
				r.dropped++
			}
		}
		r.mu.Unlock()
	}
}

// Topics are the pubsub topics relayed.
func (r *Relay) Topics() []string { return slices.Clone(r.topics) }

// TopicPeers are the peers subscribed to a pubsub topic.
func (r *Relay) TopicPeers(pubsubTopic string) []peer.ID { return r.ps.TopicPeers(pubsubTopic) }

// PubSub is the gossipsub driver underneath.
func (r *Relay) PubSub() *pubsub.PubSub { return r.ps }

// Validator is the message validator.
func (r *Relay) Validator() *Validator { return r.cfg.Validator }

// TopicFor returns the pubsub topic of a content topic by autosharding.
func (r *Relay) TopicFor(contentTopic string) (string, error) {
	t, err := autoshard.ShardFor(contentTopic, r.cfg.ClusterID, r.cfg.NumShards)
	if err != nil {
		return "", err
	}
	return t.String(), nil
}

// Publish validates a message of ours as peers will, then publishes it on
// pubsubTopic, or on its content topic's shard when pubsubTopic is empty.
// It returns the message hash and the number of peers it was sent to.
func (r *Relay) Publish(pubsubTopic string, m *messagepb.WakuMessage) (wire.MessageHash, int, error) {
	if pubsubTopic == "" {
		t, err := r.TopicFor(m.GetContentTopic())
		if err != nil {
			return wire.MessageHash{}, 0, err
		}
		pubsubTopic = t
	}
	data, err := wire.EncodeMessage(m)
	if err != nil {
		return wire.MessageHash{}, 0, err
	}
	o := r.cfg.Validator.Validate(pubsubTopic, data)
	if o.Result != gossipsub.Accept {
		return wire.MessageHash{}, 0, fmt.Errorf("%w: %s", ErrRejected, o.Reason)
	}
	_, n, err := r.ps.Publish(pubsubTopic, data)
	if err != nil {
		return wire.MessageHash{}, 0, err
	}
	return wire.Hash(pubsubTopic, o.Msg), n, nil
}

// Subscribe returns a subscription to every message relayed on the
// relay's topics, including our own.
func (r *Relay) Subscribe() *Subscription {
	s := &Subscription{r: r, c: make(chan *Envelope, r.cfg.SubBuffer)}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		close(s.c)
		return s
	}
	r.subs[s] = struct{}{}
	return s
}

// Dropped counts deliveries dropped because a subscriber was slow.
func (r *Relay) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Close stops relaying.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	if r.ps != nil {
		_ = r.ps.Close()
	}
	r.pipe.Close()
	r.wg.Wait()
	r.mu.Lock()
	for s := range r.subs {
		s.once.Do(func() { close(s.c) })
		delete(r.subs, s)
	}
	r.mu.Unlock()
	return nil
}
