package filter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/p2p/admission"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/filterpb"
)

// Relay is what the service needs of a relay; *relay.Relay has it.
type Relay interface {
	// Subscribe gives every message the relay delivers (validated ones).
	Subscribe() *relay.Subscription
	// Topics are the pubsub topics relayed.
	Topics() []string
	// TopicFor places a content topic on its shard (autosharding).
	TopicFor(contentTopic string) (string, error)
}

// ServiceConfig configures a Service. Zero values mean the defaults.
type ServiceConfig struct {
	// Relay feeds the messages pushed; required.
	Relay Relay
	// MaxContentTopicsPerRequest (100), MaxCriteriaPerPeer (1000) and
	// MaxPeers (1000) bound what subscribers may ask. MaxPeersPerPrefix
	// (100) bounds the subscribers from one address prefix (/24 IPv4,
	// /56 IPv6, of the subscriber's connection), so that one source
	// cannot take every place. MaxContentTopicLength (256 bytes) bounds
	// one content topic. Together with PushQueueBytes they bound the
	// service's memory (MemoryBound).
	MaxContentTopicsPerRequest int
	MaxCriteriaPerPeer         int
	MaxPeers                   int
	MaxPeersPerPrefix          int
	MaxContentTopicLength      int
	// Expiry is how long a subscriber stays subscribed without a ping or
	// a subscribe (5 min). SweepInterval is how often expired subscribers
	// are removed (Expiry/5, at most 1 min); they get no pushes meanwhile.
	Expiry        time.Duration
	SweepInterval time.Duration
	// PushQueue bounds the messages waiting to be pushed to one
	// subscriber (64), PushQueueBytes their framed bytes (1 MiB; at least
	// one push of the largest message, wire.MaxFrameSize); more are
	// dropped and counted.
	PushQueue      int
	PushQueueBytes int
	// PushTimeout bounds one push, dial to close (10 s).
	PushTimeout time.Duration
	// MaxPushFailures consecutive failed pushes remove the subscriber
	// (3), whether it is still connected or not: see pushLoop.
	MaxPushFailures int
	// RequestBurst and RequestRate (a second) are each peer's token
	// bucket for filter-subscribe requests (50, 1/s); more get 429. A
	// negative RequestBurst disables the limit.
	RequestBurst int
	RequestRate  float64
	Now          func() time.Time
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	// Admission bounds the subscribe request streams (deadlines, requests
	// in progress and idle streams per peer, per address prefix and in
	// all); zero fields take admission's defaults.
	Admission admission.Limits
}

// Response is the answer to a filter-subscribe request.
type Response struct {
	Status      StatusCode
	Description string
}

type subscriber struct {
	id       peer.ID
	prefix   netip.Prefix // of its connection when it subscribed; zero without an IP
	criteria map[criterion]struct{}
	lastSeen time.Time
	queue    chan []byte  // framed MessagePush
	queued   atomic.Int64 // bytes in queue
	done     chan struct{}
	failures int // consecutive failed pushes; guarded by Service.mu
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Service serves filter: it keeps subscriptions and pushes matching
// messages to subscribers.
type Service struct {
	cfg    ServiceConfig
	log    *slog.Logger
	h      host.Host
	m      *metrics
	sub    *relay.Subscription
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	gate   *admission.Gate // of the subscribe streams; nil until served

	pushed, failed, dropped atomic.Uint64

	mu       sync.Mutex
	peers    map[peer.ID]*subscriber
	prefixes map[netip.Prefix]int // subscribers per address prefix
	index    map[criterion]map[peer.ID]*subscriber
	criteria int
	buckets  map[peer.ID]*bucket
	closed   bool
}

// NewService starts the filter service on h.
func NewService(h host.Host, cfg ServiceConfig) (*Service, error) {
	if cfg.Relay == nil {
		return nil, errors.New("filter: a relay is required")
	}
	if cfg.MaxContentTopicsPerRequest <= 0 {
		cfg.MaxContentTopicsPerRequest = DefaultMaxContentTopicsPerRequest
	}
	if cfg.MaxCriteriaPerPeer <= 0 {
		cfg.MaxCriteriaPerPeer = DefaultMaxCriteriaPerPeer
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	if cfg.MaxPeersPerPrefix <= 0 {
		cfg.MaxPeersPerPrefix = min(DefaultMaxPeersPerPrefix, cfg.MaxPeers)
	}
	if cfg.MaxContentTopicLength <= 0 {
		cfg.MaxContentTopicLength = DefaultMaxContentTopicLength
	}
	if cfg.Expiry <= 0 {
		cfg.Expiry = DefaultExpiry
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = min(cfg.Expiry/5, time.Minute)
	}
	if cfg.PushQueue <= 0 {
		cfg.PushQueue = DefaultPushQueue
	}
	if cfg.PushQueueBytes <= 0 {
		cfg.PushQueueBytes = DefaultPushQueueBytes
	}
	if cfg.PushQueueBytes < wire.MaxFrameSize {
		return nil, fmt.Errorf("filter: a push queue of %d bytes cannot hold one push of the largest message, want at least %d", cfg.PushQueueBytes, wire.MaxFrameSize)
	}
	if cfg.PushTimeout <= 0 {
		cfg.PushTimeout = DefaultPushTimeout
	}
	if cfg.MaxPushFailures <= 0 {
		cfg.MaxPushFailures = DefaultMaxPushFailures
	}
	if cfg.RequestBurst == 0 {
		cfg.RequestBurst = DefaultRequestBurst
	}
	if cfg.RequestRate <= 0 {
		cfg.RequestRate = DefaultRequestRate
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, log: cfg.Logger, h: h,
		peers: map[peer.ID]*subscriber{}, prefixes: map[netip.Prefix]int{}, index: map[criterion]map[peer.ID]*subscriber{}, buckets: map[peer.ID]*bucket{},
	}
	m, err := newMetrics(cfg.Registerer, s)
	if err != nil {
		return nil, err
	}
	s.m = m
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.sub = cfg.Relay.Subscribe()
	s.wg.Add(2)
	go s.dispatch()
	go s.sweepLoop()
	if err := s.serveStreams(h); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops serving and pushing.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.h.RemoveStreamHandler(ProtocolSubscribe)
	if s.gate != nil {
		s.gate.Close() // the subscribe requests in progress end
	}
	s.sub.Cancel()
	s.cancel()
	s.wg.Wait()
}

// Peers is the number of subscribed peers.
func (s *Service) Peers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.peers)
}

// Criteria is the number of (pubsub topic, content topic) criteria of all
// subscribers.
func (s *Service) Criteria() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.criteria
}

// Subscribed tells whether p has a subscription.
func (s *Service) Subscribed(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peers[p] != nil
}

// Pushed, PushFailures and Dropped count messages pushed, pushes that
// failed, and messages dropped because a subscriber's queue was full.
func (s *Service) Pushed() uint64       { return s.pushed.Load() }
func (s *Service) PushFailures() uint64 { return s.failed.Load() }
func (s *Service) Dropped() uint64      { return s.dropped.Load() }

func typeName(t filterpb.FilterSubscribeRequest_FilterSubscribeType) string {
	switch t {
	case filterpb.FilterSubscribeRequest_SUBSCRIBER_PING:
		return "SUBSCRIBER_PING"
	case filterpb.FilterSubscribeRequest_SUBSCRIBE:
		return "SUBSCRIBE"
	case filterpb.FilterSubscribeRequest_UNSUBSCRIBE:
		return "UNSUBSCRIBE"
	case filterpb.FilterSubscribeRequest_UNSUBSCRIBE_ALL:
		return "UNSUBSCRIBE_ALL"
	}
	return "UNKNOWN"
}

// Handle answers one filter-subscribe request from a peer: the protocol's
// core, without the stream.
func (s *Service) Handle(from peer.ID, req *filterpb.FilterSubscribeRequest) Response {
	start := time.Now()
	r := s.handleRequest(from, req)
	kind := typeName(req.GetFilterSubscribeType())
	s.m.request(kind, r.Status, time.Since(start))
	return r
}

func (s *Service) handleRequest(from peer.ID, req *filterpb.FilterSubscribeRequest) Response {
	now := s.cfg.Now()
	if !s.allow(from, now) {
		return Response{StatusTooManyRequests, "too many requests: filter requests are rate limited per peer"}
	}
	switch t := req.GetFilterSubscribeType(); t {
	case filterpb.FilterSubscribeRequest_SUBSCRIBER_PING:
		return s.ping(from, now)
	case filterpb.FilterSubscribeRequest_SUBSCRIBE:
		crit, r := s.parseCriteria(req, true)
		if r != nil {
			return *r
		}
		return s.subscribe(from, crit, now)
	case filterpb.FilterSubscribeRequest_UNSUBSCRIBE:
		crit, r := s.parseCriteria(req, false)
		if r != nil {
			return *r
		}
		return s.unsubscribe(from, crit)
	case filterpb.FilterSubscribeRequest_UNSUBSCRIBE_ALL:
		return s.unsubscribeAll(from)
	default:
		return Response{StatusBadRequest, fmt.Sprintf("unknown filter_subscribe_type %d", int32(t))}
	}
}

// parseCriteria turns a (un)subscribe request into its criteria. Without a
// pubsub topic, each content topic goes to its autosharded shard. A
// subscription must name a pubsub topic the node relays.
func (s *Service) parseCriteria(req *filterpb.FilterSubscribeRequest, subscribe bool) ([]criterion, *Response) {
	cts := req.GetContentTopics()
	if len(cts) == 0 {
		return nil, &Response{StatusBadRequest, "content topics must be specified"}
	}
	if len(cts) > s.cfg.MaxContentTopicsPerRequest {
		return nil, &Response{StatusBadRequest, fmt.Sprintf("exceeds maximum content topics: %d", s.cfg.MaxContentTopicsPerRequest)}
	}
	pubsub := req.GetPubsubTopic()
	if pubsub != "" && subscribe && !slices.Contains(s.cfg.Relay.Topics(), pubsub) {
		return nil, &Response{StatusBadRequest, "this node does not relay pubsub topic " + pubsub}
	}
	out := make([]criterion, 0, len(cts))
	seen := make(map[criterion]struct{}, len(cts))
	for _, ct := range cts {
		if ct == "" {
			return nil, &Response{StatusBadRequest, "empty content topic"}
		}
		if len(ct) > s.cfg.MaxContentTopicLength {
			return nil, &Response{StatusBadRequest, fmt.Sprintf("content topic of %d bytes, at most %d allowed", len(ct), s.cfg.MaxContentTopicLength)}
		}
		c := criterion{pubsub: pubsub, content: ct}
		if pubsub == "" {
			t, err := s.cfg.Relay.TopicFor(ct)
			if err != nil {
				return nil, &Response{StatusBadRequest, fmt.Sprintf("no pubsub topic and none derivable for %q: %v", ct, err)}
			}
			c.pubsub = t
		}
		if _, dup := seen[c]; dup {
			continue
		}
		seen[c] = struct{}{}
		out = append(out, c)
	}
	return out, nil
}

// allow takes a token from p's request bucket.
func (s *Service) allow(p peer.ID, now time.Time) bool {
	if s.cfg.RequestBurst < 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[p]
	if b == nil {
		b = &bucket{tokens: float64(s.cfg.RequestBurst), last: now}
		s.buckets[p] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(float64(s.cfg.RequestBurst), b.tokens+d.Seconds()*s.cfg.RequestRate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (s *Service) ping(from peer.ID, now time.Time) Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.peers[from]
	if sub == nil {
		return Response{StatusNotFound, "peer has no subscriptions"}
	}
	sub.lastSeen = now
	return Response{StatusOK, "OK"}
}

func (s *Service) subscribe(from peer.ID, crit []criterion, now time.Time) Response {
	prefix := s.prefixOf(from)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Response{StatusUnavailable, "service is closing"}
	}
	sub := s.peers[from]
	if sub == nil && len(s.peers) >= s.cfg.MaxPeers {
		s.m.refused("max_peers")
		return Response{StatusUnavailable, fmt.Sprintf("node has reached the maximum of %d subscribed peers", s.cfg.MaxPeers)}
	}
	if sub == nil && s.prefixes[prefix] >= s.cfg.MaxPeersPerPrefix {
		// The source's share is used up, not the service: 429, as the
		// admission limits on a client's share answer (nwaku has no
		// such limit; it answers 429 to a client over its rate).
		s.m.refused("max_peers_per_prefix")
		s.log.Debug("filter subscriber refused: its address prefix is full", "peer", from, "prefix", prefix, "subscribers", s.prefixes[prefix])
		return Response{StatusTooManyRequests, fmt.Sprintf("too many requests: %d peers from %s are subscribed already, at most %d allowed", s.prefixes[prefix], prefixName(prefix), s.cfg.MaxPeersPerPrefix)}
	}
	total := len(crit)
	if sub != nil {
		total = len(sub.criteria)
		for _, c := range crit {
			if _, ok := sub.criteria[c]; !ok {
				total++
			}
		}
	}
	if total > s.cfg.MaxCriteriaPerPeer {
		s.m.refused("max_criteria_per_peer")
		return Response{StatusUnavailable, fmt.Sprintf("peer has reached the maximum number of filter criteria: %d", s.cfg.MaxCriteriaPerPeer)}
	}
	if sub == nil {
		sub = &subscriber{id: from, prefix: prefix, criteria: map[criterion]struct{}{}, queue: make(chan []byte, s.cfg.PushQueue), done: make(chan struct{})}
		s.peers[from] = sub
		s.prefixes[prefix]++
		s.wg.Add(1)
		go s.pushLoop(sub)
	}
	for _, c := range crit {
		if _, ok := sub.criteria[c]; ok {
			continue
		}
		sub.criteria[c] = struct{}{}
		s.criteria++
		m := s.index[c]
		if m == nil {
			m = map[peer.ID]*subscriber{}
			s.index[c] = m
		}
		m[from] = sub
	}
	sub.lastSeen = now
	return Response{StatusOK, "OK"}
}

func (s *Service) unsubscribe(from peer.ID, crit []criterion) Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.peers[from]
	if sub == nil {
		return Response{StatusNotFound, "peer has no subscriptions"}
	}
	removed := 0
	for _, c := range crit {
		if _, ok := sub.criteria[c]; !ok {
			continue
		}
		removed++
		s.dropCriterionLocked(sub, c)
	}
	if removed == 0 {
		return Response{StatusNotFound, "peer has no subscription to these topics"}
	}
	if len(sub.criteria) == 0 {
		s.removeLocked(sub)
		s.m.removed("unsubscribed")
	}
	return Response{StatusOK, "OK"}
}

func (s *Service) unsubscribeAll(from peer.ID) Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.peers[from]
	if sub == nil {
		return Response{StatusNotFound, "peer has no subscriptions"}
	}
	s.removeLocked(sub)
	s.m.removed("unsubscribed")
	return Response{StatusOK, "OK"}
}

func (s *Service) dropCriterionLocked(sub *subscriber, c criterion) {
	delete(sub.criteria, c)
	s.criteria--
	if m := s.index[c]; m != nil {
		delete(m, sub.id)
		if len(m) == 0 {
			delete(s.index, c)
		}
	}
}

// removeLocked forgets a subscriber and stops its pushes; false if it was
// gone already.
func (s *Service) removeLocked(sub *subscriber) bool {
	if s.peers[sub.id] != sub {
		return false
	}
	for c := range sub.criteria {
		s.dropCriterionLocked(sub, c)
	}
	delete(s.peers, sub.id)
	if s.prefixes[sub.prefix]--; s.prefixes[sub.prefix] <= 0 {
		delete(s.prefixes, sub.prefix)
	}
	close(sub.done)
	return true
}

// sweep removes the subscribers that neither pinged nor subscribed within
// Expiry, and the request buckets that are full again.
func (s *Service) sweep() {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.peers {
		if now.Sub(sub.lastSeen) > s.cfg.Expiry {
			s.log.Debug("filter subscription expired", "peer", sub.id)
			s.removeLocked(sub)
			s.m.removed("expired")
		}
	}
	for p, b := range s.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*s.cfg.RequestRate >= float64(s.cfg.RequestBurst) {
			delete(s.buckets, p)
		}
	}
}

func (s *Service) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.sweep()
		}
	}
}

// dispatch queues every relayed message for the subscribers it matches.
// It never blocks on a subscriber: a full queue (PushQueue messages or
// PushQueueBytes bytes) drops the message. Subscribers of a message share
// its one encoded frame.
func (s *Service) dispatch() {
	defer s.wg.Done()
	for env := range s.sub.C() {
		key := criterion{pubsub: env.PubsubTopic, content: env.Message.GetContentTopic()}
		now := s.cfg.Now()
		s.mu.Lock()
		subs := s.index[key]
		if len(subs) == 0 {
			s.mu.Unlock()
			continue
		}
		s.mu.Unlock()
		topic := env.PubsubTopic
		b, err := wire.Encode(&filterpb.MessagePush{WakuMessage: env.Message, PubsubTopic: &topic})
		if err != nil {
			s.log.Error("filter push does not encode", "err", err)
			continue
		}
		frame := wire.AppendFrame(nil, b)
		s.mu.Lock()
		for _, sub := range s.index[key] {
			if now.Sub(sub.lastSeen) > s.cfg.Expiry {
				continue // expired, not yet swept
			}
			// Only dispatch adds to queued, so the check holds until the
			// frame is queued; the push loop only takes away.
			if sub.queued.Load()+int64(len(frame)) > int64(s.cfg.PushQueueBytes) {
				s.dropped.Add(1)
				s.m.push("dropped")
				continue
			}
			sub.queued.Add(int64(len(frame)))
			select {
			case sub.queue <- frame:
			default:
				sub.queued.Add(-int64(len(frame)))
				s.dropped.Add(1)
				s.m.push("dropped")
			}
		}
		s.mu.Unlock()
	}
}

// pushLoop pushes a subscriber's queue, one message a stream.
//
// A failed push is counted and logged and the message is not tried again.
// MaxPushFailures failed pushes in a row remove the subscriber: one that
// cannot be reached (no connection left) as "unreachable", one that stays
// connected but refuses or resets its push streams as "push_failures", so
// that it cannot hold a place it does not use until it expires. nwaku
// (waku_filter_v2/protocol.nim) is gentler: its pushToPeer logs a failed
// push and keeps the subscription ("We do not remove this peer, but allow
// the underlying peer manager to do so if it is deemed necessary"); the
// subscription goes when the peer manager drops the peer and the
// one-minute maintenance sees it gone, or when it expires 5 min after the
// last subscribe or ping.
func (s *Service) pushLoop(sub *subscriber) {
	defer s.wg.Done()
	for {
		select {
		case <-sub.done:
			return
		case <-s.ctx.Done():
			return
		default:
		}
		select {
		case <-sub.done:
			return
		case <-s.ctx.Done():
			return
		case frame := <-sub.queue:
			sub.queued.Add(-int64(len(frame)))
			err := s.pushOne(sub.id, frame)
			reachable := err == nil || s.h.Network().Connectedness(sub.id) == network.Connected
			s.mu.Lock()
			if err != nil {
				s.failed.Add(1)
				s.m.push("failed")
				sub.failures++
				s.log.Debug("filter push failed", "peer", sub.id, "connected", reachable, "failed_pushes", sub.failures, "err", err)
				if sub.failures >= s.cfg.MaxPushFailures {
					reason := "push_failures"
					if !reachable {
						reason = "unreachable"
					}
					if s.removeLocked(sub) {
						s.log.Info("filter subscriber removed: its pushes keep failing", "peer", sub.id, "failed_pushes", sub.failures, "reason", reason)
						s.m.removed(reason)
					}
				}
			} else {
				sub.failures = 0
				s.pushed.Add(1)
				s.m.push("ok")
			}
			s.mu.Unlock()
		}
	}
}

func (s *Service) pushOne(p peer.ID, frame []byte) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.PushTimeout)
	defer cancel()
	st, err := s.h.NewStream(ctx, p, ProtocolPush)
	if err != nil {
		return err
	}
	_ = st.SetDeadline(time.Now().Add(s.cfg.PushTimeout))
	if _, err := st.Write(frame); err != nil {
		_ = st.Reset()
		return err
	}
	return st.Close()
}

func (s *Service) handle(gate *admission.Gate, st network.Stream) {
	in, ok := gate.Accept(st)
	if !ok {
		return
	}
	defer in.Done()
	defer st.Close()
	var req filterpb.FilterSubscribeRequest
	var r Response
	if err := wire.ReadMsg(in, &req); err != nil {
		r = Response{StatusBadRequest, "cannot read the request: " + err.Error()}
		s.m.request("INVALID", r.Status, 0)
		s.m.error("decode_rpc_failure")
	} else if b := in.Busy(); b != nil {
		r = busyResponse(b)
		s.m.request(typeName(req.GetFilterSubscribeType()), r.Status, 0)
	} else {
		r = s.Handle(st.Conn().RemotePeer(), &req)
	}
	desc := r.Description
	resp := &filterpb.FilterSubscribeResponse{RequestId: req.GetRequestId(), StatusCode: uint32(r.Status), StatusDesc: &desc}
	if err := wire.WriteMsg(st, resp); err != nil {
		s.log.Debug("filter answer", "peer", st.Conn().RemotePeer(), "err", err)
	}
}
