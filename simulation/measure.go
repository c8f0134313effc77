package simulation

import (
	"math"
	"slices"
	"time"
)

// result computes the measurements once the run ended. Every figure comes
// from integer counts in a fixed order, so the same run gives the same
// bytes of JSON.
func (sm *sim) result() *Result {
	t := sm.gather()
	sm.notAccepted = t.honestNotAccepted
	res := &Result{Scenario: sm.s, MeshDegrees: map[int]int{}}
	var expected, delivered int64
	var to50, to95, to100, dupRates []float64
	var dataBytes float64 // message bytes x subscribers
	var all []uint32
	for _, m := range sm.msgs {
		if !m.published {
			continue
		}
		res.Messages++
		e := int64(max(m.expected, 0))
		d := int64(len(m.times))
		expected += e
		delivered += min(d, e)
		dataBytes += float64(len(m.data)) * float64(e)
		if m.receivers > 0 {
			dupRates = append(dupRates, float64(m.dups)/float64(m.receivers))
		}
		all = append(all, m.times...)
		if e == 0 {
			continue
		}
		for _, x := range []struct {
			frac float64
			dst  *[]float64
		}{{0.5, &to50}, {0.95, &to95}, {1, &to100}} {
			k := int64(math.Ceil(x.frac * float64(e)))
			if k >= 1 && k <= d {
				*x.dst = append(*x.dst, float64(m.times[k-1])/1000)
			}
		}
	}
	if expected > 0 {
		res.DeliveryRatio = float64(delivered) / float64(expected)
	}
	res.Latency = LatencyStats{To50: percentiles(to50), To95: percentiles(to95), To100: percentiles(to100)}
	if dataBytes > 0 {
		res.Amplification = float64(t.honestDataSent) / dataBytes
	}
	if len(dupRates) > 0 {
		sum := 0.0
		for _, r := range dupRates {
			sum += r
		}
		res.DuplicatesPerMessage = sum / float64(len(dupRates))
	}
	res.Hops = hopPercentiles(&t.hops)
	res.HopCounts = hopCounts(&t.hops)
	res.Bandwidth = sm.bandwidth()
	for _, n := range sm.nodes {
		if !n.up || n.r == nil {
			continue
		}
		for _, s := range n.shards {
			res.MeshDegrees[len(n.r.Mesh(sm.topics[s]))]++
		}
	}
	res.Spam = t.spam

	// Deliveries over time, a point per second of Duration and Drain.
	secs := int((sm.end - sm.measureFrom + int64(time.Second) - 1) / int64(time.Second))
	if secs > 0 && expected > 0 {
		perSec := make([]int64, secs)
		for _, m := range sm.msgs {
			for _, t := range m.times {
				at := m.at + int64(t)*int64(time.Microsecond) - sm.measureFrom
				k := min(max(int(at/int64(time.Second)), 0), secs-1)
				perSec[k]++
			}
		}
		res.DeliveryOverTime = make([]float64, secs)
		acc := int64(0)
		for k, c := range perSec {
			acc += c
			res.DeliveryOverTime[k] = float64(min(acc, expected)) / float64(expected)
		}
	}
	// The latency CDF at every percent of the deliveries.
	if len(all) > 0 {
		slices.Sort(all)
		for q := 1; q <= 100; q++ {
			k := int(math.Ceil(float64(q) / 100 * float64(len(all))))
			res.LatencyCDF = append(res.LatencyCDF, [2]float64{float64(all[k-1]) / 1e6, float64(q) / 100})
		}
	}
	return res
}

// totals are the workers' counts added up.
type totals struct {
	honestDataSent    int64
	honestNotAccepted int
	transfers         uint64
	hops              [hopUnknown]int64
	spam              SpamStats
}

// gather adds up what the workers counted, and gives every honest message
// its deliveries in order of time.
func (sm *sim) gather() totals {
	var t totals
	var all []delivery
	for _, w := range append([]*worker{sm.gw}, sm.workers...) {
		t.honestDataSent += w.honestDataSent
		t.honestNotAccepted += w.honestNotAccepted
		t.transfers += w.transfers
		for h, c := range w.hops {
			t.hops[h] += c
		}
		t.spam.Sent += w.spam.Sent
		t.spam.Delivered += w.spam.Delivered
		t.spam.Rejected += w.spam.Rejected
		t.spam.DoubleSigns += w.spam.DoubleSigns
		t.spam.FirstUses += w.spam.FirstUses
		t.spam.FloodRPCs += w.spam.FloodRPCs
		t.spam.MaxHops = max(t.spam.MaxHops, w.spam.MaxHops)
		for k := range sm.msgs {
			sm.msgs[k].dups += w.dups[k]
			sm.msgs[k].receivers += w.receivers[k]
		}
		all = append(all, w.deliveries...)
		w.deliveries = nil
	}
	slices.SortFunc(all, func(a, b delivery) int {
		if a.msg != b.msg {
			return int(a.msg) - int(b.msg)
		}
		return int(a.us) - int(b.us)
	})
	for _, d := range all {
		m := sm.msgs[d.msg]
		m.times = append(m.times, d.us)
	}
	return t
}

// percentiles are the nearest-rank p50 and p99 and the maximum of xs.
func percentiles(xs []float64) Percentiles {
	if len(xs) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return Percentiles{P50: rank(s, 0.5), P99: rank(s, 0.99), Max: s[len(s)-1]}
}

// rank is the nearest-rank percentile p of sorted values.
func rank(sorted []float64, p float64) float64 {
	k := int(math.Ceil(p * float64(len(sorted))))
	return sorted[min(max(k, 1), len(sorted))-1]
}

// hopPercentiles reads the hop histogram.
func hopPercentiles(hops *[hopUnknown]int64) Percentiles {
	var total int64
	maxHop := 0
	for h, c := range hops {
		total += c
		if c > 0 {
			maxHop = h
		}
	}
	if total == 0 {
		return Percentiles{}
	}
	at := func(p float64) float64 {
		k := int64(math.Ceil(p * float64(total)))
		acc := int64(0)
		for h, c := range hops {
			acc += c
			if acc >= k {
				return float64(h)
			}
		}
		return float64(maxHop)
	}
	return Percentiles{P50: at(0.5), P99: at(0.99), Max: float64(maxHop)}
}

// hopCounts is the hop histogram up to its last non-empty hop (nil when
// empty). Copies from a peer whose own hop was unknown are not in it.
func hopCounts(hops *[hopUnknown]int64) []int64 {
	last := -1
	for h, c := range hops {
		if c > 0 {
			last = h
		}
	}
	if last < 0 {
		return nil
	}
	return slices.Clone(hops[:last+1])
}

// bandwidth is each honest node's rates over the part of Duration and
// Drain it was up; PerNodeIn/Out list every node (attackers too) by index.
func (sm *sim) bandwidth() BandwidthStats {
	var b BandwidthStats
	var di, do, ci, co []float64
	for _, n := range sm.nodes {
		from := max(n.joinedAt, sm.measureFrom)
		to := sm.end
		if !n.up {
			to = n.leftAt
		}
		secs := float64(to-from) / float64(time.Second)
		var in, out float64
		if secs > 0 {
			rate := func(bytes int64) float64 { return float64(bytes) / 1000 / secs }
			in, out = rate(n.dataIn+n.ctrlIn), rate(n.dataOut+n.ctrlOut)
			if n.atk == nil {
				di = append(di, rate(n.dataIn))
				do = append(do, rate(n.dataOut))
				ci = append(ci, rate(n.ctrlIn))
				co = append(co, rate(n.ctrlOut))
			}
		}
		b.PerNodeIn = append(b.PerNodeIn, in)
		b.PerNodeOut = append(b.PerNodeOut, out)
	}
	b.DataIn, b.DataOut, b.ControlIn, b.ControlOut = spread(di), spread(do), spread(ci), spread(co)
	return b
}

func spread(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	p := percentiles(xs)
	return Spread{Mean: sum / float64(len(xs)), P50: p.P50, P99: p.P99}
}
