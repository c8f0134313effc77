package lightpush

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
)

// pause waits d unless stop closes first. The clients here pace their
// pushes and wait for epoch boundaries: wall time itself must pass.
func pause(stop <-chan struct{}, d time.Duration) bool {
	select {
	case <-stop:
		return false
	case <-time.After(d):
		return true
	}
}

// tally counts 200s by (group, epoch of the message's timestamp).
type tally struct {
	mu sync.Mutex
	n  map[string]map[uint64]int
}

func (t *tally) add(group string, epoch uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = map[string]map[uint64]int{}
	}
	if t.n[group] == nil {
		t.n[group] = map[uint64]int{}
	}
	t.n[group][epoch]++
}

func (t *tally) get(group string, epoch uint64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n[group][epoch]
}

// 100 peer ids from one /24 (on 20 addresses) push as fast as they are
// answered against a service with two memberships, while three honest
// clients in two other /24s push steadily. In every whole epoch of the
// run each honest client gets exactly its quota, and the attacking prefix
// gets no more than its prefix quota.
func TestSybilPrefixQuota(t *testing.T) {
	const (
		period    = 12 * time.Second
		limit     = 10 // per membership: 20 slots an epoch
		perPeer   = 2
		perIP     = 3
		perPrefix = 5
		attackers = 100
	)
	n := startNet(t, 2, limit, func(c *ServiceConfig) {
		c.EpochPeriod, c.PerPeerQuota, c.PerIPQuota, c.PerPrefixQuota = period, perPeer, perIP, perPrefix
	})
	var honest []host.Host
	for _, ip := range []string{"127.0.2.1", "127.0.2.2", "127.0.3.1"} {
		honest = append(honest, n.clientAt(t, ip))
	}
	var sybils []host.Host
	for i := range attackers {
		sybils = append(sybils, n.clientAt(t, fmt.Sprintf("127.0.1.%d", 1+i%20)))
	}
	// The service sees the clients' own addresses.
	if c := n.service.clientOf(sybils[7].ID()); c.prefix != "127.0.1.0/24" || c.ip != "127.0.1.8" {
		t.Fatalf("attacker seen as %+v", c)
	}

	var got tally
	var refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	pushLoop := func(h host.Host, group string, every time.Duration) {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m := message(fmt.Sprintf("%s %s %d", group, h.ID(), i))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			r, err := Push(ctx, h, n.svcHost.ID(), "", m)
			cancel()
			epoch := rln.Epoch(time.Unix(0, m.GetTimestamp()), period)
			wait := every
			switch {
			case err != nil:
			case r.Status == StatusOK:
				got.add(group, epoch)
				wait = 0
			case r.Status == StatusTooManyRequests && group != "sybil":
				// Quota used: come back in the next epoch.
				wait = time.Until(rln.EpochStart(epoch+1, period)) + 20*time.Millisecond
			default:
				refused.Add(1)
			}
			if wait > 0 && !pause(stop, wait) {
				return
			}
		}
	}
	// Start at an epoch boundary and run for two whole epochs after it.
	first := rln.Epoch(time.Now(), period) + 1
	pause(nil, time.Until(rln.EpochStart(first, period)))
	for _, h := range honest {
		wg.Add(1)
		go pushLoop(h, h.ID().String(), 100*time.Millisecond)
	}
	for _, h := range sybils {
		wg.Add(1)
		go pushLoop(h, "sybil", 300*time.Millisecond)
	}
	pause(nil, time.Until(rln.EpochStart(first+2, period)))
	close(stop)
	wg.Wait()
	for e := first; e < first+2; e++ {
		for _, h := range honest {
			if c := got.get(h.ID().String(), e); c != perPeer {
				t.Errorf("epoch %d: honest client %s served %d times, want its quota %d", e, h.ID(), c, perPeer)
			}
		}
		if c := got.get("sybil", e); c > perPrefix {
			t.Errorf("epoch %d: the attacking prefix got %d proofs, its quota is %d", e, c, perPrefix)
		} else {
			t.Logf("epoch %d: attacking prefix got %d proofs (quota %d)", e, c, perPrefix)
		}
	}
}

// A client stamping its messages alternately now and in the next epoch
// (within the epoch gap) never holds more than its quota in either epoch.
func TestNextEpochStampsHoldNoExtraSlots(t *testing.T) {
	const (
		period = 10 * time.Second
		quota  = 3
	)
	n := startNet(t, 2, 20, func(c *ServiceConfig) {
		c.EpochPeriod, c.PerPeerQuota, c.MaxEpochGap = period, quota, 20*time.Second
	})
	c := n.client(t)
	got := map[uint64]int{}
	for i := range 16 {
		ts := time.Now()
		if i%2 == 1 {
			// The next epoch's start, or a little after: always within
			// the gap, always another epoch than the clock's.
			ts = rln.EpochStart(rln.Epoch(ts, period)+1, period).Add(500 * time.Millisecond)
		}
		m := wire.NewMessage(contentTopic, fmt.Appendf(nil, "stamp %d", i), ts.UnixNano())
		r := push(t, c, n, "", m)
		if r.Status == StatusOK {
			got[rln.Epoch(ts, period)]++
		}
	}
	for e, k := range got {
		if k > quota {
			t.Fatalf("epoch %d: %d proofs for one client, quota %d (all: %v)", e, k, quota, got)
		}
	}
	if len(got) < 2 {
		t.Fatalf("proofs in %d epochs, want the current and the next: %v", len(got), got)
	}
}
