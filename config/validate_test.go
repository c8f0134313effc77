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
		{name: "max-connections 0", env: []string{"RLND_P2P_MAX_CONNECTIONS=0"},
			want: []string{"p2p.max-connections: 0 is out of range, allowed 1..10000"}},
		{name: "discv5 udp port out of range", env: []string{"RLND_DISCOVERY_DISCV5_UDP_PORT=70000"},
			want: []string{"discovery.discv5-udp-port: 70000 is out of range, allowed 0..65535"}},
		{name: "discv5 udp port shifted past 65535", env: []string{"RLND_P2P_PORTS_SHIFT=60000", "RLND_P2P_LISTEN=/ip4/127.0.0.1/tcp/0"},
			want: []string{"discovery.discv5-udp-port: 9000: port 9000 shifted by p2p.ports-shift 60000 is 69000"}},
		{name: "bootstrap node not an ENR", env: []string{"RLND_DISCOVERY_DISCV5_BOOTSTRAP_NODES=enr:-not-a-record"},
			want: []string{"discovery.discv5-bootstrap-nodes[0]: not a valid enr: record"}},
		{name: "dns url not an enrtree", env: []string{"RLND_DISCOVERY_DNS_URLS=https://example.org"},
			want: []string{"discovery.dns-urls[0]:"}},
		{name: "dns on without a url", env: []string{"RLND_DISCOVERY_DNS=true", "RLND_DISCOVERY_DNS_URLS="},
			want: []string{"discovery.dns: is on but discovery.dns-urls is empty"}},
		{name: "dns name server not an address", env: []string{"RLND_DISCOVERY_DNS_NAME_SERVER=ns.example.org"},
			want: []string{`discovery.dns-name-server: "ns.example.org" is neither an IP nor IP:port`}},
		{name: "entry node without a peer id", env: []string{"RLND_DISCOVERY_ENTRY_NODES=/ip4/127.0.0.1/tcp/60000"},
			want: []string{"discovery.entry-nodes[0]:"}},
		{name: "peer exchange node without a peer id", env: []string{"RLND_DISCOVERY_PEER_EXCHANGE_NODE=/ip4/127.0.0.1/tcp/60000"},
			want: []string{"discovery.peer-exchange-node:"}},
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
		{name: "nodekey too short", env: []string{"RLND_P2P_NODEKEY=abcdef"},
			want: []string{"p2p.nodekey", "not shown", "holds 6 characters, want 64 hex digits"}},
		{name: "nodekey not hex", env: []string{"RLND_P2P_NODEKEY=" + strings.Repeat("zz", 32)},
			want: []string{"p2p.nodekey", "is not hex"}},
		{name: "nodekey zero", env: []string{"RLND_P2P_NODEKEY=" + strings.Repeat("00", 32)},
			want: []string{"p2p.nodekey", "not a secp256k1 private key"}},
		{name: "nodekey the group order", env: []string{"RLND_P2P_NODEKEY=FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"},
			want: []string{"p2p.nodekey", "not a secp256k1 private key"}},
		{name: "ports-shift negative", env: []string{"RLND_P2P_PORTS_SHIFT=-1"},
			want: []string{"p2p.ports-shift: -1 is out of range, allowed 0..65535"}},
		{name: "ports-shift beyond the last port", env: []string{"RLND_P2P_PORTS_SHIFT=5536"},
			want: []string{`p2p.listen[0]: "/ip4/0.0.0.0/tcp/60000": port 60000 shifted by p2p.ports-shift 5536 is 65536`}},
		{name: "ports-shift moves metrics beyond the last port", env: []string{"RLND_P2P_PORTS_SHIFT=100", "RLND_METRICS_ENABLED=true",
			"RLND_METRICS_ADDRESS=127.0.0.1:65500"},
			want: []string{`metrics.address: "127.0.0.1:65500": port 65500 shifted by p2p.ports-shift 100 is 65600`}},
		{name: "listen on udp", env: []string{"RLND_P2P_LISTEN=/ip4/0.0.0.0/udp/60000/quic-v1"},
			want: []string{`p2p.listen[0]: "/ip4/0.0.0.0/udp/60000/quic-v1" is not a TCP listen address`, "/ws, /wss or /tls/ws"}},
		{name: "listen on a name", env: []string{"RLND_P2P_LISTEN=/dns4/example.org/tcp/60000"},
			want: []string{`p2p.listen[0]: "/dns4/example.org/tcp/60000" is not a TCP listen address`}},
		{name: "listen on webtransport", env: []string{"RLND_P2P_LISTEN=/ip4/0.0.0.0/tcp/60000/tls/http"},
			want: []string{`p2p.listen[0]: "/ip4/0.0.0.0/tcp/60000/tls/http" has a transport rlnd does not listen on`}},
		{name: "two listeners on one port", env: []string{"RLND_P2P_LISTEN=/ip4/0.0.0.0/tcp/60000,/ip4/0.0.0.0/tcp/60000/ws"},
			want: []string{`p2p.listen[1]: "/ip4/0.0.0.0/tcp/60000/ws" and p2p.listen[0] "/ip4/0.0.0.0/tcp/60000" would both listen on TCP port 60000; give each listener its own port`}},
		{name: "a wildcard and an address on one port", env: []string{"RLND_P2P_LISTEN=/ip4/127.0.0.1/tcp/60000,/ip4/0.0.0.0/tcp/60000"},
			want: []string{"p2p.listen[1]", "p2p.listen[0]", "TCP port 60000"}},
		{name: "libp2p on the metrics port after the shift", env: []string{"RLND_P2P_LISTEN=/ip4/0.0.0.0/tcp/8000", "RLND_P2P_PORTS_SHIFT=8",
			"RLND_METRICS_ENABLED=true", "RLND_METRICS_ADDRESS=127.0.0.1:8000"},
			want: []string{`metrics.address: "127.0.0.1:8000" and p2p.listen[0] "/ip4/0.0.0.0/tcp/8000" would both listen on TCP port 8008 (after p2p.ports-shift 8)`}},
		{name: "REST and metrics on one port", env: []string{"RLND_REST_ENABLED=true", "RLND_REST_ADDRESS=:9000",
			"RLND_METRICS_ENABLED=true", "RLND_METRICS_ADDRESS=localhost:9000"},
			want: []string{`rest.address: ":9000" and metrics.address "localhost:9000" would both listen on TCP port 9000`}},
		{name: "secure websocket listen address without the support", env: []string{"RLND_P2P_LISTEN=/ip4/0.0.0.0/tcp/443/wss"},
			want: []string{`p2p.listen[0]: "/ip4/0.0.0.0/tcp/443/wss" is a secure websocket address, allowed with p2p.websocket-secure-support`}},
		{name: "secure websocket without certificate", env: []string{"RLND_P2P_WEBSOCKET_SECURE_SUPPORT=true"},
			want: []string{"p2p.websocket-secure-cert-path: must be set", "p2p.websocket-secure-key-path: must be set"}},
		{name: "secure websocket without a websocket listener", env: []string{"RLND_P2P_WEBSOCKET_SECURE_SUPPORT=true",
			"RLND_P2P_LISTEN=/ip4/0.0.0.0/tcp/60000", "RLND_P2P_WEBSOCKET_SECURE_CERT_PATH=c.pem", "RLND_P2P_WEBSOCKET_SECURE_KEY_PATH=k.pem"},
			want: []string{"p2p.websocket-secure-support: is on but p2p.listen has no websocket address"}},
		{name: "certificate without secure websocket", env: []string{"RLND_P2P_WEBSOCKET_SECURE_CERT_PATH=c.pem"},
			want: []string{"p2p.websocket-secure-cert-path: is set but p2p.websocket-secure-support is off"}},
		{name: "nat upnp", env: []string{"RLND_P2P_NAT=upnp"},
			want: []string{`p2p.nat: "upnp" is not supported: rlnd does no UPnP or NAT-PMP port mapping`, "extip:<public IP>"}},
		{name: "nat pmp", env: []string{"RLND_P2P_NAT=pmp"},
			want: []string{`p2p.nat: "pmp" is not supported`}},
		{name: "nat unknown", env: []string{"RLND_P2P_NAT=stun"},
			want: []string{`p2p.nat: "stun" is not allowed, allowed none|any|extip:<IP>`}},
		{name: "nat extip not an IP", env: []string{"RLND_P2P_NAT=extip:example.org"},
			want: []string{`p2p.nat: "extip:example.org": "example.org" is not an IP address`}},
		{name: "nat extip unspecified", env: []string{"RLND_P2P_NAT=extip:0.0.0.0"},
			want: []string{`p2p.nat: "extip:0.0.0.0": 0.0.0.0 cannot be dialled`}},
		{name: "ext-multiaddr with /p2p", env: []string{"RLND_P2P_EXT_MULTIADDR=/ip4/203.0.113.7/tcp/60000/p2p/" + testPeerID},
			want: []string{"p2p.ext-multiaddr[0]", "has a /p2p/<peer id> component"}},
		{name: "ext-multiaddr without tcp", env: []string{"RLND_P2P_EXT_MULTIADDR=/ip4/203.0.113.7/udp/9000"},
			want: []string{`p2p.ext-multiaddr[0]: "/ip4/203.0.113.7/udp/9000" is not a TCP address`}},
		{name: "ext-multiaddr not a multiaddr", env: []string{"RLND_P2P_EXT_MULTIADDR=203.0.113.7:60000"},
			want: []string{`p2p.ext-multiaddr[0]: "203.0.113.7:60000" is not a multiaddr`}},
		{name: "ext-multiaddr-only without ext-multiaddr", env: []string{"RLND_P2P_EXT_MULTIADDR_ONLY=true"},
			want: []string{"p2p.ext-multiaddr-only: is on but p2p.ext-multiaddr is empty"}},
		{name: "dns4 domain name with a space", env: []string{"RLND_P2P_DNS4_DOMAIN_NAME=node example.org"},
			want: []string{`p2p.dns4-domain-name: "node example.org" is not a domain name`}},
		{name: "dns4 domain name with an empty label", env: []string{"RLND_P2P_DNS4_DOMAIN_NAME=node..example.org"},
			want: []string{"p2p.dns4-domain-name", "is not a domain name"}},
		{name: "dns4 domain name an IP", env: []string{"RLND_P2P_DNS4_DOMAIN_NAME=203.0.113.7"},
			want: []string{"p2p.dns4-domain-name", "is an IP address", "extip"}},
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
		{name: "node key forms", env: []string{"RLND_P2P_NODEKEY= 0X" + strings.Repeat("Ab", 31) + "01\n"}},
		{name: "the largest node key", env: []string{"RLND_P2P_NODEKEY=FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140"}},
		{name: "the largest ports-shift with ephemeral ports", env: []string{"RLND_P2P_PORTS_SHIFT=65535",
			"RLND_P2P_LISTEN=/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/tcp/0/ws", "RLND_METRICS_ENABLED=true", "RLND_METRICS_ADDRESS=127.0.0.1:0", "RLND_DISCOVERY_DISCV5_UDP_PORT=0"}},
		{name: "one port on each IP family and on distinct addresses", env: []string{
			"RLND_P2P_LISTEN=/ip4/0.0.0.0/tcp/60000,/ip6/::/tcp/60000,/ip4/127.0.0.1/tcp/8000/ws,/ip4/127.0.0.2/tcp/8000",
			"RLND_METRICS_ENABLED=true", "RLND_METRICS_ADDRESS=[::1]:8000"}},
		{name: "announced addresses", env: []string{
			"RLND_P2P_EXT_MULTIADDR=/ip4/203.0.113.7/tcp/60000,/dns4/node.example.org/tcp/443/wss,/dns/node.example.org/tcp/8000/tls/ws,/ip6/2001:db8::7/tcp/1",
			"RLND_P2P_EXT_MULTIADDR_ONLY=true", "RLND_P2P_NAT=extip:2001:db8::7", "RLND_P2P_DNS4_DOMAIN_NAME=node-1.example.org"}},
		{name: "nat modes", env: []string{"RLND_P2P_NAT=ANY"}},
		{name: "nat empty", env: []string{"RLND_P2P_NAT="}},
		{name: "secure websocket", env: []string{"RLND_P2P_LISTEN=/ip4/0.0.0.0/tcp/60000,/ip4/0.0.0.0/tcp/443/wss,/ip4/0.0.0.0/tcp/8000/ws",
			"RLND_P2P_WEBSOCKET_SECURE_SUPPORT=true", "RLND_P2P_WEBSOCKET_SECURE_CERT_PATH=c.pem", "RLND_P2P_WEBSOCKET_SECURE_KEY_PATH=k.pem"}},
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
