package config

import (
	"strings"
)

// keySpec describes one configuration key.
type keySpec struct {
	name    string // dotted kebab-case key, e.g. "network.cluster-id"
	usage   string // what the key means
	allowed string // what values are allowed, for help text and errors
	// field returns a pointer to the key's field in c: *string, *bool, *int,
	// *uint16, *uint64, *time.Duration, *[]int or *[]string.
	field func(c *Config) any
	// secret says how `rlnd config show` hides the value (secrets.go).
	secret secretKind
	// flag, when set, is the command-line flag instead of the key with
	// '.' replaced by '-'.
	flag string
	// aliases are further flag names that set the key: nwaku's names for
	// the same setting, so that its command lines carry over.
	aliases []string
	// rlndAliases are further rlnd names of the flag: --num-shards, the
	// shard count's name in every command (the client commands have no
	// key-derived names).
	rlndAliases []string
	// normalize, when set, rewrites a non-empty text value of a string key
	// as it is stored, given the value set before it (a lower layer's):
	// nwaku's spellings of the same setting become rlnd's. Its error says
	// what is allowed.
	normalize func(before, value string) (string, error)
}

// group is the part of the key before the dot.
func (k keySpec) group() string {
	g, _, _ := strings.Cut(k.name, ".")
	return g
}

// leaf is the part of the key after the dot.
func (k keySpec) leaf() string {
	_, l, _ := strings.Cut(k.name, ".")
	return l
}

// envName is the environment variable that sets the key.
func (k keySpec) envName() string {
	return envPrefix + envUpper(k.name)
}

// flagName is the command-line flag that sets the key.
func (k keySpec) flagName() string {
	if k.flag != "" {
		return k.flag
	}
	return strings.ReplaceAll(k.name, ".", "-")
}

// flagNames are the flag, its rlnd aliases and its nwaku aliases.
func (k keySpec) flagNames() []string {
	names := append([]string{k.flagName()}, k.rlndAliases...)
	return append(names, k.aliases...)
}

const envPrefix = "RLND_"

// envUpper upper-cases s and replaces '.' and '-' with '_'.
func envUpper(s string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(s))
}

// keys returns the table of every configuration key, in documentation order.
func keys() []keySpec {
	return []keySpec{
		{
			name: "log.level", usage: "minimum level of log records",
			allowed:   "debug|info|warn|error, or nwaku's TRACE|DEBUG|INFO|NOTICE|WARN|ERROR|FATAL (any case)",
			field:     func(c *Config) any { return &c.Log.Level },
			normalize: normalizeLogLevel,
		},
		{
			name: "log.format", usage: "log output format",
			allowed:   "text|json (any case: nwaku's TEXT|JSON)",
			field:     func(c *Config) any { return &c.Log.Format },
			normalize: normalizeLogFormat,
		},
		{
			name: "log.status-interval", usage: "how often the node logs a status line at info (peers in and out, relay mesh per shard, messages relayed per second, the membership sync, store, filter and lightpush figures); 0: never",
			allowed: "0 or a duration >= 1s",
			field:   func(c *Config) any { return &c.Log.StatusInterval },
		},
		{
			name: "node.data-dir", usage: "the node's data directory (the node key unless p2p.nodekey is set, membership sync checkpoints; the store archive and lightpush slot file when their paths are empty), created 0700 if missing; empty: $XDG_STATE_HOME/rlnd, or ~/.local/state/rlnd",
			allowed: "a path",
			field:   func(c *Config) any { return &c.Node.DataDir },
			flag:    "data-dir",
		},
		{
			name: "network.cluster-id", usage: "Waku cluster id",
			allowed: "0..65535",
			field:   func(c *Config) any { return &c.Network.ClusterID },
			aliases: []string{"cluster-id"},
		},
		{
			name: "network.num-shards", usage: "number of shards in the cluster",
			allowed:     "1..1024",
			field:       func(c *Config) any { return &c.Network.NumShards },
			aliases:     []string{"num-shards-in-network"},
			rlndAliases: []string{"num-shards"},
		},
		{
			name: "network.shards", usage: "shards to subscribe to; empty means all 0..num-shards-1",
			allowed: "distinct integers 0..num-shards-1",
			field:   func(c *Config) any { return &c.Network.Shards },
			aliases: []string{"shard"},
		},
		{
			name: "p2p.listen", usage: "libp2p listen addresses",
			allowed: "multiaddrs such as /ip4/0.0.0.0/tcp/60000",
			field:   func(c *Config) any { return &c.P2P.Listen },
		},
		{
			name: "p2p.static-peers", usage: "peers to connect to at start",
			allowed: "multiaddrs ending in /p2p/<peer id>",
			field:   func(c *Config) any { return &c.P2P.StaticPeers },
			aliases: []string{"staticnode"},
		},
		{
			name: "p2p.max-connections", usage: "connections the node keeps at most (half for relay peers, the rest for light clients and service peers); the peer manager prunes above it",
			allowed: "1..10000",
			field:   func(c *Config) any { return &c.P2P.MaxConnections },
			aliases: []string{"max-connections"},
		},
		{
			name: "p2p.nodekey", usage: "the node's secp256k1 private key, which its peer id derives from (prefer the environment variable); empty: the key in <data-dir>/nodekey, created on the first start",
			allowed: "empty or 64 hex digits (optionally 0x-prefixed), a valid secp256k1 private key",
			field:   func(c *Config) any { return &c.P2P.NodeKey },
			secret:  secretText,
			aliases: []string{"nodekey"},
		},
		{
			name: "p2p.ports-shift", usage: "added to every port the node listens on (libp2p tcp and websocket, metrics, REST; 0 stays 0), so that several nodes run on one host",
			allowed: "0..65535, every shifted port <= 65535",
			field:   func(c *Config) any { return &c.P2P.PortsShift },
			aliases: []string{"ports-shift"},
		},
		{
			name: "p2p.ext-multiaddr", usage: "addresses announced to peers (identify, ENR) besides the listen addresses, e.g. a port forwarded by a gateway",
			allowed: "multiaddrs /ip4|ip6|dns|dns4|dns6/.../tcp/<port>[/ws|/wss|/tls/ws], without /p2p",
			field:   func(c *Config) any { return &c.P2P.ExtMultiaddr },
			aliases: []string{"ext-multiaddr"},
		},
		{
			name: "p2p.ext-multiaddr-only", usage: "announce only p2p.ext-multiaddr, none of the listen addresses",
			allowed: "true|false (true needs p2p.ext-multiaddr)",
			field:   func(c *Config) any { return &c.P2P.ExtMultiaddrOnly },
			aliases: []string{"ext-multiaddr-only"},
		},
		{
			name: "p2p.nat", usage: "how peers reach the node through NAT: none, any (rlnd maps no ports: as none, with a warning) or extip:<IP> (announce the listen ports on that public IP)",
			allowed: "none|any|extip:<IPv4 or IPv6 address> (upnp and pmp are not supported)",
			field:   func(c *Config) any { return &c.P2P.NAT },
			aliases: []string{"nat"},
		},
		{
			name: "p2p.dns4-domain-name", usage: "announce /dns4/<name>/tcp/<port> (and /ws or /wss) instead of the IPv4 listen addresses; needed by browsers for wss",
			allowed: "empty or a domain name",
			field:   func(c *Config) any { return &c.P2P.DNS4DomainName },
			aliases: []string{"dns4-domain-name"},
		},
		{
			name: "p2p.websocket-secure-support", usage: "serve the websocket listen addresses of p2p.listen over TLS (/wss) with p2p.websocket-secure-cert-path and -key-path",
			allowed: "true|false (true needs a websocket address in p2p.listen and both paths)",
			field:   func(c *Config) any { return &c.P2P.WebsocketSecureSupport },
			aliases: []string{"websocket-secure-support"},
		},
		{
			name: "p2p.websocket-secure-cert-path", usage: "PEM certificate (chain) of the secure websocket listener",
			allowed: "empty or a path (set with p2p.websocket-secure-support)",
			field:   func(c *Config) any { return &c.P2P.WebsocketSecureCertPath },
			aliases: []string{"websocket-secure-cert-path"},
		},
		{
			name: "p2p.websocket-secure-key-path", usage: "PEM private key of that certificate",
			allowed: "empty or a path (set with p2p.websocket-secure-support)",
			field:   func(c *Config) any { return &c.P2P.WebsocketSecureKeyPath },
			aliases: []string{"websocket-secure-key-path"},
		},
		{
			name: "discovery.discv5", usage: "find peers with Waku discv5 (UDP, packet protocol id d5waku)",
			allowed: "true|false",
			field:   func(c *Config) any { return &c.Discovery.Discv5 },
			aliases: []string{"discv5-discovery"},
		},
		{
			name: "discovery.discv5-udp-port", usage: "UDP port of discv5 (shifted by p2p.ports-shift)",
			allowed: "0..65535 (0: any free port)",
			field:   func(c *Config) any { return &c.Discovery.Discv5UDPPort },
			aliases: []string{"discv5-udp-port"},
		},
		{
			name: "discovery.discv5-bootstrap-nodes", usage: "ENRs of discv5 nodes to start from (besides those of the DNS trees)",
			allowed: "enr: records",
			field:   func(c *Config) any { return &c.Discovery.Discv5Bootstrap },
			aliases: []string{"discv5-bootstrap-node"},
		},
		{
			name: "discovery.dns", usage: "read the EIP-1459 trees of discovery.dns-urls for peers and discv5 bootstrap nodes",
			allowed: "true|false",
			field:   func(c *Config) any { return &c.Discovery.DNS },
			aliases: []string{"dns-discovery"},
		},
		{
			name: "discovery.dns-urls", usage: "EIP-1459 trees to read",
			allowed: "enrtree://<public key>@<domain>",
			field:   func(c *Config) any { return &c.Discovery.DNSURLs },
			aliases: []string{"dns-discovery-url"},
		},
		{
			name: "discovery.dns-name-server", usage: "DNS server the trees are read from; empty: the system resolver",
			allowed: "empty, an IP or IP:port",
			field:   func(c *Config) any { return &c.Discovery.DNSNameServer },
			aliases: []string{"dns-discovery-name-server"},
		},
		{
			name: "discovery.entry-nodes", usage: "nodes tried at start and asked for peers; unlike static peers not kept connected",
			allowed: "multiaddrs ending in /p2p/<peer id>",
			field:   func(c *Config) any { return &c.Discovery.EntryNodes },
		},
		{
			name: "discovery.peer-exchange", usage: "serve peer exchange (js-waku light clients find service nodes this way) from the peers discv5 found",
			allowed: "true|false",
			field:   func(c *Config) any { return &c.Discovery.PeerExchange },
			aliases: []string{"peer-exchange"},
		},
		{
			name: "discovery.peer-exchange-node", usage: "a node to ask for peers over peer exchange (for nodes without UDP)",
			allowed: "empty or a multiaddr ending in /p2p/<peer id>",
			field:   func(c *Config) any { return &c.Discovery.PeerExchangeNode },
			aliases: []string{"peer-exchange-node"},
		},
		{
			name: "p2p.request-first-byte-timeout", usage: "how long a lightpush, store, filter or metadata stream may stay open before its request starts (nwaku's streams idle out after 5 min; js-waku opens streams ahead of use)",
			allowed: ">= 1s",
			field:   func(c *Config) any { return &c.P2P.RequestFirstByteTimeout },
		},
		{
			name: "p2p.request-timeout", usage: "how long one request may take from its first byte to the end of its answer",
			allowed: ">= 1s",
			field:   func(c *Config) any { return &c.P2P.RequestTimeout },
		},
		{
			name: "p2p.requests-per-peer", usage: "requests one peer id may have in progress on one protocol; more are answered busy (429)",
			allowed: "1..65535",
			field:   func(c *Config) any { return &c.P2P.RequestsPerPeer },
		},
		{
			name: "p2p.requests-per-prefix", usage: "requests one /24 (IPv4) or /56 (IPv6) may have in progress on one protocol; more are answered busy (429)",
			allowed: "1..65535",
			field:   func(c *Config) any { return &c.P2P.RequestsPerPrefix },
		},
		{
			name: "p2p.requests-total", usage: "requests in progress on one protocol in all; more are answered busy (503)",
			allowed: "1..65535",
			field:   func(c *Config) any { return &c.P2P.RequestsTotal },
		},
		{
			name: "p2p.idle-streams-per-peer", usage: "streams one peer id may hold open on one protocol before their request starts; a newer one resets the peer's oldest",
			allowed: "1..65535",
			field:   func(c *Config) any { return &c.P2P.IdleStreamsPerPeer },
		},
		{
			name: "p2p.idle-streams-per-prefix", usage: "idle streams one /24 or /56 may hold on one protocol; a newer one resets the prefix's oldest",
			allowed: "1..65535",
			field:   func(c *Config) any { return &c.P2P.IdleStreamsPerPrefix },
		},
		{
			name: "p2p.idle-streams-total", usage: "idle streams on one protocol in all; a newer one resets the oldest of the prefix holding the most",
			allowed: "1..65535",
			field:   func(c *Config) any { return &c.P2P.IdleStreamsTotal },
		},
		{
			name: "rln.enabled", usage: "validate RLN proofs on relayed messages",
			allowed: "true|false",
			field:   func(c *Config) any { return &c.RLN.Enabled },
			aliases: []string{"rln-relay"},
		},
		{
			name: "rln.epoch-period", usage: "length of an RLN epoch",
			allowed: ">= 1s, whole seconds",
			field:   func(c *Config) any { return &c.RLN.EpochPeriod },
		},
		{
			name: "rln.user-message-limit", usage: "messages a member may send per epoch",
			allowed: "1..65535",
			field:   func(c *Config) any { return &c.RLN.UserMessageLimit },
			aliases: []string{"rln-relay-user-message-limit"},
		},
		{
			name: "rln.max-epoch-gap", usage: "largest accepted distance between a message's epoch and ours",
			allowed: ">= 1s, whole seconds",
			field:   func(c *Config) any { return &c.RLN.MaxEpochGap },
		},
		{
			name: "rln.root-window", usage: "number of recent Merkle roots accepted in proofs",
			allowed: "1..10000",
			field:   func(c *Config) any { return &c.RLN.RootWindow },
		},
		{
			name: "rln.keystore", usage: "RLN keystore of the node's own membership: messages published through the REST API get their proofs from it; empty: only messages that carry a proof are published",
			allowed: "empty or a path",
			field:   func(c *Config) any { return &c.RLN.Keystore },
			aliases: []string{"rln-relay-cred-path"},
		},
		{
			name: "rln.keystore-password", usage: "password of rln.keystore (prefer the environment variable)",
			allowed: "any text",
			field:   func(c *Config) any { return &c.RLN.KeystorePassword },
			secret:  secretText,
			aliases: []string{"rln-relay-cred-password"},
		},
		{
			name: "rln.signal", usage: "what a proof's x commits to: nwaku's payload+topic+timestamp, or js-waku/go-waku's payload+topic",
			allowed: "timestamped|payload-topic",
			field:   func(c *Config) any { return &c.RLN.Signal },
		},
		{
			name: "rln.artefacts-dir", usage: "directory of the RLN circuit artefacts; empty means ../shared/rln/tree_depth_20 when present",
			allowed: "any path",
			field:   func(c *Config) any { return &c.RLN.ArtefactsDir },
		},
		{
			name: "chain.rpc-url", usage: "RPC endpoint of the chain holding the membership contract",
			allowed: "empty or an http, https, ws or wss URL",
			field:   func(c *Config) any { return &c.Chain.RPCURL },
			secret:  secretURL,
			aliases: []string{"rln-relay-eth-client-address"},
		},
		{
			name: "chain.chain-id", usage: "id of the chain holding the membership contract",
			allowed: ">= 1",
			field:   func(c *Config) any { return &c.Chain.ChainID },
			aliases: []string{"rln-relay-chain-id"},
		},
		{
			name: "chain.contract", usage: "address of the membership contract",
			allowed: "empty or 0x followed by 40 hex digits",
			field:   func(c *Config) any { return &c.Chain.Contract },
			aliases: []string{"rln-relay-eth-contract-address"},
		},
		{
			name: "chain.start-block", usage: "first block a sync without a checkpoint reads; 0: the contract's deployedBlockNumber()",
			allowed: ">= 0",
			field:   func(c *Config) any { return &c.Chain.StartBlock },
		},
		{
			name: "chain.start-timeout", usage: "how long the start waits for the chain endpoint to answer before the node exits (a history sync that gets answers may take longer)",
			allowed: ">= 1s",
			field:   func(c *Config) any { return &c.Chain.StartTimeout },
		},
		{
			name: "rest.enabled", usage: "serve the REST API",
			allowed: "true|false",
			field:   func(c *Config) any { return &c.REST.Enabled },
			aliases: []string{"rest"},
		},
		{
			name: "rest.address", usage: "listen address of the REST API (nwaku's --rest-address is an IP alone: it keeps the port set before, which --rest-port changes)",
			allowed:   "host:port with port 0..65535, or an IP alone",
			field:     func(c *Config) any { return &c.REST.Address },
			normalize: ipAloneKeepsPort(nwakuRESTPort),
		},
		{
			name: "rest.allow-origin", usage: "browser origins allowed to call the REST API (CORS): * or origins with * and ? wildcards, scheme optional; empty: no CORS headers",
			allowed: "list of origins",
			field:   func(c *Config) any { return &c.REST.AllowOrigin },
		},
		{
			name: "rest.admin", usage: "serve the REST admin endpoints (/admin/v1/peers)",
			allowed: "true|false",
			field:   func(c *Config) any { return &c.REST.Admin },
		},
		{
			name: "rest.relay-cache-capacity", usage: "relayed messages kept per topic subscribed through the REST API until fetched (the oldest go first)",
			allowed: "1..100000",
			field:   func(c *Config) any { return &c.REST.RelayCacheCapacity },
		},
		{
			name: "metrics.enabled", usage: "serve Prometheus metrics",
			allowed: "true|false",
			field:   func(c *Config) any { return &c.Metrics.Enabled },
			aliases: []string{"metrics-server"},
		},
		{
			name: "metrics.address", usage: "listen address of the metrics server (nwaku's --metrics-server-address is an IP alone: it keeps the port set before, which --metrics-server-port changes)",
			allowed:   "host:port with port 0..65535, or an IP alone",
			field:     func(c *Config) any { return &c.Metrics.Address },
			normalize: ipAloneKeepsPort(nwakuMetricsPort),
			aliases:   []string{"metrics-server-address"},
		},
		{
			name: "lightpush.enabled", usage: "serve lightpush (v3 and v2-beta1)",
			allowed: "true|false",
			field:   func(c *Config) any { return &c.Lightpush.Enabled },
			aliases: []string{"lightpush"},
		},
		{
			name: "lightpush.service-node", usage: "lightpush service peer the REST API pushes through when a request names none; empty: the node's own lightpush service, else a connected peer offering it",
			allowed: "empty or a multiaddr with /p2p/<id>",
			field:   func(c *Config) any { return &c.Lightpush.ServiceNode },
			aliases: []string{"lightpushnode"},
		},
		{
			name: "lightpush.keystore", usage: "RLN keystore whose memberships prove light clients' messages; empty: no proof as a service",
			allowed: "any path",
			field:   func(c *Config) any { return &c.Lightpush.Keystore },
		},
		{
			name: "lightpush.keystore-password", usage: "password of lightpush.keystore (prefer the environment variable)",
			allowed: "any text",
			field:   func(c *Config) any { return &c.Lightpush.KeystorePassword },
			secret:  secretText,
		},
		{
			name: "lightpush.slots-file", usage: "file where the RLN slots used for light clients are persisted; empty: lightpush-slots in node.data-dir",
			allowed: "empty or a path",
			field:   func(c *Config) any { return &c.Lightpush.SlotsFile },
		},
		{
			name: "lightpush.per-peer-quota", usage: "proofs one light client may get per epoch",
			allowed: "1..65535",
			field:   func(c *Config) any { return &c.Lightpush.PerPeerQuota },
		},
		{
			name: "lightpush.per-ip-quota", usage: "proofs all light clients of one IP address may get per epoch; 0: no bound",
			allowed: "0..65535",
			field:   func(c *Config) any { return &c.Lightpush.PerIPQuota },
		},
		{
			name: "lightpush.per-prefix-quota", usage: "proofs all light clients of one /24 (IPv4) or /56 (IPv6) may get per epoch; 0: no bound",
			allowed: "0..65535",
			field:   func(c *Config) any { return &c.Lightpush.PerPrefixQuota },
		},
		{
			name: "lightpush.reserved-percent", usage: "share of each epoch's proofs kept for clients (peer ids and prefixes) not yet served in it",
			allowed: "0..100",
			field:   func(c *Config) any { return &c.Lightpush.ReservedPercent },
		},
		{
			name: "lightpush.allowlist", usage: "file of client peer ids (one a line) that alone get proofs attached, reloaded on SIGHUP; empty: every client",
			allowed: "any path",
			field:   func(c *Config) any { return &c.Lightpush.Allowlist },
		},
		{
			name: "lightpush.global-cap", usage: "proofs the service attaches per epoch in all; 0: as many as its memberships allow",
			allowed: ">= 0",
			field:   func(c *Config) any { return &c.Lightpush.GlobalCap },
		},
		{
			name: "lightpush.workers", usage: "proofs made at once",
			allowed: "1..64",
			field:   func(c *Config) any { return &c.Lightpush.Workers },
		},
		{
			name: "filter.enabled", usage: "serve filter v2 to light clients",
			allowed: "true|false",
			field:   func(c *Config) any { return &c.Filter.Enabled },
			aliases: []string{"filter"},
		},
		{
			name: "filter.service-node", usage: "filter service peer the REST API subscribes through when a request names none; empty: a connected peer offering filter",
			allowed: "empty or a multiaddr with /p2p/<id>",
			field:   func(c *Config) any { return &c.Filter.ServiceNode },
			aliases: []string{"filternode"},
		},
		{
			name: "filter.max-peers", usage: "filter subscribers served at once",
			allowed: "1..100000",
			field:   func(c *Config) any { return &c.Filter.MaxPeers },
			aliases: []string{"filter-max-peers-to-serve"},
		},
		{
			name: "filter.max-peers-per-prefix", usage: "filter subscribers from one address prefix (/24 IPv4, /56 IPv6); more get 429",
			allowed: "1..filter.max-peers",
			field:   func(c *Config) any { return &c.Filter.MaxPeersPerPrefix },
		},
		{
			name: "filter.max-criteria-per-peer", usage: "(pubsub topic, content topic) criteria of one filter subscriber",
			allowed: "1..100000",
			field:   func(c *Config) any { return &c.Filter.MaxCriteriaPerPeer },
			aliases: []string{"filter-max-criteria"},
		},
		{
			name: "filter.max-content-topic-length", usage: "bytes of one content topic a filter subscriber may ask for",
			allowed: "16..4096",
			field:   func(c *Config) any { return &c.Filter.MaxContentTopicLength },
		},
		{
			name: "filter.push-queue", usage: "messages waiting to be pushed to one filter subscriber; more are dropped",
			allowed: "1..65536",
			field:   func(c *Config) any { return &c.Filter.PushQueue },
		},
		{
			name: "filter.push-queue-bytes", usage: "bytes of messages waiting to be pushed to one filter subscriber; more are dropped",
			allowed: "219136 (one push of the largest message)..1073741824",
			field:   func(c *Config) any { return &c.Filter.PushQueueBytes },
		},
		{
			name: "store.enabled", usage: "archive relayed messages and serve store v3 queries",
			allowed: "true|false",
			field:   func(c *Config) any { return &c.Store.Enabled },
			aliases: []string{"store"},
		},
		{
			name: "store.service-node", usage: "store service peer the REST API queries when a request names no peerAddr; empty: the node's own archive when store is on, else a connected peer offering store",
			allowed: "empty or a multiaddr with /p2p/<id>",
			field:   func(c *Config) any { return &c.Store.ServiceNode },
			aliases: []string{"storenode"},
		},
		{
			name: "store.db-path", usage: "SQLite file of the message archive; empty: store.db in node.data-dir",
			allowed: "empty or a path",
			field:   func(c *Config) any { return &c.Store.DBPath },
		},
		{
			name: "store.db-url", usage: "PostgreSQL archive shared by several store nodes (postgres://user:password@host:5432/db); empty: the SQLite file store.db-path",
			allowed: "empty or a postgres:// URL",
			field:   func(c *Config) any { return &c.Store.DBURL },
			secret:  secretURL,
		},
		{
			name: "store.retention-time", usage: "drop messages older than this; 0 keeps them",
			allowed: ">= 0",
			field:   func(c *Config) any { return &c.Store.RetentionTime },
		},
		{
			name: "store.retention-count", usage: "keep at most this many messages; 0: no bound",
			allowed: ">= 0",
			field:   func(c *Config) any { return &c.Store.RetentionCount },
		},
		{
			name: "store.retention-bytes", usage: "keep at most this many bytes of messages; 0: no bound",
			allowed: ">= 0",
			field:   func(c *Config) any { return &c.Store.RetentionBytes },
		},
		{
			name: "store.max-full-pages", usage: "query responses in flight, in full pages (100 messages of up to 150 KiB, about 15 MiB each); more are answered busy (503)",
			allowed: "1..1024",
			field:   func(c *Config) any { return &c.Store.MaxFullPages },
		},
	}
}

// groupNames returns the key groups in table order.
func groupNames(table []keySpec) []string {
	var out []string
	seen := make(map[string]bool)
	for _, k := range table {
		if g := k.group(); !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// leavesOf returns the leaf names of the keys in group g, in table order.
func leavesOf(table []keySpec, g string) []string {
	var out []string
	for _, k := range table {
		if k.group() == g {
			out = append(out, k.leaf())
		}
	}
	return out
}
