package peerexchange

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// RateLimits are the server's token buckets: each holds Burst requests and
// gets one back every Every. A request takes one token from its peer's
// bucket, its address prefix's bucket (/24 IPv4, /56 IPv6) and the total
// bucket, or none when any of them is empty; it is then answered 429 (peer,
// prefix) or 503 (total).
//
// The defaults: a peer 5 at once and one every 10 s (6 a minute; js-waku
// asks each connected peer once on connecting and then every 30 s); a
// prefix 30 and one a second (js-waku clients behind one address share
// it); in all 200 and 20 a second. nwaku has no limit by default (its
// --rate-limit px:N/period sets one global bucket, and per peer three
// quarters of a multiple of it).
type RateLimits struct {
	PeerBurst   int
	PeerEvery   time.Duration
	PrefixBurst int
	PrefixEvery time.Duration
	TotalBurst  int
	TotalEvery  time.Duration
}

// Defaults of RateLimits.
const (
	DefaultPeerBurst   = 5
	DefaultPeerEvery   = 10 * time.Second
	DefaultPrefixBurst = 30
	DefaultPrefixEvery = time.Second
	DefaultTotalBurst  = 200
	DefaultTotalEvery  = 50 * time.Millisecond
)

// withDefaults fills the zero fields; negative ones are an error.
func (l RateLimits) withDefaults() (RateLimits, error) {
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{{"peer burst", &l.PeerBurst, DefaultPeerBurst}, {"prefix burst", &l.PrefixBurst, DefaultPrefixBurst}, {"total burst", &l.TotalBurst, DefaultTotalBurst}} {
		if *f.v < 0 {
			return l, fmt.Errorf("peerexchange: rate limit %s %d, want at least 1 (0: the default)", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"peer interval", &l.PeerEvery, DefaultPeerEvery}, {"prefix interval", &l.PrefixEvery, DefaultPrefixEvery}, {"total interval", &l.TotalEvery, DefaultTotalEvery}} {
		if *f.v < 0 {
			return l, fmt.Errorf("peerexchange: rate limit %s %s, want positive (0: the default)", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return l, nil
}

// Scopes of a rate-limit refusal.
const (
	scopePeer   = "peer"
	scopePrefix = "prefix"
	scopeTotal  = "total"
)

// rateRefusal says which bucket was empty and when it has a token again.
type rateRefusal struct {
	scope      string
	burst      int
	every      time.Duration
	retryAfter time.Duration
}

func (r *rateRefusal) description() string {
	who := map[string]string{scopePeer: "this peer", scopePrefix: "peers of this address prefix", scopeTotal: "all peers together"}[r.scope]
	return fmt.Sprintf("too many requests: %s may make %d peer-exchange requests at once and one more every %s; retry in %s",
		who, r.burst, r.every, r.retryAfter.Round(time.Millisecond))
}

// maxTracked bounds the buckets of each kind held at once. Only buckets
// not yet full again are kept (full ones are swept), and a request takes a
// token from the total bucket before a peer or prefix gets a bucket, so
// with the defaults at most about 1,400 are ever held; the bound is a
// backstop: past it, requests from new peers or prefixes are refused as
// over the total.
const maxTracked = 16384

// sweepEvery is how often buckets that are full again are dropped.
const sweepEvery = 10 * time.Second

// limiter holds the token buckets. A bucket is kept as the time at which
// it is full again (GCRA): a request at now is allowed when that time is at
// most (burst-1)*every after now, and moves it every later (from now when
// it was in the past).
type limiter struct {
	lim RateLimits

	mu        sync.Mutex
	total     time.Time
	peers     map[peer.ID]time.Time
	prefixes  map[netip.Prefix]time.Time
	lastSweep time.Time
}

func newLimiter(lim RateLimits) *limiter {
	return &limiter{lim: lim, peers: map[peer.ID]time.Time{}, prefixes: map[netip.Prefix]time.Time{}}
}

// take takes a token for a request of p from prefix x at now from all three
// buckets, or from none and says which one refused.
func (l *limiter) take(p peer.ID, x netip.Prefix, now time.Time) *rateRefusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweepLocked(now)
	}
	check := func(full time.Time, burst int, every time.Duration, scope string) (time.Time, *rateRefusal) {
		if full.Before(now) {
			full = now
		}
		if wait := full.Sub(now) - time.Duration(burst-1)*every; wait > 0 {
			return full, &rateRefusal{scope: scope, burst: burst, every: every, retryAfter: wait}
		}
		return full.Add(every), nil
	}
	total, r := check(l.total, l.lim.TotalBurst, l.lim.TotalEvery, scopeTotal)
	if r != nil {
		return r
	}
	pfull, known := l.prefixes[x]
	if !known && len(l.prefixes) >= maxTracked {
		return &rateRefusal{scope: scopeTotal, burst: l.lim.TotalBurst, every: l.lim.TotalEvery, retryAfter: sweepEvery}
	}
	prefix, r := check(pfull, l.lim.PrefixBurst, l.lim.PrefixEvery, scopePrefix)
	if r != nil {
		return r
	}
	efull, known := l.peers[p]
	if !known && len(l.peers) >= maxTracked {
		return &rateRefusal{scope: scopeTotal, burst: l.lim.TotalBurst, every: l.lim.TotalEvery, retryAfter: sweepEvery}
	}
	own, r := check(efull, l.lim.PeerBurst, l.lim.PeerEvery, scopePeer)
	if r != nil {
		return r
	}
	l.total, l.prefixes[x], l.peers[p] = total, prefix, own
	return nil
}

// sweepLocked drops the buckets that are full again: absent and full are
// the same.
func (l *limiter) sweepLocked(now time.Time) {
	l.lastSweep = now
	for p, full := range l.peers {
		if !full.After(now) {
			delete(l.peers, p)
		}
	}
	for x, full := range l.prefixes {
		if !full.After(now) {
			delete(l.prefixes, x)
		}
	}
}

// tracked is the number of peer and prefix buckets held.
func (l *limiter) tracked() (peers, prefixes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.peers), len(l.prefixes)
}
