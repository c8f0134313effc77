package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

const testPeer = "/ip4/192.0.2.1/tcp/60000/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"

// writeFile writes content to a file called name in a fresh temporary
// directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// parsedFlags returns a flag set with the config flags registered and args
// parsed.
func parsedFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	return fs
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	const file = "rln:\n  epoch-period: 20s\nnetwork:\n  shards: [1]\nrest:\n  enabled: false\n"
	tests := []struct {
		name      string
		preset    string
		file      bool
		env       []string
		args      []string
		wantEpoch time.Duration
		wantShard []int
		wantREST  bool
	}{
		{name: "built-in defaults", wantEpoch: 600 * time.Second, wantShard: nil, wantREST: false},
		{name: "preset over defaults", preset: "devnet", wantEpoch: 10 * time.Second, wantREST: true},
		{name: "file over preset", preset: "devnet", file: true,
			wantEpoch: 20 * time.Second, wantShard: []int{1}, wantREST: false},
		{name: "env over file", preset: "devnet", file: true,
			env:       []string{"RLND_RLN_EPOCH_PERIOD=30s", "RLND_NETWORK_SHARDS=2,3", "RLND_REST_ENABLED=true"},
			wantEpoch: 30 * time.Second, wantShard: []int{2, 3}, wantREST: true},
		{name: "flag over env", preset: "devnet", file: true,
			env:       []string{"RLND_RLN_EPOCH_PERIOD=30s", "RLND_NETWORK_SHARDS=2,3", "RLND_REST_ENABLED=true"},
			args:      []string{"--rln-epoch-period=40s", "--network-shards=4", "--rest-enabled=false"},
			wantEpoch: 40 * time.Second, wantShard: []int{4}, wantREST: false},
		{name: "unset flags do not override env", preset: "devnet", file: true,
			env:       []string{"RLND_RLN_EPOCH_PERIOD=30s", "RLND_REST_ENABLED=true"},
			args:      []string{"--log-level=debug"},
			wantEpoch: 30 * time.Second, wantShard: []int{1}, wantREST: true},
		{name: "unset flags do not override preset", preset: "devnet", args: []string{},
			wantEpoch: 10 * time.Second, wantREST: true},
		{name: "flag over preset", preset: "devnet", args: []string{"--rln-epoch-period", "1m"},
			wantEpoch: time.Minute, wantREST: true},
		{name: "empty env list clears the file's list", file: true, env: []string{"RLND_NETWORK_SHARDS="},
			wantEpoch: 20 * time.Second, wantShard: nil},
		{name: "later env entry wins", env: []string{"RLND_RLN_EPOCH_PERIOD=30s", "RLND_RLN_EPOCH_PERIOD=50s"},
			wantEpoch: 50 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := Source{Preset: tt.preset, Env: tt.env}
			if tt.file {
				src.File = writeFile(t, "rlnd.yaml", file)
			}
			if tt.args != nil {
				src.Flags = parsedFlags(t, tt.args...)
			}
			c, err := Load(src)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.RLN.EpochPeriod != tt.wantEpoch {
				t.Errorf("rln.epoch-period = %v, want %v", c.RLN.EpochPeriod, tt.wantEpoch)
			}
			if !reflect.DeepEqual(c.Network.Shards, tt.wantShard) {
				t.Errorf("network.shards = %#v, want %#v", c.Network.Shards, tt.wantShard)
			}
			if c.REST.Enabled != tt.wantREST {
				t.Errorf("rest.enabled = %v, want %v", c.REST.Enabled, tt.wantREST)
			}
		})
	}
}

func TestLoadFileFormats(t *testing.T) {
	t.Parallel()
	want, err := Preset("twn")
	if err != nil {
		t.Fatal(err)
	}
	want.Log.Level = "debug"
	want.Network.ClusterID = 5
	want.Network.Shards = []int{0, 3}
	want.P2P.StaticPeers = []string{testPeer}
	want.RLN.EpochPeriod = 5 * time.Minute
	want.Chain.RPCURL = "wss://rpc.example.org/ws"
	want.Chain.ChainID = 1
	want.Metrics.Enabled = true

	tests := []struct {
		name    string
		file    string
		content string
	}{
		{name: "yaml", file: "rlnd.yaml", content: `
log:
  level: debug
network:
  cluster-id: 5
  shards: [0, 3]
p2p:
  static-peers:
    - ` + testPeer + `
rln:
  epoch-period: 5m
chain:
  rpc-url: wss://rpc.example.org/ws
  chain-id: 1
metrics:
  enabled: true
`},
		{name: "yml extension", file: "rlnd.yml", content: `
log: {level: debug}
network: {cluster-id: 5, shards: [0, 3]}
p2p: {static-peers: ["` + testPeer + `"]}
rln: {epoch-period: 300s}
chain: {rpc-url: "wss://rpc.example.org/ws", chain-id: 1}
metrics: {enabled: true}
`},
		{name: "toml", file: "rlnd.toml", content: `
[log]
level = "debug"

[network]
cluster-id = 5
shards = [0, 3]

[p2p]
static-peers = ["` + testPeer + `"]

[rln]
epoch-period = "5m"

[chain]
rpc-url = "wss://rpc.example.org/ws"
chain-id = 1

[metrics]
enabled = true
`},
		{name: "toml dotted keys", file: "rlnd.toml", content: `
log.level = "debug"
network.cluster-id = 5
network.shards = [0, 3]
p2p.static-peers = ["` + testPeer + `"]
rln.epoch-period = "5m0s"
chain.rpc-url = "wss://rpc.example.org/ws"
chain.chain-id = 1
metrics.enabled = true
`},
		{name: "upper-case extension", file: "RLND.YAML", content: `
log: {level: debug}
network: {cluster-id: 5, shards: [0, 3]}
p2p: {static-peers: ["` + testPeer + `"]}
rln: {epoch-period: 5m}
chain: {rpc-url: "wss://rpc.example.org/ws", chain-id: 1}
metrics: {enabled: true}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Load(Source{File: writeFile(t, tt.file, tt.content)})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Load =\n%+v\nwant\n%+v", *got, want)
			}
		})
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		src    Source
		reload string // preset to load the YAML over; the file must win everywhere
	}{
		{name: "twn", src: Source{Preset: "twn"}, reload: "devnet"},
		{name: "devnet", src: Source{Preset: "devnet"}, reload: "twn"},
		{name: "customised", src: Source{Preset: "devnet", Env: []string{
			"RLND_NETWORK_SHARDS=7,1",
			"RLND_P2P_STATIC_PEERS=" + testPeer,
			"RLND_P2P_LISTEN=",
			"RLND_RLN_EPOCH_PERIOD=1h30m",
			"RLND_RLN_ARTEFACTS_DIR=/opt/rln artefacts",
			"RLND_CHAIN_CONTRACT=0x0000000000000000000000000000000000000001",
			"RLND_CHAIN_CHAIN_ID=18446744073709551615",
			"RLND_LOG_FORMAT=json",
		}}, reload: "twn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			first, err := Load(tt.src)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			out, err := first.YAML()
			if err != nil {
				t.Fatalf("YAML: %v", err)
			}
			second, err := Load(Source{Preset: tt.reload, File: writeFile(t, "out.yaml", string(out))})
			if err != nil {
				t.Fatalf("Load of YAML output: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(first, second) {
				t.Errorf("round trip changed the config:\nbefore %+v\nafter  %+v\nYAML:\n%s", *first, *second, out)
			}
		})
	}
}

func TestYAMLKeysAndDurations(t *testing.T) {
	t.Parallel()
	c, err := Preset("twn")
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	var want []string
	for _, k := range keys() {
		want = append(want, k.leaf()+":")
	}
	want = append(want, "epoch-period: 10m0s", "max-epoch-gap: 20s")
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("YAML output lacks %q:\n%s", w, text)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		content string // file is not created when empty
		want    []string
		cause   error
	}{
		{name: "missing file", file: "absent.yaml", want: []string{"absent.yaml", "cannot read"}, cause: fs.ErrNotExist},
		{name: "bad yaml", file: "bad.yaml", content: "log: [unclosed\n", want: []string{"bad.yaml", "cannot parse", "YAML"}},
		{name: "yaml list at top", file: "list.yaml", content: "- a\n- b\n", want: []string{"list.yaml", "cannot parse"}},
		{name: "bad toml", file: "bad.toml", content: "[log\nlevel = \n", want: []string{"bad.toml", "cannot parse", "TOML", "line 1"}},
		{name: "unsupported extension", file: "rlnd.json", content: "{}", want: []string{"rlnd.json", `".json"`, ".yaml, .yml, .toml"}},
		{name: "unknown top-level key", file: "top.yaml", content: "logging:\n  level: debug\n",
			want: []string{`unknown key "logging"`, "top.yaml", "log, node, network, p2p, discovery, rln, chain, rest, metrics"}},
		{name: "unknown nested key", file: "nested.yaml", content: "network:\n  clusterid: 3\n",
			want: []string{`unknown key "network.clusterid"`, "nested.yaml", "known keys under network: cluster-id, num-shards, shards"}},
		{name: "keys are case-sensitive", file: "case.yaml", content: "network:\n  Cluster-ID: 3\n",
			want: []string{`unknown key "network.Cluster-ID"`}},
		{name: "unknown nested key in toml", file: "nested.toml", content: "[rln]\nepoch = \"10s\"\n",
			want: []string{`unknown key "rln.epoch"`, "nested.toml", "epoch-period"}},
		{name: "unknown key with null value", file: "null.yaml", content: "network:\n  foo:\n",
			want: []string{`unknown key "network.foo"`}},
		{name: "group that is not a table", file: "scalar.yaml", content: "network: 5\n",
			want: []string{"network", "scalar.yaml", "not a table", "cluster-id"}},
		{name: "value error names the file", file: "value.yaml", content: "rln:\n  epoch-period: ten\n",
			want: []string{`rln.epoch-period: "ten" is not a duration (e.g. 600s, 10m)`, "value.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), tt.file)
			if tt.content != "" {
				path = writeFile(t, tt.file, tt.content)
			}
			_, err := Load(Source{File: path})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("error %v does not wrap %v", err, tt.cause)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     []string
		check   func(*Config) bool
		wantErr []string
	}{
		{name: "nil env changes nothing", env: nil,
			check: func(c *Config) bool { return c.Network.ClusterID == 1 }},
		{name: "other variables are ignored", env: []string{"HOME=/root", "RLNDX=1", "rlnd_log_level=x", "NOEQUALS"},
			check: func(c *Config) bool { return c.Log.Level == "info" }},
		{name: "command-line variables are ignored", env: []string{"RLND_CONFIG=/nope.yaml", "RLND_PRESET=nope"},
			check: func(c *Config) bool { return c.Network.ClusterID == 1 }},
		{name: "list with spaces", env: []string{"RLND_P2P_LISTEN= /ip4/1.2.3.4/tcp/1 , /ip4/1.2.3.4/tcp/2/ws"},
			check: func(c *Config) bool {
				return slices.Equal(c.P2P.Listen, []string{"/ip4/1.2.3.4/tcp/1", "/ip4/1.2.3.4/tcp/2/ws"})
			}},
		{name: "value containing =", env: []string{"RLND_CHAIN_RPC_URL=https://rpc.example.org/?key=a=b"},
			check: func(c *Config) bool { return c.Chain.RPCURL == "https://rpc.example.org/?key=a=b" }},
		{name: "unknown variable in a group", env: []string{"RLND_NETWORK_CLUSTERID=3"},
			wantErr: []string{"RLND_NETWORK_CLUSTERID", "RLND_NETWORK_CLUSTER_ID"}},
		{name: "unknown variable outside any group", env: []string{"RLND_VERBOSE=1"},
			wantErr: []string{"RLND_VERBOSE", "RLND_LOG_*"}},
		{name: "several unknown variables", env: []string{"RLND_A=1", "RLND_B=2"},
			wantErr: []string{"RLND_A", "RLND_B"}},
		{name: "bad value names the variable", env: []string{"RLND_RLN_ROOT_WINDOW=many"},
			wantErr: []string{`rln.root-window: "many" is not an integer`, "RLND_RLN_ROOT_WINDOW"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(Source{Env: tt.env})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if !tt.check(c) {
					t.Errorf("unexpected config %+v", *c)
				}
				return
			}
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
