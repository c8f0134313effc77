// Package lightpush is Waku lightpush (19/WAKU2-LIGHTPUSH, v3 and
// v2-beta1), client and service, with RLN proof as a service: a service
// node holding memberships attaches proofs to the messages of light
// clients that have none, from slots it never hands out twice.
package lightpush

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/lightpushpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// Protocol ids.
const (
	ProtocolV3 = "/vac/waku/lightpush/3.0.0"
	ProtocolV2 = "/vac/waku/lightpush/2.0.0-beta1"
)

// Status codes of lightpush v3.
const (
	StatusOK               = 200
	StatusBadRequest       = 400
	StatusTooLarge         = 413
	StatusInvalidMessage   = 420
	StatusUnsupportedTopic = 421
	StatusTooManyRequests  = 429
	StatusInternal         = 500
	StatusUnavailable      = 503
	StatusOutOfProofs      = 504
	StatusNoPeers          = 505
)

// Defaults.
const (
	DefaultPerPeerQuota = 10
	DefaultWorkers      = 2
	DefaultQueue        = 64
	// proofOverhead is what an attached RateLimitProof adds to a message:
	// 128 + 6 x 32 bytes of fields, their tags and lengths, and field 21's.
	proofOverhead = 128 + 6*32 + 7*2 + 3 + 2
	// streamTimeout bounds one request on a stream, reading to answering.
	streamTimeout = 30 * time.Second
)

// Response is a lightpush answer.
type Response struct {
	Status      uint32
	Description string
	RelayPeers  uint32
	// Hash is the hash of the message as published (with its proof); zero
	// unless Status is 200.
	Hash wire.MessageHash
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	// Relay validates and publishes; required.
	Relay *relay.Relay
	// Prover, Group and Memberships enable proof as a service: messages
	// without a proof get one from the memberships' slots. Without
	// memberships, such messages are refused (420).
	Prover      *rln.Prover
	Group       membership.Group
	Memberships []relay.Member
	EpochPeriod time.Duration
	Signal      rln.SignalMode
	// SlotsPath is where used slots are persisted (required with
	// memberships).
	SlotsPath string
	// PerPeerQuota is the proofs one client (peer id) may get per epoch
	// (default 10); GlobalCap the proofs the service attaches per epoch in
	// all (0: as many as the memberships allow).
	PerPeerQuota, GlobalCap int
	// Workers is the proving pool's size (default 2); Queue the requests
	// that may wait for a worker (default 64; more get 503).
	Workers, Queue int
	Now            func() time.Time
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
}

// Service serves lightpush and attaches proofs.
type Service struct {
	cfg     ServiceConfig
	log     *slog.Logger
	h       host.Host
	slots   *SlotStore
	workers chan struct{}
	waiting atomic.Int64
	proofs  atomic.Int64
	m       *metrics

	mu      sync.Mutex
	epoch   uint64
	perPeer map[peer.ID]int
	total   int
}

// NewService starts the service on h (v3 and v2-beta1).
func NewService(h host.Host, cfg ServiceConfig) (*Service, error) {
	if cfg.Relay == nil {
		return nil, errors.New("lightpush: a relay is required")
	}
	if cfg.EpochPeriod <= 0 {
		cfg.EpochPeriod = relay.DefaultEpochPeriod
	}
	if cfg.PerPeerQuota <= 0 {
		cfg.PerPeerQuota = DefaultPerPeerQuota
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, log: cfg.Logger, h: h, workers: make(chan struct{}, cfg.Workers), perPeer: map[peer.ID]int{}}
	if len(cfg.Memberships) > 0 {
		if cfg.Prover == nil || cfg.Group == nil || cfg.SlotsPath == "" {
			return nil, errors.New("lightpush: proof as a service needs a prover, the group and a slots file")
		}
		members := make([]uint64, len(cfg.Memberships))
		limits := make([]uint64, len(cfg.Memberships))
		for i, m := range cfg.Memberships {
			members[i], limits[i] = m.Index, m.UserMessageLimit
		}
		slots, err := OpenSlots(cfg.SlotsPath, members, limits)
		if err != nil {
			return nil, err
		}
		s.slots = slots
		// Only the epochs a message may still be proved in matter.
		if cur := s.currentEpoch(); cur > 1 {
			if err := slots.Compact(cur - 1); err != nil {
				slots.Close()
				return nil, err
			}
		}
	}
	m, err := newMetrics(cfg.Registerer, s)
	if err != nil {
		if s.slots != nil {
			s.slots.Close()
		}
		return nil, err
	}
	s.m = m
	h.SetStreamHandler(ProtocolV3, s.handleV3)
	h.SetStreamHandler(ProtocolV2, s.handleV2)
	return s, nil
}

// Close stops serving.
func (s *Service) Close() {
	s.h.RemoveStreamHandler(ProtocolV3)
	s.h.RemoveStreamHandler(ProtocolV2)
	if s.slots != nil {
		s.slots.Close()
	}
}

func (s *Service) currentEpoch() uint64 { return rln.Epoch(s.cfg.Now(), s.cfg.EpochPeriod) }

// SlotsLeft is the number of proofs the service can still attach in the
// current epoch.
func (s *Service) SlotsLeft() int {
	if s.slots == nil {
		return 0
	}
	return s.slots.Left(s.currentEpoch())
}

// ProofsAttached counts the proofs made for light clients since start.
func (s *Service) ProofsAttached() int { return int(s.proofs.Load()) }

// Push handles one request from a client: the core of both protocol
// versions.
func (s *Service) Push(ctx context.Context, from peer.ID, pubsubTopic string, msg *messagepb.WakuMessage) Response {
	r := s.push(ctx, from, pubsubTopic, msg)
	s.m.response(r.Status)
	return r
}

func (s *Service) push(ctx context.Context, from peer.ID, pubsubTopic string, msg *messagepb.WakuMessage) Response {
	if msg == nil {
		return Response{Status: StatusBadRequest, Description: "no message"}
	}
	wire.Normalize(msg)
	if err := wire.CheckMessage(msg); err != nil {
		if errors.Is(err, wire.ErrTooLarge) {
			return Response{Status: StatusTooLarge, Description: err.Error()}
		}
		return Response{Status: StatusBadRequest, Description: err.Error()}
	}
	size := proto.Size(msg)
	if msg.RateLimitProof == nil && s.slots != nil {
		size += proofOverhead // the proof we would attach
	}
	if size > wire.MaxMessageSize {
		return Response{Status: StatusTooLarge, Description: fmt.Sprintf("message of %d bytes (with its proof), at most %d", size, wire.MaxMessageSize)}
	}
	if pubsubTopic == "" {
		t, err := s.cfg.Relay.TopicFor(msg.GetContentTopic())
		if err != nil {
			return Response{Status: StatusBadRequest, Description: fmt.Sprintf("no pubsub topic and none derivable: %v", err)}
		}
		pubsubTopic = t
	} else if _, err := autoshard.ParsePubsubTopic(pubsubTopic); err != nil {
		return Response{Status: StatusBadRequest, Description: err.Error()}
	}
	if !slices.Contains(s.cfg.Relay.Topics(), pubsubTopic) {
		return Response{Status: StatusUnsupportedTopic, Description: "this node does not relay " + pubsubTopic}
	}
	if len(s.cfg.Relay.PubSub().TopicPeers(pubsubTopic)) == 0 {
		return Response{Status: StatusNoPeers, Description: "no relay peers on " + pubsubTopic}
	}
	if msg.RateLimitProof != nil {
		return s.publish(pubsubTopic, msg)
	}
	if s.slots == nil {
		return Response{Status: StatusInvalidMessage, Description: "message has no RLN proof and this node does not attach them"}
	}
	now := s.cfg.Now()
	if msg.Timestamp == nil {
		ts := now.UnixNano()
		msg.Timestamp = &ts
	}
	if gap := now.Sub(time.Unix(0, msg.GetTimestamp())); gap > relay.DefaultMaxEpochGap || gap < -relay.DefaultMaxEpochGap {
		return Response{Status: StatusInvalidMessage, Description: "timestamp more than 20 s from the node's clock"}
	}
	epoch := rln.Epoch(time.Unix(0, msg.GetTimestamp()), s.cfg.EpochPeriod)
	if r, ok := s.admit(from, epoch); !ok {
		return r
	}
	// A place in the proving queue, then the slot: a refused request must
	// not burn a slot.
	if s.waiting.Add(1) > int64(s.cfg.Queue) {
		s.waiting.Add(-1)
		s.release(from, epoch)
		return Response{Status: StatusUnavailable, Description: "proving queue full, retry shortly"}
	}
	defer s.waiting.Add(-1)
	select {
	case s.workers <- struct{}{}:
	case <-ctx.Done():
		s.release(from, epoch)
		return Response{Status: StatusUnavailable, Description: "timed out waiting for a prover"}
	}
	defer func() { <-s.workers }()
	slot, err := s.slots.Take(epoch)
	if errors.Is(err, ErrNoSlot) {
		s.release(from, epoch)
		next := rln.EpochStart(epoch+1, s.cfg.EpochPeriod).Sub(now).Round(time.Second)
		return Response{Status: StatusOutOfProofs, Description: fmt.Sprintf("out of RLN proofs this epoch; the next epoch starts in %s", next)}
	}
	if err != nil {
		s.release(from, epoch)
		s.log.Error("slot store", "err", err)
		return Response{Status: StatusInternal, Description: "cannot record the proof slot"}
	}
	mem, ok := s.member(slot.Member)
	if !ok {
		return Response{Status: StatusInternal, Description: "slot of an unknown membership"}
	}
	start := time.Now()
	_, err = relay.AttachProof(s.cfg.Prover, s.cfg.Group, mem, relay.ProofParams{EpochPeriod: s.cfg.EpochPeriod, Signal: s.cfg.Signal}, msg, slot.MessageID)
	if err != nil {
		s.log.Error("proof as a service", "member", slot.Member, "err", err)
		return Response{Status: StatusInternal, Description: "could not prove the message"}
	}
	s.m.proved(time.Since(start))
	s.proofs.Add(1)
	return s.publish(pubsubTopic, msg)
}

// admit checks and counts the client's quota and the global cap.
func (s *Service) admit(from peer.ID, epoch uint64) (Response, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A message of an earlier epoch (within the gap) is counted against
	// the current epoch's quotas, which is the stricter choice.
	if epoch > s.epoch {
		s.epoch, s.perPeer, s.total = epoch, map[peer.ID]int{}, 0
	}
	if s.perPeer[from] >= s.cfg.PerPeerQuota {
		return Response{Status: StatusTooManyRequests, Description: fmt.Sprintf("quota of %d proofs per epoch used", s.cfg.PerPeerQuota)}, false
	}
	if s.cfg.GlobalCap > 0 && s.total >= s.cfg.GlobalCap {
		return Response{Status: StatusTooManyRequests, Description: "the service's proofs for this epoch are used"}, false
	}
	s.perPeer[from]++
	s.total++
	return Response{}, true
}

// release gives back a quota unit taken by admit for a request that got
// no proof.
func (s *Service) release(from peer.ID, epoch uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if epoch >= s.epoch && s.perPeer[from] > 0 {
		s.perPeer[from]--
		s.total--
	}
}

func (s *Service) member(index uint64) (relay.Member, bool) {
	for _, m := range s.cfg.Memberships {
		if m.Index == index {
			return m, true
		}
	}
	return relay.Member{}, false
}

func (s *Service) publish(topic string, msg *messagepb.WakuMessage) Response {
	h, n, err := s.cfg.Relay.Publish(topic, msg)
	switch {
	case errors.Is(err, wire.ErrTooLarge):
		return Response{Status: StatusTooLarge, Description: err.Error()}
	case errors.Is(err, relay.ErrRejected):
		return Response{Status: StatusInvalidMessage, Description: err.Error()}
	case err != nil:
		return Response{Status: StatusInternal, Description: err.Error()}
	case n == 0:
		return Response{Status: StatusNoPeers, Description: "no relay peers took the message"}
	}
	return Response{Status: StatusOK, RelayPeers: uint32(n), Hash: h}
}

func (s *Service) handleV3(st network.Stream) {
	defer st.Close()
	in, ok := wire.AwaitRequest(st, streamTimeout)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
	defer cancel()
	var req lightpushpb.LightPushRequest
	var r Response
	if err := wire.ReadMsg(in, &req); err != nil {
		r = Response{Status: StatusBadRequest, Description: "cannot read the request: " + err.Error()}
		if errors.Is(err, wire.ErrTooLarge) {
			r.Status = StatusTooLarge
		}
		s.m.response(r.Status)
	} else {
		r = s.Push(ctx, st.Conn().RemotePeer(), req.GetPubsubTopic(), req.GetMessage())
	}
	resp := &lightpushpb.LightPushResponse{RequestId: req.GetRequestId(), StatusCode: r.Status}
	if r.Description != "" {
		resp.StatusDesc = &r.Description
	}
	if r.Status == StatusOK {
		resp.RelayPeerCount = &r.RelayPeers
	}
	if err := wire.WriteMsg(st, resp); err != nil {
		s.log.Debug("lightpush v3 answer", "peer", st.Conn().RemotePeer(), "err", err)
	}
}

func (s *Service) handleV2(st network.Stream) {
	defer st.Close()
	in, ok := wire.AwaitRequest(st, streamTimeout)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
	defer cancel()
	var rpc lightpushpb.PushRPC
	var r Response
	if err := wire.ReadMsg(in, &rpc); err != nil {
		r = Response{Status: StatusBadRequest, Description: "cannot read the request: " + err.Error()}
		s.m.response(r.Status)
	} else if rpc.GetRequest() == nil {
		r = Response{Status: StatusBadRequest, Description: "no request"}
		s.m.response(r.Status)
	} else {
		r = s.Push(ctx, st.Conn().RemotePeer(), rpc.GetRequest().GetPubsubTopic(), rpc.GetRequest().GetMessage())
	}
	info := r.Description
	if r.Status == StatusOK {
		info = "OK"
	}
	out := &lightpushpb.PushRPC{RequestId: rpc.GetRequestId(), Response: &lightpushpb.PushResponse{IsSuccess: r.Status == StatusOK, Info: info}}
	if err := wire.WriteMsg(st, out); err != nil {
		s.log.Debug("lightpush v2 answer", "peer", st.Conn().RemotePeer(), "err", err)
	}
}

// newRequestID returns a random request id.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}
