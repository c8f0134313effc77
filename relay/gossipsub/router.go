package gossipsub

import (
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// MaxTopicLength bounds the topic names remembered from peers' subscriptions
// (Waku's are about 20 bytes), so that subscriptions cannot hold much memory.
const MaxTopicLength = 256

// PeerID names a peer; the libp2p driver uses the raw bytes of a libp2p
// peer id, which is also what peer exchange puts on the wire.
type PeerID string

var (
	// ErrDuplicate is a publish of a message already seen.
	ErrDuplicate = errors.New("gossipsub: duplicate message")
	// ErrTooLarge is a publish of a message over MaxMessageSize.
	ErrTooLarge = errors.New("gossipsub: message too large")
)

// Send is an RPC for the driver to write to a peer's stream.
type Send struct {
	To  PeerID
	RPC *gossipsubpb.RPC
}

// Validation asks the driver to validate a message and report the result
// with ValidationResult(ID, ...).
type Validation struct {
	ID   string
	From PeerID
	Msg  *gossipsubpb.Message
}

// Delivery is a message for the application: accepted by validation, or
// published locally (Local).
type Delivery struct {
	ID    string
	From  PeerID
	Msg   *gossipsubpb.Message
	Local bool
}

// PeerExchange carries the peers a PRUNE suggested, from a peer scoring
// above the accept-PX threshold; the driver may dial them.
type PeerExchange struct {
	From  PeerID
	Topic string
	Peers []*gossipsubpb.PeerInfo
}

// Ready is what the router wants done after the events fed to it since the
// last call (etcd raft's Ready): RPCs to send, messages to validate,
// deliveries and peer-exchange hints.
type Ready struct {
	Sends         []Send
	Validations   []Validation
	Deliveries    []Delivery
	PeerExchanges []PeerExchange
}

// Empty reports whether there is nothing to do.
func (rd *Ready) Empty() bool {
	return len(rd.Sends) == 0 && len(rd.Validations) == 0 && len(rd.Deliveries) == 0 && len(rd.PeerExchanges) == 0
}

// Stats are the router's counters since it started.
type Stats struct {
	MessagesReceived  uint64 // publish entries in RPCs from peers
	MessagesValidated uint64 // sent to validation
	Duplicates        uint64 // already seen or being validated
	Throttled         uint64 // dropped: validation queue full
	NotSubscribed     uint64 // for topics we have not joined
	InvalidFormat     uint64 // signed (not StrictNoSign) or oversized
	Accepted          uint64
	Rejected          uint64
	Ignored           uint64
	Published         uint64
	Forwarded         uint64 // message copies queued to peers
	GraylistedRPCs    uint64
	IHaveIgnored      uint64
	IWantServed       uint64
	GraftsRefused     uint64
	BrokenPromises    uint64
}

type peerState struct {
	proto     Protocol
	outbound  bool
	topics    map[string]struct{}
	ihaves    int // IHAVE messages taken this heartbeat
	iasked    int // ids asked for with IWANT this heartbeat
	dontWant  map[string]time.Time
	dontWantN int // IDONTWANT ids taken this heartbeat
	// beat is the heartbeat ihaves, iasked and dontWantN count in: they
	// are reset when a later one first uses them (see fresh), not by a
	// walk over every peer at each heartbeat.
	beat int
	// score is the peer's score counters (the scorer keeps a connected
	// peer's), saving a lookup on every RPC.
	score *peerScore
}

type pendingMsg struct {
	msg   *gossipsubpb.Message
	first PeerID
	also  []PeerID // peers that sent it while it was validated
}

type outQueue struct {
	rpc *gossipsubpb.RPC
}

type set = map[PeerID]struct{}

// Router is the gossipsub v1.1 router with v1.2's IDONTWANT, as an I/O-free
// state machine: the driver feeds it events with the current time and
// carries out what Ready returns. It is not safe for concurrent use; one
// goroutine owns it.
type Router struct {
	p     Params
	th    Thresholds
	msgID func(*gossipsubpb.Message) string
	seed  uint64
	rnd   *rand.Rand
	sc    *scorer

	peers  map[PeerID]*peerState
	topics map[string]set // peers subscribed to each topic
	// topicsSorted caches each topic's peers in order (dropped when they
	// change): gossip and mesh upkeep take them every heartbeat.
	topicsSorted map[string][]PeerID
	joined       map[string]bool
	mesh         map[string]set
	fanout       map[string]set
	lastPub      map[string]time.Time
	backoff      map[string]map[PeerID]time.Time
	seen         *SeenCache
	rejected     *SeenCache
	mcache       *MessageCache
	pending      map[string]*pendingMsg
	promises     map[string]map[PeerID]time.Time

	heartbeats int
	// dontWanting are the peers with IDONTWANT ids to expire.
	dontWanting map[PeerID]*peerState
	// out is the batch: one queue per peer, merged into one RPC (split to
	// fit) by Ready. outOrder lists the peers of out, each once, in the
	// order their queues were made; RemovePeer takes a peer out of both.
	out      map[PeerID]*outQueue
	outOrder []PeerID
	ready    Ready
	stats    Stats
}

// Config assembles a router.
type Config struct {
	Params     Params
	Score      ScoreParams
	Thresholds Thresholds
	// MsgID computes a message's id (Waku: sha256 of the data).
	MsgID func(*gossipsubpb.Message) string
	// Seed seeds the router's random choices. The zero value draws a seed
	// from crypto/rand; tests and the simulator pass FixedSeed.
	Seed Seed
}

// Seed seeds the random choices of a router: mesh members, gossip
// targets, peer-exchange lists, the ids asked for with IWANT and the one
// promise among them. The zero value asks for a seed drawn from
// crypto/rand when the router is made, so that no two nodes of a network
// make the same choices and a peer cannot predict them; FixedSeed makes a
// router reproducible: two routers with one fixed seed, fed the same
// events, return the same actions.
type Seed struct {
	value uint64
	fixed bool
}

// FixedSeed is a seed of the given value.
func FixedSeed(v uint64) Seed { return Seed{value: v, fixed: true} }

// resolve returns the seed's value, drawing one if it is not fixed.
func (s Seed) resolve() uint64 {
	if s.fixed {
		return s.value
	}
	var b [8]byte
	// crypto/rand.Read does not fail (it crashes the program if the
	// system's source does).
	_, _ = crand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// New returns a router with no peers and no topics.
func New(cfg Config) (*Router, error) {
	if err := cfg.Params.Validate(); err != nil {
		return nil, err
	}
	if cfg.MsgID == nil {
		return nil, errors.New("gossipsub: a message id function is required")
	}
	p := cfg.Params
	seed := cfg.Seed.resolve()
	return &Router{
		p: p, th: cfg.Thresholds, msgID: cfg.MsgID, seed: seed,
		rnd:          rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		sc:           newScorer(cfg.Score),
		peers:        map[PeerID]*peerState{},
		topics:       map[string]set{},
		topicsSorted: map[string][]PeerID{},
		dontWanting:  map[PeerID]*peerState{},
		joined:       map[string]bool{},
		mesh:         map[string]set{},
		fanout:       map[string]set{},
		lastPub:      map[string]time.Time{},
		backoff:      map[string]map[PeerID]time.Time{},
		seen:         NewSeenCache(p.SeenTTL),
		rejected:     NewSeenCache(p.SeenTTL),
		mcache:       NewMessageCache(p.HistoryGossip, p.HistoryLength),
		pending:      map[string]*pendingMsg{},
		promises:     map[string]map[PeerID]time.Time{},
		out:          map[PeerID]*outQueue{},
	}, nil
}

// Ready returns what the router wants done and forgets it. Each connected
// peer written to since the last call gets one RPC, split in consecutive
// parts only if it does not fit MaxRPCSize, in the order the peers were
// first written to; a peer removed meanwhile gets nothing, and one added
// again gets only what was queued for its new connection.
func (r *Router) Ready() Ready {
	rd := r.ready
	for _, id := range r.outOrder {
		for _, part := range splitRPC(r.out[id].rpc, r.p.MaxRPCSize) {
			rd.Sends = append(rd.Sends, Send{To: id, RPC: part})
		}
	}
	r.ready = Ready{}
	clear(r.out)
	r.outOrder = r.outOrder[:0]
	return rd
}

// Seed returns the value the router's random choices were seeded with:
// a router made with FixedSeed(r.Seed()) and fed the same events makes
// the same choices (to replay a run whose seed was drawn).
func (r *Router) Seed() uint64 { return r.seed }

// Stats returns the counters.
func (r *Router) Stats() Stats { return r.stats }

// Score returns a peer's current score.
func (r *Router) Score(id PeerID, now time.Time) float64 { return r.sc.score(id, now) }

// Peers returns the connected peers, sorted.
func (r *Router) Peers() []PeerID {
	ids := make([]PeerID, 0, len(r.peers))
	for id := range r.peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Mesh returns the topic's mesh peers, sorted.
func (r *Router) Mesh(topic string) []PeerID { return sorted(r.mesh[topic]) }

// TopicPeers returns the peers subscribed to topic, sorted.
func (r *Router) TopicPeers(topic string) []PeerID { return slices.Clone(r.topicPeers(topic)) }

// PendingValidations is the number of messages awaiting a result.
func (r *Router) PendingValidations() int { return len(r.pending) }

// CachedMessages is the number of messages in the message cache.
func (r *Router) CachedMessages() int { return r.mcache.Len() }

// SeenMessages is the number of ids in the seen cache.
func (r *Router) SeenMessages() int { return r.seen.Len() }

func (r *Router) queue(to PeerID) *gossipsubpb.RPC {
	q := r.out[to]
	if q == nil {
		q = &outQueue{rpc: &gossipsubpb.RPC{}}
		r.out[to] = q
		r.outOrder = append(r.outOrder, to)
	}
	return q.rpc
}

func (r *Router) control(to PeerID) *gossipsubpb.ControlMessage {
	rpc := r.queue(to)
	if rpc.Control == nil {
		rpc.Control = &gossipsubpb.ControlMessage{}
	}
	return rpc.Control
}

func (r *Router) sendMessage(to PeerID, id string, m *gossipsubpb.Message, now time.Time) bool {
	if p := r.peers[to]; p != nil {
		if exp, ok := p.dontWant[dontWantKey(id)]; ok && now.Before(exp) {
			return false
		}
	}
	rpc := r.queue(to)
	rpc.Publish = append(rpc.Publish, m)
	return true
}

// AddPeer records a peer whose pubsub stream is up. ip is its remote IP
// address (for the colocation penalty); outbound says we dialled it.
func (r *Router) AddPeer(now time.Time, id PeerID, proto Protocol, outbound bool, ip string) {
	if _, ok := r.peers[id]; ok {
		return
	}
	r.peers[id] = &peerState{proto: proto, outbound: outbound, topics: map[string]struct{}{}, dontWant: map[string]time.Time{},
		score: r.sc.addPeer(id, ip)}
	if len(r.joined) == 0 {
		return
	}
	rpc := r.queue(id)
	for _, t := range r.joinedTopics() {
		rpc.Subscriptions = append(rpc.Subscriptions, subOpts(t, true))
	}
}

// SetProtocol records the protocol a peer's stream was negotiated with,
// once the driver knows it (peers are added as soon as they connect).
func (r *Router) SetProtocol(id PeerID, proto Protocol) {
	if p := r.peers[id]; p != nil {
		p.proto = proto
	}
}

// Penalize adds n to a peer's behaviour penalty (P7) for misbehaviour only
// the driver sees, such as a frame not finished within its deadline.
func (r *Router) Penalize(id PeerID, n float64) { r.sc.penalty(id, n) }

// RemovePeer forgets a peer whose stream or connection went down. Its score
// is retained for RetainScore if negative.
func (r *Router) RemovePeer(now time.Time, id PeerID) {
	p := r.peers[id]
	if p == nil {
		return
	}
	for t := range p.topics {
		delete(r.topics[t], id)
		delete(r.topicsSorted, t)
		if len(r.topics[t]) == 0 {
			delete(r.topics, t)
		}
	}
	for t, m := range r.mesh {
		if _, ok := m[id]; ok {
			delete(m, id)
			r.sc.prune(id, t, now)
		}
	}
	for _, f := range r.fanout {
		delete(f, id)
	}
	delete(r.peers, id)
	delete(r.dontWanting, id)
	if _, ok := r.out[id]; ok {
		// What was queued for this connection is dropped; a new one
		// starts a new queue at the end of the batch.
		delete(r.out, id)
		i := slices.Index(r.outOrder, id)
		r.outOrder = slices.Delete(r.outOrder, i, i+1)
	}
	r.sc.removePeer(id, now)
}

// Join subscribes to topic: announces it and builds its mesh from the
// fanout peers, then from other peers of the topic.
func (r *Router) Join(now time.Time, topic string) {
	if r.joined[topic] {
		return
	}
	r.joined[topic] = true
	for _, id := range r.Peers() {
		rpc := r.queue(id)
		rpc.Subscriptions = append(rpc.Subscriptions, subOpts(topic, true))
	}
	mesh := set{}
	r.mesh[topic] = mesh
	for _, id := range r.shuffled(r.fanout[topic]) {
		if len(mesh) >= r.p.D {
			break
		}
		if r.graftable(topic, id, now) {
			r.graft(topic, id, now)
		}
	}
	delete(r.fanout, topic)
	delete(r.lastPub, topic)
	r.fill(topic, r.p.D, now, nil)
}

// Leave unsubscribes from topic, pruning its mesh with the unsubscribe
// backoff.
func (r *Router) Leave(now time.Time, topic string) {
	if !r.joined[topic] {
		return
	}
	delete(r.joined, topic)
	for _, id := range r.Peers() {
		rpc := r.queue(id)
		rpc.Subscriptions = append(rpc.Subscriptions, subOpts(topic, false))
	}
	for _, id := range sorted(r.mesh[topic]) {
		r.sc.prune(id, topic, now)
		r.sendPrune(id, topic, r.p.UnsubscribeBackoff, false, now)
		r.addBackoff(topic, id, r.p.UnsubscribeBackoff, now)
	}
	delete(r.mesh, topic)
}

// Joined reports whether the router is subscribed to topic.
func (r *Router) Joined(topic string) bool { return r.joined[topic] }

// Publish sends a locally made, already validated message: to every peer
// of the topic above the publish threshold with flood publishing, else to
// the mesh (or fanout when not joined). It returns the message id and the
// number of peers it was sent to; a joined topic also delivers it locally.
func (r *Router) Publish(now time.Time, topic string, data []byte) (string, int, error) {
	if len(data) > r.p.MaxMessageSize {
		return "", 0, ErrTooLarge
	}
	m := &gossipsubpb.Message{Data: data, Topic: &topic}
	if rpcSize(m) > r.p.MaxRPCSize {
		return "", 0, fmt.Errorf("%w: the message's RPC would exceed %d bytes", ErrTooLarge, r.p.MaxRPCSize)
	}
	id := r.msgID(m)
	if r.seen.Has(id, now) {
		return id, 0, ErrDuplicate
	}
	r.seen.Add(id, now)
	r.mcache.Put(id, m)
	r.stats.Published++
	if r.joined[topic] {
		r.ready.Deliveries = append(r.ready.Deliveries, Delivery{ID: id, Msg: m, Local: true})
	}
	var targets []PeerID
	switch {
	case r.p.FloodPublish:
		for _, id := range r.topicPeers(topic) {
			if r.sc.score(id, now) >= r.th.Publish {
				targets = append(targets, id)
			}
		}
	case r.joined[topic]:
		targets = sorted(r.mesh[topic])
	default:
		targets = sorted(r.fanoutFor(topic, now))
	}
	if !r.joined[topic] {
		r.fanoutFor(topic, now)
		r.lastPub[topic] = now
	}
	n := 0
	for _, to := range targets {
		if r.sendMessage(to, id, m, now) {
			n++
		}
	}
	r.stats.Forwarded += uint64(n)
	return id, n, nil
}

func (r *Router) fanoutFor(topic string, now time.Time) set {
	f := r.fanout[topic]
	if f == nil {
		f = set{}
		r.fanout[topic] = f
	}
	if len(f) < r.p.D {
		for _, id := range r.shuffledPeers(topic) {
			if len(f) >= r.p.D {
				break
			}
			if _, ok := f[id]; !ok && r.sc.score(id, now) >= r.th.Publish {
				f[id] = struct{}{}
			}
		}
	}
	return f
}

// ValidationResult reports the verdict on a message the router asked to
// validate. Accepted messages are cached, delivered and forwarded to the
// mesh; rejected ones count against every peer that sent them.
func (r *Router) ValidationResult(now time.Time, id string, res Result) {
	pm := r.pending[id]
	if pm == nil {
		return
	}
	delete(r.pending, id)
	topic := pm.msg.GetTopic()
	switch res {
	case Accept:
		r.stats.Accepted++
		r.sc.firstDelivery(pm.first, topic)
		r.mcache.Put(id, pm.msg)
		r.ready.Deliveries = append(r.ready.Deliveries, Delivery{ID: id, From: pm.first, Msg: pm.msg})
		n := 0
		for _, to := range sorted(r.mesh[topic]) {
			if to == pm.first || slices.Contains(pm.also, to) {
				continue
			}
			if r.sendMessage(to, id, pm.msg, now) {
				n++
			}
		}
		r.stats.Forwarded += uint64(n)
	case Reject:
		r.stats.Rejected++
		r.rejected.Add(id, now)
		r.sc.invalid(pm.first, topic)
		for _, p := range pm.also {
			r.sc.invalid(p, topic)
		}
	default:
		r.stats.Ignored++
	}
}

// HandleRPC processes an RPC from a peer.
func (r *Router) HandleRPC(now time.Time, from PeerID, rpc *gossipsubpb.RPC) {
	p := r.peers[from]
	if p == nil {
		return
	}
	if r.sc.scoreOf(p.score, now) < r.th.Graylist {
		r.stats.GraylistedRPCs++
		return
	}
	for _, s := range rpc.GetSubscriptions() {
		r.handleSubscription(now, from, p, s)
	}
	for _, m := range rpc.GetPublish() {
		r.handleMessage(now, from, p, m)
	}
	c := rpc.GetControl()
	if c == nil {
		return
	}
	r.handleIDontWant(now, from, p, c.GetIdontwant())
	r.handleIHave(now, from, p, c.GetIhave())
	r.handleIWant(now, from, c.GetIwant())
	r.handleGraft(now, from, p, c.GetGraft())
	r.handlePrune(now, from, c.GetPrune())
}

func (r *Router) handleSubscription(now time.Time, from PeerID, p *peerState, s *gossipsubpb.SubOpts) {
	t := s.GetTopicid()
	if s.GetSubscribe() {
		if _, ok := p.topics[t]; ok || len(p.topics) >= r.p.MaxPeerTopics || len(t) > MaxTopicLength {
			return
		}
		p.topics[t] = struct{}{}
		if r.topics[t] == nil {
			r.topics[t] = set{}
		}
		r.topics[t][from] = struct{}{}
		delete(r.topicsSorted, t)
		return
	}
	if _, ok := p.topics[t]; ok {
		delete(p.topics, t)
		delete(r.topics[t], from)
		delete(r.topicsSorted, t)
		if len(r.topics[t]) == 0 {
			delete(r.topics, t)
		}
	}
	if m := r.mesh[t]; m != nil {
		if _, ok := m[from]; ok {
			delete(m, from)
			r.sc.prune(from, t, now)
		}
	}
	delete(r.fanout[t], from)
}

func (r *Router) handleMessage(now time.Time, from PeerID, p *peerState, m *gossipsubpb.Message) {
	r.stats.MessagesReceived++
	topic := m.GetTopic()
	if !r.joined[topic] {
		r.stats.NotSubscribed++
		return
	}
	// StrictNoSign: a message carrying author fields is invalid.
	if m.From != nil || m.Seqno != nil || m.Signature != nil || m.Key != nil || len(m.Data) > r.p.MaxMessageSize {
		r.stats.InvalidFormat++
		r.sc.invalid(from, topic)
		return
	}
	// Fields we do not know are not forwarded: what we relay is the data
	// and the topic, so a message we forward fits the RPC bound.
	if len(m.ProtoReflect().GetUnknown()) > 0 {
		m.ProtoReflect().SetUnknown(nil)
	}
	id := r.msgID(m)
	if peers := r.promises[id]; peers != nil {
		delete(peers, from)
		if len(peers) == 0 {
			delete(r.promises, id)
		}
	}
	if r.rejected.Has(id, now) {
		r.stats.Duplicates++
		r.sc.invalid(from, topic)
		return
	}
	if pm := r.pending[id]; pm != nil {
		r.stats.Duplicates++
		if from != pm.first && !slices.Contains(pm.also, from) && len(pm.also) < r.p.Dhi*2 {
			pm.also = append(pm.also, from)
		}
		return
	}
	if r.seen.Has(id, now) {
		r.stats.Duplicates++
		return
	}
	if len(r.pending) >= r.p.MaxPendingValidation {
		r.stats.Throttled++
		return
	}
	r.seen.Add(id, now)
	r.pending[id] = &pendingMsg{msg: m, first: from}
	r.stats.MessagesValidated++
	r.ready.Validations = append(r.ready.Validations, Validation{ID: id, From: from, Msg: m})
	if len(m.Data) > max(r.p.IDontWantMinSize, 10*len(id)) {
		for _, to := range sorted(r.mesh[topic]) {
			if q := r.peers[to]; to != from && q != nil && q.proto.idontwant() {
				c := r.control(to)
				c.Idontwant = append(c.Idontwant, &gossipsubpb.ControlIDontWant{MessageIds: [][]byte{[]byte(id)}})
			}
		}
	}
}

func (r *Router) handleIDontWant(now time.Time, from PeerID, p *peerState, ms []*gossipsubpb.ControlIDontWant) {
	if len(ms) == 0 {
		return
	}
	r.fresh(p)
	r.dontWanting[from] = p
	for _, m := range ms {
		for _, id := range m.GetMessageIds() {
			if p.dontWantN >= r.p.MaxIDontWant {
				return
			}
			p.dontWantN++
			p.dontWant[dontWantKey(string(id))] = now.Add(r.p.IDontWantTTL)
		}
	}
}

// fresh resets a peer's per-heartbeat counters when they count an
// earlier heartbeat.
func (r *Router) fresh(p *peerState) {
	if p.beat != r.heartbeats {
		p.ihaves, p.iasked, p.dontWantN = 0, 0, 0
		p.beat = r.heartbeats
	}
}

// dontWantKey is what an IDONTWANT id is remembered by: itself up to 32
// bytes, else its sha256 (as go-libp2p), so that a peer's long ids cannot
// make the router keep more than 32 bytes an id.
func dontWantKey(id string) string {
	if len(id) <= sha256.Size {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return string(sum[:])
}

func (r *Router) handleIHave(now time.Time, from PeerID, p *peerState, ms []*gossipsubpb.ControlIHave) {
	if len(ms) == 0 {
		return
	}
	if r.sc.score(from, now) < r.th.Gossip {
		r.stats.IHaveIgnored += uint64(len(ms))
		return
	}
	r.fresh(p)
	p.ihaves++
	if p.ihaves > r.p.MaxIHaveMessages || p.iasked >= r.p.MaxIHaveLength {
		r.stats.IHaveIgnored += uint64(len(ms))
		return
	}
	want := map[string]struct{}{}
	var ids []string
	for _, m := range ms {
		if !r.joined[m.GetTopicId()] {
			continue
		}
		for _, b := range m.GetMessageIds() {
			id := string(b)
			if _, dup := want[id]; dup {
				continue
			}
			if _, ok := r.pending[id]; ok || r.seen.Has(id, now) {
				continue
			}
			want[id] = struct{}{}
			ids = append(ids, id)
			if len(ids) >= r.p.MaxIHaveLength {
				break
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	r.rnd.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	if n := r.p.MaxIHaveLength - p.iasked; len(ids) > n {
		ids = ids[:n]
	}
	p.iasked += len(ids)
	iw := &gossipsubpb.ControlIWant{}
	for _, id := range ids {
		iw.MessageIds = append(iw.MessageIds, []byte(id))
	}
	c := r.control(from)
	c.Iwant = append(c.Iwant, iw)
	// One promise per IWANT, as go-libp2p: the advertised message must
	// arrive within the follow-up time.
	promised := ids[r.rnd.IntN(len(ids))]
	if r.promises[promised] == nil {
		r.promises[promised] = map[PeerID]time.Time{}
	}
	if _, ok := r.promises[promised][from]; !ok {
		r.promises[promised][from] = now.Add(r.p.IWantFollowupTime)
	}
}

func (r *Router) handleIWant(now time.Time, from PeerID, ms []*gossipsubpb.ControlIWant) {
	if len(ms) == 0 {
		return
	}
	if r.sc.score(from, now) < r.th.Gossip {
		r.stats.IHaveIgnored++
		return
	}
	n := 0
	for _, m := range ms {
		for _, b := range m.GetMessageIds() {
			if n++; n > r.p.MaxIHaveLength {
				return
			}
			id := string(b)
			msg, count, ok := r.mcache.GetForPeer(id, string(from))
			if !ok || count > r.p.GossipRetransmission {
				continue
			}
			if r.sendMessage(from, id, msg, now) {
				r.stats.IWantServed++
			}
		}
	}
}

func (r *Router) handleGraft(now time.Time, from PeerID, p *peerState, ms []*gossipsubpb.ControlGraft) {
	for _, g := range ms {
		t := g.GetTopicId()
		mesh := r.mesh[t]
		if mesh == nil {
			// Not a topic of ours: ignored (spam hardening, as go-libp2p).
			continue
		}
		if _, ok := mesh[from]; ok {
			continue
		}
		if _, ok := p.topics[t]; !ok {
			// A peer must subscribe before it grafts (js-waku, nwaku and
			// go-libp2p do); otherwise ignored.
			r.stats.GraftsRefused++
			continue
		}
		if exp, ok := r.backoff[t][from]; ok && now.Before(exp) {
			r.stats.GraftsRefused++
			r.sc.penalty(from, 1)
			// A GRAFT right after our PRUNE is flooding: a second penalty.
			if now.Before(exp.Add(r.p.GraftFloodThreshold - r.p.PruneBackoff)) {
				r.sc.penalty(from, 1)
			}
			r.sendPrune(from, t, r.p.PruneBackoff, false, now)
			r.addBackoff(t, from, r.p.PruneBackoff, now)
			continue
		}
		if r.sc.score(from, now) < 0 {
			r.stats.GraftsRefused++
			r.sendPrune(from, t, r.p.PruneBackoff, false, now)
			r.addBackoff(t, from, r.p.PruneBackoff, now)
			continue
		}
		if len(mesh) >= r.p.Dhi && !p.outbound {
			r.stats.GraftsRefused++
			r.sendPrune(from, t, r.p.PruneBackoff, true, now)
			r.addBackoff(t, from, r.p.PruneBackoff, now)
			continue
		}
		mesh[from] = struct{}{}
		r.sc.graft(from, t, now)
	}
}

func (r *Router) handlePrune(now time.Time, from PeerID, ms []*gossipsubpb.ControlPrune) {
	for _, pr := range ms {
		t := pr.GetTopicId()
		m := r.mesh[t]
		if m == nil {
			// Not a topic of ours: ignored, as go-libp2p, so that PRUNEs
			// for made-up topics cannot fill the backoff map.
			continue
		}
		if _, ok := m[from]; ok {
			delete(m, from)
			r.sc.prune(from, t, now)
		}
		backoff := r.p.PruneBackoff
		if pr.Backoff != nil {
			// Bounded so a hostile value cannot overflow the clock.
			secs := min(pr.GetBackoff(), uint64(24*time.Hour/time.Second))
			backoff = time.Duration(secs) * time.Second
		}
		r.addBackoff(t, from, backoff, now)
		if len(pr.GetPeers()) > 0 && r.joined[t] && r.sc.score(from, now) >= r.th.AcceptPX {
			peers := pr.GetPeers()
			if len(peers) > r.p.PrunePeers {
				peers = peers[:r.p.PrunePeers]
			}
			r.ready.PeerExchanges = append(r.ready.PeerExchanges, PeerExchange{From: from, Topic: t, Peers: peers})
		}
	}
}

func (r *Router) addBackoff(topic string, id PeerID, d time.Duration, now time.Time) {
	b := r.backoff[topic]
	if b == nil {
		b = map[PeerID]time.Time{}
		r.backoff[topic] = b
	}
	if exp := now.Add(d); exp.After(b[id]) {
		b[id] = exp
	}
}

func (r *Router) sendPrune(to PeerID, topic string, backoff time.Duration, px bool, now time.Time) {
	pr := &gossipsubpb.ControlPrune{TopicId: &topic}
	secs := uint64(backoff / time.Second)
	pr.Backoff = &secs
	if px {
		for _, id := range r.shuffledPeers(topic) {
			if len(pr.Peers) >= r.p.PrunePeers {
				break
			}
			if id != to && r.sc.score(id, now) >= 0 {
				pr.Peers = append(pr.Peers, &gossipsubpb.PeerInfo{PeerId: []byte(id)})
			}
		}
	}
	c := r.control(to)
	c.Prune = append(c.Prune, pr)
}

func (r *Router) graft(topic string, id PeerID, now time.Time) {
	r.mesh[topic][id] = struct{}{}
	r.sc.graft(id, topic, now)
	c := r.control(id)
	c.Graft = append(c.Graft, &gossipsubpb.ControlGraft{TopicId: &topic})
}

func (r *Router) prune(topic string, id PeerID, px bool, now time.Time) {
	delete(r.mesh[topic], id)
	r.sc.prune(id, topic, now)
	r.sendPrune(id, topic, r.p.PruneBackoff, px, now)
	r.addBackoff(topic, id, r.p.PruneBackoff, now)
}

// graftable: subscribed, not in the mesh, not backing off, score >= 0.
func (r *Router) graftable(topic string, id PeerID, now time.Time) bool {
	if _, ok := r.topics[topic][id]; !ok {
		return false
	}
	if _, ok := r.mesh[topic][id]; ok {
		return false
	}
	if exp, ok := r.backoff[topic][id]; ok && now.Before(exp) {
		return false
	}
	return r.sc.score(id, now) >= 0
}

// fill grafts graftable peers (matching keep, if given) until the mesh has
// n peers.
func (r *Router) fill(topic string, n int, now time.Time, keep func(PeerID) bool) {
	mesh := r.mesh[topic]
	for _, id := range r.shuffledPeers(topic) {
		if len(mesh) >= n {
			return
		}
		if r.graftable(topic, id, now) && (keep == nil || keep(id)) {
			r.graft(topic, id, now)
		}
	}
}

// Tick is the heartbeat: decays scores, settles IWANT promises, maintains
// every mesh and fanout, emits IHAVE gossip and shifts the message cache.
func (r *Router) Tick(now time.Time) {
	r.heartbeats++
	r.sc.tick(now)
	for id, p := range r.dontWanting {
		for k, exp := range p.dontWant {
			if !now.Before(exp) {
				delete(p.dontWant, k)
			}
		}
		if len(p.dontWant) == 0 {
			delete(r.dontWanting, id)
		}
	}
	for id, peers := range r.promises {
		for p, exp := range peers {
			if !now.Before(exp) {
				r.stats.BrokenPromises++
				r.sc.penalty(p, 1)
				delete(peers, p)
			}
		}
		if len(peers) == 0 {
			delete(r.promises, id)
		}
	}
	for t, b := range r.backoff {
		for id, exp := range b {
			if now.After(exp.Add(r.p.HeartbeatInterval)) {
				delete(b, id)
			}
		}
		if len(b) == 0 {
			delete(r.backoff, t)
		}
	}
	for _, t := range r.joinedTopics() {
		r.maintainMesh(t, now)
		r.gossip(t, r.mesh[t], now)
	}
	fanouts := make([]string, 0, len(r.fanout))
	for t := range r.fanout {
		fanouts = append(fanouts, t)
	}
	sort.Strings(fanouts)
	for _, t := range fanouts {
		if now.Sub(r.lastPub[t]) > r.p.FanoutTTL {
			delete(r.fanout, t)
			delete(r.lastPub, t)
			continue
		}
		f := r.fanout[t]
		for id := range f {
			if _, ok := r.topics[t][id]; !ok || r.sc.score(id, now) < r.th.Publish {
				delete(f, id)
			}
		}
		r.fanoutFor(t, now)
		r.gossip(t, f, now)
	}
	r.mcache.Shift()
	r.seen.sweep(now)
	r.rejected.sweep(now)
}

func (r *Router) maintainMesh(t string, now time.Time) {
	mesh := r.mesh[t]
	for _, id := range sorted(mesh) {
		if r.sc.score(id, now) < 0 {
			r.prune(t, id, false, now)
		}
	}
	if len(mesh) < r.p.Dlo {
		r.fill(t, r.p.D, now, nil)
	}
	if len(mesh) > r.p.Dhi {
		peers := r.shuffled(mesh)
		sort.SliceStable(peers, func(i, j int) bool { return r.sc.score(peers[i], now) > r.sc.score(peers[j], now) })
		rest := peers[r.p.Dscore:]
		r.rnd.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		keep := peers[:r.p.D]
		// Keep at least Dout outbound peers: swap outbound ones from the
		// tail into the non-score part of the kept set.
		out := 0
		for _, id := range keep {
			if r.peers[id].outbound {
				out++
			}
		}
		for i := r.p.D; i < len(peers) && out < r.p.Dout; i++ {
			if !r.peers[peers[i]].outbound {
				continue
			}
			for j := r.p.D - 1; j >= r.p.Dscore; j-- {
				if !r.peers[keep[j]].outbound {
					peers[i], peers[j] = peers[j], peers[i]
					out++
					break
				}
			}
		}
		for _, id := range peers[r.p.D:] {
			r.prune(t, id, true, now)
		}
	}
	if len(mesh) >= r.p.Dlo {
		out := 0
		for id := range mesh {
			if r.peers[id].outbound {
				out++
			}
		}
		if out < r.p.Dout {
			r.fill(t, len(mesh)+r.p.Dout-out, now, func(id PeerID) bool { return r.peers[id].outbound })
		}
	}
	if r.p.OpportunisticGraftTicks > 0 && r.heartbeats%r.p.OpportunisticGraftTicks == 0 && len(mesh) > 1 {
		scores := make([]float64, 0, len(mesh))
		for id := range mesh {
			scores = append(scores, r.sc.score(id, now))
		}
		slices.Sort(scores)
		median := scores[len(scores)/2]
		if median < r.th.OpportunisticGraft {
			r.fill(t, len(mesh)+r.p.OpportunisticGraftPeers, now, func(id PeerID) bool { return r.sc.score(id, now) > median })
		}
	}
}

// gossip sends IHAVE for the topic's recent messages to peers outside
// exclude: at least Dlazy of them, or GossipFactor of the candidates.
func (r *Router) gossip(topic string, exclude set, now time.Time) {
	ids := r.mcache.GossipIDs(topic)
	if len(ids) == 0 {
		return
	}
	if len(ids) > r.p.MaxIHaveLength {
		r.rnd.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		ids = ids[:r.p.MaxIHaveLength]
	}
	var cands []PeerID
	for _, id := range r.shuffledPeers(topic) {
		if _, ok := exclude[id]; ok {
			continue
		}
		if r.sc.score(id, now) >= r.th.Gossip {
			cands = append(cands, id)
		}
	}
	n := max(r.p.Dlazy, int(r.p.GossipFactor*float64(len(cands))))
	if n > len(cands) {
		n = len(cands)
	}
	raw := make([][]byte, len(ids))
	for i, id := range ids {
		raw[i] = []byte(id)
	}
	for _, to := range cands[:n] {
		c := r.control(to)
		c.Ihave = append(c.Ihave, &gossipsubpb.ControlIHave{TopicId: &topic, MessageIds: raw})
	}
}

func (r *Router) joinedTopics() []string {
	ts := make([]string, 0, len(r.joined))
	for t := range r.joined {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// topicPeers is a topic's peers in order, from the cache (not to be
// changed by the caller).
func (r *Router) topicPeers(topic string) []PeerID {
	ids, ok := r.topicsSorted[topic]
	if !ok {
		ids = sorted(r.topics[topic])
		r.topicsSorted[topic] = ids
	}
	return ids
}

// shuffledPeers is a topic's peers in a random order of the router's
// source.
func (r *Router) shuffledPeers(topic string) []PeerID {
	ids := slices.Clone(r.topicPeers(topic))
	r.rnd.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids
}

func (r *Router) shuffled(s set) []PeerID {
	ids := sorted(s)
	r.rnd.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids
}

func sorted(s set) []PeerID {
	ids := make([]PeerID, 0, len(s))
	for id := range s {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func subOpts(topic string, sub bool) *gossipsubpb.SubOpts {
	return &gossipsubpb.SubOpts{Subscribe: &sub, Topicid: &topic}
}
