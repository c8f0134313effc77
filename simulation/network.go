package simulation

import (
	"math"
	"time"
)

// latencyModel gives each link its one-way delay, drawn once per link from
// the scenario's model: a pure function of the seed and the two nodes, so
// no table of links is kept, and a link's delay is the same whenever it is
// asked.
type latencyModel struct {
	l    Latency
	seed uint64
	// cum are the regions' cumulative weights, normalised to end at 1.
	cum []float64
}

func newLatencyModel(l Latency, seed uint64) *latencyModel {
	m := &latencyModel{l: l, seed: seed}
	if l.Kind == "regions" {
		total := 0.0
		for _, r := range l.Regions {
			total += r.Weight
		}
		acc := 0.0
		for _, r := range l.Regions {
			acc += r.Weight / total
			m.cum = append(m.cum, acc)
		}
		m.cum[len(m.cum)-1] = 1
	}
	return m
}

// min is the smallest delay the model gives any link.
func (m *latencyModel) min() time.Duration {
	l := &m.l
	switch l.Kind {
	case "uniform", "normal":
		return l.Min
	case "regions":
		d := time.Duration(math.MaxInt64)
		for _, row := range l.Matrix {
			for _, x := range row {
				d = min(d, x)
			}
		}
		return d
	default:
		return l.Fixed
	}
}

// region is the region a node is placed in, by weight.
func (m *latencyModel) region(node int) int {
	u := unit(hash3(m.seed, streamRegion, uint64(node), 0))
	for i, c := range m.cum {
		if u < c {
			return i
		}
	}
	return len(m.cum) - 1
}

// link is the delay from node a to node b. The random part of a link is
// drawn from the unordered pair, so both directions share it; with regions
// the matrix may make the directions differ.
func (m *latencyModel) link(a, b int) time.Duration {
	lo, hi := uint64(min(a, b)), uint64(max(a, b))
	h := hash3(m.seed, streamLatency, lo, hi)
	l := &m.l
	switch l.Kind {
	case "uniform":
		return l.Min + time.Duration(unit(h)*float64(l.Max-l.Min))
	case "normal":
		// Box-Muller from two uniforms of the link.
		u1 := 1 - unit(h) // (0, 1]
		u2 := unit(mix(h))
		z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
		d := time.Duration(float64(l.Mean) + z*float64(l.StdDev))
		return max(d, l.Min)
	case "regions":
		d := l.Matrix[m.region(a)][m.region(b)]
		if l.Jitter > 0 {
			d += time.Duration(unit(h) * float64(l.Jitter))
		}
		return d
	default: // fixed
		return l.Fixed
	}
}

// serialisation is the time to put size bytes through a link of bps bits
// per second (0: unlimited), rounded up to the nanosecond.
func serialisation(size int, bps int64) int64 {
	if bps <= 0 {
		return 0
	}
	bits := int64(size) * 8 * int64(time.Second)
	return (bits + bps - 1) / bps
}

// varintLen is the length of x as a protobuf varint.
func varintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
