//go:build unix

package relay

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rlnd/rlnd/relay/gossipsub"
)

// benchMessages is how many distinct proven messages the benchmarks use:
// every member of the fixture with message ids 0..benchMessages/members-1,
// so that each message is fresh for a new validator.
const benchMessages = 256

var (
	benchOnce  sync.Once
	benchItems []Item
	benchErr   error
)

// loadBenchItems proves the benchmark messages once (about 30 ms each, on
// all cores).
func loadBenchItems(b *testing.B) []Item {
	b.Helper()
	f := loadFixture(b)
	benchOnce.Do(func() {
		keys := make([]msgKey, benchMessages)
		for i := range keys {
			keys[i] = key(i%testMembers, uint64(i/testMembers), fmt.Sprintf("bench message %d", i))
		}
		items := make([]Item, len(keys))
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		next := make(chan int)
		for range 4 {
			wg.Go(func() {
				for i := range next {
					var data []byte
					data, errs[i] = f.prove(keys[i])
					items[i] = Item{Topic: testTopic, Data: data}
				}
			})
		}
		for i := range keys {
			next <- i
		}
		close(next)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				benchErr = err
				return
			}
		}
		benchItems = items
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchItems
}

// cpuTime is the CPU time the process used so far (all threads): with it
// the benchmarks report CPU per message, which other load on the machine
// does not inflate the way it inflates wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds msgs/s (wall time) and cpu-µs/msg.
func report(b *testing.B, perOp int, cpu time.Duration) {
	msgs := float64(perOp * b.N)
	b.ReportMetric(msgs/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Microseconds())/msgs, "cpu-µs/msg")
}

func checkAllAccepted(b *testing.B, out []Outcome) {
	b.Helper()
	for i, o := range out {
		if o.Result != gossipsub.Accept {
			b.Fatalf("message %d: %v %q", i, o.Result, o.Reason)
		}
	}
}

// BenchmarkValidateBatch validates batches of 64 fresh messages (a new
// validator, so an empty nullifier log, for each batch) on one goroutine.
func BenchmarkValidateBatch(b *testing.B) {
	f := loadFixture(b)
	items := loadBenchItems(b)[:64]
	checkAllAccepted(b, f.validator(b, nil).ValidateBatch(items))
	cpu := cpuTime(b)
	for b.Loop() {
		f.validator(b, nil).ValidateBatch(items)
	}
	report(b, len(items), cpuTime(b)-cpu)
}

// BenchmarkValidate validates the same messages one at a time, for
// comparison with batches.
func BenchmarkValidate(b *testing.B) {
	f := loadFixture(b)
	items := loadBenchItems(b)[:64]
	cpu := cpuTime(b)
	for b.Loop() {
		v := f.validator(b, nil)
		for _, it := range items {
			v.Validate(it.Topic, it.Data)
		}
	}
	report(b, len(items), cpuTime(b)-cpu)
}

// BenchmarkPipeline pushes bursts of fresh messages through a pipeline of
// two workers (the defaults) and waits for every outcome.
func BenchmarkPipeline(b *testing.B) {
	f := loadFixture(b)
	items := loadBenchItems(b)
	cpu := cpuTime(b)
	for b.Loop() {
		var wg sync.WaitGroup
		wg.Add(len(items))
		var mu sync.Mutex
		var bad []Outcome
		p := NewPipeline(f.validator(b, nil), PipelineConfig{}, func(_ any, o Outcome) {
			if o.Result != gossipsub.Accept {
				mu.Lock()
				bad = append(bad, o)
				mu.Unlock()
			}
			wg.Done()
		})
		for i, it := range items {
			if !p.Submit(i, it) {
				b.Fatal("pipeline queue full")
			}
		}
		wg.Wait()
		p.Close()
		if len(bad) > 0 {
			b.Fatalf("%d messages not accepted, e.g. %v %q", len(bad), bad[0].Result, bad[0].Reason)
		}
	}
	report(b, len(items), cpuTime(b)-cpu)
}
