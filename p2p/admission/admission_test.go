package admission

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// waitBound bounds every wait of these tests; the deadlines under test are
// tens of milliseconds.
const waitBound = 10 * time.Second

// pipeStream is a stream over one end of net.Pipe (which has deadlines),
// recording whether the gate reset or closed it.
type pipeStream struct {
	net.Conn
	mu     sync.Mutex
	ended  chan struct{}
	wasRst bool
}

func (s *pipeStream) end(reset bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.ended:
	default:
		s.wasRst = reset
		close(s.ended)
	}
	return s.Conn.Close()
}

func (s *pipeStream) Reset() error { return s.end(true) }
func (s *pipeStream) Close() error { return s.end(false) }

type accepted struct {
	req *Request
	ok  bool
}

// client is the far end of one stream and the outcome of Accept.
type client struct {
	t      *testing.T
	conn   net.Conn
	srv    *pipeStream
	result chan accepted
}

type harness struct {
	t     *testing.T
	g     *Gate
	proto string
}

func newHarness(t *testing.T, lim Limits) *harness {
	t.Helper()
	proto := "/test/" + t.Name()
	g, err := New(Config{Protocol: proto, Limits: lim, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, g: g, proto: proto}
}

// open starts a stream from peer p at addr; Accept runs as a handler would.
func (h *harness) open(p peer.ID, addr string) *client {
	h.t.Helper()
	c, s := net.Pipe()
	ps := &pipeStream{Conn: s, ended: make(chan struct{})}
	h.t.Cleanup(func() { c.Close(); s.Close() })
	res := make(chan accepted, 1)
	remote := ma.StringCast(addr)
	go func() {
		r, ok := h.g.accept(ps, p, remote)
		res <- accepted{r, ok}
	}()
	return &client{t: h.t, conn: c, srv: ps, result: res}
}

// openIdle opens a stream and waits until the gate counts idle streams.
func (h *harness) openIdle(p peer.ID, addr string, idleAfter int) *client {
	h.t.Helper()
	c := h.open(p, addr)
	h.wait("idle streams", func(s Stats) bool { return s.Idle == idleAfter })
	return c
}

func (h *harness) wait(what string, cond func(Stats) bool) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	if err := h.g.Wait(ctx, cond); err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
}

func (h *harness) refused(reason string) float64 {
	return testutil.ToFloat64(h.g.m.refusedVec.WithLabelValues(h.proto, reason))
}

// start sends the request's first byte and returns Accept's outcome.
func (c *client) start() accepted {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(waitBound))
	if _, err := c.conn.Write([]byte{0x2a}); err != nil {
		c.t.Fatalf("first byte: %v", err)
	}
	return c.outcome()
}

func (c *client) outcome() accepted {
	c.t.Helper()
	select {
	case a := <-c.result:
		return a
	case <-time.After(waitBound):
		c.t.Fatalf("Accept did not return within %s", waitBound)
		return accepted{}
	}
}

// wasReset waits until the gate ended the stream and reports whether it
// reset (rather than closed) it.
func (c *client) wasReset() bool {
	c.t.Helper()
	select {
	case <-c.srv.ended:
	case <-time.After(waitBound):
		c.t.Fatalf("stream not ended within %s", waitBound)
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	return c.srv.wasRst
}

func (c *client) isOpen() bool {
	select {
	case <-c.srv.ended:
		return false
	default:
		return true
	}
}

func peerID(t *testing.T, name string) peer.ID {
	t.Helper()
	return peer.ID("test-peer-" + name)
}

// An idle stream is reset at the first-byte deadline; a stream that
// started in time is not, and its request deadline then fires while the
// client stalls mid-request.
func TestDeadlines(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Limits{FirstByte: 50 * time.Millisecond, Request: 80 * time.Millisecond})
	idle := h.open(peerID(t, "a"), "/ip4/10.0.0.1/tcp/1")
	if a := idle.outcome(); a.ok {
		t.Fatal("an idle stream was accepted")
	}
	if !idle.wasReset() {
		t.Fatal("an idle stream past its first-byte deadline was closed, not reset")
	}
	if got := h.refused(ReasonIdleTimeout); got != 1 {
		t.Fatalf("idle_timeout refusals %v, want 1", got)
	}

	started := h.open(peerID(t, "a"), "/ip4/10.0.0.1/tcp/1")
	a := started.start()
	if !a.ok || a.req.Busy() != nil {
		t.Fatalf("a started request was not admitted: %+v", a)
	}
	// The client stalls after the first byte: reading the rest ends at the
	// request deadline, and so does the context.
	begin := time.Now()
	var rest [8]byte
	n, err := io.ReadFull(a.req, rest[:])
	if n != 1 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of a stalled request: %d bytes, %v; want the first byte, then the deadline", n, err)
	}
	select {
	case <-a.req.Context().Done():
	case <-time.After(waitBound):
		t.Fatal("the request context outlived the request deadline")
	}
	if took := time.Since(begin); took > waitBound {
		t.Fatalf("request deadline fired after %s", took)
	}
	a.req.Done()
	if got := h.refused(ReasonRequestDeadline); got != 1 {
		t.Fatalf("request_deadline count %v, want 1", got)
	}
	if s := h.g.Stats(); s != (Stats{}) {
		t.Fatalf("stats after Done %+v, want zero", s)
	}

	// A stream closed unused by the client is closed, not counted.
	closed := h.open(peerID(t, "b"), "/ip4/10.0.0.2/tcp/1")
	h.wait("idle", func(s Stats) bool { return s.Idle == 1 })
	closed.conn.Close()
	if a := closed.outcome(); a.ok {
		t.Fatal("a stream closed unused was accepted")
	}
	if closed.wasReset() {
		t.Fatal("a stream the client closed unused was reset")
	}
	if got := h.refused(ReasonIdleTimeout); got != 1 {
		t.Fatalf("idle_timeout refusals %v after a clean close, want still 1", got)
	}
}

// Requests over the per-peer, per-prefix and total limits are handed over
// marked busy with their scope, still readable; beyond the bound on busy
// answers the stream is reset unread. Done frees the place.
func TestRequestLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Limits{PeerRequests: 2, PrefixRequests: 3, TotalRequests: 4})
	admit := func(p, addr string) *Request {
		t.Helper()
		a := h.open(peerID(t, p), addr).start()
		if !a.ok || a.req.Busy() != nil {
			t.Fatalf("request from %s at %s: ok %v busy %v, want admitted", p, addr, a.ok, a.req.Busy())
		}
		return a.req
	}
	busy := func(p, addr string, scope Scope) *Request {
		t.Helper()
		a := h.open(peerID(t, p), addr).start()
		if !a.ok || a.req.Busy() == nil || a.req.Busy().Scope != scope {
			t.Fatalf("request from %s at %s: ok %v busy %v, want busy (%s)", p, addr, a.ok, a.req.Busy(), scope)
		}
		// Busy requests are still read, for their request id.
		var b [1]byte
		if _, err := io.ReadFull(a.req, b[:]); err != nil || b[0] != 0x2a {
			t.Fatalf("busy request unreadable: %v", err)
		}
		return a.req
	}
	a1 := admit("a", "/ip4/10.0.1.1/tcp/1")
	admit("a", "/ip4/10.0.1.1/tcp/2")
	bp := busy("a", "/ip4/10.0.1.1/tcp/3", ScopePeer)
	if bp.Busy().Overloaded() || !strings.Contains(bp.Busy().Error(), "this peer") {
		t.Fatalf("peer busy: overloaded %v, %q", bp.Busy().Overloaded(), bp.Busy().Error())
	}
	admit("b", "/ip4/10.0.1.2/tcp/1") // same /24: prefix now at 3
	bx := busy("c", "/ip4/10.0.1.3/tcp/1", ScopePrefix)
	if !strings.Contains(bx.Busy().Error(), "10.0.1.0/24") {
		t.Fatalf("prefix busy description %q does not name the prefix", bx.Busy().Error())
	}
	admit("d", "/ip4/10.0.2.1/tcp/1") // another /24: total now at 4
	bt := busy("e", "/ip4/10.0.3.1/tcp/1", ScopeTotal)
	if !bt.Busy().Overloaded() {
		t.Fatal("a request over the total limit is not an overload")
	}
	// Busy answers in progress: 3 in all, 2 from 10.0.1.0/24; a third
	// from that prefix is busy still (bound 3 per prefix)...
	busy("f", "/ip4/10.0.1.4/tcp/1", ScopePrefix)
	// ... and now the total of 4 busy answers is reached: reset unread.
	over := h.open(peerID(t, "g"), "/ip4/10.0.4.1/tcp/1")
	if a := over.start(); a.ok {
		t.Fatal("a request beyond the bound on busy answers was accepted")
	}
	if !over.wasReset() {
		t.Fatal("a request beyond the bound on busy answers was not reset")
	}
	for reason, want := range map[string]float64{ReasonBusyPeer: 1, ReasonBusyPrefix: 2, ReasonBusyTotal: 1, ReasonOverload: 1} {
		if got := h.refused(reason); got != want {
			t.Errorf("refusals %s = %v, want %v", reason, got, want)
		}
	}
	if s := h.g.Stats(); s.Active != 4 || s.Refusing != 4 {
		t.Fatalf("stats %+v, want 4 active and 4 refusing", s)
	}
	// A finished request frees its peer's place.
	a1.Done()
	a1.Done() // idempotent
	admit("a", "/ip4/10.0.1.1/tcp/4")
}

// Idle streams over a limit reset the oldest idle stream of the same peer,
// of the same prefix, or of the prefix with the most idle streams; the
// newest stream of a client stays usable.
func TestIdleEviction(t *testing.T) {
	t.Parallel()
	t.Run("peer", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, Limits{PeerIdle: 2})
		const addr = "/ip4/10.1.0.1/tcp/1"
		oldest := h.openIdle(peerID(t, "a"), addr, 1)
		h.openIdle(peerID(t, "a"), addr, 2)
		other := h.openIdle(peerID(t, "b"), addr, 3)
		newest := h.open(peerID(t, "a"), addr)
		if a := oldest.outcome(); a.ok || !oldest.wasReset() {
			t.Fatal("the oldest idle stream of the peer was not reset")
		}
		h.wait("idle", func(s Stats) bool { return s.Idle == 3 })
		if !other.isOpen() {
			t.Fatal("another peer's idle stream was reset")
		}
		if a := newest.start(); !a.ok || a.req.Busy() != nil {
			t.Fatal("the newest stream of the peer is not usable")
		}
		if got := h.refused(ReasonIdlePeer); got != 1 {
			t.Fatalf("idle_evicted_peer %v, want 1", got)
		}
	})
	t.Run("prefix", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, Limits{PrefixIdle: 3})
		first := h.openIdle(peerID(t, "a"), "/ip4/10.2.0.1/tcp/1", 1)
		h.openIdle(peerID(t, "b"), "/ip4/10.2.0.2/tcp/1", 2)
		elsewhere := h.openIdle(peerID(t, "x"), "/ip4/10.3.0.1/tcp/1", 3)
		h.openIdle(peerID(t, "c"), "/ip4/10.2.0.3/tcp/1", 4)
		h.open(peerID(t, "d"), "/ip4/10.2.0.4/tcp/1")
		if a := first.outcome(); a.ok || !first.wasReset() {
			t.Fatal("the oldest idle stream of the prefix was not reset")
		}
		h.wait("idle", func(s Stats) bool { return s.Idle == 4 })
		if !elsewhere.isOpen() {
			t.Fatal("an idle stream of another prefix was reset")
		}
		if got := h.refused(ReasonIdlePrefix); got != 1 {
			t.Fatalf("idle_evicted_prefix %v, want 1", got)
		}
	})
	t.Run("total", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, Limits{TotalIdle: 4})
		honest := h.openIdle(peerID(t, "h"), "/ip4/10.4.0.1/tcp/1", 1)
		flood := []*client{
			h.openIdle(peerID(t, "a"), "/ip4/10.5.0.1/tcp/1", 2),
			h.openIdle(peerID(t, "b"), "/ip4/10.5.0.2/tcp/1", 3),
			h.openIdle(peerID(t, "c"), "/ip4/10.5.0.3/tcp/1", 4),
		}
		h.open(peerID(t, "n"), "/ip4/10.6.0.1/tcp/1")
		if a := flood[0].outcome(); a.ok || !flood[0].wasReset() {
			t.Fatal("the oldest stream of the largest prefix was not reset")
		}
		h.wait("idle", func(s Stats) bool { return s.Idle == 4 })
		if !honest.isOpen() {
			t.Fatal("the oldest idle stream overall (a prefix with one stream) was reset")
		}
		if got := h.refused(ReasonIdleTotal); got != 1 {
			t.Fatalf("idle_evicted_total %v, want 1", got)
		}
	})
}

// Close resets the idle streams, cancels the requests in progress and
// leaves them CloseGrace to answer, waits until each is Done, and resets
// the streams that arrive after it.
func TestClose(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Limits{})
	const addr = "/ip4/10.7.0.1/tcp/1"
	idle := h.openIdle(peerID(t, "a"), addr, 1)
	a := h.open(peerID(t, "b"), addr).start()
	if !a.ok {
		t.Fatal("request not admitted")
	}
	closed := make(chan struct{})
	go func() {
		h.g.Close()
		close(closed)
	}()
	if out := idle.outcome(); out.ok || !idle.wasReset() {
		t.Fatal("Close left an idle stream open")
	}
	select {
	case <-a.req.Context().Done():
	case <-time.After(waitBound):
		t.Fatal("Close did not cancel the context of a request in progress")
	}
	// The client sends nothing more: reading the rest of its request ends
	// at the grace deadline Close set, not the request's 30 s.
	begin := time.Now()
	var rest [8]byte
	if n, err := io.ReadFull(a.req, rest[:]); n != 1 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after Close: %d bytes, %v; want the first byte, then the deadline", n, err)
	}
	if took := time.Since(begin); took > CloseGrace+time.Second {
		t.Fatalf("the request's stream outlived Close by %s, want at most CloseGrace (%s)", took, CloseGrace)
	}
	select {
	case <-closed:
		t.Fatal("Close returned before the request in progress was Done")
	default:
	}
	a.req.Done()
	select {
	case <-closed:
	case <-time.After(waitBound):
		t.Fatal("Close did not return once the request was Done")
	}
	late := h.open(peerID(t, "c"), addr)
	if out := late.outcome(); out.ok || !late.wasReset() {
		t.Fatal("a stream opened after Close was not reset")
	}
	if s := h.g.Stats(); s != (Stats{}) {
		t.Fatalf("stats after Close %+v, want zero", s)
	}
	h.g.Close() // again: returns at once
}

// IPv6 sources are grouped by /56, IPv4 (and IPv4-mapped IPv6) by /24.
func TestPrefixes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr, want string
		ok         bool
	}{
		{"/ip4/192.0.2.77/tcp/1", "192.0.2.0/24", true},
		{"/ip6/2001:db8:aa:bb00::1/tcp/1", "2001:db8:aa:bb00::/56", true},
		{"/ip6/2001:db8:aa:bbff:ffff::2/tcp/1", "2001:db8:aa:bb00::/56", true},
		{"/ip6/2001:db8:aa:bc00::1/tcp/1", "2001:db8:aa:bc00::/56", true},
		{"/ip6/::ffff:198.51.100.9/tcp/1", "198.51.100.0/24", true},
		{"/ip6zone/eth0/ip6/fe80::1/tcp/1", "fe80::/56", true},
		{"/dns4/example.com/tcp/1", "invalid Prefix", false},
	} {
		got, ok := PrefixOf(ma.StringCast(tc.addr))
		if ok != tc.ok || got.String() != tc.want {
			t.Errorf("PrefixOf(%s) = %s, %v; want %s, %v", tc.addr, got, ok, tc.want, tc.ok)
		}
	}
	// Two peers in one /56 share its request limit; a third elsewhere
	// does not.
	h := newHarness(t, Limits{PrefixRequests: 1})
	if a := h.open(peerID(t, "a"), "/ip6/2001:db8:1:100::1/tcp/1").start(); !a.ok || a.req.Busy() != nil {
		t.Fatal("first request of the /56 not admitted")
	}
	a := h.open(peerID(t, "b"), "/ip6/2001:db8:1:1ff::9/tcp/1").start()
	if !a.ok || a.req.Busy() == nil || a.req.Busy().Scope != ScopePrefix || a.req.Prefix() != netip.MustParsePrefix("2001:db8:1:100::/56") {
		t.Fatalf("second request of the /56: ok %v busy %v prefix %s", a.ok, a.req.Busy(), a.req.Prefix())
	}
	if a := h.open(peerID(t, "c"), "/ip6/2001:db8:1:200::1/tcp/1").start(); !a.ok || a.req.Busy() != nil {
		t.Fatal("request of another /56 not admitted")
	}
}

func TestLimitsValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatal(err)
	}
	if got := (Limits{}).WithDefaults(); got != DefaultLimits() {
		t.Fatalf("zero limits with defaults %+v", got)
	}
	bad := DefaultLimits()
	bad.PeerIdle, bad.Request = -1, -time.Second
	err := bad.Validate()
	if !errors.Is(err, ErrInvalidLimits) || !strings.Contains(err.Error(), "idle streams per peer") || !strings.Contains(err.Error(), "request deadline") {
		t.Fatalf("Validate of bad limits: %v", err)
	}
	if _, err := New(Config{Protocol: "/x", Limits: bad}); !errors.Is(err, ErrInvalidLimits) {
		t.Fatalf("New with bad limits: %v", err)
	}
}
