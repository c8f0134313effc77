// Package admission decides which request streams of a Waku
// request/response protocol (lightpush, store, filter-subscribe, metadata)
// are served, and bounds each one in time.
//
// Every stream handler passes its stream to Gate.Accept, which
//   - registers the stream as idle and waits for the first byte of its
//     request, at most Limits.FirstByte; an idle stream past that is reset;
//   - keeps the idle streams within PeerIdle, PrefixIdle and TotalIdle: a
//     new idle stream over a limit resets the OLDEST idle stream of the same
//     peer, of the same address prefix, or (for the total) of the prefix
//     holding the most idle streams. Clients that open a stream ahead of use
//     (js-waku's stream pool) use their newest stream and abandon older
//     ones, so the newest is the one to keep; and a flood of idle streams
//     from one peer or one prefix only ever displaces its own streams;
//   - once the request has started, counts it against PeerRequests,
//     PrefixRequests and TotalRequests. A request over a limit is still
//     handed to the handler, marked Busy, so that the handler reads it (for
//     its request id) and answers with its protocol's busy status. The
//     requests being refused are bounded too (per prefix and in total, as
//     for requests served): past that the stream is reset unread;
//   - gives the request Limits.Request, from its first byte to the end of
//     the answer: the stream's deadline and the request's context.
//
// The protocol's service owns its gate and closes it when it stops: Close
// ends the idle streams and the requests' contexts and waits for the
// handlers to call Done, so that none of them outlives the service.
//
// Refusals are counted in rlnd_admission_refused_total{protocol, reason}
// with reason one of the Reason* constants.
package admission

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// Reasons of refusals (the reason label of the refusal counter).
const (
	ReasonIdleTimeout     = "idle_timeout"        // no request within the first-byte deadline
	ReasonIdlePeer        = "idle_evicted_peer"   // reset: the peer opened newer idle streams
	ReasonIdlePrefix      = "idle_evicted_prefix" // reset: the prefix opened newer idle streams
	ReasonIdleTotal       = "idle_evicted_total"  // reset: too many idle streams in all
	ReasonBusyPeer        = "busy_peer"           // answered busy: the peer's requests in progress
	ReasonBusyPrefix      = "busy_prefix"         // answered busy: the prefix's requests in progress
	ReasonBusyTotal       = "busy_total"          // answered busy: all requests in progress
	ReasonOverload        = "overload"            // reset unread: too many busy answers in progress
	ReasonRequestDeadline = "request_deadline"    // the request outlived its deadline
)

// Scope says which limit a busy request is over.
type Scope string

// Scopes of Busy.
const (
	ScopePeer   Scope = "peer"
	ScopePrefix Scope = "prefix"
	ScopeTotal  Scope = "total"
)

// Busy describes why a request is refused; its Error is the description
// sent to the client.
type Busy struct {
	Scope  Scope
	Limit  int
	Prefix netip.Prefix // for ScopePrefix
}

func (b *Busy) Error() string {
	switch b.Scope {
	case ScopePeer:
		return fmt.Sprintf("busy: this peer has %d requests in progress, the most it may have at once; retry once one is answered", b.Limit)
	case ScopePrefix:
		return fmt.Sprintf("busy: peers from %s have %d requests in progress, the most they may have at once; retry shortly", b.Prefix, b.Limit)
	default:
		return fmt.Sprintf("busy: the service has %d requests in progress, its limit; retry shortly or use another service node", b.Limit)
	}
}

// Overloaded tells whether the service as a whole is at its limit (HTTP
// 503 in the protocols' terms) rather than the client's share of it (429).
func (b *Busy) Overloaded() bool { return b.Scope == ScopeTotal }

// Config configures a Gate.
type Config struct {
	// Protocol names the protocol in metrics and logs (its protocol id).
	Protocol string
	// Limits; zero fields take the defaults.
	Limits Limits
	// Registerer receives the metrics (nil: not registered).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Stats is a snapshot of a gate's streams.
type Stats struct {
	Idle     int // open, request not started
	Active   int // requests admitted and in progress
	Refusing int // requests being answered busy
}

// Gate admits the request streams of one protocol. It is safe for
// concurrent use.
type Gate struct {
	protocol string
	lim      Limits
	log      *slog.Logger
	m        *metrics

	mu             sync.Mutex
	seq            uint64
	idlePeer       map[peer.ID]*list.List // of *idleStream, oldest first
	idlePrefix     map[netip.Prefix]*list.List
	idleTotal      int
	activePeer     map[peer.ID]int
	activePrefix   map[netip.Prefix]int
	activeTotal    int
	refusingPrefix map[netip.Prefix]int
	refusingTotal  int
	changed        chan struct{} // closed and replaced on every change

	// ctx is the gate's life, the parent of every request's context;
	// Close cancels it. closed refuses streams from then on; requests are
	// the admitted and busy ones, for Close to bound; accepting counts the
	// streams from Accept to Done (or to a refusal), for Close to wait for.
	ctx       context.Context
	cancel    context.CancelFunc
	closed    bool
	requests  map[*Request]struct{}
	accepting sync.WaitGroup
}

// New returns a gate for cfg.Protocol.
func New(cfg Config) (*Gate, error) {
	lim := cfg.Limits.WithDefaults()
	if err := lim.Validate(); err != nil {
		return nil, fmt.Errorf("admission %s: %w", cfg.Protocol, err)
	}
	m, err := newMetrics(cfg.Registerer, cfg.Protocol)
	if err != nil {
		return nil, fmt.Errorf("admission %s: metrics: %w", cfg.Protocol, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Gate{
		protocol: cfg.Protocol, lim: lim, log: log, m: m,
		idlePeer: map[peer.ID]*list.List{}, idlePrefix: map[netip.Prefix]*list.List{},
		activePeer: map[peer.ID]int{}, activePrefix: map[netip.Prefix]int{},
		refusingPrefix: map[netip.Prefix]int{},
		changed:        make(chan struct{}),
		ctx:            ctx, cancel: cancel, requests: map[*Request]struct{}{},
	}, nil
}

// CloseGrace is how long Close leaves the requests in progress to finish
// their answers (their contexts are cancelled at once): a client that
// stops reading cannot hold Close for the rest of Limits.Request.
const CloseGrace = time.Second

// Close stops the gate: streams that arrive later are reset, idle streams
// are reset, the requests in progress see their contexts cancelled and
// have at most CloseGrace left (their streams' deadline), and Close
// returns once every request it admitted is Done. The service calls it
// when it stops, after removing its stream handler; it is safe to call
// more than once.
func (g *Gate) Close() {
	g.mu.Lock()
	var idle []stream
	var inProgress []*Request
	if !g.closed {
		g.closed = true
		for _, l := range g.idlePeer {
			for e := l.Front(); e != nil; e = e.Next() {
				idle = append(idle, e.Value.(*idleStream).st)
			}
		}
		for r := range g.requests {
			inProgress = append(inProgress, r)
		}
	}
	g.mu.Unlock()
	g.cancel()
	// An idle stream's handler sees its read fail and gives up; the
	// stream leaves the idle lists as usual.
	for _, st := range idle {
		_ = st.Reset()
	}
	grace := time.Now().Add(CloseGrace)
	for _, r := range inProgress {
		if r.deadline.After(grace) {
			_ = r.st.SetDeadline(grace)
		}
	}
	g.accepting.Wait()
}

// Limits are the gate's limits, defaults applied.
func (g *Gate) Limits() Limits { return g.lim }

// Stats returns the current counts.
func (g *Gate) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.statsLocked()
}

func (g *Gate) statsLocked() Stats {
	return Stats{Idle: g.idleTotal, Active: g.activeTotal, Refusing: g.refusingTotal}
}

// Wait blocks until cond holds for the gate's Stats or ctx ends; cond is
// evaluated on every change.
func (g *Gate) Wait(ctx context.Context, cond func(Stats) bool) error {
	for {
		g.mu.Lock()
		s, ch := g.statsLocked(), g.changed
		g.mu.Unlock()
		if cond(s) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("admission %s: waiting for a state, last %+v: %w", g.protocol, s, ctx.Err())
		}
	}
}

// Refused counts a refusal the protocol made on its own (e.g. the store's
// bound on full pages in flight), with reason a short snake_case word.
func (g *Gate) Refused(reason string) { g.m.refused(reason) }

// changedLocked wakes the waiters and updates the gauges.
func (g *Gate) changedLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
	g.m.set(g.statsLocked())
}

// stream is what the gate needs of a stream; network.Stream has it.
type stream interface {
	io.Reader
	SetReadDeadline(time.Time) error
	SetDeadline(time.Time) error
	Reset() error
	Close() error
}

type idleStream struct {
	st       stream
	seq      uint64
	peer     peer.ID
	prefix   netip.Prefix
	inPeer   *list.Element
	inPrefix *list.Element
	evicted  string // the reason, once reset by the gate
}

// Request is one admitted (or busy) request: a reader over the request's
// bytes, its deadline and its context. The handler must call Done.
type Request struct {
	g        *Gate
	st       stream
	r        io.Reader
	peer     peer.ID
	prefix   netip.Prefix
	deadline time.Time
	ctx      context.Context
	cancel   context.CancelFunc
	busy     *Busy
	once     sync.Once
}

// Read reads the request's bytes (the first one included).
func (r *Request) Read(p []byte) (int, error) { return r.r.Read(p) }

// Context ends at the request's deadline, at Done, or when the gate
// closes.
func (r *Request) Context() context.Context { return r.ctx }

// Deadline is when the request's time is up.
func (r *Request) Deadline() time.Time { return r.deadline }

// Peer is the client's peer id.
func (r *Request) Peer() peer.ID { return r.peer }

// Prefix is the client's address prefix (zero without an IP address).
func (r *Request) Prefix() netip.Prefix { return r.prefix }

// Busy is why the request must be answered busy, or nil when it is
// admitted.
func (r *Request) Busy() *Busy { return r.busy }

// Done releases the request's place. It does not close the stream.
func (r *Request) Done() {
	r.once.Do(func() {
		r.cancel()
		if time.Now().After(r.deadline) {
			r.g.m.refused(ReasonRequestDeadline)
		}
		r.g.release(r)
		r.g.accepting.Done()
	})
}

// Accept waits for the first byte of st's request and admits it. It
// returns false when the stream ended or was reset unused (idle past the
// first-byte deadline, evicted, refused unread, or the gate closed); the
// gate has then closed or reset it. Otherwise the caller reads the request
// from the Request, answers (busy when Request.Busy is set), closes the
// stream and calls Done.
func (g *Gate) Accept(st network.Stream) (*Request, bool) {
	c := st.Conn()
	return g.accept(st, c.RemotePeer(), c.RemoteMultiaddr())
}

func (g *Gate) accept(st stream, p peer.ID, remote ma.Multiaddr) (*Request, bool) {
	prefix, _ := PrefixOf(remote)
	e := &idleStream{st: st, peer: p, prefix: prefix}
	victims, open := g.addIdle(e)
	if !open {
		_ = st.Reset()
		return nil, false
	}
	r, ok := g.admitStream(e, victims)
	if !ok {
		g.accepting.Done() // Done does it for an admitted request
	}
	return r, ok
}

// admitStream is accept once the stream is counted idle.
func (g *Gate) admitStream(e *idleStream, victims []*idleStream) (*Request, bool) {
	st, p, prefix := e.st, e.peer, e.prefix
	for _, v := range victims {
		g.m.refused(v.evicted)
		_ = v.st.Reset()
		g.log.Debug("idle request stream reset", "protocol", g.protocol, "peer", v.peer, "prefix", v.prefix, "reason", v.evicted)
	}
	_ = st.SetReadDeadline(time.Now().Add(g.lim.FirstByte))
	var first [1]byte
	_, err := io.ReadFull(st, first[:])
	if evicted := g.leaveIdle(e); evicted {
		return nil, false // reset and counted by the stream that displaced it
	}
	if err != nil {
		if isTimeout(err) {
			g.m.refused(ReasonIdleTimeout)
			_ = st.Reset()
			g.log.Debug("idle request stream timed out", "protocol", g.protocol, "peer", p, "after", g.lim.FirstByte)
			return nil, false
		}
		if errors.Is(err, io.EOF) {
			_ = st.Close() // closed unused by the client
		} else {
			_ = st.Reset()
		}
		return nil, false
	}
	deadline := time.Now().Add(g.lim.Request)
	_ = st.SetDeadline(deadline)
	r := &Request{g: g, st: st, peer: p, prefix: prefix, deadline: deadline}
	busy, outcome := g.admit(r)
	if outcome == admitClosed {
		_ = st.Reset()
		return nil, false
	}
	if outcome == admitOverload {
		g.m.refused(ReasonOverload)
		_ = st.Reset()
		g.log.Debug("request stream reset unread: too many busy answers in progress", "protocol", g.protocol, "peer", p, "prefix", prefix)
		return nil, false
	}
	if busy != nil {
		r.busy = busy
		g.m.refused("busy_" + string(busy.Scope))
		g.log.Debug("request answered busy", "protocol", g.protocol, "peer", p, "prefix", prefix, "scope", busy.Scope)
	}
	r.r = io.MultiReader(&firstByte{b: first[0]}, st)
	r.ctx, r.cancel = context.WithDeadline(g.ctx, deadline)
	return r, true
}

// firstByte is a one-byte reader (bytes.Reader without the allocation of
// a slice per request).
type firstByte struct {
	b    byte
	done bool
}

func (f *firstByte) Read(p []byte) (int, error) {
	if f.done {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0], f.done = f.b, true
	return 1, nil
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// addIdle registers e and returns the idle streams it displaces, already
// removed and marked; open is false, and e not registered, once the gate
// is closed. Otherwise e counts for Close until its request is Done or
// refused.
func (g *Gate) addIdle(e *idleStream) (victims []*idleStream, open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, false
	}
	g.accepting.Add(1)
	g.seq++
	e.seq = g.seq
	pl := g.idlePeer[e.peer]
	if pl == nil {
		pl = list.New()
		g.idlePeer[e.peer] = pl
	}
	xl := g.idlePrefix[e.prefix]
	if xl == nil {
		xl = list.New()
		g.idlePrefix[e.prefix] = xl
	}
	e.inPeer, e.inPrefix = pl.PushBack(e), xl.PushBack(e)
	g.idleTotal++
	evict := func(v *idleStream, reason string) {
		v.evicted = reason
		g.removeIdleLocked(v)
		victims = append(victims, v)
	}
	if pl.Len() > g.lim.PeerIdle {
		evict(pl.Front().Value.(*idleStream), ReasonIdlePeer)
	}
	if xl.Len() > g.lim.PrefixIdle {
		evict(xl.Front().Value.(*idleStream), ReasonIdlePrefix)
	}
	if g.idleTotal > g.lim.TotalIdle {
		evict(g.largestPrefixOldestLocked(), ReasonIdleTotal)
	}
	g.changedLocked()
	return victims, true
}

// largestPrefixOldestLocked is the oldest idle stream of the prefix with
// the most idle streams (ties: the one whose oldest stream is older).
func (g *Gate) largestPrefixOldestLocked() *idleStream {
	var best *idleStream
	bestLen := 0
	for _, l := range g.idlePrefix {
		if l.Len() == 0 {
			continue
		}
		front := l.Front().Value.(*idleStream)
		if l.Len() > bestLen || (l.Len() == bestLen && front.seq < best.seq) {
			best, bestLen = front, l.Len()
		}
	}
	return best
}

func (g *Gate) removeIdleLocked(e *idleStream) {
	if pl := g.idlePeer[e.peer]; pl != nil && e.inPeer != nil {
		pl.Remove(e.inPeer)
		if pl.Len() == 0 {
			delete(g.idlePeer, e.peer)
		}
	}
	if xl := g.idlePrefix[e.prefix]; xl != nil && e.inPrefix != nil {
		xl.Remove(e.inPrefix)
		if xl.Len() == 0 {
			delete(g.idlePrefix, e.prefix)
		}
	}
	e.inPeer, e.inPrefix = nil, nil
	g.idleTotal--
}

// leaveIdle ends e's idle time; it reports whether the gate evicted it.
func (g *Gate) leaveIdle(e *idleStream) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e.evicted != "" {
		return true
	}
	g.removeIdleLocked(e)
	g.changedLocked()
	return false
}

// Outcomes of admit.
const (
	admitOK       = iota // served, or answered busy
	admitOverload        // over the bound on busy answers: reset unread
	admitClosed          // the gate closed meanwhile: reset unread
)

// admit counts r in; busy is set when r is over a limit and will be
// answered busy.
func (g *Gate) admit(r *Request) (busy *Busy, outcome int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, admitClosed
	}
	defer g.changedLocked()
	switch {
	case g.activePeer[r.peer] >= g.lim.PeerRequests:
		busy = &Busy{Scope: ScopePeer, Limit: g.lim.PeerRequests}
	case g.activePrefix[r.prefix] >= g.lim.PrefixRequests:
		busy = &Busy{Scope: ScopePrefix, Limit: g.lim.PrefixRequests, Prefix: r.prefix}
	case g.activeTotal >= g.lim.TotalRequests:
		busy = &Busy{Scope: ScopeTotal, Limit: g.lim.TotalRequests}
	default:
		g.activePeer[r.peer]++
		g.activePrefix[r.prefix]++
		g.activeTotal++
		g.requests[r] = struct{}{}
		return nil, admitOK
	}
	if g.refusingPrefix[r.prefix] >= g.lim.PrefixRequests || g.refusingTotal >= g.lim.TotalRequests {
		return nil, admitOverload
	}
	g.refusingPrefix[r.prefix]++
	g.refusingTotal++
	g.requests[r] = struct{}{}
	return busy, admitOK
}

func (g *Gate) release(r *Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.requests, r)
	dec := func(m map[peer.ID]int, k peer.ID) {
		if m[k]--; m[k] <= 0 {
			delete(m, k)
		}
	}
	decPrefix := func(m map[netip.Prefix]int, k netip.Prefix) {
		if m[k]--; m[k] <= 0 {
			delete(m, k)
		}
	}
	if r.busy != nil {
		decPrefix(g.refusingPrefix, r.prefix)
		g.refusingTotal--
	} else {
		dec(g.activePeer, r.peer)
		decPrefix(g.activePrefix, r.prefix)
		g.activeTotal--
	}
	g.changedLocked()
}
