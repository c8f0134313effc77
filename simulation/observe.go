package simulation

import (
	"slices"
	"time"
)

// Observation is what a replay of a run on real nodes needs: the links
// the run's nodes had when Warmup ended and who published each honest
// message when. Run fills it when Options.Observe is set; it is as
// deterministic as the run and takes no part in the Result.
type Observation struct {
	// Links are the pairs of node indices connected when Warmup ended,
	// each pair once, lower index first, sorted.
	Links [][2]int
	// Dialers are, for each link, the node of the two that dialled it
	// (the outbound end, which gossipsub's Dout and the peer manager's
	// budgets tell apart).
	Dialers []int
	// Origins and Offsets are, for each honest message in publish order,
	// the node that published it (-1: none was, e.g. no publisher was up)
	// and the time it was due, since the end of Warmup (the publisher
	// validates its own message, then publishes).
	Origins []int
	Offsets []time.Duration
	// Shards are each node's shards (indices into the scenario's Shards),
	// by node index, ascending.
	Shards [][]int
}

// observeLinks records the connections standing now into o.Links.
// Connections change only in global events (dials, churn), which run
// alone between windows, so taken before the first event at or after
// the end of Warmup it is the topology the measured phase started with.
func (sm *sim) observeLinks(o *Observation) {
	type link struct {
		ends   [2]int
		dialer int
	}
	var ls []link
	for i, n := range sm.nodes {
		if !n.up {
			continue
		}
		for _, c := range n.conns {
			if j := int(c.peer); j > i {
				d := j
				if c.out {
					d = i
				}
				ls = append(ls, link{[2]int{i, j}, d})
			}
		}
	}
	slices.SortFunc(ls, func(a, b link) int {
		if a.ends[0] != b.ends[0] {
			return a.ends[0] - b.ends[0]
		}
		return a.ends[1] - b.ends[1]
	})
	o.Links, o.Dialers = make([][2]int, len(ls)), make([]int, len(ls))
	for k, l := range ls {
		o.Links[k], o.Dialers[k] = l.ends, l.dialer
	}
}

// observeTraffic records the honest messages' publishers and times, and
// the nodes' shards, once the run ended.
func (sm *sim) observeTraffic(o *Observation) {
	o.Origins = make([]int, len(sm.msgs))
	o.Offsets = make([]time.Duration, len(sm.msgs))
	for k, m := range sm.msgs {
		o.Origins[k] = -1
		if m.published {
			o.Origins[k] = int(m.origin)
		}
		o.Offsets[k] = time.Duration(m.at - sm.measureFrom)
	}
	o.Shards = make([][]int, len(sm.nodes))
	for i, n := range sm.nodes {
		o.Shards[i] = slices.Sorted(slices.Values(n.shards))
	}
}

// MeanHops is the mean of HopCounts: the hops a message travelled to a
// node, over first receipts (0 without any).
func (r *Result) MeanHops() float64 {
	var n, sum int64
	for h, c := range r.HopCounts {
		n += c
		sum += int64(h) * c
	}
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}
