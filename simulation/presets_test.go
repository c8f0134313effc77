package simulation

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPresetNames(t *testing.T) {
	t.Parallel()
	want := []string{
		"compare-flooding", "compare-gossipsub", "compare-idontwant", "compare-shards8",
		"large-gossipsub", "large-idontwant", "nwaku-1kb-10s", "nwaku-1kb-1s", "scale-100k", "scale-10k", "shadow-10kb", "small", "spam",
	}
	if got := PresetNames(); !slices.Equal(got, want) {
		t.Fatalf("PresetNames() = %v, want %v", got, want)
	}
}

// TestPresetsValidate: every preset parses, validates, carries its own
// name, and cites its source in its comment.
func TestPresetsValidate(t *testing.T) {
	t.Parallel()
	for _, name := range PresetNames() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != name {
				t.Errorf("name %q, want %q", s.Name, name)
			}
			again := s
			if err := again.Validate(); err != nil {
				t.Errorf("validated twice: %v", err)
			}
			data, _ := presetFiles.ReadFile("presets/" + name + ".yaml")
			if !strings.HasPrefix(string(data), "# ") {
				t.Error("no comment saying what the preset is")
			}
			if len(PresetPublished(name)) > 0 && !strings.Contains(string(data), "Source:") {
				t.Error("published figures but no Source: in the file")
			}
		})
	}
}

// TestPresetParameters holds the presets to the published runs'
// parameters and to the sizes.
func TestPresetParameters(t *testing.T) {
	t.Parallel()
	get := func(name string) Scenario {
		s, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	type check struct {
		preset string
		ok     func(Scenario) bool
		what   string
	}
	checks := []check{
		{"nwaku-1kb-1s", func(s Scenario) bool {
			return s.Nodes == 1000 && s.Traffic.MessageSize == 1000 && s.Traffic.Rate == 1 && s.Duration == 10*time.Minute
		}, "1000 nodes, 1 KB at 1 msg/s for 600 messages"},
		{"nwaku-1kb-10s", func(s Scenario) bool {
			return s.Nodes == 1000 && s.Traffic.MessageSize == 1000 && s.Traffic.Rate == 0.1
		}, "1000 nodes, 1 KB at 1 msg/10 s"},
		{"shadow-10kb", func(s Scenario) bool {
			l := s.Network.Latency
			return s.Nodes == 1000 && s.Traffic.MessageSize == 10_000 && s.Traffic.Publishers == 1 &&
				l.Kind == "fixed" && l.Fixed == 100*time.Millisecond &&
				s.Network.UploadBps == 38_000_000 && s.Network.DownloadBps == 83_000_000 &&
				s.RLN.Enabled && s.RLN.VerifyCost == 12*time.Millisecond &&
				s.Traffic.Rate*s.Duration.Seconds() == 10
		}, "Shadow: 1000 nodes, 10 kB, 100 ms, 38/83 Mbit/s, RLN 12 ms, 10 messages from one publisher"},
		{"compare-flooding", func(s Scenario) bool { return s.Mode == ModeFlooding && s.Shards == 1 }, "flooding"},
		{"compare-gossipsub", func(s Scenario) bool { return s.Mode == ModeGossipsub && s.Shards == 1 }, "gossipsub"},
		{"compare-idontwant", func(s Scenario) bool { return s.Mode == ModeIDontWant && s.Shards == 1 }, "IDONTWANT"},
		{"compare-shards8", func(s Scenario) bool {
			return s.Mode == ModeGossipsub && s.Shards == 8 && s.ShardsPerNode == 1
		}, "8 shards, one per node"},
		{"scale-10k", func(s Scenario) bool {
			return s.Nodes == 10_000 && s.Duration == 10*time.Minute && s.Traffic.MessageSize == 1000 && s.Traffic.Rate == 1
		}, "10,000 nodes, 10 min, 1 KB at 1 msg/s"},
		{"scale-100k", func(s Scenario) bool {
			return s.Nodes == 100_000 && s.Duration == 2*time.Minute
		}, "100,000 nodes, 2 min"},
		{"small", func(s Scenario) bool { return s.Nodes <= 50 }, "at most 50 nodes"},
		{"spam", func(s Scenario) bool {
			kinds := map[string]bool{}
			for _, a := range s.Attacks {
				kinds[a.Kind] = true
			}
			return kinds[AttackOverRate] && kinds[AttackInvalidProof] && kinds[AttackControlFlood]
		}, "every kind of attack"},
	}
	for _, c := range checks {
		if !c.ok(get(c.preset)) {
			t.Errorf("%s: want %s", c.preset, c.what)
		}
	}
	// The comparison set differs in its router and shards only.
	base := get("compare-gossipsub")
	for _, name := range []string{"compare-flooding", "compare-idontwant", "compare-shards8"} {
		s := get(name)
		s.Name, s.Mode, s.Shards, s.ShardsPerNode = base.Name, base.Mode, base.Shards, base.ShardsPerNode
		if !equalYAML(t, s, base) {
			t.Errorf("%s differs from compare-gossipsub in more than mode and shards", name)
		}
	}
	// The large-message pair differs in its router only, and has Waku's
	// largest message on links where a transmission takes milliseconds.
	large := get("large-gossipsub")
	if large.Mode != ModeGossipsub || large.Traffic.MessageSize != 150_000 || large.Network.UploadBps != 100_000_000 {
		t.Errorf("large-gossipsub: want gossipsub, 150 kB messages, 100 Mbit/s links")
	}
	s := get("large-idontwant")
	if s.Mode != ModeIDontWant {
		t.Errorf("large-idontwant: mode %s, want %s", s.Mode, ModeIDontWant)
	}
	s.Name, s.Mode = large.Name, large.Mode
	if !equalYAML(t, s, large) {
		t.Error("large-idontwant differs from large-gossipsub in more than its mode")
	}
}

func TestPresetUnknown(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "nope", "../load", "presets/small", "small.yaml"} {
		_, err := Preset(name)
		if !errors.Is(err, ErrUnknownPreset) || !strings.Contains(err.Error(), "small") {
			t.Errorf("Preset(%q): %v, want ErrUnknownPreset listing the names", name, err)
		}
	}
}

func TestPresetPublished(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, m := range compared {
		known[m.name] = true
	}
	for name, figs := range published {
		if !slices.Contains(PresetNames(), name) {
			t.Errorf("published figures for %q, not a preset", name)
		}
		for metric, f := range figs {
			if !known[metric] {
				t.Errorf("%s: figure under unknown metric %q", name, metric)
			}
			if f.Value <= 0 || f.Source == "" || f.What == "" {
				t.Errorf("%s %s: %+v: want a value, a source and what was measured", name, metric, f)
			}
		}
	}
	// The figures.
	for _, c := range []struct {
		preset, metric string
		value          float64
	}{
		{"nwaku-1kb-1s", MetricBandwidthIn, 10.1}, {"nwaku-1kb-1s", MetricBandwidthOut, 10.3},
		{"nwaku-1kb-1s", MetricTo100P50, 400},
		{"nwaku-1kb-10s", MetricBandwidthIn, 1.8}, {"nwaku-1kb-10s", MetricBandwidthOut, 1.9},
		{"shadow-10kb", MetricDeliveryMean, 508},
		{"compare-flooding", MetricAmplification, 25}, {"compare-gossipsub", MetricAmplification, 6},
		{"compare-shards8", MetricNodeLoad, 0.75},
	} {
		if got := PresetPublished(c.preset)[c.metric].Value; got != c.value {
			t.Errorf("%s %s = %v, want %v", c.preset, c.metric, got, c.value)
		}
	}
	// The map is the caller's.
	m := PresetPublished("nwaku-1kb-1s")
	delete(m, MetricBandwidthIn)
	if _, ok := PresetPublished("nwaku-1kb-1s")[MetricBandwidthIn]; !ok {
		t.Error("PresetPublished returned the package's map")
	}
	if PresetPublished("small") != nil {
		t.Error("small reproduces no published run")
	}
}
