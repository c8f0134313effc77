package simulation

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// sampleResult is a result as the engine makes one, for the nwaku 1 msg/s
// preset.
func sampleResult(t *testing.T) *Result {
	t.Helper()
	s, err := Preset("nwaku-1kb-1s")
	if err != nil {
		t.Fatal(err)
	}
	perIn := make([]float64, 1000)
	perOut := make([]float64, 1000)
	for i := range perIn {
		perIn[i] = 9 + float64(i%7)*0.5
		perOut[i] = 9.5 + float64(i%5)*0.4
	}
	dot := make([]float64, 605)
	for i := range dot {
		dot[i] = math.Min(1, float64(i+1)/600)
	}
	return &Result{
		Scenario:      s,
		Messages:      600,
		DeliveryRatio: 0.9995,
		Latency: LatencyStats{
			To50:  Percentiles{P50: 210, P99: 290, Max: 320},
			To95:  Percentiles{P50: 330, P99: 410, Max: 450},
			To100: Percentiles{P50: 420, P99: 600, Max: 780},
		},
		Bandwidth: BandwidthStats{
			DataIn:     Spread{Mean: 7.5, P50: 7.4, P99: 9.8},
			DataOut:    Spread{Mean: 7.6, P50: 7.4, P99: 12.1},
			ControlIn:  Spread{Mean: 3.1, P50: 3, P99: 4.2},
			ControlOut: Spread{Mean: 3.0, P50: 3, P99: 4.4},
			PerNodeIn:  perIn, PerNodeOut: perOut,
		},
		Amplification:        6.2,
		DuplicatesPerMessage: 5.1,
		Hops:                 Percentiles{P50: 3, P99: 5, Max: 6},
		MeshDegrees:          map[int]int{4: 30, 5: 120, 6: 700, 7: 100, 12: 50},
		Spam:                 SpamStats{},
		DeliveryOverTime:     dot,
		LatencyCDF:           [][2]float64{{0.1, 0.02}, {0.2, 0.3}, {0.3, 0.8}, {0.4, 0.97}, {0.5, 1}},
		Sim:                  SimStats{WallTime: 61500 * time.Millisecond, PeakRSSMiB: 812.5, Events: 12_345_678},
	}
}

func TestReportFiles(t *testing.T) {
	t.Parallel()
	r := sampleResult(t)
	dir := filepath.Join(t.TempDir(), "out", "run1")
	if err := WriteReport(dir, r, PresetPublished("nwaku-1kb-1s")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FileSummary, FileResult, FileSim, FileLatency, FileLatencyCDF, FileBandwidth,
		FileMeshDegrees, FileDeliveryOverTime, FileComparison, PlotLatencyCDF, PlotBandwidth, PlotMeshDegrees, PlotDeliveryOverTime} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v (size %v)", f, err, st)
		}
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// result.json: ResultJSON's bytes, which read back into the result
	// (Sim apart).
	rj := read(FileResult)
	want, err := ResultJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rj, want) {
		t.Error("result.json is not ResultJSON's bytes")
	}
	var back Result
	if err := json.Unmarshal(rj, &back); err != nil {
		t.Fatal(err)
	}
	noSim := *r
	noSim.Sim = SimStats{}
	if !reflect.DeepEqual(back, noSim) {
		t.Errorf("result.json reads back as\n%+v\nwant\n%+v", back, noSim)
	}
	if bytes.Contains(rj, []byte("wall")) || bytes.Contains(rj, []byte("12345678")) {
		t.Error("result.json holds the simulator's cost, which differs between runs")
	}

	var sim map[string]any
	if err := json.Unmarshal(read(FileSim), &sim); err != nil {
		t.Fatal(err)
	}
	if sim["wall_seconds"] != 61.5 || sim["peak_rss_mib"] != 812.5 || sim["events"] != float64(12_345_678) || sim["wall"] != "1m1.5s" {
		t.Errorf("sim.json = %v", sim)
	}

	// CSV files: header and rows.
	for _, c := range []struct {
		file   string
		header []string
		rows   int
	}{
		{FileLatency, []string{"quantity", "p50", "p99", "max", "unit"}, 4},
		{FileLatencyCDF, []string{"seconds", "fraction_delivered"}, 5},
		{FileBandwidth, []string{"node", "in_kbps", "out_kbps"}, 1000},
		{FileMeshDegrees, []string{"degree", "meshes"}, 5},
		{FileDeliveryOverTime, []string{"second", "fraction_delivered"}, 605},
		{FileComparison, []string{"metric", "unit", "published", "ours", "diff_percent", "source", "what"}, 3},
	} {
		recs, err := csv.NewReader(bytes.NewReader(read(c.file))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if !slices.Equal(recs[0], c.header) || len(recs)-1 != c.rows {
			t.Errorf("%s: header %v and %d rows, want %v and %d", c.file, recs[0], len(recs)-1, c.header, c.rows)
		}
	}
	mesh, _ := csv.NewReader(bytes.NewReader(read(FileMeshDegrees))).ReadAll()
	if !slices.Equal(mesh[1], []string{"4", "30"}) || !slices.Equal(mesh[5], []string{"12", "50"}) {
		t.Errorf("mesh_degrees.csv not in degree order: %v", mesh)
	}
	lat, _ := csv.NewReader(bytes.NewReader(read(FileLatency))).ReadAll()
	if !slices.Equal(lat[3], []string{"to_100_percent", "420", "600", "780", "ms"}) {
		t.Errorf("latency.csv row %v", lat[3])
	}

	// The plots are PNG images.
	for _, f := range []string{PlotLatencyCDF, PlotBandwidth, PlotMeshDegrees, PlotDeliveryOverTime} {
		img, err := png.Decode(bytes.NewReader(read(f)))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 250 {
			t.Errorf("%s: %v, too small", f, b)
		}
	}

	sum := string(read(FileSummary))
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r, PresetPublished("nwaku-1kb-1s")); err != nil || buf.String() != sum {
		t.Errorf("summary.txt is not WriteSummary's text (%v)", err)
	}
}

// TestReportDeterministic: the same result gives byte-identical JSON and
// CSV, whatever the map order.
func TestReportDeterministic(t *testing.T) {
	t.Parallel()
	dirs := []string{t.TempDir(), t.TempDir()}
	for _, d := range dirs {
		if err := WriteReport(d, sampleResult(t), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{FileResult, FileSim, FileSummary, FileLatency, FileLatencyCDF, FileBandwidth, FileMeshDegrees, FileDeliveryOverTime} {
		a, _ := os.ReadFile(filepath.Join(dirs[0], f))
		b, _ := os.ReadFile(filepath.Join(dirs[1], f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two reports of the same result", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dirs[0], FileComparison)); !os.IsNotExist(err) {
		t.Errorf("published.csv written without published figures: %v", err)
	}
	// Another result, other bytes.
	r := sampleResult(t)
	r.Amplification = 6.3
	a, _ := ResultJSON(r)
	b, _ := ResultJSON(sampleResult(t))
	if bytes.Equal(a, b) {
		t.Error("different results, same JSON")
	}
}

func TestReportEmptyResult(t *testing.T) {
	t.Parallel()
	r := &Result{Scenario: Scenario{Name: "empty", Shards: 1, ShardsPerNode: 1}}
	dir := t.TempDir()
	if err := WriteReport(dir, r, PresetPublished("nwaku-1kb-1s")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{PlotLatencyCDF, PlotBandwidth, PlotMeshDegrees, PlotDeliveryOverTime} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	sum, _ := os.ReadFile(filepath.Join(dir, FileSummary))
	if !strings.Contains(string(sum), "mesh degrees           none") {
		t.Errorf("summary of an empty result:\n%s", sum)
	}
	// Without messages only the bandwidth figures compare.
	if cs := Compare(r, PresetPublished("nwaku-1kb-1s")); len(cs) != 2 {
		t.Errorf("Compare on an empty result: %+v", cs)
	}
}

func TestReportBadResult(t *testing.T) {
	t.Parallel()
	r := sampleResult(t)
	r.DeliveryRatio = math.NaN()
	if err := WriteReport(t.TempDir(), r, nil); err == nil || !strings.Contains(err.Error(), "JSON") {
		t.Fatalf("NaN in the result: %v, want a JSON error", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(filepath.Join(file, "sub"), sampleResult(t), nil); err == nil {
		t.Fatal("a report under a file: no error")
	}
}

func TestReportSummary(t *testing.T) {
	t.Parallel()
	r := sampleResult(t)
	r.Scenario.Attacks = []Attack{{Kind: AttackControlFlood, Nodes: 2, Rate: 50, Control: "iwant", Start: 10 * time.Second}}
	r.Spam = SpamStats{Sent: 40, Delivered: 0, MaxHops: 1, Rejected: 40, DoubleSigns: 3}
	var b bytes.Buffer
	if err := WriteSummary(&b, r, PresetPublished("nwaku-1kb-1s")); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"== simulation nwaku-1kb-1s (seed 1) ==",
		"1000, gossipsub, 1 shard(s), 1 per node; 25 outbound, at most 75 connections, 3 bootstrap",
		"latency normal, mean 100ms, stddev 30ms; upload unlimited, download unlimited",
		"1 msg/s of 1000 B from any node; RLN on (100 per 10m0s epoch, verification measured)",
		"control-flood (iwant) by 2 node(s) at 50/s each, from 10s to the end",
		"messages               600 published",
		"delivery ratio         0.9995",
		"time to 50% of nodes   p50 210.0 ms, p99 290.0 ms, max 320.0 ms",
		"time to 100% of nodes  p50 420.0 ms, p99 600.0 ms, max 780.0 ms",
		"data in                       7.50     7.40     9.80",
		"control out                   3.00     3.00     4.40",
		"total in / out       10.60 / 10.60 KB/s (means)",
		"amplification          6.20",
		"duplicates/message     5.10",
		"hops                   p50 3, p99 5, max 6",
		"mesh degrees           least 4, median 6, most 12 over 1000 meshes; 4:30 5:120 6:700 7:100 12:50",
		"spam                   40 sent, 0 delivered, 40 rejected, farthest hop 1, 3 double signals detected",
		"delivery over time     605 s, 1.0000 delivered at the end",
		"simulator              wall 1m1.5s, peak RSS 812.5 MiB, 12345678 events",
		"published figures beside this run",
		"bandwidth in per node, mean (KB/s)", "10.10      10.60    +5.0% [1]",
		"bandwidth out per node, mean (KB/s)", "10.30      10.60    +2.9% [1]",
		"time to reach every node, median (ms)", "400.00     420.00    +5.0% [1]",
		"[1] Waku documentation, \"Performance Benchmarks and Test Reports\"",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	r := sampleResult(t)
	cs := Compare(r, map[string]PublishedFigure{
		MetricAmplification: {Value: 5, Source: "s"},
		MetricNodeLoad:      {Value: 6.2, Source: "s"},
		MetricDeliveryP95:   {Value: 400, Source: "s"},
		"no-such-metric":    {Value: 1},
	})
	want := []struct {
		metric    string
		ours, pct float64
	}{
		{MetricDeliveryP95, 400, 0},
		{MetricAmplification, 6.2, 24},
		{MetricNodeLoad, 6.2, 0},
	}
	if len(cs) != len(want) {
		t.Fatalf("Compare = %+v", cs)
	}
	for i, w := range want {
		if cs[i].Metric != w.metric || math.Abs(cs[i].Ours-w.ours) > 1e-9 || math.Abs(cs[i].DiffPercent-w.pct) > 1e-9 {
			t.Errorf("comparison %d = %+v, want %s ours %v diff %v%%", i, cs[i], w.metric, w.ours, w.pct)
		}
	}
	// Sharding divides the node load.
	r.Scenario.Shards, r.Scenario.ShardsPerNode = 8, 1
	if cs := Compare(r, map[string]PublishedFigure{MetricNodeLoad: {Value: 1}}); math.Abs(cs[0].Ours-6.2/8) > 1e-9 {
		t.Errorf("node load over 8 shards = %v, want %v", cs[0].Ours, 6.2/8)
	}
}

func TestCDFReadings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		cdf           [][2]float64
		mean, p95, lo float64
		ok            bool
	}{
		{"empty", nil, 0, 0, 0, false},
		{"one step", [][2]float64{{0.5, 1}}, 500, 500, 500, true},
		{"two halves", [][2]float64{{0.1, 0.5}, {0.3, 1}}, 0.5*100 + 0.5*200, 300, 100, true},
		{"leading zeros", [][2]float64{{0, 0}, {0.2, 0}, {0.4, 1}}, 300, 400, 400, true},
		{"not normalised", [][2]float64{{0.1, 0.25}, {0.2, 0.5}}, (0.25*100 + 0.25*150) / 0.5, 200, 100, true},
	}
	for _, tt := range tests {
		mean, ok := cdfMean(tt.cdf)
		p95, _ := cdfQuantile(tt.cdf, 0.95)
		lo, _ := cdfQuantile(tt.cdf, 0)
		if ok != tt.ok || math.Abs(mean-tt.mean) > 1e-9 {
			t.Errorf("%s: mean %v %v, want %v %v", tt.name, mean, ok, tt.mean, tt.ok)
		}
		if tt.ok && (math.Abs(lo-tt.lo) > 1e-9 || (tt.name != "not normalised" && math.Abs(p95-tt.p95) > 1e-9)) {
			t.Errorf("%s: p95 %v least %v, want %v %v", tt.name, p95, lo, tt.p95, tt.lo)
		}
	}
}
