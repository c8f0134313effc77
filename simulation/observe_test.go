package simulation

import (
	"bytes"
	"testing"
	"time"
)

// TestObserve: Options.Observe records the run's links (each pair once,
// lower index first, sorted, within the connection cap), each honest
// message's publisher and due time, and every node's shards; the Result
// is byte for byte the one of a run without it, and its hop histogram
// holds every first receipt.
func TestObserve(t *testing.T) {
	t.Parallel()
	s := small(5)
	plain := marshal(t, run(t, s, Options{}))
	var obs Observation
	res := run(t, s, Options{Observe: &obs})
	if !bytes.Equal(plain, marshal(t, res)) {
		t.Fatal("the result with Observe differs from the one without")
	}

	degree := make([]int, s.Nodes)
	if len(obs.Dialers) != len(obs.Links) {
		t.Fatalf("%d dialers for %d links", len(obs.Dialers), len(obs.Links))
	}
	for k, l := range obs.Links {
		if l[0] < 0 || l[0] >= l[1] || l[1] >= s.Nodes {
			t.Fatalf("link %d is %v: want 0 <= a < b < %d", k, l, s.Nodes)
		}
		if d := obs.Dialers[k]; d != l[0] && d != l[1] {
			t.Fatalf("link %d is %v, dialled by node %d: want one of its ends", k, l, d)
		}
		if k > 0 {
			p := obs.Links[k-1]
			if p[0] > l[0] || (p[0] == l[0] && p[1] >= l[1]) {
				t.Fatalf("links %v then %v: want sorted, each once", p, l)
			}
		}
		degree[l[0]]++
		degree[l[1]]++
	}
	for i, d := range degree {
		if d < 1 || d > s.Topology.MaxConnections {
			t.Fatalf("node %d has %d links, want 1 to %d", i, d, s.Topology.MaxConnections)
		}
	}

	if len(obs.Origins) != res.Messages || len(obs.Offsets) != res.Messages {
		t.Fatalf("%d origins and %d offsets for %d messages", len(obs.Origins), len(obs.Offsets), res.Messages)
	}
	gap := time.Duration(float64(time.Second) / s.Traffic.Rate)
	for k, o := range obs.Origins {
		if o < 0 || o >= s.Nodes {
			t.Fatalf("message %d published by node %d, want one of the %d", k, o, s.Nodes)
		}
		if want := time.Duration(k) * gap; obs.Offsets[k] != want {
			t.Fatalf("message %d due at %v after the warmup, want %v", k, obs.Offsets[k], want)
		}
	}
	if len(obs.Shards) != s.Nodes {
		t.Fatalf("shards of %d nodes, want %d", len(obs.Shards), s.Nodes)
	}
	for i, sh := range obs.Shards {
		if len(sh) != 1 || sh[0] != 0 {
			t.Fatalf("node %d relays shards %v, want [0]", i, sh)
		}
	}

	// Every node but the publisher receives each message once first.
	var receipts int64
	for _, c := range res.HopCounts {
		receipts += c
	}
	if want := int64(res.Messages * (s.Nodes - 1)); res.DeliveryRatio != 1 || receipts != want {
		t.Fatalf("%d first receipts in the hop histogram (delivery %v), want %d", receipts, res.DeliveryRatio, want)
	}
	if res.HopCounts[0] != 0 || float64(len(res.HopCounts)-1) != res.Hops.Max {
		t.Fatalf("hop histogram %v beside hops %+v: want none at hop 0, the last at the max", res.HopCounts, res.Hops)
	}
	if m := res.MeanHops(); m < 1 || m > res.Hops.Max {
		t.Fatalf("mean hops %v, want 1 to %v", m, res.Hops.Max)
	}
}
