package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/rlnd/rlnd/autoshard"
)

// loadNwaku parses args with the configuration flags and loads them on
// top of the preset (empty: twn) and env; a parse error is returned as
// Load's would be.
func loadNwaku(preset string, env []string, args ...string) (*Config, error) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(&strings.Builder{})
	RegisterFlags(fs)
	if err := fs.Parse(NwakuArgs(args)); err != nil {
		return nil, err
	}
	return Load(Source{Preset: preset, Flags: fs, Env: env})
}

// mustLoad is loadNwaku for arguments that must load; it also returns
// the preset's configuration loaded without them, to compare against.
func mustLoad(t *testing.T, args ...string) *Config {
	t.Helper()
	c, err := loadNwaku("", nil, args...)
	if err != nil {
		t.Fatalf("loading %q: %v", args, err)
	}
	return c
}

// Each nwaku flag that is no key of its own, with values that load and
// values that do not. A good value sets the keys it maps onto; a bad one
// is one error naming the flag (or the key it sets) and what is allowed.
func TestNwakuMappedFlags(t *testing.T) {
	t.Parallel()
	const (
		ws      = "/ip4/0.0.0.0/tcp/8000/ws"
		tcp     = "/ip4/0.0.0.0/tcp/60000"
		tree    = "enrtree://AOGYWMBYOUIMOENHXCHILPKY3ZRFEULMFI4DOM442QSZ73TT2A7VI@test.waku.nodes.status.im"
		toychat = "/toychat/2/huilong/proto"
	)
	toychatShard, err := autoshard.ShardFor(toychat, 1, 8)
	if err != nil {
		t.Fatal(err)
	}
	listen := func(want ...string) func(*Config) bool {
		return func(c *Config) bool { return slices.Equal(c.P2P.Listen, want) }
	}
	retention := func(d time.Duration, count, bytes int) func(*Config) bool {
		return func(c *Config) bool {
			return c.Store.RetentionTime == d && c.Store.RetentionCount == count && c.Store.RetentionBytes == bytes
		}
	}
	good := []struct {
		name    string
		preset  string
		env     []string
		args    []string
		check   func(*Config) bool
		warning string // a warning that must be given, if any
	}{
		{name: "tcp-port", args: []string{"--tcp-port=30304"}, check: listen("/ip4/0.0.0.0/tcp/30304", ws)},
		{name: "tcp-port 0", args: []string{"--tcp-port", "0"}, check: listen("/ip4/0.0.0.0/tcp/0", ws)},
		{name: "tcp-port without a TCP address adds one", args: []string{"--p2p-listen=/ip4/127.0.0.1/tcp/8000/ws", "--tcp-port=60001"},
			check: listen("/ip4/127.0.0.1/tcp/8000/ws", "/ip4/127.0.0.1/tcp/60001")},
		{name: "listen-address", args: []string{"--listen-address=127.0.0.1"}, check: listen("/ip4/127.0.0.1/tcp/60000", "/ip4/127.0.0.1/tcp/8000/ws")},
		{name: "listen-address IPv6", args: []string{"--listen-address=::"}, check: listen("/ip6/::/tcp/60000", "/ip6/::/tcp/8000/ws")},
		{name: "listen-address before the ports, whatever the order given", args: []string{"--tcp-port=1", "--listen-address=10.0.0.2", "--websocket-port=2"},
			check: listen("/ip4/10.0.0.2/tcp/1", "/ip4/10.0.0.2/tcp/2/ws")},
		{name: "websocket-support=false drops the websocket address", args: []string{"--websocket-support=false"}, check: listen(tcp)},
		{name: "websocket-support adds one on 8000", args: []string{"--p2p-listen=/ip4/127.0.0.1/tcp/1", "--websocket-support"},
			check: listen("/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/8000/ws")},
		{name: "websocket-support with websocket-port", args: []string{"--p2p-listen=/ip4/127.0.0.1/tcp/1", "--websocket-port=8001", "--websocket-support=true"},
			check: listen("/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/8001/ws")},
		{name: "websocket-support=true keeps the one there", args: []string{"--websocket-support=true"}, check: listen(tcp, ws)},
		{name: "websocket-support=false keeps wss", args: []string{"--websocket-support=false", "--websocket-secure-support",
			"--websocket-secure-cert-path=c.pem", "--websocket-secure-key-path=k.pem"}, check: listen(tcp, ws)},
		{name: "websocket-port", args: []string{"--websocket-port=8100"}, check: listen(tcp, "/ip4/0.0.0.0/tcp/8100/ws")},
		{name: "websocket-port without a websocket address", args: []string{"--websocket-support=false", "--websocket-port=8100"},
			check: listen(tcp), warning: "--websocket-port is ignored: p2p.listen has no websocket address"},
		{name: "rest-address IP alone", args: []string{"--rest-address=0.0.0.0"},
			check: func(c *Config) bool { return c.REST.Address == "0.0.0.0:8645" }},
		{name: "rest-address IP and rest-port", args: []string{"--rest-port=9000", "--rest-address=0.0.0.0"},
			check: func(c *Config) bool { return c.REST.Address == "0.0.0.0:9000" }},
		{name: "rest-address host:port", args: []string{"--rest-address=localhost:9001"},
			check: func(c *Config) bool { return c.REST.Address == "localhost:9001" }},
		{name: "rest-address IPv6", args: []string{"--rest-address=::1"},
			check: func(c *Config) bool { return c.REST.Address == "[::1]:8645" }},
		{name: "rest-address bracketed IPv6", args: []string{"--rest-address=[::1]", "--rest-port=0"},
			check: func(c *Config) bool { return c.REST.Address == "[::1]:0" }},
		{name: "rest-address keeps the port of the environment", env: []string{"RLND_REST_ADDRESS=127.0.0.1:9999"}, args: []string{"--rest-address=0.0.0.0"},
			check: func(c *Config) bool { return c.REST.Address == "0.0.0.0:9999" }},
		{name: "rest-port alone", args: []string{"--rest-port=8646"},
			check: func(c *Config) bool { return c.REST.Address == "127.0.0.1:8646" }},
		{name: "metrics-server-address and port", args: []string{"--metrics-server-address=0.0.0.0", "--metrics-server-port=8003"},
			check: func(c *Config) bool { return c.Metrics.Address == "0.0.0.0:8003" }},
		{name: "metrics-server-address IP alone", args: []string{"--metrics-server-address=10.1.2.3"},
			check: func(c *Config) bool { return c.Metrics.Address == "10.1.2.3:8008" }},
		{name: "max-msg-size KiB", args: []string{"--max-msg-size=150KiB"}, check: func(*Config) bool { return true }},
		{name: "max-msg-size spaced, any case", args: []string{"--max-msg-size", "150 kib"}, check: func(*Config) bool { return true }},
		{name: "max-msg-size KB", args: []string{"--max-msg-size=153.6KB"}, check: func(*Config) bool { return true }},
		{name: "max-msg-size bytes", args: []string{"--max-msg-size=153600B", "--max-msg-size=153600"}, check: func(*Config) bool { return true }},
		{name: "log-level TRACE", args: []string{"--log-level=TRACE"}, check: func(c *Config) bool { return c.Log.Level == "debug" }},
		{name: "log-level DEBUG", args: []string{"--log-level=DEBUG"}, check: func(c *Config) bool { return c.Log.Level == "debug" }},
		{name: "log-level NOTICE", args: []string{"--log-level=Notice"}, check: func(c *Config) bool { return c.Log.Level == "info" }},
		{name: "log-level WARN", args: []string{"--log-level=WARN"}, check: func(c *Config) bool { return c.Log.Level == "warn" }},
		{name: "log-level FATAL", args: []string{"--log-level=fatal"}, check: func(c *Config) bool { return c.Log.Level == "error" }},
		{name: "log-level in the environment", env: []string{"RLND_LOG_LEVEL=ERROR"}, check: func(c *Config) bool { return c.Log.Level == "error" }},
		{name: "log-format JSON", args: []string{"--log-format=JSON"}, check: func(c *Config) bool { return c.Log.Format == "json" }},
		{name: "log-format TEXT", args: []string{"--log-format", "TEXT"}, check: func(c *Config) bool { return c.Log.Format == "text" }},
		{name: "relay", args: []string{"--relay"}, check: func(*Config) bool { return true }},
		{name: "relay=true", args: []string{"--relay=True"}, check: func(*Config) bool { return true }},
		{name: "rln-relay-dynamic", args: []string{"--rln-relay-dynamic=true"}, check: func(*Config) bool { return true }},
		{name: "rln-relay-epoch-sec", args: []string{"--rln-relay-epoch-sec=600"}, check: func(c *Config) bool { return c.RLN.EpochPeriod == 10*time.Minute }},
		{name: "pubsub-topic", args: []string{"--pubsub-topic=/waku/2/rs/1/3"}, check: func(c *Config) bool { return slices.Equal(c.Network.Shards, []int{3}) }},
		{name: "pubsub-topic with shard", args: []string{"--shard=0", "--pubsub-topic=/waku/2/rs/1/3", "--pubsub-topic=/waku/2/rs/1/0"},
			check: func(c *Config) bool { return slices.Equal(c.Network.Shards, []int{0, 3}) }},
		{name: "pubsub-topic of cluster-id", args: []string{"--cluster-id=66", "--pubsub-topic=/waku/2/rs/66/1"},
			check: func(c *Config) bool { return slices.Equal(c.Network.Shards, []int{1}) }},
		{name: "content-topic adds to a list", args: []string{"--shard=7", "--content-topic=" + toychat},
			check: func(c *Config) bool {
				return slices.Contains(c.Network.Shards, int(toychatShard.Shard)) && slices.Contains(c.Network.Shards, 7)
			}},
		{name: "content-topic with every shard", args: []string{"--content-topic=" + toychat},
			check: func(c *Config) bool { return c.Network.Shards == nil }},
		{name: "store-message-db-url sqlite", args: []string{"--store-message-db-url=sqlite://store.sqlite3"},
			check: func(c *Config) bool { return c.Store.DBPath == "store.sqlite3" && c.Store.DBURL == "" }},
		{name: "store-message-db-url absolute sqlite", args: []string{"--store-message-db-url=sqlite:///var/lib/rlnd/store.db"},
			check: func(c *Config) bool { return c.Store.DBPath == "/var/lib/rlnd/store.db" }},
		{name: "store-message-db-url postgres", args: []string{"--store-message-db-url=postgres://u:p@postgres:5432/postgres"},
			check: func(c *Config) bool { return c.Store.DBURL == "postgres://u:p@postgres:5432/postgres" }},
		{name: "store-message-db-url postgresql", args: []string{"--store-message-db-url=postgresql://u@db/waku"},
			check: func(c *Config) bool { return c.Store.DBURL == "postgresql://u@db/waku" }},
		{name: "retention time", args: []string{"--store-message-retention-policy=time:21600"}, check: retention(6*time.Hour, 0, 0)},
		{name: "retention capacity", args: []string{"--store-message-retention-policy=capacity:25000"}, check: retention(0, 25000, 0)},
		{name: "retention size GB", args: []string{"--store-message-retention-policy=size:1GB"}, check: retention(0, 0, 1<<30)},
		{name: "retention size MB", args: []string{"--store-message-retention-policy=size:512mb"}, check: retention(0, 0, 512<<20)},
		{name: "retention size decimal", args: []string{"--store-message-retention-policy=size:1.5Gb"}, check: retention(0, 0, 3<<29)},
		{name: "retention none", args: []string{"--store-message-retention-policy=none"}, check: retention(0, 0, 0)},
		{name: "dns-discovery-url turns DNS discovery on", preset: "devnet", args: []string{"--dns-discovery-url=" + tree},
			check: func(c *Config) bool { return c.Discovery.DNS && slices.Equal(c.Discovery.DNSURLs, []string{tree}) }},
		{name: "dns-discovery=false wins", preset: "devnet", args: []string{"--dns-discovery-url=" + tree, "--dns-discovery=false"},
			check: func(c *Config) bool { return !c.Discovery.DNS }},
		{name: "preset in upper case", preset: "TWN", check: func(c *Config) bool { return c.Network.ClusterID == 1 }},
	}
	covered := make(map[string]bool)
	for _, tt := range good {
		for _, a := range tt.args {
			covered[strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")+" good"] = true
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadNwaku(tt.preset, tt.env, tt.args...)
			if err != nil {
				t.Fatalf("Load(%q): %v", tt.args, err)
			}
			if !tt.check(c) {
				t.Errorf("%q gave %+v", tt.args, *c)
			}
			found := tt.warning == ""
			for _, w := range c.Warnings() {
				found = found || strings.Contains(w, tt.warning)
			}
			if !found {
				t.Errorf("warnings %q lack %q", c.Warnings(), tt.warning)
			}
		})
	}

	bad := []struct {
		name string
		args []string
		want []string // in the error
		not  string   // not in the error
	}{
		{name: "tcp-port not a number", args: []string{"--tcp-port=abc"}, want: []string{`--tcp-port: "abc" is not a port, allowed 0..65535`}},
		{name: "tcp-port too large", args: []string{"--tcp-port=65536"}, want: []string{"--tcp-port", "allowed 0..65535"}},
		{name: "listen-address a name", args: []string{"--listen-address=localhost"},
			want: []string{`--listen-address: "localhost" is not an IP address, allowed an IPv4 or IPv6 address`}},
		{name: "websocket-support not a bool", args: []string{"--websocket-support=maybe"},
			want: []string{"--websocket-support", `"maybe" is not a boolean, allowed true|false`}},
		{name: "websocket-port negative", args: []string{"--websocket-port=-1"}, want: []string{"--websocket-port", "allowed 0..65535"}},
		{name: "rest-port", args: []string{"--rest-port=http"}, want: []string{`--rest-port: "http" is not a port, allowed 0..65535`}},
		{name: "rest-address neither IP nor host:port", args: []string{"--rest-address=rest.example.org"},
			want: []string{"rest.address", "is not host:port", "allowed host:port"}},
		{name: "metrics-server-port", args: []string{"--metrics-server-port=70000"}, want: []string{"--metrics-server-port", "allowed 0..65535"}},
		{name: "metrics-server-address bad", args: []string{"--metrics-server-address=1.2.3"},
			want: []string{"metrics.address", "allowed host:port"}},
		{name: "max-msg-size larger", args: []string{"--max-msg-size=1024KiB"},
			want: []string{"--max-msg-size", "larger than rlnd's fixed limit", "allowed 150KiB"}},
		{name: "max-msg-size smaller", args: []string{"--max-msg-size=100KB"},
			want: []string{"--max-msg-size", "below rlnd's fixed limit", "allowed 150KiB"}},
		{name: "max-msg-size unit", args: []string{"--max-msg-size=1MiB"}, want: []string{"--max-msg-size", `unit "mib"`, "allowed 150KiB"}},
		{name: "max-msg-size not a size", args: []string{"--max-msg-size=big"}, want: []string{"--max-msg-size", "is not a size", "allowed 150KiB"}},
		{name: "log-level", args: []string{"--log-level=verbose"},
			want: []string{"--log-level", `"verbose" is not allowed, allowed debug|info|warn|error, or nwaku's TRACE|DEBUG|INFO|NOTICE|WARN|ERROR|FATAL`}},
		{name: "log-format", args: []string{"--log-format=xml"}, want: []string{"--log-format", `"xml" is not allowed, allowed text|json`}},
		{name: "relay=false", args: []string{"--relay=false"}, want: []string{"--relay=false is not supported, allowed true: rlnd always relays"}},
		{name: "relay not a bool", args: []string{"--relay=on"}, want: []string{"--relay", "not a boolean"}},
		{name: "rln-relay-dynamic=false", args: []string{"--rln-relay-dynamic=false"},
			want: []string{"--rln-relay-dynamic=false is not supported, allowed true", "registry on the chain"}},
		{name: "rln-relay-epoch-sec 0", args: []string{"--rln-relay-epoch-sec=0"}, want: []string{"--rln-relay-epoch-sec", "allowed >= 1"}},
		{name: "rln-relay-epoch-sec a duration", args: []string{"--rln-relay-epoch-sec=10m"}, want: []string{"--rln-relay-epoch-sec", `"10m" is not a whole number of seconds`}},
		{name: "pubsub-topic named", args: []string{"--pubsub-topic=/waku/2/default-waku/proto"},
			want: []string{"--pubsub-topic", "allowed /waku/2/rs/<cluster-id>/<shard>", "use --shard"}},
		{name: "pubsub-topic of another cluster", args: []string{"--pubsub-topic=/waku/2/rs/2/0"},
			want: []string{"--pubsub-topic", "cluster 2", "network.cluster-id is 1", "allowed /waku/2/rs/1/<shard>"}},
		{name: "content-topic", args: []string{"--content-topic=toychat"}, want: []string{"--content-topic", "allowed /<application>/<version>/<topic name>/<encoding>"}},
		{name: "store-message-db-url empty", args: []string{"--store-message-db-url="},
			want: []string{"--store-message-db-url", "in memory", "allowed sqlite://<path> or postgres://"}},
		{name: "store-message-db-url mysql", args: []string{"--store-message-db-url=mysql://waku:s3cret-pw@db:3306/waku"},
			want: []string{"--store-message-db-url", "neither SQLite nor PostgreSQL", "allowed sqlite://<path>"}, not: "s3cret-pw"},
		{name: "store-message-db-url sqlite without a path", args: []string{"--store-message-db-url=sqlite://"},
			want: []string{"--store-message-db-url", "has no path"}},
		{name: "retention size in TB", args: []string{"--store-message-retention-policy=size:1TB"},
			want: []string{"--store-message-retention-policy", "MB or GB", "allowed none, time:<seconds>"}},
		{name: "retention size 0", args: []string{"--store-message-retention-policy=size:0GB"}, want: []string{"--store-message-retention-policy", "above 0"}},
		{name: "retention time not seconds", args: []string{"--store-message-retention-policy=time:2d"},
			want: []string{"--store-message-retention-policy", `"2d" is not a whole number of seconds`}},
		{name: "retention capacity negative", args: []string{"--store-message-retention-policy=capacity:-1"},
			want: []string{"--store-message-retention-policy", "is not a message count"}},
		{name: "retention unknown", args: []string{"--store-message-retention-policy=forever"},
			want: []string{"--store-message-retention-policy", `"forever" is not a retention policy`, "allowed none"}},
	}
	for _, tt := range bad {
		for _, a := range tt.args {
			covered[strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")+" bad"] = true
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadNwaku("", nil, tt.args...)
			if err == nil {
				t.Fatalf("Load(%q) = %+v, want an error", tt.args, *c)
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("error %q is more than one line", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tt.not != "" && strings.Contains(err.Error(), tt.not) {
				t.Errorf("error %q quotes %q", err, tt.not)
			}
		})
	}

	// Every mapped flag has good and bad values above.
	for _, nf := range nwakuFlags() {
		if nf.kind != nwakuMapped {
			continue
		}
		for _, which := range []string{"good", "bad"} {
			if !covered[nf.name+" "+which] {
				t.Errorf("no %s value of --%s is tested", which, nf.name)
			}
		}
	}
}

// An ignored flag changes nothing and gives a warning naming it, for the
// value that asks for something rlnd does not do; a refused flag is one
// error naming it that never quotes its value.
func TestNwakuIgnoredAndRefusedFlags(t *testing.T) {
	t.Parallel()
	plain := mustLoad(t)
	const secret = "0xfeedface-not-to-be-printed"
	for _, nf := range nwakuFlags() {
		if nf.kind == nwakuMapped {
			continue
		}
		t.Run(nf.name, func(t *testing.T) {
			t.Parallel()
			values := []string{secret}
			if nf.isBool {
				values = []string{"true", "false"}
			}
			warned, refused := 0, 0
			for _, v := range values {
				c, err := loadNwaku("", nil, "--"+nf.name+"="+v)
				switch {
				case err != nil:
					refused++
					if !strings.Contains(err.Error(), "--"+nf.name) || strings.Contains(err.Error(), secret) ||
						strings.Count(err.Error(), "\n") != 0 || !errors.Is(err, ErrInvalid) {
						t.Errorf("--%s=%s: error %q: want one line naming the flag, not its value", nf.name, v, err)
					}
				default:
					if w := c.Warnings(); len(w) > 0 {
						warned++
						if len(w) != 1 || !strings.Contains(w[0], "--"+nf.name) || !strings.Contains(w[0], "ignored") {
							t.Errorf("--%s=%s: warnings %q, want one naming the flag", nf.name, v, w)
						}
					}
					c.warnings = nil
					if !reflect.DeepEqual(c, plain) {
						t.Errorf("--%s=%s changed the configuration: %+v", nf.name, v, *c)
					}
				}
			}
			switch nf.kind {
			case nwakuIgnored:
				if refused != 0 || warned != 1 {
					t.Errorf("--%s: %d values refused, %d warned of; an ignored flag warns of exactly one value", nf.name, refused, warned)
				}
			case nwakuRefused:
				if refused != 1 || warned != 0 {
					t.Errorf("--%s: %d values refused, %d warned of; a refused flag refuses its value (a bool flag: the one asking for what rlnd does not do)", nf.name, refused, warned)
				}
			}
		})
	}
}

// Each flag may be given once per kind: aliases, rlnd's names and the
// nwaku table never share a name, and only mapped nwaku flags are in the
// help.
func TestNwakuFlagTable(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs) // panics on a name given twice
	for _, nf := range nwakuFlags() {
		f := fs.Lookup(nf.name)
		if f == nil {
			t.Errorf("--%s is not registered", nf.name)
			continue
		}
		if f.Hidden != (nf.kind != nwakuMapped) {
			t.Errorf("--%s: hidden %v, kind %s; want only mapped flags in the help", nf.name, f.Hidden, nf.kind)
		}
		if nf.note == "" || !strings.Contains(f.Usage, "nwaku's --"+nf.name) {
			t.Errorf("--%s: usage %q does not say what rlnd does with it", nf.name, f.Usage)
		}
		if nf.isBool != (f.NoOptDefVal == "true") {
			t.Errorf("--%s: a bool flag must work alone", nf.name)
		}
	}
}

// nwaku's docs write --name:value; it reads as --name=value for the
// configuration flags and nothing else.
func TestNwakuArgs(t *testing.T) {
	t.Parallel()
	in := []string{"node", "--dns-discovery:true", "--staticnode:/ip4/10.0.0.1/tcp/60000/p2p/16Uiu2HAm", "--nat:extip:203.0.113.7",
		"--ports-shift:1", "--rest-address=::1", "--unknown:x", "-v:1", "--content-topic=/a:b", "--log-level", "x:y", "--", "--store:true"}
	want := []string{"node", "--dns-discovery=true", "--staticnode=/ip4/10.0.0.1/tcp/60000/p2p/16Uiu2HAm", "--nat=extip:203.0.113.7",
		"--ports-shift=1", "--rest-address=::1", "--unknown:x", "-v:1", "--content-topic=/a:b", "--log-level", "x:y", "--", "--store:true"}
	got := NwakuArgs(in)
	if !slices.Equal(got, want) {
		t.Errorf("NwakuArgs(%q)\n = %q\nwant %q", in, got, want)
	}
	if in[1] != "--dns-discovery:true" {
		t.Error("NwakuArgs changed its argument")
	}
	c := mustLoad(t, "--discv5-discovery:false", "--max-connections:20", "--log-level:DEBUG")
	if c.Discovery.Discv5 || c.P2P.MaxConnections != 20 || c.Log.Level != "debug" {
		t.Errorf("the --name:value form did not set the keys: %+v", *c)
	}
}

// An unknown flag is one line naming it, with the nearest flag when one is
// close; other errors, and commands without the configuration flags, keep
// pflag's words.
func TestExplainFlagError(t *testing.T) {
	t.Parallel()
	parse := func(fs *pflag.FlagSet, args ...string) error {
		fs.SetOutput(&strings.Builder{})
		return fs.Parse(args)
	}
	config := func() *pflag.FlagSet {
		fs := pflag.NewFlagSet("node", pflag.ContinueOnError)
		RegisterFlags(fs)
		return fs
	}
	tests := []struct {
		name string
		fs   *pflag.FlagSet
		args []string
		want []string
		not  []string
	}{
		{name: "unknown", fs: config(), args: []string{"--no-such-flag=1"},
			want: []string{"unknown flag --no-such-flag: neither an rlnd flag nor an nwaku flag rlnd knows", "--help"}, not: []string{"did you mean"}},
		{name: "near one", fs: config(), args: []string{"--rest-prot=9"}, want: []string{"unknown flag --rest-prot", "did you mean --rest-port?"}},
		{name: "near an nwaku one", fs: config(), args: []string{"--tcp-prt", "1"}, want: []string{"did you mean --tcp-port?"}},
		{name: "colon form of an unknown flag", fs: config(), args: []string{"--tcp-prot:1"}, want: []string{"unknown flag --tcp-prot:1", "did you mean --tcp-port?"}},
		{name: "another error", fs: config(), args: []string{"--network-cluster-id=x"}, want: []string{`invalid argument "x"`}, not: []string{"unknown flag"}},
		{name: "another command", fs: pflag.NewFlagSet("membership", pflag.ContinueOnError), args: []string{"--tcp-port=1"},
			want: []string{"unknown flag: --tcp-port"}, not: []string{"nwaku"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			perr := parse(tt.fs, tt.args...)
			if perr == nil {
				t.Fatal("Parse succeeded")
			}
			err := ExplainFlagError(tt.fs, perr)
			if !errors.Is(err, perr) {
				t.Errorf("%v does not wrap pflag's %v", err, perr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("%q is more than one line", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("%q has %q", err, n)
				}
			}
		})
	}
}

// nwakuComposeRunNode is the command nwaku-compose runs for a node of The
// Waku Network: the docs (docs.waku.org, "Run Nwaku with Docker Compose";
// "Run Nwaku in a Docker Container" says a node of The Waku Network,
// --cluster-id=1, should run with it) send operators to
// github.com/waku-org/nwaku-compose, whose run_node.sh (commit
// 0287927b1f7074c47b5dcdb554ab6db0adbe43b2) ends in
//
//	exec /usr/bin/wakunode\
//	    --relay=true\
//	    --filter=true\
//	    --lightpush=true\
//	    --keep-alive=true\
//	    --max-connections=150\
//	    --cluster-id=1\
//	    --discv5-discovery=true\
//	    --discv5-udp-port=9005\
//	    --discv5-enr-auto-update=True\
//	    --log-level=DEBUG\
//	    --tcp-port=30304\
//	    --metrics-server=True\
//	    --metrics-server-port=8003\
//	    --metrics-server-address=0.0.0.0\
//	    --rest=true\
//	    --rest-admin=true\
//	    --rest-address=0.0.0.0\
//	    --rest-port=8645\
//	    --rest-allow-origin="waku-org.github.io"\
//	    --rest-allow-origin="localhost:*"\
//	    --nat=extip:"${MY_EXT_IP}"\
//	    --store=true\
//	    --store-message-db-url="postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@postgres:5432/postgres"\
//	    --rln-relay-eth-client-address="${RLN_RELAY_ETH_CLIENT_ADDRESS}"\
//	    --rln-relay-tree-path="/etc/rln_tree"\
//	    "${RLN_RELAY_CRED_PATH}"\
//	    "${RLN_RELAY_CRED_PASSWORD}"\
//	    ${DNS_WSS_CMD}\
//	    ${NODEKEY}\
//	    ${STORE_RETENTION_POLICY}\
//	    ${EXTRA_ARGS}
//
// with RLN_RELAY_CRED_PATH=--rln-relay-cred-path=/keystore/keystore.json,
// RLN_RELAY_CRED_PASSWORD=--rln-relay-cred-password=..., DNS_WSS_CMD (when a
// DOMAIN has a certificate) --websocket-support=true
// --websocket-secure-support=true --websocket-secure-cert-path=...
// --websocket-secure-key-path=... --dns4-domain-name=${DOMAIN},
// NODEKEY=--nodekey=... and STORE_RETENTION_POLICY
// --store-message-retention-policy=size:1GB. Below, the variables are
// expanded with example values.
func nwakuComposeRunNode() []string {
	const script = `
    --relay=true\
    --filter=true\
    --lightpush=true\
    --keep-alive=true\
    --max-connections=150\
    --cluster-id=1\
    --discv5-discovery=true\
    --discv5-udp-port=9005\
    --discv5-enr-auto-update=True\
    --log-level=DEBUG\
    --tcp-port=30304\
    --metrics-server=True\
    --metrics-server-port=8003\
    --metrics-server-address=0.0.0.0\
    --rest=true\
    --rest-admin=true\
    --rest-address=0.0.0.0\
    --rest-port=8645\
    --rest-allow-origin="waku-org.github.io"\
    --rest-allow-origin="localhost:*"\
    --nat=extip:"203.0.113.7"\
    --store=true\
    --store-message-db-url="postgres://postgres:test123@postgres:5432/postgres"\
    --rln-relay-eth-client-address="https://linea-sepolia.infura.io/v3/0123456789abcdef0123456789abcdef"\
    --rln-relay-tree-path="/etc/rln_tree"\
    "--rln-relay-cred-path=/keystore/keystore.json"\
    "--rln-relay-cred-password=my_secret_password"\
    --websocket-support=true --websocket-secure-support=true --websocket-secure-cert-path=/etc/letsencrypt/live/node.example.org/cert.pem --websocket-secure-key-path=/etc/letsencrypt/live/node.example.org/privkey.pem --dns4-domain-name=node.example.org\
    --nodekey=1122334455667788990011223344556677889900112233445566778899001122\
    --store-message-retention-policy=size:1GB`
	var args []string
	for _, word := range strings.Fields(strings.ReplaceAll(script, "\\\n", " ")) {
		args = append(args, strings.ReplaceAll(word, `"`, ""))
	}
	return args
}

// nwaku-compose's command line for The Waku Network loads into the twn
// preset with its settings, and warns of the three flags rlnd ignores.
func TestNwakuComposeCommandLine(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, nwakuComposeRunNode()...)

	want, err := Preset("twn")
	if err != nil {
		t.Fatal(err)
	}
	want.Log.Level = "debug"
	want.P2P.MaxConnections = 150
	want.P2P.Listen = []string{"/ip4/0.0.0.0/tcp/30304", "/ip4/0.0.0.0/tcp/8000/ws"}
	want.P2P.NAT = "extip:203.0.113.7"
	want.P2P.NodeKey = "1122334455667788990011223344556677889900112233445566778899001122"
	want.P2P.DNS4DomainName = "node.example.org"
	want.P2P.WebsocketSecureSupport = true
	want.P2P.WebsocketSecureCertPath = "/etc/letsencrypt/live/node.example.org/cert.pem"
	want.P2P.WebsocketSecureKeyPath = "/etc/letsencrypt/live/node.example.org/privkey.pem"
	want.Discovery.Discv5 = true
	want.Discovery.Discv5UDPPort = 9005
	want.Metrics = MetricsConfig{Enabled: true, Address: "0.0.0.0:8003"}
	want.REST.Enabled = true
	want.REST.Admin = true
	want.REST.Address = "0.0.0.0:8645"
	want.REST.AllowOrigin = []string{"waku-org.github.io", "localhost:*"}
	want.Filter.Enabled = true
	want.Lightpush.Enabled = true
	want.Store.Enabled = true
	want.Store.DBURL = "postgres://postgres:test123@postgres:5432/postgres"
	want.Store.RetentionTime, want.Store.RetentionCount, want.Store.RetentionBytes = 0, 0, 1<<30
	want.Chain.RPCURL = "https://linea-sepolia.infura.io/v3/0123456789abcdef0123456789abcdef"
	want.RLN.Keystore = "/keystore/keystore.json"
	want.RLN.KeystorePassword = "my_secret_password"
	want.warnings = c.warnings
	if !reflect.DeepEqual(*c, want) {
		gotYAML, _ := c.YAML()
		wantYAML, _ := want.YAML()
		t.Errorf("nwaku-compose's command line loaded as\n%s\nwant\n%s", gotYAML, wantYAML)
	}
	warnings := strings.Join(c.Warnings(), "\n")
	for _, flag := range []string{"--keep-alive", "--discv5-enr-auto-update", "--rln-relay-tree-path"} {
		if !strings.Contains(warnings, flag) {
			t.Errorf("no warning names %s: %q", flag, c.Warnings())
		}
	}
	if len(c.Warnings()) != 3 {
		t.Errorf("warnings %q, want the three ignored flags'", c.Warnings())
	}
}
