package lightpush

import (
	"fmt"
	"net"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// A client's address and prefix, IPv4-mapped addresses as IPv4.
func TestClientPrefix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ ip, addr, prefix string }{
		{"127.0.1.9", "127.0.1.9", "127.0.1.0/24"},
		{"::ffff:10.1.2.3", "10.1.2.3", "10.1.2.0/24"},
		{"2001:db8:aa:bbcc:1:2:3:4", "2001:db8:aa:bbcc:1:2:3:4", "2001:db8:aa:bb00::/56"},
	} {
		c := newClient("p", net.ParseIP(tc.ip))
		if c.ip != tc.addr || c.prefix != tc.prefix {
			t.Errorf("client at %s: %s in %s, want %s in %s", tc.ip, c.ip, c.prefix, tc.addr, tc.prefix)
		}
	}
	if c := newClient("p", nil); c.ip != "" || c.prefix != "" {
		t.Errorf("client without an address: %+v", c)
	}
}

func testClient(n int, ip string) client {
	return newClient(peer.ID(fmt.Sprintf("peer-%d", n)), net.ParseIP(ip))
}

// Each bound refuses with its own reason, per epoch of the slot.
func TestQuotaBounds(t *testing.T) {
	t.Parallel()
	q := newQuotas(QuotaConfig{PerPeer: 2, PerIP: 3, PerPrefix: 5, Global: 7})
	const cap = 100
	take := func(c client, epoch uint64) string {
		reason, _, ok := q.take(c, epoch, cap, cap)
		if ok {
			q.taken(epoch)
			return "ok"
		}
		return reason
	}
	steps := []struct {
		c     client
		epoch uint64
		want  string
	}{
		{testClient(1, "127.0.1.1"), 10, "ok"},
		{testClient(1, "127.0.1.1"), 10, "ok"},
		{testClient(1, "127.0.1.1"), 10, reasonPeerQuota},
		{testClient(1, "127.0.1.1"), 11, "ok"}, // another epoch: its own count
		{testClient(2, "127.0.1.1"), 10, "ok"},
		{testClient(3, "127.0.1.1"), 10, reasonIPQuota},
		{testClient(3, "127.0.1.2"), 10, "ok"},
		{testClient(4, "127.0.1.3"), 10, "ok"},
		{testClient(5, "127.0.1.4"), 10, reasonPrefixQuota},
		{testClient(5, "127.0.2.4"), 10, "ok"},
		{testClient(6, "127.0.3.4"), 10, "ok"},
		{testClient(7, "127.0.4.4"), 10, reasonGlobalCap},
		{testClient(7, "127.0.4.4"), 11, "ok"},
	}
	for i, s := range steps {
		if got := take(s.c, s.epoch); got != s.want {
			t.Fatalf("step %d (%s from %s, epoch %d): %s, want %s", i, s.c.peer, s.c.ip, s.epoch, got, s.want)
		}
	}
	// A refusal after admission gives everything back.
	c := testClient(8, "127.0.9.1")
	if _, _, ok := q.take(c, 12, cap, cap); !ok {
		t.Fatal("fresh client refused")
	}
	q.release(c, 12)
	if p, pre := q.used(c, 12); p != 0 || pre != 0 {
		t.Fatalf("after release: %d for the peer, %d for its prefix", p, pre)
	}
	q.prune(11)
	if _, ok := q.epochs[10]; ok {
		t.Fatal("epoch 10 kept after prune(11)")
	}
}

// Messages stamped in the next epoch never reset the current one.
func TestQuotaOtherEpochResetsNothing(t *testing.T) {
	t.Parallel()
	q := newQuotas(QuotaConfig{PerPeer: 3})
	c := testClient(1, "127.0.0.1")
	got := map[uint64]int{}
	for i := range 40 {
		e := uint64(20 + i%2)
		if _, _, ok := q.take(c, e, 100, 100); ok {
			q.taken(e)
			got[e]++
		}
	}
	if got[20] != 3 || got[21] != 3 {
		t.Fatalf("slots by epoch %v, want 3 in each", got)
	}
}

// The reserved share: once a client (by peer id or by prefix) was served
// in an epoch, it cannot take the last reserved slots; a new client can.
// Slots admitted but not yet taken count as gone.
func TestQuotaReservedShare(t *testing.T) {
	t.Parallel()
	const capacity = 8 // 25%: 2 reserved
	q := newQuotas(QuotaConfig{ReservedShare: 0.25})
	left := capacity
	take := func(c client) bool {
		_, _, ok := q.take(c, 5, left, capacity)
		if ok {
			q.taken(5)
			left--
		}
		return ok
	}
	greedy := testClient(1, "127.0.1.1")
	for range 6 {
		if !take(greedy) {
			t.Fatalf("greedy refused with %d left", left)
		}
	}
	if take(greedy) {
		t.Fatal("a served client took a reserved slot")
	}
	if take(testClient(2, "127.0.1.200")) {
		t.Fatal("a new peer id of a served prefix took a reserved slot")
	}
	if !take(testClient(3, "127.0.2.1")) || !take(testClient(4, "127.0.3.1")) {
		t.Fatal("new clients refused the reserved slots")
	}
	// No slot left: not a reserve matter (the store answers 504).
	if reason, _, ok := q.take(greedy, 5, 0, capacity); !ok || reason != "" {
		t.Fatalf("served client with no slot left: refused for %q", reason)
	}
	q.release(greedy, 5)
	noReserve := newQuotas(QuotaConfig{})
	for range capacity + 1 {
		if _, _, ok := noReserve.take(greedy, 5, 0, capacity); !ok {
			t.Fatal("refused with no reserve configured")
		}
	}
	// In flight: two new clients admitted at once with one reserved slot
	// left: the second is a served-prefix client and must not pass.
	q2 := newQuotas(QuotaConfig{ReservedShare: 0.25})
	a := testClient(5, "127.0.5.1")
	for range 6 {
		if _, _, ok := q2.take(a, 1, capacity, capacity); !ok {
			t.Fatal("refused below the reserve")
		}
	}
	if _, _, ok := q2.take(a, 1, capacity, capacity); ok {
		t.Fatal("admitted slots not counted against the reserve")
	}
}
