package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestInvalidValues sets one bad value per row, through the environment or a
// YAML file, and checks that Load rejects it with an error naming the key and
// what is allowed.
func TestInvalidValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		yaml string
		want []string
	}{
		{name: "cluster-id too large", env: []string{"RLND_NETWORK_CLUSTER_ID=70000"},
			want: []string{"config: network.cluster-id: 70000 is out of range, allowed 0..65535"}},
		{name: "cluster-id too large in file", yaml: "network:\n  cluster-id: 70000\n",
			want: []string{"network.cluster-id: 70000 is out of range, allowed 0..65535"}},
		{name: "cluster-id negative", env: []string{"RLND_NETWORK_CLUSTER_ID=-1"},
			want: []string{"network.cluster-id: -1 is out of range, allowed 0..65535"}},
		{name: "requests-per-peer 0", env: []string{"RLND_P2P_REQUESTS_PER_PEER=0"},
			want: []string{"p2p.requests-per-peer: 0 is out of range, allowed 1..65535"}},
		{name: "idle-streams-total 0", env: []string{"RLND_P2P_IDLE_STREAMS_TOTAL=0"},
			want: []string{"p2p.idle-streams-total: 0 is out of range, allowed 1..65535"}},
		{name: "request first-byte timeout below a second", env: []string{"RLND_P2P_REQUEST_FIRST_BYTE_TIMEOUT=10ms"},
			want: []string{"p2p.request-first-byte-timeout: 10ms is too short, allowed >= 1s"}},
		{name: "store max-full-pages 0", env: []string{"RLND_STORE_MAX_FULL_PAGES=0"},
			want: []string{"store.max-full-pages: 0 is out of range, allowed 1..1024"}},
		{name: "num-shards 0", env: []string{"RLND_NETWORK_NUM_SHARDS=0"},
			want: []string{"network.num-shards: 0 is out of range, allowed 1..1024"}},
		{name: "num-shards 1025", env: []string{"RLND_NETWORK_NUM_SHARDS=1025"},
			want: []string{"network.num-shards: 1025 is out of range, allowed 1..1024"}},
		{name: "shard not below num-shards", env: []string{"RLND_NETWORK_SHARDS=1,8"},
			want: []string{"network.shards", "shard 8", "allowed 0..7"}},
		{name: "negative shard", env: []string{"RLND_NETWORK_SHARDS=-1"},
			want: []string{"network.shards", "shard -1"}},
		{name: "duplicate shard", env: []string{"RLND_NETWORK_SHARDS=2,3,2"},
			want: []string{"network.shards", "shard 2", "once"}},
		{name: "non-int shard", yaml: "network:\n  shards: [1, two]\n",
			want: []string{`network.shards[1]: "two" is not an integer`}},
		{name: "shards not a list", yaml: "network:\n  shards: {a: 1}\n",
			want: []string{"network.shards", "not a list of integers"}},
		{name: "epoch-period 1500ms", env: []string{"RLND_RLN_EPOCH_PERIOD=1500ms"},
			want: []string{"rln.epoch-period: 1.5s", "whole seconds"}},
		{name: "epoch-period 0", env: []string{"RLND_RLN_EPOCH_PERIOD=0s"},
			want: []string{"rln.epoch-period: 0s", ">= 1s"}},
		{name: "epoch-period without unit", yaml: "rln:\n  epoch-period: 600\n",
			want: []string{"rln.epoch-period: 600 is not a duration (e.g. 600s, 10m)"}},
		{name: "non-duration string", env: []string{"RLND_RLN_EPOCH_PERIOD=ten"},
			want: []string{`config: rln.epoch-period: "ten" is not a duration (e.g. 600s, 10m)`}},
		{name: "max-epoch-gap fractional", env: []string{"RLND_RLN_MAX_EPOCH_GAP=2.5s"},
			want: []string{"rln.max-epoch-gap: 2.5s", "whole seconds"}},
		{name: "max-epoch-gap 0", env: []string{"RLND_RLN_MAX_EPOCH_GAP=0"},
			want: []string{"rln.max-epoch-gap: 0s", ">= 1s"}},
		{name: "signal", env: []string{"RLND_RLN_SIGNAL=keccak"},
			want: []string{"rln.signal", "timestamped", "payload-topic"}},
		{name: "filter prefix share over max-peers", env: []string{"RLND_FILTER_MAX_PEERS=50", "RLND_FILTER_MAX_PEERS_PER_PREFIX=51"},
			want: []string{"filter.max-peers-per-prefix: 51 is out of range, allowed 1..50"}},
		{name: "filter push queue under one push", env: []string{"RLND_FILTER_PUSH_QUEUE_BYTES=65536"},
			want: []string{"filter.push-queue-bytes: 65536 is out of range, allowed 219136..1073741824"}},
		{name: "user-message-limit 0", env: []string{"RLND_RLN_USER_MESSAGE_LIMIT=0"},
			want: []string{"rln.user-message-limit: 0 is out of range, allowed 1..65535"}},
		{name: "user-message-limit 70000", env: []string{"RLND_RLN_USER_MESSAGE_LIMIT=70000"},
			want: []string{"rln.user-message-limit: 70000 is out of range, allowed 1..65535"}},
		{name: "non-int string", env: []string{"RLND_RLN_USER_MESSAGE_LIMIT=lots"},
			want: []string{`rln.user-message-limit: "lots" is not an integer`}},
		{name: "store db-url not postgres", env: []string{"RLND_STORE_DB_URL=mysql://db/x"},
			want: []string{"store.db-url", "postgres://"}},
		{name: "store without archive", env: []string{"RLND_STORE_ENABLED=true", "RLND_STORE_DB_PATH="},
			want: []string{"store.db-path", "store.db-url", "node.data-dir"}},
		{name: "proof as a service without slots file", env: []string{"RLND_LIGHTPUSH_ENABLED=true", "RLND_LIGHTPUSH_KEYSTORE=ks.json"},
			want: []string{"lightpush.slots-file", "node.data-dir"}},
		{name: "start-timeout below a second", env: []string{"RLND_CHAIN_START_TIMEOUT=500ms"},
			want: []string{"chain.start-timeout: 500ms is too short, allowed >= 1s"}},
		{name: "start-block negative", env: []string{"RLND_CHAIN_START_BLOCK=-1"},
			want: []string{"chain.start-block: -1 is out of range, allowed >= 0"}},
		{name: "non-int string in file", yaml: "rln:\n  user-message-limit: \"ten\"\n",
			want: []string{`rln.user-message-limit: "ten" is not an integer`}},
		{name: "fractional int in file", yaml: "rln:\n  root-window: 2.5\n",
			want: []string{"rln.root-window: 2.5 is not an integer"}},
		{name: "int overflowing 64 bits", env: []string{"RLND_RLN_ROOT_WINDOW=99999999999999999999"},
			want: []string{"rln.root-window: 99999999999999999999 is out of range, allowed 1..10000"}},
		{name: "root-window 0", env: []string{"RLND_RLN_ROOT_WINDOW=0"},
			want: []string{"rln.root-window: 0 is out of range, allowed 1..10000"}},
		{name: "root-window 10001", env: []string{"RLND_RLN_ROOT_WINDOW=10001"},
			want: []string{"rln.root-window: 10001 is out of range, allowed 1..10000"}},
		{name: "rln.enabled not a bool", env: []string{"RLND_RLN_ENABLED=maybe"},
			want: []string{`rln.enabled: "maybe" is not a boolean, allowed true|false`}},
		{name: "bad listen multiaddr", env: []string{"RLND_P2P_LISTEN=/ip4/0.0.0.0/tcp/60000,0.0.0.0:60000"},
			want: []string{`p2p.listen[1]: "0.0.0.0:60000" is not a multiaddr`}},
		{name: "bad static peer multiaddr", env: []string{"RLND_P2P_STATIC_PEERS=/ip4/300.0.0.1/tcp/1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"},
			want: []string{"p2p.static-peers[0]", "is not a multiaddr"}},
		{name: "static peer without /p2p", env: []string{"RLND_P2P_STATIC_PEERS=/ip4/192.0.2.1/tcp/60000"},
			want: []string{"p2p.static-peers[0]", "no /p2p/<peer id> component"}},
		{name: "listen entry not a string", yaml: "p2p:\n  listen: [60000]\n",
			want: []string{"p2p.listen[0]: 60000 is not a string"}},
		{name: "bad rpc-url scheme", env: []string{"RLND_CHAIN_RPC_URL=ftp://rpc.example.org"},
			want: []string{"chain.rpc-url", `scheme "ftp"`, "http, https, ws or wss"}},
		{name: "rpc-url without scheme", env: []string{"RLND_CHAIN_RPC_URL=127.0.0.1:8545"},
			want: []string{"chain.rpc-url", "http, https, ws or wss"}},
		{name: "rpc-url without host", env: []string{"RLND_CHAIN_RPC_URL=http://"},
			want: []string{"chain.rpc-url", "no host"}},
		{name: "chain-id 0", env: []string{"RLND_CHAIN_CHAIN_ID=0"},
			want: []string{"chain.chain-id: 0 is out of range, allowed >= 1"}},
		{name: "chain-id negative", env: []string{"RLND_CHAIN_CHAIN_ID=-5"},
			want: []string{"chain.chain-id: -5 is out of range, allowed >= 1"}},
		{name: "contract too short", env: []string{"RLND_CHAIN_CONTRACT=0xB9cd878C90E49F797B4431fBF4fb333108CB90"},
			want: []string{"chain.contract", "0x followed by 40 hex digits"}},
		{name: "contract non-hex", env: []string{"RLND_CHAIN_CONTRACT=0xZ9cd878C90E49F797B4431fBF4fb333108CB90e6"},
			want: []string{"chain.contract", "0x followed by 40 hex digits"}},
		{name: "contract without 0x", env: []string{"RLND_CHAIN_CONTRACT=00B9cd878C90E49F797B4431fBF4fb333108CB90e6"},
			want: []string{"chain.contract", "0x followed by 40 hex digits"}},
		{name: "contract unquoted number in file", yaml: "chain:\n  contract: 0x0000000000000000000000000000000000000001\n",
			want: []string{"chain.contract: 1 is not a string; quote the value"}},
		{name: "rest.address without port", env: []string{"RLND_REST_ADDRESS=localhost"},
			want: []string{`rest.address: "localhost" is not host:port`}},
		{name: "rest.address port out of range", env: []string{"RLND_REST_ADDRESS=127.0.0.1:70000"},
			want: []string{"rest.address", "port 0..65535"}},
		{name: "metrics.address named port", env: []string{"RLND_METRICS_ADDRESS=127.0.0.1:http"},
			want: []string{"metrics.address", "port 0..65535"}},
		{name: "bad log level", env: []string{"RLND_LOG_LEVEL=verbose"},
			want: []string{`log.level: "verbose" is not allowed, allowed debug|info|warn|error`}},
		{name: "bad log format", env: []string{"RLND_LOG_FORMAT=xml"},
			want: []string{`log.format: "xml" is not allowed, allowed text|json`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := Source{Env: tt.env}
			if tt.yaml != "" {
				src.File = writeFile(t, "rlnd.yaml", tt.yaml)
			}
			c, err := Load(src)
			if err == nil {
				t.Fatalf("Load succeeded with %+v, want an error", *c)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidEdgeValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
	}{
		{name: "range ends", env: []string{
			"RLND_NETWORK_CLUSTER_ID=65535", "RLND_NETWORK_NUM_SHARDS=1024", "RLND_NETWORK_SHARDS=0,1023",
			"RLND_RLN_USER_MESSAGE_LIMIT=65535", "RLND_RLN_ROOT_WINDOW=10000", "RLND_CHAIN_CHAIN_ID=1",
		}},
		{name: "range starts", env: []string{
			"RLND_NETWORK_CLUSTER_ID=0", "RLND_NETWORK_NUM_SHARDS=1", "RLND_NETWORK_SHARDS=0",
			"RLND_RLN_USER_MESSAGE_LIMIT=1", "RLND_RLN_ROOT_WINDOW=1",
			"RLND_RLN_EPOCH_PERIOD=1s", "RLND_RLN_MAX_EPOCH_GAP=1000ms",
		}},
		{name: "empty optional values", env: []string{
			"RLND_CHAIN_RPC_URL=", "RLND_CHAIN_CONTRACT=", "RLND_P2P_LISTEN=", "RLND_P2P_STATIC_PEERS=",
			"RLND_RLN_ARTEFACTS_DIR=",
		}},
		{name: "every URL scheme and address form", env: []string{
			"RLND_CHAIN_RPC_URL=wss://rpc.example.org:443/ws", "RLND_REST_ADDRESS=:0",
			"RLND_METRICS_ADDRESS=[::1]:65535", "RLND_CHAIN_CONTRACT=0xabcdefABCDEF0123456789abcdefABCDEF012345",
		}},
		{name: "bools and log settings", env: []string{
			"RLND_RLN_ENABLED=false", "RLND_REST_ENABLED=1", "RLND_METRICS_ENABLED=TRUE",
			"RLND_LOG_LEVEL=warn", "RLND_LOG_FORMAT=json",
		}},
		{name: "static peer", env: []string{"RLND_P2P_STATIC_PEERS=" + testPeer + "," + testPeer}},
		{name: "store and proof as a service in the data directory", env: []string{
			"RLND_NODE_DATA_DIR=/var/lib/rlnd", "RLND_STORE_ENABLED=true", "RLND_LIGHTPUSH_ENABLED=true", "RLND_LIGHTPUSH_KEYSTORE=ks.json",
			"RLND_CHAIN_START_BLOCK=18446744073709551615", "RLND_CHAIN_START_TIMEOUT=1s",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Load(Source{Env: tt.env}); err != nil {
				t.Errorf("Load: %v", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c, err := Preset("twn")
	if err != nil {
		t.Fatal(err)
	}
	c.Log.Level = "loud"
	c.Network.NumShards = 0
	c.Network.Shards = []int{3, 3}
	c.RLN.EpochPeriod = 1500 * time.Millisecond
	c.Chain.ChainID = 0
	c.Metrics.Address = "nowhere"

	err = c.Validate()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate() = %v, want an error wrapping ErrInvalid", err)
	}
	for _, key := range []string{
		"log.level", "network.num-shards", "network.shards", "rln.epoch-period", "chain.chain-id", "metrics.address",
	} {
		if !strings.Contains(err.Error(), "config: "+key+": ") {
			t.Errorf("error does not report %s:\n%v", key, err)
		}
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != 6 {
		t.Errorf("got %d problems, want 6:\n%v", got, err)
	}
}
