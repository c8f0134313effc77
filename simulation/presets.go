package simulation

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
)

// The presets are scenario files (presets/NAME.yaml), each with a comment
// saying what it reproduces, where that was published, and which of its
// parameters the publication gives and which are ours.
//
//go:embed presets/*.yaml
var presetFiles embed.FS

// ErrUnknownPreset is a preset name that is not one of PresetNames.
var ErrUnknownPreset = errors.New("simulation: unknown preset")

// PublishedFigure is a figure a publication gives for the run a preset
// reproduces, to be set beside the simulator's (see Compare).
type PublishedFigure struct {
	// Value is in the unit of the metric it is filed under (see Metrics).
	Value float64
	// Source names the publication.
	Source string
	// What says what the publication measured, and how it differs from
	// what the simulator measures where it does.
	What string
}

// Sources of the published figures.
const (
	srcBenchmarks = "Waku documentation, \"Performance Benchmarks and Test Reports\" (docs.waku.org/research/benchmarks/test-results-summary): nwaku v0.34.0, 1000 relay nodes on Kubernetes (Vac DST)"
	srcShadow     = "Waku research, \"Message propagation times with waku-rln\" (docs.waku.org/research/research-and-studies/message-propagation; waku-org/research issue 42): 1000 nwaku nodes in Shadow"
	srcPlan       = "Vac, \"What's the Plan for Waku v2?\" (vac.dev/rlog/waku-v2-plan, 2020)"
	srcIDontWant  = "Vac, \"Libp2p GossipSub IDONTWANT Message Performance Impact\" (vac.dev/rlog/gsub-idontwant-perf-eval, 2024)"
)

// published holds, by preset, the figures of the run it reproduces, by
// metric (see Metrics).
var published = map[string]map[string]PublishedFigure{
	"nwaku-1kb-1s": {
		MetricBandwidthIn: {Value: 10.1, Source: srcBenchmarks,
			What: "average libp2p incoming bandwidth per node, ~10.1 KB/s (discv5 not included)"},
		MetricBandwidthOut: {Value: 10.3, Source: srcBenchmarks,
			What: "average libp2p outgoing bandwidth per node, ~10.3 KB/s (discv5 not included)"},
		MetricTo100P50: {Value: 400, Source: srcBenchmarks,
			What: "average time for a message to reach 100% of the nodes, 0.4 s (\"topologies of up to 2000 relay nodes\"); ours is the median over messages"},
	},
	"nwaku-1kb-10s": {
		MetricBandwidthIn: {Value: 1.8, Source: srcBenchmarks,
			What: "average libp2p incoming bandwidth per node at 1 msg/10 s, ~1.8 KB/s (discv5 not included)"},
		MetricBandwidthOut: {Value: 1.9, Source: srcBenchmarks,
			What: "average libp2p outgoing bandwidth per node at 1 msg/10 s, ~1.9 KB/s (discv5 not included)"},
	},
	"shadow-10kb": {
		MetricDeliveryMean: {Value: 508, Source: srcShadow,
			What: "mean publication-to-reception delay of 10 kB messages, 508 ms; it includes 150 ms of proof generation, which the simulator does not charge (proofs are made before the run)"},
		MetricDeliveryP95: {Value: 627, Source: srcShadow,
			What: "95% of receptions within 627 ms (proof generation included, as above)"},
		MetricDeliveryMin: {Value: 263, Source: srcShadow,
			What: "fastest reception, 263 ms: a node one hop from the publisher (proof generation included, as above)"},
	},
	"compare-flooding": {
		MetricAmplification: {Value: 25, Source: srcPlan,
			What: "amplification factor between full nodes before gossipsub, ~25 (\"likely even worse ... up to 20-30\")"},
	},
	"compare-gossipsub": {
		MetricAmplification: {Value: 6, Source: srcPlan,
			What: "gossipsub takes the amplification factor between full nodes to ~6"},
		MetricNodeLoad: {Value: 6, Source: srcPlan,
			What: "with one topic every node carries the whole traffic times the amplification: ~6"},
	},
	"compare-idontwant": {
		MetricAmplification: {Value: 6 * (1 - 0.21), Source: srcIDontWant,
			What: "derived: gossipsub's ~6 (the plan) less the evaluation's largest saving, \"up to 21%\" less traffic with IDONTWANT (2000 nodes, D=8; the saving is largest for 500 KB messages and smaller at 1 KB)"},
	},
	"compare-shards8": {
		MetricNodeLoad: {Value: 6.0 / 8, Source: srcPlan,
			What: "derived: topic sharding \"can reduce amplification factors by another factor of 10\" for 10 shards; a node on 1 shard of 8 carries ~1/8 of gossipsub's ~6"},
		MetricAmplification: {Value: 6, Source: srcPlan,
			What: "per subscriber a shard is a gossipsub topic: ~6, as without shards (the plan's factor is in the node load)"},
	},
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	// The folder is embedded at build time: reading it cannot fail.
	entries, _ := fs.ReadDir(presetFiles, "presets")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// Preset returns a preset scenario, validated.
func Preset(name string) (Scenario, error) {
	if strings.ContainsAny(name, `/\`) || !slices.Contains(PresetNames(), name) {
		return Scenario{}, fmt.Errorf("%w %q, want one of: %s", ErrUnknownPreset, name, strings.Join(PresetNames(), ", "))
	}
	file := path.Join("presets", name+".yaml")
	data, err := presetFiles.ReadFile(file)
	if err != nil {
		return Scenario{}, fmt.Errorf("simulation: preset %s: %w", name, err)
	}
	return Parse(data, file)
}

// PresetPublished returns the published figures of the run a preset
// reproduces, by metric (nil for a preset that reproduces none). The map
// is the caller's.
func PresetPublished(name string) map[string]PublishedFigure {
	return maps.Clone(published[name])
}
