package simulation

import (
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkEventQueue: a steady state like a large run's worker: 100,000
// events queued, each popped event scheduling one more, mostly
// milliseconds ahead (transfers), sometimes a second (heartbeats).
func BenchmarkEventQueue(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 1))
	var q eventQueue
	ahead := func() int64 {
		if rnd.IntN(20) == 0 {
			return int64(time.Second)
		}
		return int64(20*time.Millisecond) + rnd.Int64N(int64(130*time.Millisecond))
	}
	seq := uint64(0)
	for range 100_000 {
		q.push(event{at: ahead(), key: seq})
		seq++
	}
	for b.Loop() {
		e := q.pop()
		q.push(event{at: e.at + ahead(), key: seq})
		seq++
	}
}
