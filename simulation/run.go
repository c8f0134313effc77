package simulation

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/rlnd/rlnd/rln"
)

// Options are how a run is carried out (not what is simulated).
type Options struct {
	// Progress, when set, is called about every 1% of simulated time with
	// the simulated time reached, the run's end and the events handled so
	// far, and once at the end. It runs on the simulation's goroutine.
	Progress func(simNow, simEnd time.Duration, events uint64)
	// Logger receives the run's log (default: discard).
	Logger *slog.Logger
	// ArtefactsDir is the RLN artefacts folder (default: the one
	// artefacts.Resolve finds), read when the scenario has RLN on.
	ArtefactsDir string
	// Prover and Verifier, when set, are used instead of loading them from
	// ArtefactsDir (loading the prover takes seconds: callers running many
	// scenarios load it once). They must be for Waku's rln_identifier.
	Prover   *rln.Prover
	Verifier *rln.Verifier
	// Workers is how many goroutines run the nodes (0: two per core, at
	// most 16; 1 for networks under 200 nodes). The result does not
	// depend on it.
	Workers int
	// GCPercent, when above 0, is the Go garbage collector's percent
	// (debug.SetGCPercent) for the run, restored after. A large run keeps
	// a GB or two and allocates tens of GB: 200 spends about a fifth less
	// CPU than the default 100 (400 was slower again here: the heap grows
	// out of the caches). It is the process's setting: set it only when
	// one run at a time is in the process. GCPercentFor gives the one
	// `rlnd simulate` uses.
	GCPercent int
	// Observe, when set, is filled with what a replay of the run on real
	// nodes needs (the links when Warmup ended, who published each honest
	// message when); the Result is the same with or without it.
	Observe *Observation
}

// GCPercentFor is the garbage collector's percent for a run of s alone in
// its process: 200 up to 20,000 nodes (a fifth less CPU than the
// default), the default above (at 100,000 nodes the heap at 200 would
// outgrow scale-100k's memory budget).
func GCPercentFor(s Scenario) int {
	if s.Nodes <= 20_000 {
		return 200
	}
	return 0
}

// Run simulates a scenario and returns what it measured. The scenario is
// validated first (its defaults filled in: Result.Scenario is the
// scenario as run, its RLN verification cost the one measured when it
// was 0). The same scenario gives the same Result, byte for byte in JSON,
// as long as its RLN verification cost is set (a measured cost varies
// from run to run, and with it the timings).
//
// What it costs, on this project's 2-core machine: the RLN proofs are
// made before the run on every core (about 18 ms of CPU each; 600 take
// 6 s on two idle cores), then the nodes run on Options.Workers
// goroutines at about 6 µs of CPU per event (10,000 nodes relaying 1
// message a second: 240,000 events a simulated second with gossipsub,
// 330,000 with IDONTWANT).
func Run(ctx context.Context, s Scenario, o Options) (*Result, error) {
	start := time.Now()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if o.GCPercent > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(o.GCPercent))
	}
	sm, err := newSim(ctx, s, o)
	if err != nil {
		return nil, err
	}
	sm.log.Info("simulation starts", "name", s.Name, "nodes", len(sm.nodes), "messages", len(sm.msgs),
		"attackers", len(sm.attackers), "workers", len(sm.workers), "proofs", sm.proofs, "proving", sm.proveTime,
		"setup", time.Since(start))
	if err := sm.run(); err != nil {
		return nil, fmt.Errorf("simulation: %w", err)
	}
	res := sm.result()
	if o.Observe != nil {
		sm.observeTraffic(o.Observe)
	}
	res.Sim = SimStats{WallTime: time.Since(start), PeakRSSMiB: peakRSSMiB(), Events: sm.events()}
	if sm.notAccepted > 0 {
		sm.log.Warn("honest messages were not accepted by some validations", "count", sm.notAccepted)
	}
	sm.log.Info("simulation done", "name", s.Name, "wall", res.Sim.WallTime, "events", res.Sim.Events,
		"peak_rss_mib", res.Sim.PeakRSSMiB, "delivery_ratio", res.DeliveryRatio)
	return res, nil
}

// peakRSSMiB is the process's peak resident memory: VmHWM from
// /proc/self/status, or, where there is none, the memory the Go runtime
// holds from the system now.
func peakRSSMiB() float64 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
			if !ok {
				continue
			}
			fields := strings.Fields(rest)
			if len(fields) == 2 && fields[1] == "kB" {
				if kb, err := strconv.ParseFloat(fields[0], 64); err == nil {
					return kb / 1024
				}
			}
		}
	}
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		return float64(sample[0].Value.Uint64()) / (1 << 20)
	}
	return 0
}
