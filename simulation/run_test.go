package simulation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
)

// small is a network of 40 nodes run for 10 simulated seconds at 2
// messages a second: a second or less of wall time.
func small(seed uint64) Scenario {
	return Scenario{
		Name: "small", Seed: seed, Nodes: 40,
		Warmup: 5 * time.Second, Duration: 10 * time.Second, Drain: 3 * time.Second,
		Topology: Topology{Outbound: 4, MaxConnections: 16},
		Network: Network{
			Latency:   Latency{Kind: "uniform", Min: 10 * time.Millisecond, Max: 60 * time.Millisecond},
			UploadBps: 20e6, DownloadBps: 20e6,
		},
		Traffic: Traffic{Rate: 2, MessageSize: 1000},
	}
}

var (
	keysOnce     sync.Once
	testProver   *rln.Prover
	testVerifier *rln.Verifier
	keysErr      error
)

// rlnOptions are options with the RLN keys, loaded once for every test
// (loading the prover takes seconds).
func rlnOptions(t testing.TB) Options {
	t.Helper()
	keysOnce.Do(func() {
		dir := artefacts.DefaultDir()
		if testProver, keysErr = rln.LoadProver(dir, rln.WakuRLNIdentifier); keysErr != nil {
			return
		}
		testVerifier, keysErr = testProver.Verifier()
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return Options{Prover: testProver, Verifier: testVerifier}
}

// withRLN turns RLN on with a fixed verification cost (a measured one
// would make timings vary between runs) and a small rate limit.
func withRLN(s Scenario) Scenario {
	s.RLN = RLN{Enabled: true, VerifyCost: 600 * time.Microsecond, UserMessageLimit: 3, EpochPeriod: 10 * time.Second}
	return s
}

func run(t *testing.T, s Scenario, o Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func marshal(t *testing.T, r *Result) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeterminism: the same scenario gives byte-identical JSON, whatever
// the number of workers; another seed another run.
func TestDeterminism(t *testing.T) {
	t.Parallel()
	s := small(7)
	s.Nodes = 250 // more than the serial-only size
	s.Churn = Churn{LeavePerMinute: 30, JoinPerMinute: 30}
	a := marshal(t, run(t, s, Options{Workers: 1}))
	b := marshal(t, run(t, s, Options{Workers: 1}))
	c := marshal(t, run(t, s, Options{Workers: 3}))
	if !bytes.Equal(a, b) {
		t.Fatal("two runs of one scenario differ")
	}
	if !bytes.Equal(a, c) {
		t.Fatal("one worker and three workers give different results")
	}
	s.Seed = 8
	if d := marshal(t, run(t, s, Options{Workers: 1})); bytes.Equal(a, d) {
		t.Fatal("another seed gave the same result")
	}
}

// TestDeterminismRLN: with RLN (proofs made from the seed) and attacks,
// the same seed still gives the same JSON.
func TestDeterminismRLN(t *testing.T) {
	if testing.Short() {
		t.Skip("proves messages")
	}
	t.Parallel()
	s := withRLN(small(3))
	s.Duration = 4 * time.Second
	s.Attacks = []Attack{{Kind: AttackInvalidProof, Nodes: 1, Rate: 1}}
	o := rlnOptions(t)
	a := marshal(t, run(t, s, o))
	o.Workers = 2
	if b := marshal(t, run(t, s, o)); !bytes.Equal(a, b) {
		t.Fatal("two runs of one RLN scenario differ")
	}
}

// TestHonestDelivery: in an honest network every message reaches every
// subscriber, in each mode, and the figures are consistent.
func TestHonestDelivery(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{ModeGossipsub, ModeIDontWant, ModeFlooding} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := small(1)
			s.Mode = mode
			res := run(t, s, Options{})
			if res.Messages != 20 {
				t.Fatalf("%d messages published, want 20 (2/s for 10 s)", res.Messages)
			}
			if res.DeliveryRatio != 1 {
				t.Fatalf("delivery ratio %v, want 1", res.DeliveryRatio)
			}
			l := res.Latency
			if !(l.To50.P50 > 0 && l.To50.P50 <= l.To95.P50 && l.To95.P50 <= l.To100.P50 && l.To100.P50 <= l.To100.Max) {
				t.Fatalf("latencies out of order: %+v", l)
			}
			// At least one link (10 ms) to reach anyone; within a few
			// hops of at most 60 ms plus serialisation.
			if l.To100.Max < 10 || l.To100.Max > 1000 {
				t.Fatalf("time to reach every node %v ms, want 10 to 1000", l.To100.Max)
			}
			if res.Hops.P50 < 1 || res.Hops.Max < res.Hops.P99 {
				t.Fatalf("hops %+v", res.Hops)
			}
			if res.Amplification < 1 {
				t.Fatalf("amplification %v below 1", res.Amplification)
			}
			if len(res.DeliveryOverTime) != 13 || res.DeliveryOverTime[len(res.DeliveryOverTime)-1] != 1 {
				t.Fatalf("delivery over time %v, want 13 points ending at 1", res.DeliveryOverTime)
			}
			if n := len(res.LatencyCDF); n != 100 || res.LatencyCDF[n-1][1] != 1 || math.Abs(res.LatencyCDF[n-1][0]*1000-l.To100.Max) > 1e-9 {
				t.Fatalf("latency CDF ends at %v, want the slowest delivery (%v ms) at 1", res.LatencyCDF[n-1], l.To100.Max)
			}
			nodes := 0
			for d, c := range res.MeshDegrees {
				nodes += c
				if mode != ModeFlooding && (d < 1 || d > 8) {
					t.Errorf("a mesh of %d peers, want 1 to Dhi (8)", d)
				}
			}
			if nodes != s.Nodes {
				t.Fatalf("mesh degrees of %d nodes, want %d", nodes, s.Nodes)
			}
			if len(res.Bandwidth.PerNodeIn) != s.Nodes || res.Bandwidth.DataIn.Mean <= 0 || res.Bandwidth.ControlOut.Mean <= 0 {
				t.Fatalf("bandwidth %+v", res.Bandwidth)
			}
		})
	}
}

// TestModes: flooding sends every message over every link, gossipsub over
// the mesh's, and IDONTWANT saves some of those copies.
func TestModes(t *testing.T) {
	t.Parallel()
	amp := map[string]float64{}
	dups := map[string]float64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, mode := range []string{ModeFlooding, ModeGossipsub, ModeIDontWant} {
		wg.Go(func() {
			s := small(2)
			s.Nodes = 60
			s.Topology = Topology{Outbound: 10, MaxConnections: 40}
			s.Mode = mode
			s = withRLNCost(s)
			res, err := Run(context.Background(), s, Options{})
			if err != nil {
				t.Error(err)
				return
			}
			if res.DeliveryRatio != 1 {
				t.Errorf("%s: delivery ratio %v, want 1", mode, res.DeliveryRatio)
			}
			mu.Lock()
			amp[mode], dups[mode] = res.Amplification, res.DuplicatesPerMessage
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("amplification %v, duplicates per message %v", amp, dups)
	if !(amp[ModeFlooding] > 1.5*amp[ModeGossipsub] && amp[ModeGossipsub] > amp[ModeIDontWant]) {
		t.Fatalf("amplification %v, want flooding well above gossipsub, above gossipsub with IDONTWANT", amp)
	}
	if !(dups[ModeFlooding] > dups[ModeGossipsub] && dups[ModeGossipsub] > dups[ModeIDontWant]) {
		t.Fatalf("duplicates %v, want flooding > gossipsub > IDONTWANT", dups)
	}
}

// withRLNCost leaves RLN off but makes IDONTWANT matter as it does with
// RLN: a slower link, so that a copy is still on its way when the
// IDONTWANT overtakes the next one.
func withRLNCost(s Scenario) Scenario {
	s.Network.UploadBps, s.Network.DownloadBps = 2e6, 2e6
	return s
}

// TestSpamStopsAtFirstHop: messages over a member's rate (double signals)
// and messages with invalid proofs reach the attacker's peers, which
// reject them, and go no further; honest traffic is untouched.
func TestSpamStopsAtFirstHop(t *testing.T) {
	if testing.Short() {
		t.Skip("proves messages")
	}
	t.Parallel()
	o := rlnOptions(t)
	for _, a := range []Attack{
		{Kind: AttackOverRate, Nodes: 2, Rate: 2},
		{Kind: AttackInvalidProof, Nodes: 2, Rate: 2},
	} {
		t.Run(a.Kind, func(t *testing.T) {
			t.Parallel()
			s := withRLN(small(4))
			s.Duration = 6 * time.Second
			s.Traffic.Rate = 1
			s.Attacks = []Attack{a}
			res := run(t, s, o)
			sp := res.Spam
			t.Logf("%+v", sp)
			if sp.Sent == 0 || sp.Rejected < sp.Sent {
				t.Fatalf("spam %+v: want some sent, each rejected by a peer at least", sp)
			}
			if sp.Delivered != 0 || sp.MaxHops != 1 {
				t.Fatalf("spam %+v: want none delivered and the first hop the farthest", sp)
			}
			if a.Kind == AttackOverRate && sp.DoubleSigns != sp.Rejected {
				t.Fatalf("spam %+v: want every rejection of an over-rate message to be a double signal", sp)
			}
			if a.Kind == AttackInvalidProof && sp.DoubleSigns != 0 {
				t.Fatalf("spam %+v: invalid proofs are no double signals", sp)
			}
			if res.DeliveryRatio != 1 {
				t.Fatalf("honest delivery ratio %v, want 1", res.DeliveryRatio)
			}
		})
	}
}

// TestOverRateFirstUses: a member that keeps publishing over its rate
// gets graylisted by its peers, which then drop its messages, those
// within its rate too; once their scores decay, its next message past
// the limit is the first use of its nullifier any node sees, relayed as
// valid (a first use, not spam), and what follows it with that nullifier
// is stopped at the first hop again.
func TestOverRateFirstUses(t *testing.T) {
	if testing.Short() {
		t.Skip("proves messages")
	}
	t.Parallel()
	s := withRLN(small(9))
	s.Nodes = 12
	s.Duration = 30 * time.Second
	s.Traffic.Rate = 0.5
	s.Attacks = []Attack{{Kind: AttackOverRate, Nodes: 1, Rate: 5}}
	res := run(t, s, rlnOptions(t))
	sp := res.Spam
	t.Logf("%+v", sp)
	if sp.FirstUses == 0 {
		t.Fatalf("spam %+v: want first uses after the attacker was graylisted", sp)
	}
	if sp.Sent == 0 || sp.Delivered != 0 || sp.MaxHops != 1 || sp.DoubleSigns != sp.Rejected {
		t.Fatalf("spam %+v: want spam sent, each rejected as a double signal at the first hop", sp)
	}
	if res.DeliveryRatio != 1 {
		t.Fatalf("honest delivery ratio %v, want 1", res.DeliveryRatio)
	}
}

// TestControlFlood: floods of IHAVE, IWANT or GRAFT do not stop honest
// delivery.
func TestControlFlood(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"ihave", "iwant", "graft"} {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			s := small(5)
			s.Attacks = []Attack{{Kind: AttackControlFlood, Nodes: 3, Rate: 20, Control: c}}
			res := run(t, s, Options{})
			if res.Spam.FloodRPCs == 0 || res.Spam.Sent != 0 {
				t.Fatalf("spam %+v: want flood RPCs and no spam messages", res.Spam)
			}
			if res.DeliveryRatio != 1 {
				t.Fatalf("delivery ratio %v under a %s flood, want 1", res.DeliveryRatio, c)
			}
		})
	}
}

// TestChurn: nodes leave and join while messages flow; the run goes on,
// the newcomers are measured, and delivery stays near complete.
func TestChurn(t *testing.T) {
	t.Parallel()
	s := small(6)
	s.Duration = 20 * time.Second
	s.Churn = Churn{LeavePerMinute: 30, JoinPerMinute: 30}
	res := run(t, s, Options{})
	joined := len(res.Bandwidth.PerNodeIn) - s.Nodes
	if joined < 3 {
		t.Fatalf("%d nodes joined in 20 s at 30 a minute, want several", joined)
	}
	if res.DeliveryRatio < 0.95 || res.DeliveryRatio > 1 {
		t.Fatalf("delivery ratio %v under churn, want 0.95 to 1", res.DeliveryRatio)
	}
	if res.Messages != 40 {
		t.Fatalf("%d messages, want 40", res.Messages)
	}
}

// TestShards: with 4 shards and one per node, a message reaches its
// shard's nodes only, and each node carries about a quarter of the data.
func TestShards(t *testing.T) {
	t.Parallel()
	one := small(9)
	one.Nodes = 80
	sharded := one
	sharded.Shards, sharded.ShardsPerNode = 4, 1
	a, b := run(t, one, Options{}), run(t, sharded, Options{})
	if b.DeliveryRatio != 1 {
		t.Fatalf("delivery ratio %v with shards, want 1", b.DeliveryRatio)
	}
	ratio := b.Bandwidth.DataIn.Mean / a.Bandwidth.DataIn.Mean
	if ratio < 0.15 || ratio > 0.4 {
		t.Fatalf("data in per node with 4 shards is %.2f of one shard's, want about 0.25", ratio)
	}
}

// TestProgress: the callback comes about every 1% of simulated time, in
// order, and last at the end.
func TestProgress(t *testing.T) {
	t.Parallel()
	var nows []time.Duration
	var end time.Duration
	var last uint64
	s := small(10)
	_, err := Run(context.Background(), s, Options{Progress: func(now, e time.Duration, events uint64) {
		if len(nows) > 0 && (now < nows[len(nows)-1] || events < last) {
			t.Errorf("progress went back: %v after %v", now, nows[len(nows)-1])
		}
		nows, end, last = append(nows, now), e, events
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := s.Warmup + s.Duration + s.Drain; end != want || nows[len(nows)-1] != want {
		t.Fatalf("progress ended at %v of %v, want %v", nows[len(nows)-1], end, want)
	}
	if len(nows) < 50 || len(nows) > 110 {
		t.Fatalf("%d progress calls, want about 100", len(nows))
	}
}

// TestRunErrors: a bad scenario is refused naming the field; a cancelled
// context stops the run.
func TestRunErrors(t *testing.T) {
	t.Parallel()
	bad := small(1)
	bad.Nodes = 1
	if _, err := Run(context.Background(), bad, Options{}); !errors.Is(err, ErrScenario) {
		t.Fatalf("nodes 1: %v, want ErrScenario", err)
	}
	bad = small(1)
	bad.Attacks = []Attack{{Kind: AttackControlFlood, Nodes: 39, Rate: 1, Control: "graft"}}
	if _, err := Run(context.Background(), bad, Options{}); !errors.Is(err, ErrScenario) {
		t.Fatalf("39 attackers of 40 nodes: %v, want ErrScenario", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, small(1), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v, want context.Canceled", err)
	}
}

// TestNoNaN: degenerate runs (no traffic) still give JSON.
func TestNoNaN(t *testing.T) {
	t.Parallel()
	s := small(1)
	s.Traffic.Rate = 0
	res := run(t, s, Options{})
	if res.Messages != 0 || res.DeliveryRatio != 0 || math.IsNaN(res.Amplification) {
		t.Fatalf("no traffic: %+v", res)
	}
	marshal(t, res)
}

// TestGCPercent: a run with a GC percent restores the runtime's after
// it. Not parallel: the setting is the process's.
func TestGCPercent(t *testing.T) {
	percent := debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	run(t, small(1), Options{GCPercent: percent + 50})
	if got := debug.SetGCPercent(percent); got != percent {
		t.Fatalf("GC percent %d after the run, want %d", got, percent)
	}
}
