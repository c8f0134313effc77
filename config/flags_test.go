package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestRegisterFlagsNames(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)

	count := 0
	fs.VisitAll(func(*pflag.Flag) { count++ })
	want := len(nwakuFlags())
	for _, k := range keys() {
		want += len(k.flagNames())
	}
	if count != want {
		t.Errorf("RegisterFlags added %d flags, want %d (one per key, per nwaku alias and per other nwaku flag)", count, want)
	}
	tests := []struct {
		flag, key, typ string
	}{
		{flag: "log-level", key: "log.level", typ: "string"},
		{flag: "network-cluster-id", key: "network.cluster-id", typ: "uint16"},
		{flag: "network-num-shards", key: "network.num-shards", typ: "int"},
		{flag: "network-shards", key: "network.shards", typ: "intSlice"},
		{flag: "p2p-listen", key: "p2p.listen", typ: "stringSlice"},
		{flag: "p2p-static-peers", key: "p2p.static-peers", typ: "stringSlice"},
		{flag: "rln-enabled", key: "rln.enabled", typ: "bool"},
		{flag: "rln-epoch-period", key: "rln.epoch-period", typ: "duration"},
		{flag: "rln-user-message-limit", key: "rln.user-message-limit", typ: "int"},
		{flag: "chain-rpc-url", key: "chain.rpc-url", typ: "string"},
		{flag: "chain-chain-id", key: "chain.chain-id", typ: "uint64"},
		{flag: "rest-address", key: "rest.address", typ: "string"},
		{flag: "metrics-enabled", key: "metrics.enabled", typ: "bool"},
		{flag: "data-dir", key: "node.data-dir", typ: "string"},
		{flag: "chain-start-block", key: "chain.start-block", typ: "uint64"},
		{flag: "chain-start-timeout", key: "chain.start-timeout", typ: "duration"},
		{flag: "p2p-nodekey", key: "p2p.nodekey", typ: "string"},
		{flag: "p2p-ports-shift", key: "p2p.ports-shift", typ: "int"},
		{flag: "p2p-ext-multiaddr", key: "p2p.ext-multiaddr", typ: "stringSlice"},
		{flag: "p2p-nat", key: "p2p.nat", typ: "string"},
		{flag: "p2p-websocket-secure-support", key: "p2p.websocket-secure-support", typ: "bool"},
	}
	for _, tt := range tests {
		f := fs.Lookup(tt.flag)
		if f == nil {
			t.Errorf("no flag --%s", tt.flag)
			continue
		}
		if got := f.Value.Type(); got != tt.typ {
			t.Errorf("--%s has type %s, want %s", tt.flag, got, tt.typ)
		}
		if !strings.Contains(f.Usage, tt.key) || !strings.Contains(f.Usage, "allowed") {
			t.Errorf("--%s usage %q does not name %s and its allowed values", tt.flag, f.Usage, tt.key)
		}
	}
}

func TestFlagValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		check func(*Config) bool
	}{
		{name: "bool without value", args: []string{"--rest-enabled"},
			check: func(c *Config) bool { return c.REST.Enabled }},
		{name: "bool set false", args: []string{"--rln-enabled=false"},
			check: func(c *Config) bool { return !c.RLN.Enabled }},
		{name: "uint16", args: []string{"--network-cluster-id", "65535"},
			check: func(c *Config) bool { return c.Network.ClusterID == 65535 }},
		{name: "uint64", args: []string{"--chain-chain-id=11155111"},
			check: func(c *Config) bool { return c.Chain.ChainID == 11155111 }},
		{name: "duration", args: []string{"--rln-max-epoch-gap=1m"},
			check: func(c *Config) bool { return c.RLN.MaxEpochGap == time.Minute }},
		{name: "list replaces the default then appends", args: []string{
			"--p2p-listen=/ip4/127.0.0.1/tcp/1", "--p2p-listen", "/ip4/127.0.0.1/tcp/2,/ip4/127.0.0.1/tcp/3/ws"},
			check: func(c *Config) bool {
				return slices.Equal(c.P2P.Listen, []string{
					"/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/2", "/ip4/127.0.0.1/tcp/3/ws"})
			}},
		{name: "empty list", args: []string{"--p2p-listen="},
			check: func(c *Config) bool { return c.P2P.Listen == nil }},
		{name: "int list", args: []string{"--network-shards=1,2", "--network-shards=5"},
			check: func(c *Config) bool { return slices.Equal(c.Network.Shards, []int{1, 2, 5}) }},
		{name: "static peers", args: []string{"--p2p-static-peers=" + testPeer},
			check: func(c *Config) bool { return slices.Equal(c.P2P.StaticPeers, []string{testPeer}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(Source{Flags: parsedFlags(t, tt.args...)})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", *c)
			}
		})
	}
}

func TestFlagParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "uint16 out of range", args: []string{"--network-cluster-id=70000"},
			want: []string{"network-cluster-id", "70000 is out of range, allowed 0..65535"}},
		{name: "not a duration", args: []string{"--rln-epoch-period=ten"},
			want: []string{"rln-epoch-period", `"ten" is not a duration (e.g. 600s, 10m)`}},
		{name: "not an int", args: []string{"--rln-root-window=x"},
			want: []string{"rln-root-window", `"x" is not an integer`}},
		{name: "bad list element", args: []string{"--network-shards=1,x"},
			want: []string{"network-shards", `element 1: "x" is not an integer`}},
		{name: "not a bool", args: []string{"--rest-enabled=yes"},
			want: []string{"rest-enabled", `"yes" is not a boolean`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			fs.SetOutput(&strings.Builder{})
			RegisterFlags(fs)
			err := fs.Parse(tt.args)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestFlagsValidatedByLoad checks that a flag value that parses but is not
// allowed is reported by Load, naming the key and the flag.
func TestFlagsValidatedByLoad(t *testing.T) {
	t.Parallel()
	_, err := Load(Source{Flags: parsedFlags(t, "--network-num-shards=0")})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Load() = %v, want an error wrapping ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), "network.num-shards: 0 is out of range, allowed 1..1024") {
		t.Errorf("error %q does not explain the problem", err)
	}
}

// TestFlagsWithPflagGetters checks that the flags work with pflag's typed
// getters, which other packages may use.
func TestFlagsWithPflagGetters(t *testing.T) {
	t.Parallel()
	fs := parsedFlags(t, "--network-shards=3,4", "--p2p-static-peers="+testPeer,
		"--rln-epoch-period=30s", "--network-cluster-id=7", "--chain-chain-id=9", "--rest-enabled")
	if got, err := fs.GetIntSlice("network-shards"); err != nil || !slices.Equal(got, []int{3, 4}) {
		t.Errorf("GetIntSlice = %v, %v", got, err)
	}
	if got, err := fs.GetStringSlice("p2p-static-peers"); err != nil || !slices.Equal(got, []string{testPeer}) {
		t.Errorf("GetStringSlice = %v, %v", got, err)
	}
	if got, err := fs.GetDuration("rln-epoch-period"); err != nil || got != 30*time.Second {
		t.Errorf("GetDuration = %v, %v", got, err)
	}
	if got, err := fs.GetUint16("network-cluster-id"); err != nil || got != 7 {
		t.Errorf("GetUint16 = %v, %v", got, err)
	}
	if got, err := fs.GetUint64("chain-chain-id"); err != nil || got != 9 {
		t.Errorf("GetUint64 = %v, %v", got, err)
	}
	if got, err := fs.GetBool("rest-enabled"); err != nil || !got {
		t.Errorf("GetBool = %v, %v", got, err)
	}
	if got, err := fs.GetString("log-level"); err != nil || got != "info" {
		t.Errorf("GetString = %v, %v", got, err)
	}
}

// TestForeignFlags checks that Load also reads flags with the right names
// that were registered with pflag's own types.
func TestForeignFlags(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.StringSlice("p2p-listen", nil, "")
	fs.Uint16("network-cluster-id", 0, "")
	fs.Duration("rln-epoch-period", 0, "")
	fs.Int("rln-root-window", 50, "") // not set, so must not count
	if err := fs.Parse([]string{"--p2p-listen=/ip4/1.2.3.4/tcp/1", "--network-cluster-id=4", "--rln-epoch-period=2m"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Source{Preset: "devnet", Flags: fs, Env: []string{"RLND_RLN_ROOT_WINDOW=7"}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !slices.Equal(c.P2P.Listen, []string{"/ip4/1.2.3.4/tcp/1"}) || c.Network.ClusterID != 4 ||
		c.RLN.EpochPeriod != 2*time.Minute || c.RLN.RootWindow != 7 {
		t.Errorf("unexpected config %+v", *c)
	}
}

// nwaku's flag names set the same keys as rlnd's: a command line written
// for nwaku carries over. A list collects the elements given under either
// name; a bool alias needs no value.
func TestNwakuFlagAliases(t *testing.T) {
	t.Parallel()
	const key = "0x1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988"
	tests := []struct {
		name  string
		args  []string
		check func(*Config) bool
	}{
		{name: "nodekey", args: []string{"--nodekey", key},
			check: func(c *Config) bool { return c.P2P.NodeKey == key }},
		{name: "ports-shift", args: []string{"--ports-shift=3"},
			check: func(c *Config) bool { return c.P2P.PortsShift == 3 }},
		{name: "ext-multiaddr repeated, with rlnd's name too", args: []string{
			"--ext-multiaddr=/ip4/203.0.113.7/tcp/60000", "--p2p-ext-multiaddr", "/dns4/node.example.org/tcp/443/wss",
			"--ext-multiaddr", "/ip6/2001:db8::7/tcp/60000"},
			check: func(c *Config) bool {
				return slices.Equal(c.P2P.ExtMultiaddr, []string{"/ip4/203.0.113.7/tcp/60000",
					"/dns4/node.example.org/tcp/443/wss", "/ip6/2001:db8::7/tcp/60000"})
			}},
		{name: "ext-multiaddr-only", args: []string{"--ext-multiaddr=/ip4/203.0.113.7/tcp/60000", "--ext-multiaddr-only"},
			check: func(c *Config) bool { return c.P2P.ExtMultiaddrOnly }},
		{name: "nat", args: []string{"--nat=extip:203.0.113.7"},
			check: func(c *Config) bool { return c.P2P.NAT == "extip:203.0.113.7" }},
		{name: "dns4-domain-name", args: []string{"--dns4-domain-name", "node.example.org"},
			check: func(c *Config) bool { return c.P2P.DNS4DomainName == "node.example.org" }},
		// The options of an nwaku command line (its docs' twn example, with
		// a local RPC) that rlnd has under another name.
		{name: "an nwaku command line", args: []string{"--cluster-id=1", "--shard=0", "--shard=3", "--rln-relay=true",
			"--rln-relay-eth-client-address=http://127.0.0.1:8545", "--rln-relay-eth-contract-address=0xB9cd878C90E49F797B4431fBF4fb333108CB90e6",
			"--rln-relay-chain-id=59141", "--store", "--data-dir=/var/lib/rlnd", "--filter=true", "--lightpush", "--rest=true", "--metrics-server",
			"--staticnode=/ip4/127.0.0.1/tcp/60001/p2p/16Uiu2HAmNaeL4p3WEYzC9mgXBmBWSgWjPHRvatZTXnp8Jgv3iKsb",
			"--discv5-discovery=true", "--discv5-udp-port=9005", "--dns-discovery=false", "--peer-exchange=false", "--max-connections=50"},
			check: func(c *Config) bool {
				return c.Network.ClusterID == 1 && slices.Equal(c.Network.Shards, []int{0, 3}) && c.RLN.Enabled &&
					c.Chain.RPCURL == "http://127.0.0.1:8545" && c.Chain.Contract == "0xB9cd878C90E49F797B4431fBF4fb333108CB90e6" &&
					c.Chain.ChainID == 59141 && c.Store.Enabled && c.Filter.Enabled && c.Lightpush.Enabled && c.REST.Enabled &&
					c.Metrics.Enabled && len(c.P2P.StaticPeers) == 1 && c.Discovery.Discv5 && c.Discovery.Discv5UDPPort == 9005 &&
					!c.Discovery.DNS && !c.Discovery.PeerExchange && c.P2P.MaxConnections == 50
			}},
		{name: "num-shards-in-network", args: []string{"--num-shards-in-network=16", "--shard=12"},
			check: func(c *Config) bool { return c.Network.NumShards == 16 && slices.Equal(c.Network.Shards, []int{12}) }},
		{name: "rln-relay-user-message-limit", args: []string{"--rln-relay-user-message-limit=20"},
			check: func(c *Config) bool { return c.RLN.UserMessageLimit == 20 }},
		{name: "rln credentials", args: []string{"--rln-relay-cred-path=/keystore/keystore.json", "--rln-relay-cred-password", "pw"},
			check: func(c *Config) bool {
				return c.RLN.Keystore == "/keystore/keystore.json" && c.RLN.KeystorePassword == "pw"
			}},
		{name: "metrics-server-address with a port", args: []string{"--metrics-server-address=127.0.0.2:9100"},
			check: func(c *Config) bool { return c.Metrics.Address == "127.0.0.2:9100" }},
		{name: "filter limits", args: []string{"--filter-max-peers-to-serve=100", "--filter-max-criteria=50", "--filter-max-peers-per-prefix=10"},
			check: func(c *Config) bool { return c.Filter.MaxPeers == 100 && c.Filter.MaxCriteriaPerPeer == 50 }},
		{name: "REST flags that are nwaku's names too", args: []string{"--rest", "--rest-admin=true", "--rest-relay-cache-capacity=30",
			"--rest-allow-origin=waku-org.github.io", "--rest-allow-origin", "localhost:*"},
			check: func(c *Config) bool {
				return c.REST.Enabled && c.REST.Admin && c.REST.RelayCacheCapacity == 30 &&
					slices.Equal(c.REST.AllowOrigin, []string{"waku-org.github.io", "localhost:*"})
			}},
		{name: "service nodes", args: []string{"--storenode=" + testPeer, "--filternode=" + testPeer, "--lightpushnode=" + testPeer},
			check: func(c *Config) bool {
				return c.Store.ServiceNode == testPeer && c.Filter.ServiceNode == testPeer && c.Lightpush.ServiceNode == testPeer
			}},
		{name: "discovery", args: []string{"--dns-discovery=true", "--dns-discovery-url=enrtree://AIRVQ5DDA4FFWLRBCHJWUWOO6X6S4ZTZ5B667LQ6AJU6PEYDLRD5O@sandbox.waku.nodes.status.im",
			"--dns-discovery-name-server=127.0.0.1:53", "--discv5-discovery", "--discv5-bootstrap-node=" + testENR, "--peer-exchange=true",
			"--peer-exchange-node=" + testPeer},
			check: func(c *Config) bool {
				return c.Discovery.DNS && slices.Equal(c.Discovery.DNSURLs, []string{"enrtree://AIRVQ5DDA4FFWLRBCHJWUWOO6X6S4ZTZ5B667LQ6AJU6PEYDLRD5O@sandbox.waku.nodes.status.im"}) &&
					c.Discovery.DNSNameServer == "127.0.0.1:53" && c.Discovery.Discv5 && slices.Equal(c.Discovery.Discv5Bootstrap, []string{testENR}) &&
					c.Discovery.PeerExchange && c.Discovery.PeerExchangeNode == testPeer
			}},
		{name: "secure websocket", args: []string{"--websocket-secure-support", "--websocket-secure-cert-path=/etc/rlnd/cert.pem",
			"--websocket-secure-key-path", "/etc/rlnd/key.pem"},
			check: func(c *Config) bool {
				return c.P2P.WebsocketSecureSupport && c.P2P.WebsocketSecureCertPath == "/etc/rlnd/cert.pem" &&
					c.P2P.WebsocketSecureKeyPath == "/etc/rlnd/key.pem"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(Source{Flags: parsedFlags(t, tt.args...)})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("%v did not set the keys: %+v", tt.args, *c)
			}
		})
	}
}

// testENR is a Waku node record of the waku.sandbox fleet (as its DNS tree
// serves it), for flags that take one.
const testENR = "enr:-QESuED0qW1BCmF-oH_ARGPr97Nv767bl_43uoy70vrbah3EaCAdK3Q0iRQ6wkSTTpdrg_dU_NC2ydO8leSlRpBX4pxiAYJpZIJ2NIJpcIRA4VDAim11bHRpYWRkcnO4XAArNiZub2RlLTAxLmRvLWFtczMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQZ2XwAtNiZub2RlLTAxLmRvLWFtczMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQYfQN4DgnJzkwABCAAAAAEAAgADAAQABQAGAAeJc2VjcDI1NmsxoQOTd-h5owwj-cx7xrmbvQKU8CV3Fomfdvcv1MBc-67T5oN0Y3CCdl-DdWRwgiMohXdha3UyDw"
