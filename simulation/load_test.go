package simulation

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const goodScenario = `# a comment
name: demo
seed: 7
nodes: 100
warmup: 5s
duration: 1m30s
drain: 500ms
mode: gossipsub-idontwant
shards: 8
shards_per_node: 2
topology:
  bootstrap: 2
  outbound: 6
  max_connections: 20
network:
  latency:
    kind: regions
    regions:
      - {name: eu, weight: 2}
      - {name: us, weight: 1}
    matrix:
      - [10ms, 80ms]
      - [80ms, 15ms]
    jitter: 5ms
  upload_bps: 10000000
  download_bps: 50000000
traffic:
  rate: 2.5
  message_size: 1024
  publishers: 10
rln:
  enabled: true
  verify_cost: 12ms
  user_message_limit: 10
  epoch_period: 10s
attacks:
  - kind: over-rate
    nodes: 1
    rate: 3
  - kind: control-flood
    nodes: 2
    rate: 100
    control: graft
    start: 10s
    stop: 20s
churn:
  leave_per_minute: 1.5
  join_per_minute: 2
`

func TestParseGood(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(goodScenario), "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Scenario{
		Name: "demo", Seed: 7, Nodes: 100, Warmup: 5 * time.Second, Duration: 90 * time.Second, Drain: 500 * time.Millisecond,
		Mode: ModeIDontWant, Shards: 8, ShardsPerNode: 2,
		Topology: Topology{Bootstrap: 2, Outbound: 6, MaxConnections: 20},
		Network: Network{
			Latency: Latency{Kind: "regions", Regions: []Region{{"eu", 2}, {"us", 1}},
				Matrix: [][]time.Duration{{10 * time.Millisecond, 80 * time.Millisecond}, {80 * time.Millisecond, 15 * time.Millisecond}},
				Jitter: 5 * time.Millisecond},
			UploadBps: 10_000_000, DownloadBps: 50_000_000,
		},
		Traffic: Traffic{Rate: 2.5, MessageSize: 1024, Publishers: 10},
		RLN:     RLN{Enabled: true, VerifyCost: 12 * time.Millisecond, UserMessageLimit: 10, EpochPeriod: 10 * time.Second},
		Attacks: []Attack{
			{Kind: AttackOverRate, Nodes: 1, Rate: 3},
			{Kind: AttackControlFlood, Nodes: 2, Rate: 100, Control: "graft", Start: 10 * time.Second, Stop: 20 * time.Second},
		},
		Churn: Churn{LeavePerMinute: 1.5, JoinPerMinute: 2},
	}
	if !equalYAML(t, s, want) {
		t.Fatalf("parsed\n%s\nwant\n%s", mustYAML(t, s), mustYAML(t, want))
	}
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte("nodes: 10\nduration: 10s\ntraffic: {rate: 1, message_size: 100}\n"), "dir/my-run.yml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "my-run" || s.Mode != ModeGossipsub || s.Shards != 1 || s.ShardsPerNode != 1 ||
		s.Topology.Outbound != 8 || s.Topology.MaxConnections != 50 || s.Network.Latency.Kind != "fixed" {
		t.Fatalf("defaults not filled in: %+v", s)
	}
}

// TestParseBad: every error names the line and the key, and says what
// was wanted.
func TestParseBad(t *testing.T) {
	t.Parallel()
	base := "nodes: 10\nduration: 10s\ntraffic:\n  rate: 1\n  message_size: 100\n"
	tests := []struct {
		name string
		yaml string
		want []Problem // Msg: a part of the message
	}{
		{"unknown top key", base + "nodez: 3\n",
			[]Problem{{6, "nodez", "unknown key, want one of: name, seed, nodes,"}}},
		{"unknown nested key", base + "network:\n  latency:\n    kind: fixed\n    fixd: 10ms\n",
			[]Problem{{9, "network.latency.fixd", "unknown key, want one of: kind, fixed, min, max"}}},
		{"unknown key in a list item", base + "rln: {enabled: true}\nattacks:\n  - kind: over-rate\n    nodes: 1\n    rate: 1\n    sped: 2\n",
			[]Problem{{11, "attacks[0].sped", "unknown key, want one of: kind, nodes, rate, control, start, stop"}}},
		{"duration without unit", "nodes: 10\nduration: 10\ntraffic: {rate: 1, message_size: 100}\n",
			[]Problem{{2, "duration", `got "10", want a duration with a unit, such as 500ms, 10s or 2m`}}},
		{"bad duration", base + "warmup: 5 sec\n",
			[]Problem{{6, "warmup", `got "5 sec", want a duration`}}},
		{"string for int", "nodes: ten\nduration: 10s\ntraffic: {rate: 1, message_size: 100}\n",
			[]Problem{{1, "nodes", `got "ten", want a whole number`}}},
		{"negative seed", base + "seed: -1\n",
			[]Problem{{6, "seed", `got "-1", want a whole number >= 0`}}},
		{"block scalar for number", "nodes: |\n  a\n  b\nduration: 10s\ntraffic: {rate: 1, message_size: 100}\n",
			[]Problem{{1, "nodes", `got "a\nb\n", want a whole number`}}},
		{"list for number", base + "shards: [1, 2]\n",
			[]Problem{{6, "shards", "got a list, want a whole number"}}},
		{"flow mapping, second key", "nodes: 10\nduration: 10s\ntraffic: {rate: 1, message_size: big}\n",
			[]Problem{{3, "traffic.message_size", `got "big", want a whole number`}}},
		{"matrix cell", base + "network:\n  latency:\n    kind: regions\n    regions: [{name: a, weight: 1}, {name: b, weight: 1}]\n    matrix: [[1ms, 2xs], [3ms, 4ms]]\n",
			[]Problem{{10, "network.latency.matrix[0][1]", `got "2xs", want a duration`}}},
		{"key twice", base + "nodes: 12\n",
			[]Problem{{6, "nodes", "given twice (first at line 1)"}}},
		{"several at once", "nodes: x\nduration: 10\ntraffic: {rate: 1, message_size: 100}\nmode: 3\n",
			[]Problem{{1, "nodes", "want a whole number"}, {2, "duration", "want a duration"}}},
		{"not a mapping", "- 1\n- 2\n",
			[]Problem{{1, "", "got a list, want a mapping of keys"}}},
		{"syntax", "nodes: [1\nduration: 10s\n",
			[]Problem{{1, "", "YAML syntax: did not find expected"}}},
		{"empty", "", []Problem{{0, "", "empty: want a YAML mapping"}}},
		{"comments only", "# nothing\n", []Problem{{0, "", "empty"}}},
		{"two documents", base + "---\nnodes: 3\n", []Problem{{6, "", "more than one YAML document"}}},
		{"NaN rate", "nodes: 10\nduration: 10s\ntraffic:\n  rate: .nan\n  message_size: 100\n",
			[]Problem{{4, "traffic.rate", "NaN, want a finite number"}}},
		{"infinite weight", base + "network:\n  latency:\n    kind: regions\n    regions: [{name: a, weight: .inf}]\n    matrix: [[1ms]]\n",
			[]Problem{{9, "network.latency.regions[0].weight", "+Inf, want a finite number"}}},
		{"validate: mode", base + "mode: floodsub\n",
			[]Problem{{6, "mode", `"floodsub", want gossipsub, gossipsub-idontwant or flooding`}}},
		{"validate: nested", base + "topology:\n  outbound: 60\n",
			[]Problem{{7, "topology.outbound", "60, want 1 to max_connections-1 (49)"}}},
		{"validate: attack", base + "attacks:\n  - kind: control-flood\n    nodes: 1\n    rate: 5\n    control: prune\n",
			[]Problem{{10, "attacks[0].control", `"prune", want ihave, iwant or graft`}}},
		{"validate: file order, absent last", "duration: 10s\ntraffic:\n  rate: 1\n  message_size: 0\n",
			[]Problem{{4, "traffic.message_size", "0, want 1 to 153600 bytes"}, {0, "nodes", "0, want 2 to 1000000"}}},
		{"validate: shared field", base + "drain: -1s\n",
			[]Problem{{6, "warmup/drain", "want >= 0"}}},
		{"validate: upload/download", base + "network:\n  download_bps: -5\n",
			[]Problem{{7, "network.upload_bps/download_bps", "want >= 0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.yaml), "s.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrScenario) {
				t.Fatalf("%v does not wrap ErrScenario", err)
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("%T is not a *FileError", err)
			}
			if len(fe.Problems) < len(tt.want) {
				t.Fatalf("problems %+v, want at least %+v", fe.Problems, tt.want)
			}
			for i, w := range tt.want {
				g := fe.Problems[i]
				if g.Line != w.Line || g.Field != w.Field || !strings.Contains(g.Msg, w.Msg) {
					t.Errorf("problem %d: %+v, want line %d field %q msg containing %q", i, g, w.Line, w.Field, w.Msg)
				}
			}
			// The message names the file, the line and the key.
			if w := tt.want[0]; w.Line > 0 && !strings.Contains(err.Error(), "s.yaml:"+strconv.Itoa(w.Line)+": "+w.Field) {
				t.Errorf("error %q does not say s.yaml:%d: %s", err, w.Line, w.Field)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(goodScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Load(good); err != nil || s.Name != "demo" {
		t.Fatalf("Load: %+v, %v", s, err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, append([]byte("nodes: 10\n#"), make([]byte, MaxScenarioBytes)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrScenario) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Load of a too large file: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, ErrScenario) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v", err)
	}
}

func mustYAML(t *testing.T, s Scenario) string {
	t.Helper()
	b, err := yaml.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func equalYAML(t *testing.T, a, b Scenario) bool {
	t.Helper()
	return mustYAML(t, a) == mustYAML(t, b)
}

// FuzzParse: Parse never panics, fails only with a *FileError wrapping
// ErrScenario, and what it accepts is valid and reads back the same once
// written out again.
func FuzzParse(f *testing.F) {
	f.Add([]byte(goodScenario))
	for _, name := range PresetNames() {
		data, err := presetFiles.ReadFile("presets/" + name + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrScenario) || len(fe.Problems) == 0 {
				t.Fatalf("error %T %v: want a *FileError with problems wrapping ErrScenario", err, err)
			}
			return
		}
		again := s
		if err := again.Validate(); err != nil {
			t.Fatalf("accepted scenario does not validate: %v", err)
		}
		out, err := yaml.Marshal(s)
		if err != nil {
			t.Fatalf("marshal accepted scenario: %v", err)
		}
		back, err := Parse(out, "fuzz.yaml")
		if err != nil {
			t.Fatalf("written out, the scenario does not parse: %v\n%s", err, out)
		}
		if !equalYAML(t, s, back) {
			t.Fatalf("round trip changed the scenario:\n%s\nvs\n%s", out, mustYAML(t, back))
		}
	})
}

// TestValidateNonFinite: a scenario built in Go (not parsed, so the
// parser's check of finite numbers does not run) with NaN or an infinity
// in a float field is refused by Validate, naming the field.
func TestValidateNonFinite(t *testing.T) {
	t.Parallel()
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for _, c := range []struct {
			field string
			set   func(*Scenario)
		}{
			{"traffic.rate", func(s *Scenario) { s.Traffic.Rate = bad }},
			{"attacks[0].rate", func(s *Scenario) {
				s.RLN.Enabled = true
				s.Attacks = []Attack{{Kind: AttackOverRate, Nodes: 1, Rate: bad}}
			}},
			{"churn.leave_per_minute", func(s *Scenario) { s.Churn.LeavePerMinute = bad }},
			{"churn.join_per_minute", func(s *Scenario) { s.Churn.JoinPerMinute = bad }},
			{"network.latency", func(s *Scenario) {
				s.Network.Latency = Latency{Kind: "regions", Regions: []Region{{Name: "a", Weight: bad}}, Matrix: [][]time.Duration{{time.Millisecond}}}
			}},
		} {
			s := Scenario{Name: "x", Nodes: 10, Duration: time.Second, Traffic: Traffic{Rate: 1, MessageSize: 10}}
			c.set(&s)
			err := s.Validate()
			if err == nil || !errors.Is(err, ErrScenario) || !strings.Contains(err.Error(), c.field) {
				t.Errorf("%s = %v: Validate() = %v, want an ErrScenario naming %s", c.field, bad, err, c.field)
			}
		}
	}
}
