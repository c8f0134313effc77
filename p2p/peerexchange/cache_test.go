package peerexchange

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/prometheus/client_golang/prometheus"
)

func newTestCache(t *testing.T, cfg CacheConfig) *Cache {
	t.Helper()
	c, err := NewCache(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Records that are not signed v4 records, our own, refused by Accept, too
// large or older than the cached one are refused with their error, and the
// cache is unchanged.
func TestCacheRefuses(t *testing.T) {
	t.Parallel()
	self, _ := record(t, 1, "127.0.0.1", 60000)
	cached, cachedKey := record(t, 5, "127.0.0.2", 60000)
	var nullRec enr.Record
	nullRec.Set(enr.WithEntry("waku2", []byte{1}))
	unsigned := enode.SignNull(&nullRec, enode.ID{1})
	compat := enode.NewV4(&cachedKey.PublicKey, net.ParseIP("127.0.0.3"), 60000, 0)
	other, _ := record(t, 1, "127.0.0.4", 60000)
	tests := []struct {
		name string
		n    *enode.Node
		want error
	}{
		{"nil", nil, ErrUnverified},
		{"null scheme", unsigned, ErrUnverified},
		{"v4 compat, no signature", compat, ErrUnverified},
		{"our own", self, ErrSelf},
		{"refused by Accept", other, ErrRejected},
		{"older than cached", recordWithKey(t, cachedKey, 4, "127.0.0.9", 60000), ErrOlderRecord},
	}
	c := newTestCache(t, CacheConfig{Self: self.ID(), Accept: func(n *enode.Node) error {
		if n.ID() == other.ID() {
			return errors.New("not on our cluster")
		}
		return nil
	}})
	if err := c.Add(cached); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		err := c.Add(tc.n)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: Add = %v, want %v", tc.name, err, tc.want)
		}
	}
	got := c.Sample(10)
	if len(got) != 1 || got[0].ID() != cached.ID() || got[0].Seq() != 5 || got[0].IPAddr().String() != "127.0.0.2" {
		t.Fatalf("cache holds %v, want only the first record of seq 5", got)
	}
}

// A full cache evicts the record added (or refreshed) longest ago; a
// refresh with a newer or equal sequence replaces the record.
func TestCacheEviction(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := newTestCache(t, CacheConfig{Size: 3, Now: clk.Now})
	var nodes []*enode.Node
	for i := range 4 {
		n, _ := record(t, 1, fmt.Sprintf("127.0.0.%d", i+1), 60000)
		nodes = append(nodes, n)
	}
	for _, n := range nodes[:3] {
		clk.advance(time.Second)
		if err := c.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(time.Second)
	if err := c.Add(nodes[0]); err != nil { // refresh: now the newest
		t.Fatal(err)
	}
	clk.advance(time.Second)
	if err := c.Add(nodes[3]); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 3 {
		t.Fatalf("cache of size 3 holds %d", c.Len())
	}
	held := ids(c.Sample(3))
	for i, want := range []bool{true, false, true, true} {
		if held[nodes[i].ID()] != want {
			t.Errorf("node %d held %v, want %v (evicted: the one added longest ago)", i, held[nodes[i].ID()], want)
		}
	}
	if !c.Remove(nodes[3].ID()) || c.Remove(nodes[3].ID()) {
		t.Fatal("Remove reports the wrong thing")
	}
	if c.Len() != 2 {
		t.Fatalf("after Remove the cache holds %d, want 2", c.Len())
	}
}

// A record expires TTL after it was last added.
func TestCacheExpiry(t *testing.T) {
	t.Parallel()
	clk := newClock()
	reg := prometheus.NewRegistry()
	c := newTestCache(t, CacheConfig{TTL: time.Minute, Now: clk.Now, Registerer: reg})
	a, _ := record(t, 1, "127.0.0.1", 60000)
	b, _ := record(t, 1, "127.0.0.2", 60000)
	_ = c.Add(a)
	clk.advance(40 * time.Second)
	_ = c.Add(b)
	clk.advance(20 * time.Second) // a is exactly TTL old: kept
	if got := metricValue(t, reg, "waku_px_peers_cached", nil); got != 2 {
		t.Fatalf("waku_px_peers_cached = %v, want 2", got)
	}
	clk.advance(time.Nanosecond)
	if got := ids(c.Sample(5)); len(got) != 1 || !got[b.ID()] {
		t.Fatalf("after a's TTL the cache holds %v, want only b", got)
	}
	_ = c.Add(b) // refreshed: another TTL from now
	clk.advance(time.Minute)
	if c.Len() != 1 {
		t.Fatalf("a refreshed record expired early: %d held", c.Len())
	}
	clk.advance(time.Nanosecond)
	if c.Len() != 0 {
		t.Fatalf("cache holds %d past every TTL", c.Len())
	}
	if got := metricValue(t, reg, "waku_px_peers_cached", nil); got != 0 {
		t.Fatalf("waku_px_peers_cached = %v, want 0", got)
	}
}

// Sample returns distinct records, at most n, at most what is held, each
// record in some sample, and never the excluded one.
func TestCacheSample(t *testing.T) {
	t.Parallel()
	c := newTestCache(t, CacheConfig{})
	var all []*enode.Node
	for i := range 10 {
		n, _ := record(t, 1, fmt.Sprintf("127.0.1.%d", i+1), 60000)
		all = append(all, n)
		if err := c.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Sample(0); len(got) != 0 {
		t.Fatalf("Sample(0) = %d records", len(got))
	}
	if got := ids(c.Sample(50)); len(got) != 10 {
		t.Fatalf("Sample(50) of 10 = %d distinct", len(got))
	}
	seen := map[enode.ID]int{}
	excluded := all[4].ID()
	// 300 samples of 3 of 9: a record is missed by all of them with
	// probability (6/9)^300, about 1e-53.
	for range 300 {
		var got []*enode.Node
		for _, raw := range c.sampleRaw(3, excluded) {
			n, err := decodeRecord(raw)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		if s := ids(got); len(s) != 3 {
			t.Fatalf("a sample of 3 has %d distinct records", len(s))
		}
		for _, n := range got {
			if n.ID() == excluded {
				t.Fatal("the excluded record was sampled")
			}
			seen[n.ID()]++
		}
	}
	if len(seen) != 9 {
		t.Fatalf("300 samples covered %d of the 9 records", len(seen))
	}
}

func TestCacheConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []CacheConfig{{Size: -1}, {TTL: -time.Second}} {
		if _, err := NewCache(cfg); err == nil {
			t.Errorf("NewCache(%+v) accepted", cfg)
		}
	}
	c := newTestCache(t, CacheConfig{})
	if c.cfg.Size != DefaultCacheSize || c.cfg.TTL != DefaultCacheTTL {
		t.Fatalf("defaults %d %s", c.cfg.Size, c.cfg.TTL)
	}
}

func ids(ns []*enode.Node) map[enode.ID]bool {
	m := map[enode.ID]bool{}
	for _, n := range ns {
		m[n.ID()] = true
	}
	return m
}

// metricValue is the sum of the values of the metric family name in reg
// whose labels include labels (counters and gauges).
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum
}
