package peerexchange

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	lim := RateLimits{PeerBurst: 3, PeerEvery: 10 * time.Second, PrefixBurst: 5, PrefixEvery: time.Second, TotalBurst: 8, TotalEvery: 100 * time.Millisecond}
	prefixA := netip.MustParsePrefix("127.0.1.0/24")
	prefixB := netip.MustParsePrefix("127.0.2.0/24")
	type req struct {
		peer   string
		prefix netip.Prefix
		after  time.Duration // clock advance before the request
		want   string        // "" allowed, else the refusing scope
		retry  time.Duration // for a refusal
	}
	tests := []struct {
		name string
		reqs []req
	}{
		{"a peer's burst, then one every 10 s", []req{
			{"p1", prefixA, 0, "", 0}, {"p1", prefixA, 0, "", 0}, {"p1", prefixA, 0, "", 0},
			{"p1", prefixA, 0, scopePeer, 10 * time.Second},
			{"p1", prefixA, 9 * time.Second, scopePeer, time.Second},
			{"p1", prefixA, time.Second, "", 0},
			{"p1", prefixA, 0, scopePeer, 10 * time.Second},
		}},
		{"new peer ids of one prefix share its bucket", []req{
			{"p1", prefixA, 0, "", 0}, {"p2", prefixA, 0, "", 0}, {"p3", prefixA, 0, "", 0},
			{"p4", prefixA, 0, "", 0}, {"p5", prefixA, 0, "", 0},
			{"p6", prefixA, 0, scopePrefix, time.Second},
			{"p7", prefixB, 0, "", 0}, // another prefix is served
			{"p8", prefixA, time.Second, "", 0},
		}},
		{"the total bucket", []req{
			{"p1", prefixA, 0, "", 0}, {"p2", prefixA, 0, "", 0}, {"p3", prefixA, 0, "", 0}, {"p4", prefixA, 0, "", 0},
			{"p5", prefixB, 0, "", 0}, {"p6", prefixB, 0, "", 0}, {"p7", prefixB, 0, "", 0}, {"p8", prefixB, 0, "", 0},
			{"p9", netip.MustParsePrefix("127.0.3.0/24"), 0, scopeTotal, 100 * time.Millisecond},
		}},
		{"a refusal takes no token from the other buckets", []req{
			{"p1", prefixA, 0, "", 0}, {"p1", prefixA, 0, "", 0}, {"p1", prefixA, 0, "", 0},
			// ten refusals of p1 leave the prefix with two tokens
			{"p1", prefixA, 0, scopePeer, 10 * time.Second}, {"p1", prefixA, 0, scopePeer, 10 * time.Second},
			{"p1", prefixA, 0, scopePeer, 10 * time.Second}, {"p1", prefixA, 0, scopePeer, 10 * time.Second},
			{"p2", prefixA, 0, "", 0}, {"p3", prefixA, 0, "", 0},
			{"p4", prefixA, 0, scopePrefix, time.Second},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLimiter(lim)
			now := time.Unix(1_700_000_000, 0)
			for i, r := range tc.reqs {
				now = now.Add(r.after)
				got := l.take(peer.ID(r.peer), r.prefix, now)
				switch {
				case r.want == "" && got != nil:
					t.Fatalf("request %d (%s): refused (%s, %s), want allowed", i, r.peer, got.scope, got.description())
				case r.want != "" && got == nil:
					t.Fatalf("request %d (%s): allowed, want refused by %s", i, r.peer, r.want)
				case r.want != "" && (got.scope != r.want || got.retryAfter != r.retry):
					t.Fatalf("request %d (%s): refused by %s retry %s, want %s retry %s", i, r.peer, got.scope, got.retryAfter, r.want, r.retry)
				}
			}
		})
	}
}

// The buckets held are only those not yet full again: peer ids that come
// and go do not accumulate.
func TestLimiterForgetsFullBuckets(t *testing.T) {
	t.Parallel()
	l := newLimiter(RateLimits{PeerBurst: 2, PeerEvery: time.Second, PrefixBurst: 1000, PrefixEvery: time.Millisecond, TotalBurst: 1000, TotalEvery: time.Millisecond})
	now := time.Unix(1_700_000_000, 0)
	for i := range 500 {
		if r := l.take(peer.ID(fmt.Sprint("peer", i)), netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)), now); r != nil {
			t.Fatalf("request %d refused: %s", i, r.description())
		}
	}
	if p, x := l.tracked(); p != 500 || x != 500 {
		t.Fatalf("tracking %d peers and %d prefixes, want 500 each", p, x)
	}
	// 2 s on, every peer bucket is full again; the sweep drops them.
	now = now.Add(sweepEvery)
	if r := l.take("late", netip.MustParsePrefix("10.9.9.0/24"), now); r != nil {
		t.Fatal(r.description())
	}
	if p, x := l.tracked(); p != 1 || x != 1 {
		t.Fatalf("after the sweep tracking %d peers and %d prefixes, want 1 each", p, x)
	}
}

func TestRateLimitDefaults(t *testing.T) {
	t.Parallel()
	got, err := RateLimits{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := RateLimits{DefaultPeerBurst, DefaultPeerEvery, DefaultPrefixBurst, DefaultPrefixEvery, DefaultTotalBurst, DefaultTotalEvery}
	if got != want {
		t.Fatalf("defaults %+v, want %+v", got, want)
	}
	for _, bad := range []RateLimits{{PeerBurst: -1}, {PrefixEvery: -time.Second}, {TotalBurst: -3}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
