package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rlnd/rlnd/simulation"
)

// fakeSim stands for simulation.Run: it records what it was given,
// reports progress, and returns a result made from the scenario.
type fakeSim struct {
	mu    sync.Mutex
	calls []simulation.Scenario
	opts  simulation.Options
	err   error
}

func (f *fakeSim) run(ctx context.Context, s simulation.Scenario, o simulation.Options) (*simulation.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.opts = o
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	end := s.Warmup + s.Duration + s.Drain
	if o.Progress != nil {
		o.Progress(0, end, 0)
		o.Progress(end, end, 4242)
	}
	return &simulation.Result{
		Scenario:      s,
		Messages:      int(s.Traffic.Rate * s.Duration.Seconds()),
		DeliveryRatio: 1,
		Latency:       simulation.LatencyStats{To100: simulation.Percentiles{P50: 380, P99: 520, Max: 610}},
		Bandwidth: simulation.BandwidthStats{
			DataIn: simulation.Spread{Mean: 7}, ControlIn: simulation.Spread{Mean: 3},
			DataOut: simulation.Spread{Mean: 7}, ControlOut: simulation.Spread{Mean: 3.3},
			PerNodeIn: []float64{10, 10}, PerNodeOut: []float64{10.3, 10.3},
		},
		Amplification:    6,
		MeshDegrees:      map[int]int{6: s.Nodes},
		DeliveryOverTime: []float64{0.5, 1},
		LatencyCDF:       [][2]float64{{0.2, 0.5}, {0.4, 1}},
		Sim:              simulation.SimStats{WallTime: 3 * time.Second, PeakRSSMiB: 100, Events: uint64(s.Seed) + 4242},
	}, nil
}

// runSimulate runs `rlnd simulate ARGS` with the fake engine, as run does
// (exit status 2 for usage errors).
func runSimulate(t *testing.T, f *fakeSim, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	root := newRootCmd(nil)
	for _, c := range root.Commands() {
		if c.Name() == "simulate" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newSimulateCmd(f.run))
	var out, errOut bytes.Buffer
	root.SetArgs(append([]string{"simulate"}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintf(&errOut, "rlnd: %v\n", err)
		code = exitError
		var ue usageError
		if errors.As(err, &ue) {
			code = exitUsage
		}
	}
	return code, out.String(), errOut.String()
}

func TestSimulateUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("nodes: 10\nduration: 10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		errPart string
	}{
		{nil, "give a scenario: --scenario FILE or --preset NAME (presets: compare-flooding,"},
		{[]string{"--preset", "small", "--scenario", bad}, "give one of them, not both"},
		{[]string{"--preset", "nope"}, `unknown preset "nope", want one of: compare-flooding`},
		{[]string{"--scenario", filepath.Join(dir, "missing.yaml")}, "no such file"},
		{[]string{"--scenario", bad}, "bad.yaml:2: duration: got \"10\", want a duration with a unit"},
		{[]string{"--preset", "small", "--seed", "-1"}, "--seed"},
		{[]string{"--preset", "small", "--out", filepath.Join(file, "sub")}, "--out " + filepath.Join(file, "sub")},
		{[]string{"--preset", "small", "extra"}, "accepts 0 arg(s)"},
		{[]string{"--preset", "small", "--bogus"}, "bogus"},
		{[]string{"--preset", "small", "--emit", "helm", dir}, "--emit helm: want --emit k8s DIR"},
		{[]string{"--preset", "small", "--emit", "k8s"}, "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			f := &fakeSim{}
			code, stdout, stderr := runSimulate(t, f, tt.args...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, tt.errPart) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, stdout, stderr, tt.errPart)
			}
			if len(f.calls) != 0 {
				t.Fatal("the simulation ran on bad input")
			}
		})
	}
}

func TestSimulateSummary(t *testing.T) {
	t.Parallel()
	f := &fakeSim{}
	code, stdout, stderr := runSimulate(t, f, "--preset", "nwaku-1kb-1s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if len(f.calls) != 1 || f.calls[0].Name != "nwaku-1kb-1s" || f.calls[0].Seed != 1 || f.calls[0].Nodes != 1000 {
		t.Fatalf("ran %+v", f.calls)
	}
	for _, want := range []string{
		"== simulation nwaku-1kb-1s (seed 1) ==",
		"messages               600 published",
		"published figures beside this run",
		"bandwidth in per node, mean (KB/s)", "10.10      10.00    -1.0% [1]",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	// Progress on stderr (not a terminal: a line per drawing), ending at
	// 100%.
	if !strings.Contains(stderr, "100.0%  sim 10m35s / 10m35s  4.24k events") {
		t.Errorf("stderr %q: no progress", stderr)
	}
	if f.opts.Logger == nil || f.opts.Progress == nil {
		t.Errorf("options %+v: want a logger and a progress callback", f.opts)
	}
}

func TestSimulateJSONAndSeed(t *testing.T) {
	t.Parallel()
	scen := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(scen, []byte("nodes: 20\nduration: 30s\ntraffic: {rate: 2, message_size: 500}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fakeSim{}
	code, stdout, stderr := runSimulate(t, f, "--scenario", scen, "--seed", "99", "--json", "--quiet", "--artefacts", "/some/dir")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("--quiet, stderr %q", stderr)
	}
	if f.opts.Progress != nil || f.opts.ArtefactsDir != "/some/dir" {
		t.Errorf("options %+v: want no progress and the artefacts folder given", f.opts)
	}
	var r simulation.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not one JSON result: %v\n%s", err, stdout)
	}
	if r.Scenario.Name != "mine" || r.Scenario.Seed != 99 || r.Messages != 60 || r.Scenario.Topology.Outbound != 8 {
		t.Errorf("result %+v: want the file's scenario, validated, with seed 99", r.Scenario)
	}
	// The same bytes as ResultJSON, and as a second run's.
	want, _ := simulation.ResultJSON(&r)
	if stdout != string(want) {
		t.Error("--json output is not ResultJSON's")
	}
	_, again, _ := runSimulate(t, &fakeSim{}, "--scenario", scen, "--seed", "99", "--json", "--quiet")
	if again != stdout {
		t.Error("same scenario and seed, different JSON")
	}
	_, other, _ := runSimulate(t, &fakeSim{}, "--scenario", scen, "--seed", "100", "--json", "--quiet")
	if other == stdout {
		t.Error("other seed, same JSON")
	}
}

func TestSimulateOut(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "runs", "small")
	f := &fakeSim{}
	code, stdout, stderr := runSimulate(t, f, "--preset", "small", "--out", dir, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "report written to "+dir) {
		t.Errorf("stdout %q", stdout)
	}
	for _, name := range []string{simulation.FileSummary, simulation.FileResult, simulation.FileSim, simulation.FileBandwidth, simulation.PlotLatencyCDF} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	summary, _ := os.ReadFile(filepath.Join(dir, simulation.FileSummary))
	if !strings.HasPrefix(stdout, string(summary)) {
		t.Error("the printed summary is not summary.txt's")
	}
}

func TestSimulateEngineError(t *testing.T) {
	t.Parallel()
	f := &fakeSim{err: context.Canceled}
	code, stdout, stderr := runSimulate(t, f, "--preset", "small", "--quiet")
	if code != exitError || stdout != "" || !strings.Contains(stderr, "rlnd: simulate small: context canceled") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestSimulateHelp(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runSimulate(t, &fakeSim{}, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"rlnd simulate --preset nwaku-1kb-1s --out", "--scenario string", "--seed uint", "--json", "Presets: compare-flooding"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, stdout)
		}
	}
}

// --emit k8s DIR renders the scenario's manifests into DIR instead of
// simulating, and says how to apply them and what differs on a cluster.
func TestSimulateEmitK8s(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "manifests")
	f := &fakeSim{}
	code, stdout, stderr := runSimulate(t, f, "--preset", "small", "--emit", "k8s", dir, "--image", "registry.example/rlnd:v1")
	if code != 0 || !strings.Contains(stdout, "written to "+dir) || !strings.Contains(stdout, "kubectl apply -f "+dir) || !strings.Contains(stdout, "note: ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if len(f.calls) != 0 {
		t.Fatal("--emit k8s ran the simulation")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) < 5 {
		t.Fatalf("%d manifests written (%v), want the namespace, services, statefulsets, job...", len(files), err)
	}
	sts, err := os.ReadFile(filepath.Join(dir, "21-node-statefulset.yaml"))
	if err != nil || !strings.Contains(string(sts), "image: registry.example/rlnd:v1") || !strings.Contains(string(sts), "kind: StatefulSet") {
		t.Fatalf("the nodes' StatefulSet (%v) lacks the image given:\n%s", err, sts)
	}
}
