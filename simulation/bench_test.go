//go:build unix

package simulation

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// scale is the scale scenario: nodes relaying 1 KB messages at 1
// message a second for the duration, RLN on (a real proof per message,
// the verification cost measured here), gossipsub (the scenario's default
// mode), latencies of 20 to 150 ms and 50 Mbit/s links.
func scale(nodes int, d time.Duration) Scenario {
	return Scenario{
		Name: "scale", Seed: 1, Nodes: nodes,
		Warmup: 20 * time.Second, Duration: d, Drain: 10 * time.Second,
		Topology: Topology{Bootstrap: 5, Outbound: 8, MaxConnections: 50},
		Network: Network{
			Latency:   Latency{Kind: "uniform", Min: 20 * time.Millisecond, Max: 150 * time.Millisecond},
			UploadBps: 50e6, DownloadBps: 50e6,
		},
		Traffic: Traffic{Rate: 1, MessageSize: 1000},
		RLN:     RLN{Enabled: true},
	}
}

// cpu is the CPU time the process used so far: on a shared machine it
// tells the run's cost apart from the waiting.
func cpu(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRun1000 runs 1,000 nodes for one simulated minute (RLN keys
// loaded once; the 60 proofs are made in each run).
func BenchmarkRun1000(b *testing.B) {
	o := rlnOptions(b)
	s := scale(1000, time.Minute)
	s.RLN.VerifyCost = 600 * time.Microsecond
	var res *Result
	c := cpu(b)
	for b.Loop() {
		var err error
		if res, err = Run(context.Background(), s, o); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(res.Sim.Events), "events/run")
	b.ReportMetric(float64(res.Sim.Events)*n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric((cpu(b)-c).Seconds()/n, "cpu-s/run")
	b.ReportMetric(res.Sim.PeakRSSMiB, "peak-MiB")
}

// TestScale runs the large scenarios, the presets scale-10k
// (10,000 nodes, 10 simulated minutes) and scale-100k (100,000 nodes, 2
// simulated minutes), when asked: RLND_SIM_SCALE=10k or 100k.
// RLND_SIM_WORKERS sets Options.Workers, RLND_SIM_MODE the mode and
// RLND_SIM_DURATION a shorter duration (profiling). go test -run
// TestScale -timeout 2h. BENCHMARKS.md's figures come from `rlnd simulate
// --preset`, which runs the same.
func TestScale(t *testing.T) {
	name := os.Getenv("RLND_SIM_SCALE")
	switch name {
	case "10k", "100k":
	case "":
		t.Skip("set RLND_SIM_SCALE=10k or 100k to run")
	default:
		t.Fatalf("RLND_SIM_SCALE=%q, want 10k or 100k", name)
	}
	s, err := Preset("scale-" + name)
	if err != nil {
		t.Fatal(err)
	}
	if m := os.Getenv("RLND_SIM_MODE"); m != "" {
		s.Mode = m
	}
	if d := os.Getenv("RLND_SIM_DURATION"); d != "" {
		if s.Duration, err = time.ParseDuration(d); err != nil {
			t.Fatalf("RLND_SIM_DURATION: %v", err)
		}
	}
	gc := GCPercentFor(s)
	if os.Getenv("GOGC") != "" {
		gc = 0
	}
	c := cpu(t)
	last := time.Now()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	workers, _ := strconv.Atoi(os.Getenv("RLND_SIM_WORKERS"))
	res, err := Run(context.Background(), s, Options{Workers: workers, GCPercent: gc, Logger: log, Progress: func(now, end time.Duration, events uint64) {
		if time.Since(last) > 30*time.Second {
			last = time.Now()
			t.Logf("simulated %v of %v, %d events, cpu %v", now, end, events, cpu(t)-c)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d nodes, %v simulated: wall %v, cpu %v, peak RSS %.0f MiB, %d events",
		s.Nodes, s.Warmup+s.Duration+s.Drain, res.Sim.WallTime, cpu(t)-c, res.Sim.PeakRSSMiB, res.Sim.Events)
	t.Logf("delivery %v, to 100%% p50 %v ms p99 %v ms, hops %+v, amplification %.2f, duplicates %.2f, data in %.2f KB/s, control in %.2f KB/s",
		res.DeliveryRatio, res.Latency.To100.P50, res.Latency.To100.P99, res.Hops, res.Amplification,
		res.DuplicatesPerMessage, res.Bandwidth.DataIn.Mean, res.Bandwidth.ControlIn.Mean)
	if res.DeliveryRatio < 0.999 {
		t.Errorf("delivery ratio %v, want 1", res.DeliveryRatio)
	}
}
