//go:build unix

package lightpush

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
)

// Benchmarks of proof as a service, over the real lightpush v3 protocol:
// light clients (separate libp2p hosts on loopback) push messages without
// a proof; the service takes a slot (persisted with fsync), proves,
// validates and publishes; a relay peer validates and delivers.

var (
	benchWorkers = flag.Int("lightpush.workers", DefaultWorkers, "proving workers of the service in BenchmarkLatencyAt80")
	benchRate    = flag.Float64("lightpush.rate", 0, "open-loop request rate (/s) of BenchmarkLatencyAt80; 0: 80% of the capacity it measures first")
	benchProfile = flag.String("lightpush.cpuprofile", "", "BenchmarkProofsAttached: write a CPU profile of the timed part only (no setup, no warm-up) to this file, suffixed with the workers and b.N")
	benchPoisson = flag.Bool("lightpush.poisson", false, "BenchmarkLatencyAt80: exponential inter-arrival times instead of a constant rate")
)

const (
	benchClients     = 8    // light clients, each its own libp2p host (and quota)
	benchMemberships = 8    // memberships the service holds
	benchLimit       = 1000 // their user message limit: 8,000 slots per epoch
	benchBurst       = 120  // proofs of the closed-loop capacity burst
	benchPayloadSize = 128
	benchWarmUp      = 4 * benchClients // untimed proofs before the timed ones
)

var benchPrefix = []byte("lightpush bench ")

// benchNet is the test network (service, relay peer) with its clients and
// a count of the proved bench messages the relay peer delivered.
type benchNet struct {
	*testNet
	clients []host.Host
	relayed atomic.Int64
	more    chan struct{} // signalled when relayed grows
	seq     atomic.Int64
}

func startBenchNet(b *testing.B, workers int) *benchNet {
	b.Helper()
	n := startNet(b, benchMemberships, benchLimit, func(c *ServiceConfig) {
		c.Workers = workers
		c.PerPeerQuota = benchMemberships * benchLimit // quotas never bind here
		c.ReservedShare = -1                           // all clients share 127.0.0.1
		c.Queue = 4096
	})
	bn := &benchNet{testNet: n, more: make(chan struct{}, 1)}
	for range benchClients {
		bn.clients = append(bn.clients, n.client(b))
	}
	go func() {
		for env := range n.peerSub.C() {
			if env.Message.RateLimitProof != nil && bytes.HasPrefix(env.Message.GetPayload(), benchPrefix) {
				bn.relayed.Add(1)
				select {
				case bn.more <- struct{}{}:
				default:
				}
			}
		}
	}()
	return bn
}

// pushOne sends one new message without a proof from c and returns the
// client-side latency, send to response; any answer but 200 is an error.
func (bn *benchNet) pushOne(c host.Host) (time.Duration, error) {
	payload := fmt.Appendf(slices.Clone(benchPrefix), "%d ", bn.seq.Add(1))
	for len(payload) < benchPayloadSize {
		payload = append(payload, 'x')
	}
	m := wire.NewMessage(contentTopic, payload, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	r, err := Push(ctx, c, bn.svcHost.ID(), bn.topic, m)
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	if r.Status != StatusOK {
		return d, fmt.Errorf("status %d: %s", r.Status, r.Description)
	}
	return d, nil
}

// closedLoop pushes total messages, each client sending its next one as
// soon as the previous is answered.
func (bn *benchNet) closedLoop(total int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, len(bn.clients))
	for i, c := range bn.clients {
		wg.Go(func() {
			for next.Add(1) <= int64(total) {
				if _, err := bn.pushOne(c); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// openLoop pushes total messages at rate per second, whatever the answers
// (constant gaps, or exponential ones if poisson), rotating over the
// clients, and returns each request's latency.
func (bn *benchNet) openLoop(total int, rate float64, poisson bool) ([]time.Duration, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, total)
	errs := make([]error, total)
	var wg sync.WaitGroup
	start := time.Now()
	var at time.Duration
	for i := range total {
		// An open loop: each request leaves at its time whatever the
		// answers, so wall time must pass between them.
		if d := time.Until(start.Add(at)); d > 0 {
			time.Sleep(d)
		}
		c := bn.clients[i%len(bn.clients)]
		wg.Go(func() { lat[i], errs[i] = bn.pushOne(c) })
		gap := 1 / rate
		if poisson {
			gap = rng.ExpFloat64() / rate
		}
		at += time.Duration(gap * float64(time.Second))
	}
	wg.Wait()
	return lat, errors.Join(errs...)
}

// waitRelayed waits until the relay peer has delivered want bench
// messages (each with its proof).
func (bn *benchNet) waitRelayed(want int64) error {
	timeout := time.After(30 * time.Second)
	for bn.relayed.Load() < want {
		select {
		case <-bn.more:
		case <-timeout:
			return fmt.Errorf("relay peer delivered %d of %d messages", bn.relayed.Load(), want)
		}
	}
	if got := bn.relayed.Load(); got != want {
		return fmt.Errorf("relay peer delivered %d messages, want %d", got, want)
	}
	return nil
}

// checkSlots checks that the service used one slot per message, unless an
// epoch started during the run.
func (bn *benchNet) checkSlots(b *testing.B, epoch uint64, used int) {
	b.Helper()
	if rln.Epoch(time.Now(), relay.DefaultEpochPeriod) != epoch {
		return
	}
	if left := bn.service.SlotsLeft(); left != benchMemberships*benchLimit-used {
		b.Fatalf("%d slots left after %d proofs, want %d", left, used, benchMemberships*benchLimit-used)
	}
}

// processCPU is the CPU time the process used so far, all threads: per
// proof it is what other load on the machine (or the hypervisor's steal)
// does not inflate the way it inflates wall time. Here it includes the
// clients and the relay peer, which share the process.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startProfile starts a CPU profile to path if -lightpush.cpuprofile is
// set, and returns its stop.
func startProfile(b *testing.B, path string) func() {
	if *benchProfile == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// BenchmarkProofsAttached measures sustained proofs attached per second:
// 8 clients push messages without proofs concurrently (closed loop, one
// request in flight each) over lightpush v3; each must be answered 200 and
// reach the relay peer with its proof before the timer stops. Workers is
// the service's proving pool.
func BenchmarkProofsAttached(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			bn := startBenchNet(b, workers)
			epoch := rln.Epoch(time.Now(), relay.DefaultEpochPeriod)
			// Warm-up, untimed: four proofs for each client (streams,
			// protocol negotiation, the prover's first runs and its
			// buffers' first use).
			if err := bn.closedLoop(benchWarmUp); err != nil {
				b.Fatal(err)
			}
			if err := bn.waitRelayed(benchWarmUp); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			stop := startProfile(b, fmt.Sprintf("%s.w%d.n%d", *benchProfile, workers, b.N))
			cpu := processCPU(b)
			if err := bn.closedLoop(b.N); err != nil {
				b.Fatal(err)
			}
			if err := bn.waitRelayed(int64(benchWarmUp + b.N)); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			stop()
			cpu = processCPU(b) - cpu
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "proofs/s")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/proof")
			bn.checkSlots(b, epoch, benchWarmUp+b.N)
		})
	}
}

// BenchmarkLatencyAt80 measures request latency (client side, send to
// response) under an open-loop load of 80% of the service's capacity:
// capacity is measured first with a closed-loop burst (untimed), then b.N
// requests are sent at 0.8 x that rate (or -lightpush.rate) from 8
// clients; every answer must be 200 and every message reach the relay
// peer.
func BenchmarkLatencyAt80(b *testing.B) {
	bn := startBenchNet(b, *benchWorkers)
	epoch := rln.Epoch(time.Now(), relay.DefaultEpochPeriod)
	if err := bn.closedLoop(benchWarmUp); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := bn.closedLoop(benchBurst); err != nil {
		b.Fatal(err)
	}
	capacity := benchBurst / time.Since(start).Seconds()
	rate := 0.8 * capacity
	if *benchRate > 0 {
		rate = *benchRate
	}
	if err := bn.waitRelayed(benchWarmUp + benchBurst); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	lat, err := bn.openLoop(b.N, rate, *benchPoisson)
	if err != nil {
		b.Fatal(err)
	}
	if err := bn.waitRelayed(int64(benchWarmUp + benchBurst + b.N)); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	bn.checkSlots(b, epoch, benchWarmUp+benchBurst+b.N)
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(capacity, "capacity-proofs/s")
	b.ReportMetric(rate, "load-req/s")
}
