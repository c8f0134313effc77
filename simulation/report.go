package simulation

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Metrics a published figure can be filed under (PublishedFigure,
// Compare). Each is computed from a Result.
const (
	// MetricBandwidthIn and MetricBandwidthOut: the mean over nodes of
	// data and control together, KB/s (what libp2p's byte counters see).
	MetricBandwidthIn  = "bandwidth_in_kbps"
	MetricBandwidthOut = "bandwidth_out_kbps"
	// MetricTo100P50: time for a message to reach all its subscribers,
	// the median over messages, ms.
	MetricTo100P50 = "to100_p50_ms"
	// MetricDeliveryMean, MetricDeliveryP95, MetricDeliveryMin: over
	// deliveries (each node's first copy of each message), the mean, the
	// 95th percentile and the least time from publication, ms, read from
	// the latency CDF.
	MetricDeliveryMean = "delivery_mean_ms"
	MetricDeliveryP95  = "delivery_p95_ms"
	MetricDeliveryMin  = "delivery_min_ms"
	// MetricAmplification: Result.Amplification (payload bytes sent per
	// payload byte delivered).
	MetricAmplification = "amplification"
	// MetricNodeLoad: payload bytes a node receives per payload byte
	// published in the whole network, amplification x shards_per_node /
	// shards (the load the Waku v2 plan's amplification factor is about:
	// sharding divides it, gossipsub's mesh bounds it).
	MetricNodeLoad = "node_load"
)

type metric struct {
	name, label, unit string
	value             func(*Result) (float64, bool)
}

var compared = []metric{
	{MetricBandwidthIn, "bandwidth in per node, mean", "KB/s", func(r *Result) (float64, bool) {
		return r.Bandwidth.DataIn.Mean + r.Bandwidth.ControlIn.Mean, true
	}},
	{MetricBandwidthOut, "bandwidth out per node, mean", "KB/s", func(r *Result) (float64, bool) {
		return r.Bandwidth.DataOut.Mean + r.Bandwidth.ControlOut.Mean, true
	}},
	{MetricTo100P50, "time to reach every node, median", "ms", func(r *Result) (float64, bool) {
		return r.Latency.To100.P50, r.Messages > 0
	}},
	{MetricDeliveryMean, "delivery time, mean", "ms", func(r *Result) (float64, bool) { return cdfMean(r.LatencyCDF) }},
	{MetricDeliveryP95, "delivery time, 95th percentile", "ms", func(r *Result) (float64, bool) { return cdfQuantile(r.LatencyCDF, 0.95) }},
	{MetricDeliveryMin, "delivery time, least", "ms", func(r *Result) (float64, bool) { return cdfQuantile(r.LatencyCDF, 0) }},
	{MetricAmplification, "amplification", "x", func(r *Result) (float64, bool) { return r.Amplification, r.Messages > 0 }},
	{MetricNodeLoad, "node load (payload received per payload published)", "x", func(r *Result) (float64, bool) {
		if r.Scenario.Shards < 1 {
			return 0, false
		}
		return r.Amplification * float64(r.Scenario.ShardsPerNode) / float64(r.Scenario.Shards), r.Messages > 0
	}},
}

// cdfQuantile is the time (ms) by which a fraction q of the deliveries
// were made: the first CDF point reaching q (q 0: the first point with
// any).
func cdfQuantile(cdf [][2]float64, q float64) (float64, bool) {
	for _, p := range cdf {
		if p[1] >= q && p[1] > 0 {
			return p[0] * 1000, true
		}
	}
	return 0, false
}

// cdfMean is the mean delivery time (ms): each step of the CDF's mass at
// the middle of its interval, the first point's at the point.
func cdfMean(cdf [][2]float64) (float64, bool) {
	if len(cdf) == 0 {
		return 0, false
	}
	var sum, prevX, prevF float64
	prevX = cdf[0][0]
	for _, p := range cdf {
		sum += (p[1] - prevF) * (prevX + p[0]) / 2
		prevX, prevF = p[0], p[1]
	}
	if prevF <= 0 {
		return 0, false
	}
	return sum / prevF * 1000, true
}

// Comparison is a published figure beside the simulator's.
type Comparison struct {
	Metric, Label, Unit string
	Published, Ours     float64
	// DiffPercent is (Ours - Published) / Published x 100.
	DiffPercent float64
	Source      string
	What        string
}

// Compare sets the published figures beside the result's, in the order
// of the metrics' declaration; a figure whose metric the result cannot
// give (no messages, no latency CDF) or that is unknown is left out.
func Compare(r *Result, pub map[string]PublishedFigure) []Comparison {
	var out []Comparison
	for _, m := range compared {
		f, ok := pub[m.name]
		if !ok {
			continue
		}
		ours, ok := m.value(r)
		if !ok {
			continue
		}
		c := Comparison{Metric: m.name, Label: m.label, Unit: m.unit, Published: f.Value, Ours: ours, Source: f.Source, What: f.What}
		if f.Value != 0 {
			c.DiffPercent = (ours - f.Value) / f.Value * 100
		}
		out = append(out, c)
	}
	return out
}

// ResultJSON is the result as indented JSON with a final newline: the
// same result gives the same bytes (Sim, the simulator's own cost, is not
// in it).
func ResultJSON(r *Result) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("simulation: result as JSON: %w", err)
	}
	return append(b, '\n'), nil
}

// Report files WriteReport writes.
const (
	FileSummary          = "summary.txt"
	FileResult           = "result.json"
	FileSim              = "sim.json"
	FileLatency          = "latency.csv"
	FileLatencyCDF       = "latency_cdf.csv"
	FileBandwidth        = "bandwidth_per_node.csv"
	FileMeshDegrees      = "mesh_degrees.csv"
	FileDeliveryOverTime = "delivery_over_time.csv"
	FileComparison       = "published.csv"
	PlotLatencyCDF       = "latency_cdf.png"
	PlotBandwidth        = "bandwidth_per_node.png"
	PlotMeshDegrees      = "mesh_degrees.png"
	PlotDeliveryOverTime = "delivery_over_time.png"
)

// WriteReport writes a result into dir (created if missing): the
// summary, result.json (ResultJSON), sim.json (the simulator's wall time,
// peak memory and events), CSV files (latency percentiles and CDF,
// bandwidth per node, mesh degrees, delivery over time, and the published
// figures beside ours when pub has any) and PNG plots (latency CDF,
// bandwidth per node, mesh degrees, delivery over time).
func WriteReport(dir string, r *Result, pub map[string]PublishedFigure) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("simulation: report: %w", err)
	}
	var summary bytes.Buffer
	if err := WriteSummary(&summary, r, pub); err != nil {
		return err
	}
	rj, err := ResultJSON(r)
	if err != nil {
		return err
	}
	sj, err := json.MarshalIndent(simJSON{
		WallSeconds: r.Sim.WallTime.Seconds(),
		Wall:        r.Sim.WallTime.Round(time.Millisecond).String(),
		PeakRSSMiB:  r.Sim.PeakRSSMiB,
		Events:      r.Sim.Events,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("simulation: sim.json: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{FileSummary, summary.Bytes()},
		{FileResult, rj},
		{FileSim, append(sj, '\n')},
		{FileLatency, latencyCSV(r)},
		{FileLatencyCDF, latencyCDFCSV(r)},
		{FileBandwidth, bandwidthCSV(r)},
		{FileMeshDegrees, meshDegreesCSV(r)},
		{FileDeliveryOverTime, deliveryCSV(r)},
	}
	if cs := Compare(r, pub); len(cs) > 0 {
		files = append(files, struct {
			name string
			data []byte
		}{FileComparison, comparisonCSV(cs)})
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("simulation: report: %w", err)
		}
	}
	plots := []struct {
		name string
		draw func(*Result) (*plot.Plot, error)
	}{
		{PlotLatencyCDF, latencyCDFPlot},
		{PlotBandwidth, bandwidthPlot},
		{PlotMeshDegrees, meshDegreesPlot},
		{PlotDeliveryOverTime, deliveryPlot},
	}
	for _, pl := range plots {
		p, err := pl.draw(r)
		if err != nil {
			return fmt.Errorf("simulation: plot %s: %w", pl.name, err)
		}
		if err := savePNG(p, filepath.Join(dir, pl.name)); err != nil {
			return fmt.Errorf("simulation: plot %s: %w", pl.name, err)
		}
	}
	return nil
}

// simJSON is sim.json: what the run cost, apart from the result (it
// differs from run to run).
type simJSON struct {
	WallSeconds float64 `json:"wall_seconds"`
	Wall        string  `json:"wall"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	Events      uint64  `json:"events"`
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func writeCSV(rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	// Writes to a bytes.Buffer do not fail, and every row is well formed.
	_ = w.WriteAll(rows)
	return b.Bytes()
}

func latencyCSV(r *Result) []byte {
	rows := [][]string{{"quantity", "p50", "p99", "max", "unit"}}
	for _, q := range []struct {
		name string
		p    Percentiles
		unit string
	}{
		{"to_50_percent", r.Latency.To50, "ms"},
		{"to_95_percent", r.Latency.To95, "ms"},
		{"to_100_percent", r.Latency.To100, "ms"},
		{"hops", r.Hops, "hops"},
	} {
		rows = append(rows, []string{q.name, num(q.p.P50), num(q.p.P99), num(q.p.Max), q.unit})
	}
	return writeCSV(rows)
}

func latencyCDFCSV(r *Result) []byte {
	rows := [][]string{{"seconds", "fraction_delivered"}}
	for _, p := range r.LatencyCDF {
		rows = append(rows, []string{num(p[0]), num(p[1])})
	}
	return writeCSV(rows)
}

func bandwidthCSV(r *Result) []byte {
	rows := [][]string{{"node", "in_kbps", "out_kbps"}}
	n := max(len(r.Bandwidth.PerNodeIn), len(r.Bandwidth.PerNodeOut))
	for i := range n {
		rows = append(rows, []string{strconv.Itoa(i), num(at(r.Bandwidth.PerNodeIn, i)), num(at(r.Bandwidth.PerNodeOut, i))})
	}
	return writeCSV(rows)
}

func at(xs []float64, i int) float64 {
	if i < len(xs) {
		return xs[i]
	}
	return 0
}

func meshDegrees(r *Result) []int {
	ds := make([]int, 0, len(r.MeshDegrees))
	for d := range r.MeshDegrees {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return ds
}

func meshDegreesCSV(r *Result) []byte {
	rows := [][]string{{"degree", "meshes"}}
	for _, d := range meshDegrees(r) {
		rows = append(rows, []string{strconv.Itoa(d), strconv.Itoa(r.MeshDegrees[d])})
	}
	return writeCSV(rows)
}

func deliveryCSV(r *Result) []byte {
	rows := [][]string{{"second", "fraction_delivered"}}
	for i, f := range r.DeliveryOverTime {
		rows = append(rows, []string{strconv.Itoa(i + 1), num(f)})
	}
	return writeCSV(rows)
}

func comparisonCSV(cs []Comparison) []byte {
	rows := [][]string{{"metric", "unit", "published", "ours", "diff_percent", "source", "what"}}
	for _, c := range cs {
		rows = append(rows, []string{c.Metric, c.Unit, num(c.Published), num(c.Ours), strconv.FormatFloat(c.DiffPercent, 'f', 1, 64), c.Source, c.What})
	}
	return writeCSV(rows)
}

// WriteSummary writes the readable summary: the scenario, every measure
// of the result, the simulator's cost, and the published figures beside
// ours with the difference in percent.
func WriteSummary(w io.Writer, r *Result, pub map[string]PublishedFigure) error {
	var b strings.Builder
	s := r.Scenario
	line := func(label, format string, a ...any) {
		fmt.Fprintf(&b, "%-22s %s\n", label, fmt.Sprintf(format, a...))
	}
	fmt.Fprintf(&b, "== simulation %s (seed %d) ==\n", s.Name, s.Seed)
	line("nodes", "%d, %s, %d shard(s), %d per node; %d outbound, at most %d connections, %d bootstrap",
		s.Nodes, s.Mode, s.Shards, s.ShardsPerNode, s.Topology.Outbound, s.Topology.MaxConnections, s.Topology.Bootstrap)
	line("time", "%v of traffic (after %v of warmup, %v of drain)", s.Duration, s.Warmup, s.Drain)
	line("network", "latency %s; upload %s, download %s", describeLatency(s.Network.Latency), describeBps(s.Network.UploadBps), describeBps(s.Network.DownloadBps))
	rln := "RLN off"
	if s.RLN.Enabled {
		cost := "measured"
		if s.RLN.VerifyCost > 0 {
			cost = s.RLN.VerifyCost.String()
		}
		rln = fmt.Sprintf("RLN on (%d per %v epoch, verification %s)", s.RLN.UserMessageLimit, s.RLN.EpochPeriod, cost)
	}
	line("traffic", "%s msg/s of %d B from %s; %s", num(s.Traffic.Rate), s.Traffic.MessageSize, describePublishers(s.Traffic.Publishers), rln)
	for i, a := range s.Attacks {
		line(fmt.Sprintf("attack %d", i+1), "%s", describeAttack(a))
	}
	if s.Churn.LeavePerMinute > 0 || s.Churn.JoinPerMinute > 0 {
		line("churn", "%s leave, %s join per minute", num(s.Churn.LeavePerMinute), num(s.Churn.JoinPerMinute))
	}
	b.WriteString("\n")
	line("messages", "%d published", r.Messages)
	line("delivery ratio", "%.4f", r.DeliveryRatio)
	pct := func(label string, p Percentiles, unit string) {
		line(label, "p50 %s %s, p99 %s %s, max %s %s", f1(p.P50), unit, f1(p.P99), unit, f1(p.Max), unit)
	}
	pct("time to 50% of nodes", r.Latency.To50, "ms")
	pct("time to 95% of nodes", r.Latency.To95, "ms")
	pct("time to 100% of nodes", r.Latency.To100, "ms")
	if m, ok := cdfMean(r.LatencyCDF); ok {
		p95, _ := cdfQuantile(r.LatencyCDF, 0.95)
		least, _ := cdfQuantile(r.LatencyCDF, 0)
		line("delivery time", "mean %s ms, p95 %s ms, least %s ms (over deliveries)", f1(m), f1(p95), f1(least))
	}
	line("bandwidth per node", "KB/s    mean      p50      p99")
	bw := func(label string, sp Spread) {
		fmt.Fprintf(&b, "  %-25s %8s %8s %8s\n", label, f2(sp.Mean), f2(sp.P50), f2(sp.P99))
	}
	bw("data in", r.Bandwidth.DataIn)
	bw("data out", r.Bandwidth.DataOut)
	bw("control in", r.Bandwidth.ControlIn)
	bw("control out", r.Bandwidth.ControlOut)
	line("  total in / out", "%s / %s KB/s (means)", f2(r.Bandwidth.DataIn.Mean+r.Bandwidth.ControlIn.Mean), f2(r.Bandwidth.DataOut.Mean+r.Bandwidth.ControlOut.Mean))
	line("amplification", "%s (payload bytes sent per payload byte delivered)", f2(r.Amplification))
	line("duplicates/message", "%s (copies a node got beyond the first, mean)", f2(r.DuplicatesPerMessage))
	line("hops", "p50 %s, p99 %s, max %s", num(r.Hops.P50), num(r.Hops.P99), num(r.Hops.Max))
	line("mesh degrees", "%s", describeDegrees(r))
	sp := r.Spam
	line("spam", "%d sent, %d delivered, %d rejected, farthest hop %d, %d double signals detected", sp.Sent, sp.Delivered, sp.Rejected, sp.MaxHops, sp.DoubleSigns)
	if sp.FirstUses > 0 {
		line("", "%d over-rate messages were first uses of their nullifier (the earlier use never accepted): relayed as within the rate", sp.FirstUses)
	}
	if sp.FloodRPCs > 0 {
		line("control flood", "%d RPCs sent", sp.FloodRPCs)
	}
	if n := len(r.DeliveryOverTime); n > 0 {
		line("delivery over time", "%d s, %.4f delivered at the end (%s)", n, r.DeliveryOverTime[n-1], FileDeliveryOverTime)
	}
	line("simulator", "wall %v, peak RSS %s MiB, %d events", r.Sim.WallTime.Round(time.Millisecond), f1(r.Sim.PeakRSSMiB), r.Sim.Events)
	if cs := Compare(r, pub); len(cs) > 0 {
		b.WriteString("\npublished figures beside this run\n")
		fmt.Fprintf(&b, "  %-52s %10s %10s %8s\n", "", "published", "ours", "diff")
		var sources []string
		for _, c := range cs {
			i := slices.Index(sources, c.Source)
			if i < 0 {
				sources = append(sources, c.Source)
				i = len(sources) - 1
			}
			fmt.Fprintf(&b, "  %-52s %10s %10s %7s%% [%d]\n", c.Label+" ("+c.Unit+")", f2(c.Published), f2(c.Ours), signed(c.DiffPercent), i+1)
			fmt.Fprintf(&b, "      %s\n", c.What)
		}
		for i, src := range sources {
			fmt.Fprintf(&b, "  [%d] %s\n", i+1, src)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("simulation: summary: %w", err)
	}
	return nil
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func signed(v float64) string {
	if v >= 0 {
		return "+" + f1(v)
	}
	return f1(v)
}

func describeLatency(l Latency) string {
	switch l.Kind {
	case "uniform":
		return fmt.Sprintf("uniform %v to %v", l.Min, l.Max)
	case "normal":
		return fmt.Sprintf("normal, mean %v, stddev %v", l.Mean, l.StdDev)
	case "regions":
		names := make([]string, len(l.Regions))
		for i, r := range l.Regions {
			names[i] = r.Name
		}
		return fmt.Sprintf("%d regions (%s), jitter %v", len(l.Regions), strings.Join(names, ", "), l.Jitter)
	}
	return fmt.Sprintf("fixed %v", l.Fixed)
}

func describeBps(bps int64) string {
	if bps == 0 {
		return "unlimited"
	}
	return num(float64(bps)/1e6) + " Mbit/s"
}

func describePublishers(n int) string {
	if n == 0 {
		return "any node"
	}
	return fmt.Sprintf("%d publisher(s)", n)
}

func describeAttack(a Attack) string {
	what := a.Kind
	if a.Kind == AttackControlFlood {
		what += " (" + a.Control + ")"
	}
	when := ""
	if a.Start > 0 || a.Stop > 0 {
		stop := "the end"
		if a.Stop > 0 {
			stop = a.Stop.String()
		}
		when = fmt.Sprintf(", from %v to %s", a.Start, stop)
	}
	return fmt.Sprintf("%s by %d node(s) at %s/s each%s", what, a.Nodes, num(a.Rate), when)
}

// describeDegrees lists the mesh degree distribution as degree:meshes,
// with the least, the median and the most.
func describeDegrees(r *Result) string {
	ds := meshDegrees(r)
	if len(ds) == 0 {
		return "none"
	}
	total := 0
	for _, d := range ds {
		total += r.MeshDegrees[d]
	}
	median, seen := ds[0], 0
	for _, d := range ds {
		seen += r.MeshDegrees[d]
		if 2*seen >= total {
			median = d
			break
		}
	}
	parts := make([]string, 0, len(ds))
	for i, d := range ds {
		if i == 24 {
			parts = append(parts, fmt.Sprintf("... (%d more in %s)", len(ds)-i, FileMeshDegrees))
			break
		}
		parts = append(parts, fmt.Sprintf("%d:%d", d, r.MeshDegrees[d]))
	}
	return fmt.Sprintf("least %d, median %d, most %d over %d meshes; %s", ds[0], median, ds[len(ds)-1], total, strings.Join(parts, " "))
}

// Plots.

const plotW, plotH = 7 * vg.Inch, 4.5 * vg.Inch

var plotColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	return p
}

// noData marks a plot the result has nothing for.
func noData(p *plot.Plot) *plot.Plot {
	p.Title.Text += " (no data)"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return p
}

func latencyCDFPlot(r *Result) (*plot.Plot, error) {
	p := newPlot("Delivery latency CDF: "+r.Scenario.Name, "time from publication (ms)", "fraction of deliveries")
	if len(r.LatencyCDF) == 0 {
		return noData(p), nil
	}
	xys := make(plotter.XYs, len(r.LatencyCDF))
	for i, pt := range r.LatencyCDF {
		xys[i] = plotter.XY{X: pt[0] * 1000, Y: pt[1]}
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = plotColors[0]
	p.Add(l)
	p.Y.Min, p.Y.Max = 0, 1
	return p, nil
}

// maxPlotPoints bounds a line's points (a 100,000-node run's per-node
// figures are thinned, the ends kept).
const maxPlotPoints = 2000

// rankedLine is a line of xs sorted from the largest down, by rank.
func rankedLine(xs []float64) (*plotter.Line, error) {
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	slices.Reverse(sorted)
	step := max(1, (len(sorted)+maxPlotPoints-1)/maxPlotPoints)
	var pts plotter.XYs
	for i := 0; i < len(sorted); i += step {
		pts = append(pts, plotter.XY{X: float64(i + 1), Y: sorted[i]})
	}
	if last := len(sorted) - 1; last >= 0 && (last%step) != 0 {
		pts = append(pts, plotter.XY{X: float64(last + 1), Y: sorted[last]})
	}
	return plotter.NewLine(pts)
}

func bandwidthPlot(r *Result) (*plot.Plot, error) {
	p := newPlot("Bandwidth per node: "+r.Scenario.Name, "nodes, ranked from the busiest", "KB/s (data + control)")
	if len(r.Bandwidth.PerNodeIn) == 0 && len(r.Bandwidth.PerNodeOut) == 0 {
		return noData(p), nil
	}
	p.Legend.Top = true
	for i, series := range []struct {
		name string
		xs   []float64
	}{{"in", r.Bandwidth.PerNodeIn}, {"out", r.Bandwidth.PerNodeOut}} {
		if len(series.xs) == 0 {
			continue
		}
		l, err := rankedLine(series.xs)
		if err != nil {
			return nil, err
		}
		l.Color = plotColors[i]
		if i == 1 {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(series.name, l)
	}
	p.Y.Min = 0
	return p, nil
}

// maxDegreeBars bounds the mesh degree chart's bars.
const maxDegreeBars = 200

func meshDegreesPlot(r *Result) (*plot.Plot, error) {
	p := newPlot("Mesh degrees: "+r.Scenario.Name, "mesh degree", "meshes")
	ds := meshDegrees(r)
	if len(ds) == 0 {
		return noData(p), nil
	}
	lo := ds[0]
	hi := min(ds[len(ds)-1], lo+maxDegreeBars-1)
	vals := make(plotter.Values, hi-lo+1)
	names := make([]string, hi-lo+1)
	for d := lo; d <= hi; d++ {
		vals[d-lo] = float64(r.MeshDegrees[d])
		names[d-lo] = ""
		if (d-lo)%max(1, (hi-lo+1)/25) == 0 {
			names[d-lo] = strconv.Itoa(d)
		}
	}
	width := max(vg.Points(1), (plotW-vg.Inch)/vg.Length(len(vals))*0.8)
	bars, err := plotter.NewBarChart(vals, width)
	if err != nil {
		return nil, err
	}
	bars.Color = plotColors[0]
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalX(names...)
	p.Y.Min = 0
	return p, nil
}

func deliveryPlot(r *Result) (*plot.Plot, error) {
	p := newPlot("Delivery over time: "+r.Scenario.Name, "simulated seconds after warmup", "fraction of expected deliveries made")
	if len(r.DeliveryOverTime) == 0 {
		return noData(p), nil
	}
	xys := make(plotter.XYs, len(r.DeliveryOverTime))
	for i, f := range r.DeliveryOverTime {
		xys[i] = plotter.XY{X: float64(i + 1), Y: f}
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = plotColors[0]
	p.Add(l)
	p.Y.Min, p.Y.Max = 0, math.Max(1, p.Y.Max)
	return p, nil
}

func savePNG(p *plot.Plot, file string) error {
	wt, err := p.WriterTo(plotW, plotH, "png")
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return err
	}
	if b.Len() == 0 {
		return errors.New("empty image")
	}
	return os.WriteFile(file, b.Bytes(), 0o644)
}
