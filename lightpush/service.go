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
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/p2p/admission"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/lightpushpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// Defaults.
const (
	DefaultPerPeerQuota = 10
	DefaultWorkers      = 2
	DefaultQueue        = 64
	// DefaultReservedShare of each epoch's slots is kept for clients not
	// yet served in it.
	DefaultReservedShare = 0.25
	// proofOverhead is what an attached RateLimitProof adds to a message:
	// 128 + 6 x 32 bytes of fields, their tags and lengths, and field 21's.
	proofOverhead = 128 + 6*32 + 7*2 + 3 + 2
	// streamTimeout bounds one request on a stream, reading to answering.
	streamTimeout = 30 * time.Second
)

// Response is a lightpush answer.
type Response struct {
	Status      StatusCode
	Description string
	RelayPeers  uint32
	// Hash is the hash of the message as published (with its proof); zero
	// unless Status is 200.
	Hash wire.MessageHash
}

// Relay is what the service needs of a relay; *relay.Relay has it.
type Relay interface {
	// Publish validates a message as peers will and publishes it on
	// pubsubTopic; it returns the message's hash and the number of peers
	// it was sent to, and an error wrapping relay.ErrRejected when the
	// message failed validation.
	Publish(pubsubTopic string, m *messagepb.WakuMessage) (wire.MessageHash, int, error)
	// Topics are the pubsub topics relayed.
	Topics() []string
	// TopicFor places a content topic on its shard (autosharding).
	TopicFor(contentTopic string) (string, error)
	// TopicPeers are the peers subscribed to a pubsub topic.
	TopicPeers(pubsubTopic string) []peer.ID
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	// Relay validates and publishes; required.
	Relay Relay
	// Prover, Group and Memberships enable proof as a service: messages
	// without a proof get one from the memberships' slots. Without
	// memberships, such messages are refused (420).
	Prover      *rln.Prover
	Group       membership.Group
	Memberships []relay.Member
	EpochPeriod time.Duration
	Signal      rln.SignalMode
	// MaxEpochGap is the node's rln.max-epoch-gap: a message whose
	// timestamp is further from the clock is refused before any slot is
	// taken (default relay.DefaultMaxEpochGap).
	MaxEpochGap time.Duration
	// SlotsPath is where used slots are persisted (required with
	// memberships); SlotFS the file layer under it (default: the OS's).
	SlotsPath string
	SlotFS    SlotFS
	// PerPeerQuota is the proofs one client (peer id) may get per epoch
	// (default 10); PerIPQuota and PerPrefixQuota the proofs all clients
	// of one IP address, or of one /24 (IPv4) or /56 (IPv6) prefix, may get
	// (0: no such bound); GlobalCap the proofs the service attaches per
	// epoch in all (0: as many as the memberships allow).
	PerPeerQuota, PerIPQuota, PerPrefixQuota, GlobalCap int
	// ReservedShare of each epoch's slots is kept for clients (peer ids
	// and prefixes) not yet served in that epoch (default 0.25; negative:
	// none).
	ReservedShare float64
	// AllowlistPath, when set, is a file of client peer ids (one a line):
	// only they get proofs attached; anyone may still push messages with
	// their own proofs. ReloadAllowlist reads it again.
	AllowlistPath string
	// Workers is the proving pool's size (default 2); Queue the requests
	// that may wait for a worker (default 64; more get 503).
	Workers, Queue int
	Now            func() time.Time
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
	// PathRefresh is how often the service checks the group's root to
	// refresh the cached proof parts of its memberships after another
	// member registered (default DefaultPathRefresh; negative: never).
	PathRefresh time.Duration
	// Local serves no protocol: the node itself calls Push, to publish
	// its own messages with proofs from its own memberships (the REST
	// API's publishing), with the same slots, nullifier checks and
	// crash safety as proof as a service.
	Local bool
	// Admission bounds the request streams of each version (deadlines,
	// requests in progress and idle streams per peer, per address prefix
	// and in all); zero fields take admission's defaults.
	Admission admission.Limits
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
	quotas  *quotas
	allow   *allowlist
	// used holds every (epoch, nullifier) the service proved with: rebuilt
	// from the slot file at start, checked before each publish.
	used *rln.NullifierLog
	// compacted is the first epoch the slot file keeps.
	compacted atomic.Uint64
	// gates admit the request streams, by protocol id (serveStreams).
	gates map[protocol.ID]*admission.Gate
	// refresh keeps the memberships' cached proof parts current (nil
	// without memberships or with PathRefresh < 0).
	refresh *refresher
	// prover proves for the memberships, against a membership's previous
	// root while the refresher updates its cached part (relay.MemberProver).
	prover *relay.MemberProver
	// last is the latest proof's time and duration (nil before any).
	last atomic.Pointer[ProofTiming]
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
	if cfg.MaxEpochGap <= 0 {
		cfg.MaxEpochGap = relay.DefaultMaxEpochGap
	}
	switch {
	case cfg.ReservedShare == 0:
		cfg.ReservedShare = DefaultReservedShare
	case cfg.ReservedShare < 0:
		cfg.ReservedShare = 0
	case cfg.ReservedShare > 1:
		return nil, fmt.Errorf("lightpush: reserved share %v, want 0 to 1", cfg.ReservedShare)
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
	s := &Service{cfg: cfg, log: cfg.Logger, h: h, workers: make(chan struct{}, cfg.Workers),
		quotas: newQuotas(QuotaConfig{PerPeer: cfg.PerPeerQuota, PerIP: cfg.PerIPQuota, PerPrefix: cfg.PerPrefixQuota,
			Global: cfg.GlobalCap, ReservedShare: cfg.ReservedShare})}
	if len(cfg.Memberships) > 0 {
		s.makeProver()
	}
	m, err := newMetrics(cfg.Registerer, s)
	if err != nil {
		return nil, err
	}
	s.m = m
	if cfg.AllowlistPath != "" {
		if s.allow, err = loadAllowlist(cfg.AllowlistPath); err != nil {
			return nil, err
		}
	}
	if len(cfg.Memberships) > 0 {
		if err := s.openSlots(); err != nil {
			return nil, err
		}
	}
	if !cfg.Local {
		if err := s.serveStreams(h); err != nil {
			if s.slots != nil {
				s.slots.Close()
			}
			return nil, err
		}
	}

	if s.refresh != nil {
		s.refresh.start()
	}
	return s, nil
}

// makeProver makes the memberships' prover and their refresher (started
// once the service serves). Without a refresher (PathRefresh < 0) a
// membership proves against its previous root until that is half a window
// old, then updates its part on the way.
func (s *Service) makeProver() {
	onStale := func(relay.Member) {}
	if s.cfg.PathRefresh >= 0 {
		if s.cfg.PathRefresh == 0 {
			s.cfg.PathRefresh = DefaultPathRefresh
		}
		s.refresh = s.newRefresher(s.cfg.PathRefresh)
		onStale = func(relay.Member) { s.refresh.kick() }
	}
	s.prover = relay.NewMemberProver(s.cfg.Prover, s.cfg.Group, onStale)
}

// Close stops serving: it returns once the requests in progress have
// ended (their contexts cancelled, see admission.Gate.Close), so that none
// takes a slot from the slot file after it is closed.
func (s *Service) Close() {
	if !s.cfg.Local {
		s.h.RemoveStreamHandler(ProtocolV3)
		s.h.RemoveStreamHandler(ProtocolV2)
	}
	for _, g := range s.gates {
		g.Close()
	}
	if s.refresh != nil {
		s.refresh.close()
	}
	if s.slots != nil {
		s.slots.Close()
	}
}

func (s *Service) currentEpoch() uint64 { return rln.Epoch(s.cfg.Now(), s.cfg.EpochPeriod) }

// openSlots opens the slot store, reports what it found, compacts it to the
// epochs a message may still be proved in, and rebuilds the nullifiers used
// in them.
func (s *Service) openSlots() error {
	cfg := s.cfg
	if cfg.Prover == nil || cfg.Group == nil || cfg.SlotsPath == "" {
		return errors.New("lightpush: proof as a service needs a prover, the group and a slots file")
	}
	members := make([]uint64, len(cfg.Memberships))
	limits := make([]uint64, len(cfg.Memberships))
	for i, m := range cfg.Memberships {
		members[i], limits[i] = m.Index, m.UserMessageLimit
	}
	slots, err := OpenSlots(cfg.SlotsPath, members, limits, SlotOptions{FS: cfg.SlotFS, Now: cfg.Now,
		EpochPeriod: cfg.EpochPeriod, MaxEpochGap: cfg.MaxEpochGap})
	if err != nil {
		return err
	}
	if d := slots.Damage(); d != nil {
		s.log.Error("lightpush: the slot file was damaged; no proofs are attached in the epochs it could have used",
			"file", cfg.SlotsPath, "reason", d.Reason, "offset", d.Offset, "kept_as", d.KeptAs,
			"first_epoch", d.FirstEpoch, "last_epoch", d.LastEpoch)
		s.m.slotFile("damaged")
	}
	if n := slots.Torn(); n > 0 {
		s.log.Warn("lightpush: cut a torn final record of the slot file (a crash while it was written)", "file", cfg.SlotsPath, "bytes", n)
		s.m.slotFile("torn")
	}
	first, last := slots.openEpochs()
	if err := slots.Compact(first); err != nil {
		slots.Close()
		return err
	}
	s.compacted.Store(first)
	// The nullifier log keeps the open epochs, with room for every slot.
	s.used = rln.NewNullifierLog(last-first+2, slots.Capacity()+1)
	byIndex := map[uint64]relay.Member{}
	for _, m := range cfg.Memberships {
		byIndex[m.Index] = m
	}
	slots.Used(func(epoch, member, n uint64) {
		m, ok := byIndex[member]
		if !ok || epoch < first {
			return
		}
		for id := range min(n, m.UserMessageLimit) {
			s.used.Record(epoch, cfg.Prover.Nullifier(m.Identity.Secret, epoch, id), rln.Share{})
		}
	})
	s.slots = slots
	return nil
}

// ReloadAllowlist reads the allowlist file again (rlnd does on SIGHUP); on
// an error the list stays as it was.
func (s *Service) ReloadAllowlist() error {
	if s.allow == nil {
		return errors.New("lightpush: no allowlist configured")
	}
	if err := s.allow.reload(); err != nil {
		return err
	}
	s.log.Info("lightpush: allowlist reloaded", "file", s.cfg.AllowlistPath, "peers", s.allow.len())
	return nil
}

// clientOf is the client behind a peer id: the IP address of its
// connection, when it has one.
func (s *Service) clientOf(p peer.ID) client {
	for _, c := range s.h.Network().ConnsToPeer(p) {
		if ip, err := manet.ToIP(c.RemoteMultiaddr()); err == nil {
			return newClient(p, ip)
		}
	}
	return newClient(p, nil)
}

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

// push is Push before its response is counted. It checks the message
// (checkMessage, routeTopic), publishes one that carries its own proof, and
// hands one without to proof as a service (serveProof).
func (s *Service) push(ctx context.Context, from peer.ID, pubsubTopic string, msg *messagepb.WakuMessage) Response {
	if msg == nil {
		return Response{Status: StatusBadRequest, Description: "no message"}
	}
	wire.Normalize(msg)
	// Every check that can refuse the message runs before a slot is
	// taken, on the message as it will be published: its timestamp filled
	// in, its proof counted.
	prove := msg.RateLimitProof == nil && s.slots != nil
	now := s.cfg.Now()
	if r, ok := checkMessage(msg, prove, now); !ok {
		return r
	}
	pubsubTopic, r, ok := s.routeTopic(pubsubTopic, msg)
	if !ok {
		return r
	}
	if msg.RateLimitProof != nil {
		return s.publish(pubsubTopic, msg)
	}
	if s.slots == nil {
		return Response{Status: StatusInvalidMessage, Description: "message has no RLN proof and this node does not attach them"}
	}
	return s.serveProof(ctx, from, pubsubTopic, msg, now)
}

// checkMessage fills in the timestamp of a message the service will prove
// (prove), then checks the message and its size with the proof it will
// carry. ok is false, with the answer, when the message is refused.
func checkMessage(msg *messagepb.WakuMessage, prove bool, now time.Time) (r Response, ok bool) {
	if prove && msg.Timestamp == nil {
		ts := now.UnixNano()
		msg.Timestamp = &ts
	}
	if err := wire.CheckMessage(msg); err != nil {
		if errors.Is(err, wire.ErrTooLarge) {
			return Response{Status: StatusTooLarge, Description: err.Error()}, false
		}
		return Response{Status: StatusBadRequest, Description: err.Error()}, false
	}
	size := proto.Size(msg)
	if prove {
		size += proofOverhead // the proof we would attach
	}
	if size > wire.MaxMessageSize {
		return Response{Status: StatusTooLarge, Description: fmt.Sprintf("message of %d bytes (with its proof), at most %d", size, wire.MaxMessageSize)}, false
	}
	return Response{}, true
}

// routeTopic returns the pubsub topic to publish on: pubsubTopic, or when
// empty the message's content topic's shard. ok is false, with the answer,
// when there is none, or the node does not relay it, or has no peers on it.
func (s *Service) routeTopic(pubsubTopic string, msg *messagepb.WakuMessage) (topic string, r Response, ok bool) {
	if pubsubTopic == "" {
		t, err := s.cfg.Relay.TopicFor(msg.GetContentTopic())
		if err != nil {
			return "", Response{Status: StatusBadRequest, Description: fmt.Sprintf("no pubsub topic and none derivable: %v", err)}, false
		}
		pubsubTopic = t
	} else if _, err := autoshard.ParsePubsubTopic(pubsubTopic); err != nil {
		return "", Response{Status: StatusBadRequest, Description: err.Error()}, false
	}
	if !slices.Contains(s.cfg.Relay.Topics(), pubsubTopic) {
		return "", Response{Status: StatusUnsupportedTopic, Description: "this node does not relay " + pubsubTopic}, false
	}
	if len(s.cfg.Relay.TopicPeers(pubsubTopic)) == 0 {
		return "", Response{Status: StatusNoPeers, Description: "no relay peers on " + pubsubTopic}, false
	}
	return pubsubTopic, Response{}, true
}

// serveProof is proof as a service for a checked message without a proof:
// it admits the client (admitProof), waits for a place in the proving
// queue and then a worker, and only then takes a slot (takeSlot), so that a
// refused request never burns one. The slot is persisted before the proof
// is made and published (proveAndPublish), which happens holding the
// worker.
func (s *Service) serveProof(ctx context.Context, from peer.ID, pubsubTopic string, msg *messagepb.WakuMessage, now time.Time) Response {
	c := s.clientOf(from)
	epoch, r, ok := s.admitProof(c, from, msg, now)
	if !ok {
		return r
	}
	// A place in the proving queue, then the slot: a refused request must
	// not burn a slot.
	if s.waiting.Add(1) > int64(s.cfg.Queue) {
		s.waiting.Add(-1)
		s.quotas.release(c, epoch)
		s.refuse(c, "queue-full")
		return Response{Status: StatusUnavailable, Description: "proving queue full, retry shortly"}
	}
	defer s.waiting.Add(-1)
	select {
	case s.workers <- struct{}{}:
	case <-ctx.Done():
		s.quotas.release(c, epoch)
		s.refuse(c, "queue-timeout")
		return Response{Status: StatusUnavailable, Description: "timed out waiting for a prover"}
	}
	defer func() { <-s.workers }()
	slot, r, ok := s.takeSlot(c, epoch, now)
	if !ok {
		return r
	}
	s.quotas.taken(epoch)
	return s.proveAndPublish(c, pubsubTopic, msg, slot)
}

// admitProof decides whether client c (peer from) may have msg proved: it
// must be allowlisted (when there is a list), the message's timestamp
// within the max epoch gap of now, and the quotas must allow it in the
// message's epoch, which it returns. The quota taken here must be released
// if no slot is taken after. ok is false, with the answer, when refused.
func (s *Service) admitProof(c client, from peer.ID, msg *messagepb.WakuMessage, now time.Time) (epoch uint64, r Response, ok bool) {
	if s.allow != nil && !s.allow.allows(from) {
		s.refuse(c, "not-allowlisted")
		return 0, Response{Status: StatusInvalidMessage, Description: "message has no RLN proof and this node attaches proofs only for the clients it lists"}, false
	}
	if gap := now.Sub(time.Unix(0, msg.GetTimestamp())); gap > s.cfg.MaxEpochGap || gap < -s.cfg.MaxEpochGap {
		s.refuse(c, "epoch-gap")
		return 0, Response{Status: StatusInvalidMessage, Description: fmt.Sprintf("timestamp %s from the node's clock, at most %s allowed", gap.Round(time.Millisecond), s.cfg.MaxEpochGap)}, false
	}
	epoch = rln.Epoch(time.Unix(0, msg.GetTimestamp()), s.cfg.EpochPeriod)
	s.forget(rln.Epoch(now.Add(-s.cfg.MaxEpochGap), s.cfg.EpochPeriod))
	if reason, desc, ok := s.quotas.take(c, epoch, s.slots.Left(epoch), s.slots.Capacity()); !ok {
		s.refuse(c, reason)
		return 0, Response{Status: StatusTooManyRequests, Description: desc}, false
	}
	return epoch, Response{}, true
}

// takeSlot takes and persists a slot of epoch for client c. When there is
// none left or the slot store fails, it releases c's quota and ok is false,
// with the answer.
func (s *Service) takeSlot(c client, epoch uint64, now time.Time) (slot Slot, r Response, ok bool) {
	slot, err := s.slots.Take(epoch)
	if errors.Is(err, ErrNoSlot) {
		s.quotas.release(c, epoch)
		s.refuse(c, "out-of-slots")
		next := rln.EpochStart(epoch+1, s.cfg.EpochPeriod).Sub(now).Round(time.Second)
		return Slot{}, Response{Status: StatusOutOfProofs, Description: fmt.Sprintf("out of RLN proofs this epoch; the next epoch starts in %s", next)}, false
	}
	if err != nil {
		s.quotas.release(c, epoch)
		s.refuse(c, "slot-store")
		s.log.Error("lightpush: slot store", "err", err)
		return Slot{}, Response{Status: StatusInternal, Description: "cannot record the proof slot"}, false
	}
	return slot, Response{}, true
}

// proveAndPublish attaches a proof from the taken slot to msg and publishes
// it, unless the proof's nullifier was used before in its epoch.
func (s *Service) proveAndPublish(c client, pubsubTopic string, msg *messagepb.WakuMessage, slot Slot) Response {
	mem, ok := s.member(slot.Member)
	if !ok {
		return Response{Status: StatusInternal, Description: "slot of an unknown membership"}
	}
	start := time.Now()
	proof, err := s.prover.Attach(mem, relay.ProofParams{EpochPeriod: s.cfg.EpochPeriod, Signal: s.cfg.Signal}, msg, slot.MessageID)
	if err != nil {
		s.log.Error("proof as a service", "member", slot.Member, "err", err)
		return Response{Status: StatusInternal, Description: "could not prove the message"}
	}
	// Whatever the slot file said, a nullifier proved with before is never
	// published again.
	if v, _ := s.used.Record(slot.Epoch, proof.Nullifier, rln.Share{X: proof.ShareX, Y: proof.ShareY}); v != rln.Fresh {
		s.refuse(c, "nullifier-reuse")
		s.log.Error("lightpush: refused to publish a proof whose nullifier the service used before in its epoch",
			"member", slot.Member, "epoch", slot.Epoch, "message_id", slot.MessageID, "verdict", v)
		msg.RateLimitProof = nil
		return Response{Status: StatusInternal, Description: "the proof slot was used before; not published"}
	}
	took := time.Since(start)
	s.m.proved(took)
	s.last.Store(&ProofTiming{At: start.Add(took), Took: took})
	s.proofs.Add(1)
	return s.publish(pubsubTopic, msg)
}

// forget drops what the service keeps of epochs before first, which no
// message may be proved in any more: quota counts, and (once per epoch)
// the slot file's records, so the file stays small on a node that runs for
// months.
func (s *Service) forget(first uint64) {
	s.quotas.prune(first)
	if old := s.compacted.Load(); first > old && s.compacted.CompareAndSwap(old, first) {
		if err := s.slots.Compact(first); err != nil {
			s.log.Error("lightpush: compact the slot file", "file", s.cfg.SlotsPath, "err", err)
		}
	}
}

// refuse counts and logs a request proof as a service turned down.
func (s *Service) refuse(c client, reason string) {
	s.m.refused(reason)
	s.log.Debug("lightpush: proof refused", "peer", c.peer, "ip", c.ip, "reason", reason)
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
	return RelayResponse(s.cfg.Relay.Publish(topic, msg))
}

// RelayResponse is the answer to a publish with Relay.Publish's outcome:
// the message's hash and the peers it went to, or why it failed.
func RelayResponse(h wire.MessageHash, n int, err error) Response {
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

func (s *Service) handleV3(gate *admission.Gate, st network.Stream) {
	in, ok := gate.Accept(st)
	if !ok {
		return
	}
	defer in.Done()
	defer st.Close()
	ctx := in.Context()
	var req lightpushpb.LightPushRequest
	var r Response
	if err := wire.ReadMsg(in, &req); err != nil {
		r = Response{Status: StatusBadRequest, Description: "cannot read the request: " + err.Error()}
		if errors.Is(err, wire.ErrTooLarge) {
			r.Status = StatusTooLarge
		}
		s.m.response(r.Status)
	} else if b := in.Busy(); b != nil {
		r = busyResponse(b)
		s.m.response(r.Status)
	} else {
		r = s.Push(ctx, st.Conn().RemotePeer(), req.GetPubsubTopic(), req.GetMessage())
	}
	resp := &lightpushpb.LightPushResponse{RequestId: req.GetRequestId(), StatusCode: uint32(r.Status)}
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

func (s *Service) handleV2(gate *admission.Gate, st network.Stream) {
	in, ok := gate.Accept(st)
	if !ok {
		return
	}
	defer in.Done()
	defer st.Close()
	ctx := in.Context()
	var rpc lightpushpb.PushRPC
	var r Response
	if err := wire.ReadMsg(in, &rpc); err != nil {
		r = Response{Status: StatusBadRequest, Description: "cannot read the request: " + err.Error()}
		s.m.response(r.Status)
	} else if b := in.Busy(); b != nil {
		r = busyResponse(b) // v2 has no status: is_success false, info the description
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
