// Package hostile holds the hostile clients of the service tests: hosts
// on chosen loopback addresses (testnet.HostAt: 127.0.1.x and 127.0.2.x
// are different /24 prefixes) that flood a service with request streams
// they never use.
package hostile

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	manet "github.com/multiformats/go-multiaddr/net"
	msmux "github.com/multiformats/go-multistream"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/p2p/admission"
)

// Connect connects h to target and checks that target sees h's
// connection coming from ip (the prefix the test means).
func Connect(tb testing.TB, ctx context.Context, h, target *p2p.Host, ip string) {
	tb.Helper()
	if _, err := h.Connect(ctx, peer.AddrInfo{ID: target.ID(), Addrs: target.Libp2p().Addrs()}); err != nil {
		tb.Fatalf("connect from %s: %v", ip, err)
	}
	for _, c := range target.Libp2p().Network().ConnsToPeer(h.ID()) {
		got, err := manet.ToIP(c.RemoteMultiaddr())
		if err != nil || got.String() != ip {
			tb.Fatalf("the service sees a connection from %s (%v), want %s", c.RemoteMultiaddr(), err, ip)
		}
	}
}

// Clients starts one host on each of ips and connects it to target (see
// Connect).
func Clients(tb testing.TB, ctx context.Context, cluster uint16, target *p2p.Host, ips ...string) []*p2p.Host {
	tb.Helper()
	var hs []*p2p.Host
	for _, ip := range ips {
		h := testnet.HostAt(tb, cluster, ip)
		Connect(tb, ctx, h, target, ip)
		hs = append(hs, h)
	}
	return hs
}

// IdleFlood is a set of attacker hosts each holding streams of one
// protocol open to a target without ever sending a request. A stream the
// target resets is opened again, up to a budget.
type IdleFlood struct {
	// Opened counts the streams negotiated (the target's handler got
	// them); Ended the ones the target reset or closed; Refused the opens
	// the target refused before its handler (its resource manager).
	Opened, Ended, Refused atomic.Int64

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	first   sync.WaitGroup
	inPlace chan struct{}
	done    chan struct{}
}

// FloodConfig configures StartIdleFlood.
type FloodConfig struct {
	Cluster  uint16
	Protocol protocol.ID
	// Peers attacker hosts, on IPs IPPrefix+"1", +"2", ... (e.g. "127.0.1.").
	Peers    int
	IPPrefix string
	// Streams each attacker keeps open.
	Streams int
	// Reopens is how many times each stream slot opens a new stream after
	// the target ended the last one.
	Reopens int
}

// StartIdleFlood connects the attackers to target and starts opening their
// streams; InPlace is closed once every stream slot has had its first
// open answered, Done once every slot used its reopen budget. The flood
// stops at the end of the test.
func StartIdleFlood(tb testing.TB, ctx context.Context, target *p2p.Host, cfg FloodConfig) *IdleFlood {
	tb.Helper()
	f := &IdleFlood{inPlace: make(chan struct{}), done: make(chan struct{})}
	fctx, cancel := context.WithCancel(ctx)
	f.cancel = cancel
	tb.Cleanup(f.Stop)
	for i := range cfg.Peers {
		ip := fmt.Sprintf("%s%d", cfg.IPPrefix, i+1)
		h := testnet.HostAt(tb, cfg.Cluster, ip)
		Connect(tb, ctx, h, target, ip)
		for range cfg.Streams {
			f.wg.Add(1)
			f.first.Add(1)
			go f.slot(fctx, h, target.ID(), cfg)
		}
	}
	go func() { f.first.Wait(); close(f.inPlace) }()
	go func() { f.wg.Wait(); close(f.done) }()
	return f
}

// InPlace is closed once every stream slot's first open was answered.
func (f *IdleFlood) InPlace() <-chan struct{} { return f.inPlace }

// Done is closed once the flood has ended (budget used, or stopped).
func (f *IdleFlood) Done() <-chan struct{} { return f.done }

// slot keeps one idle stream open, reopening it after the target ends it.
func (f *IdleFlood) slot(ctx context.Context, h *p2p.Host, target peer.ID, cfg FloodConfig) {
	defer f.wg.Done()
	firstDone := false
	signal := func() {
		if !firstDone {
			firstDone = true
			f.first.Done()
		}
	}
	defer signal()
	for opens := 0; opens <= cfg.Reopens && ctx.Err() == nil; opens++ {
		s, err := h.Libp2p().Network().NewStream(ctx, target)
		if err != nil {
			f.Refused.Add(1)
			signal()
			continue
		}
		// Negotiate the protocol now (the target's handler runs), then
		// send nothing.
		if err := msmux.SelectProtoOrFail(cfg.Protocol, s); err != nil {
			_ = s.Reset()
			f.Refused.Add(1)
			signal()
			continue
		}
		f.Opened.Add(1)
		signal()
		ended := make(chan struct{})
		go func() {
			defer close(ended)
			var b [1]byte
			_, _ = s.Read(b[:]) // returns when the target ends the stream
		}()
		select {
		case <-ended:
			f.Ended.Add(1)
		case <-ctx.Done():
			_ = s.Reset()
			<-ended
			return
		}
	}
}

// Stop ends the flood and waits for its goroutines.
func (f *IdleFlood) Stop() {
	f.cancel()
	f.wg.Wait()
}

// HeapAfterGC is the live heap after a full collection.
func HeapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Rate tracks honest requests: the share that succeeded.
type Rate struct {
	mu       sync.Mutex
	ok, fail int
	failures []string
}

// Add records one request's outcome.
func (r *Rate) Add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.ok++
		return
	}
	r.fail++
	if len(r.failures) < 10 {
		r.failures = append(r.failures, err.Error())
	}
}

// Check fails tb unless at least min of the requests succeeded.
func (r *Rate) Check(tb testing.TB, min float64) {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	total := r.ok + r.fail
	if total == 0 {
		tb.Fatal("no honest requests were made")
	}
	share := float64(r.ok) / float64(total)
	tb.Logf("honest requests: %d of %d succeeded (%.1f%%)", r.ok, total, 100*share)
	if share < min {
		tb.Fatalf("only %d of %d honest requests succeeded (%.1f%%, want at least %.0f%%); first failures: %v", r.ok, total, 100*share, 100*min, r.failures)
	}
}

// Deadline is how long one honest request may take in these tests.
const Deadline = 15 * time.Second

// FloodRun is an idle-stream flood against one gated protocol of a
// service while honest clients keep making requests.
type FloodRun struct {
	Target *p2p.Host
	Flood  FloodConfig
	// Honest clients make requests from the start of the flood until it
	// is in place, and at least MinRequests each; Request makes client
	// ci's i-th request and says whether it fully succeeded.
	Honest      []*p2p.Host
	MinRequests int
	Request     func(ctx context.Context, ci, i int, h *p2p.Host) error
	// Gate is the service's gate for the protocol; HeapBound how much
	// the heap may grow under the flood.
	Gate      *admission.Gate
	HeapBound uint64
}

// RunFlood runs r and checks: the attackers opened every stream they
// meant to, at least 99% of the honest requests succeeded, the gate held
// no more idle streams than the attacker prefix's bound plus the honest
// clients', it ended idle streams, and the heap stayed within the bound.
func RunFlood(t *testing.T, ctx context.Context, r FloodRun) {
	t.Helper()
	before := HeapAfterGC()
	start := time.Now()
	flood := StartIdleFlood(t, ctx, r.Target, r.Flood)
	var rate Rate
	var wg sync.WaitGroup
	for ci, c := range r.Honest {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-flood.InPlace():
					if i >= r.MinRequests {
						return
					}
				default:
				}
				rctx, cancel := context.WithTimeout(ctx, Deadline)
				err := r.Request(rctx, ci, i, c)
				cancel()
				rate.Add(err)
			}
		})
	}
	select {
	case <-flood.InPlace():
	case <-ctx.Done():
		t.Fatal("the flood was not in place in time")
	}
	inPlace := HeapAfterGC()
	t.Logf("flood in place after %s: %d streams negotiated, %d ended by the service, %d refused before the handler; heap %d -> %d KiB",
		time.Since(start).Round(time.Millisecond), flood.Opened.Load(), flood.Ended.Load(), flood.Refused.Load(), before>>10, inPlace>>10)
	wg.Wait()
	if got, want := flood.Opened.Load()+flood.Refused.Load(), int64(r.Flood.Peers*r.Flood.Streams); got < want {
		t.Fatalf("the attackers opened %d streams, want at least %d", got, want)
	}
	during := max(inPlace, HeapAfterGC())
	stats := r.Gate.Stats()
	t.Logf("honest requests over after %s: gate %+v; heap at most %d KiB", time.Since(start).Round(time.Millisecond), stats, during>>10)
	rate.Check(t, 0.99)
	lim := r.Gate.Limits()
	if bound := lim.PrefixIdle + len(r.Honest)*lim.PeerIdle; stats.Idle > bound {
		t.Fatalf("the service holds %d idle streams, want at most %d (the attacker prefix's bound %d plus the honest clients')", stats.Idle, bound, lim.PrefixIdle)
	}
	if flood.Ended.Load() == 0 {
		t.Fatal("the service ended none of the idle streams")
	}
	if during > before && during-before > r.HeapBound {
		t.Fatalf("heap grew by %d KiB under the flood, bound %d KiB", (during-before)>>10, r.HeapBound>>10)
	}
}
