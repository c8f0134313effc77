// Package config holds the typed configuration of an rlnd node: its defaults,
// the named presets, and the loading of a file, RLND_* environment variables
// and command-line flags on top of a preset.
package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrInvalid is wrapped by every error that Load and Validate return, so that
// callers can tell a configuration problem (exit status 2) from a runtime one.
var ErrInvalid = errors.New("invalid configuration")

// DefaultPreset is the preset used when none is named.
const DefaultPreset = "twn"

// Config is the complete configuration of a node. The mapstructure and yaml
// tags are the kebab-case key names used in files.
type Config struct {
	Log       LogConfig       `mapstructure:"log" yaml:"log"`
	Node      NodeConfig      `mapstructure:"node" yaml:"node"`
	Network   NetworkConfig   `mapstructure:"network" yaml:"network"`
	P2P       P2PConfig       `mapstructure:"p2p" yaml:"p2p"`
	Discovery DiscoveryConfig `mapstructure:"discovery" yaml:"discovery"`
	RLN       RLNConfig       `mapstructure:"rln" yaml:"rln"`
	Chain     ChainConfig     `mapstructure:"chain" yaml:"chain"`
	REST      RESTConfig      `mapstructure:"rest" yaml:"rest"`
	Metrics   MetricsConfig   `mapstructure:"metrics" yaml:"metrics"`
	Lightpush LightpushConfig `mapstructure:"lightpush" yaml:"lightpush"`
	Filter    FilterConfig    `mapstructure:"filter" yaml:"filter"`
	Store     StoreConfig     `mapstructure:"store" yaml:"store"`

	// warnings are what Load accepted but does not act on (see Warnings).
	warnings []string
}

// Warnings are the settings Load accepted but that have no effect in rlnd:
// nwaku flags it ignores, each with the reason. `rlnd node` logs them at
// start.
func (c *Config) Warnings() []string {
	return slices.Clone(c.warnings)
}

// NodeConfig holds what concerns the node as a whole.
type NodeConfig struct {
	// DataDir is the node's data directory: the membership sync's
	// checkpoints, and the store archive and lightpush slot file when
	// their paths are not set. Empty: Load's Source.DefaultDataDir (the
	// command line passes DefaultDataDir's); a node without one keeps its
	// sync state in memory only.
	DataDir string `mapstructure:"data-dir" yaml:"data-dir"`
}

// StoreConfig controls the store service and its archive.
type StoreConfig struct {
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// ServiceNode is the peer (a multiaddr with /p2p/<id>) the REST API
	// uses as its store service when a request names none (nwaku's --storenode).
	ServiceNode string `mapstructure:"service-node" yaml:"service-node"`
	// DBPath is the SQLite archive file; empty: store.db in the data
	// directory.
	DBPath string `mapstructure:"db-path" yaml:"db-path"`
	// DBURL, when set, is a PostgreSQL archive (postgres:// or
	// postgresql:// URL) used instead of DBPath; several store nodes may
	// share it.
	DBURL string `mapstructure:"db-url" yaml:"db-url"`
	// RetentionTime, RetentionCount and RetentionBytes bound the archive
	// (0: not applied).
	RetentionTime  time.Duration `mapstructure:"retention-time" yaml:"retention-time"`
	RetentionCount int           `mapstructure:"retention-count" yaml:"retention-count"`
	RetentionBytes int           `mapstructure:"retention-bytes" yaml:"retention-bytes"`
	// MaxFullPages bounds the query responses in flight, in full pages
	// (100 messages of up to 150 KiB); more get 503.
	MaxFullPages int `mapstructure:"max-full-pages" yaml:"max-full-pages"`
}

// FilterConfig controls the filter v2 service. The bounds on subscribers
// bound its memory (filter.Service.MemoryBound).
type FilterConfig struct {
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// ServiceNode is the peer (a multiaddr with /p2p/<id>) the REST API
	// uses as its filter service when a request names none (nwaku's --filternode).
	ServiceNode string `mapstructure:"service-node" yaml:"service-node"`
	// MaxPeers bounds the subscribers, MaxPeersPerPrefix those from one
	// address prefix (/24 IPv4, /56 IPv6).
	MaxPeers          int `mapstructure:"max-peers" yaml:"max-peers"`
	MaxPeersPerPrefix int `mapstructure:"max-peers-per-prefix" yaml:"max-peers-per-prefix"`
	// MaxCriteriaPerPeer bounds one subscriber's (pubsub topic, content
	// topic) criteria; MaxContentTopicLength one content topic's bytes.
	MaxCriteriaPerPeer    int `mapstructure:"max-criteria-per-peer" yaml:"max-criteria-per-peer"`
	MaxContentTopicLength int `mapstructure:"max-content-topic-length" yaml:"max-content-topic-length"`
	// PushQueue and PushQueueBytes bound the messages waiting to be pushed
	// to one subscriber, in messages and in bytes.
	PushQueue      int `mapstructure:"push-queue" yaml:"push-queue"`
	PushQueueBytes int `mapstructure:"push-queue-bytes" yaml:"push-queue-bytes"`
}

// LightpushConfig controls the lightpush service and its RLN proof as a
// service.
type LightpushConfig struct {
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// ServiceNode is the peer (a multiaddr with /p2p/<id>) the REST API
	// uses as its lightpush service when a request names none (nwaku's --lightpushnode).
	ServiceNode string `mapstructure:"service-node" yaml:"service-node"`
	// Keystore holds the memberships whose slots light clients' messages
	// are proved with ("" serves lightpush without proof as a service).
	Keystore string `mapstructure:"keystore" yaml:"keystore"`
	// KeystorePassword unlocks it (better set by RLND_LIGHTPUSH_KEYSTORE_PASSWORD).
	KeystorePassword string `mapstructure:"keystore-password" yaml:"keystore-password"`
	// SlotsFile persists the slots used, so a restart never reuses one;
	// empty: lightpush-slots in the data directory.
	SlotsFile    string `mapstructure:"slots-file" yaml:"slots-file"`
	PerPeerQuota int    `mapstructure:"per-peer-quota" yaml:"per-peer-quota"`
	// PerIPQuota and PerPrefixQuota bound the proofs all clients of one IP
	// address, or of one /24 (IPv4) or /56 (IPv6), get per epoch (0: none).
	PerIPQuota     int `mapstructure:"per-ip-quota" yaml:"per-ip-quota"`
	PerPrefixQuota int `mapstructure:"per-prefix-quota" yaml:"per-prefix-quota"`
	GlobalCap      int `mapstructure:"global-cap" yaml:"global-cap"`
	// ReservedPercent of each epoch's slots is kept for clients not yet
	// served in it.
	ReservedPercent int `mapstructure:"reserved-percent" yaml:"reserved-percent"`
	// Allowlist, when set, is a file of client peer ids (one a line); only
	// they get proofs attached. Reloaded on SIGHUP.
	Allowlist string `mapstructure:"allowlist" yaml:"allowlist"`
	Workers   int    `mapstructure:"workers" yaml:"workers"`
}

// LogConfig selects the log level and output format, and how often the
// node logs its status line (0: never).
type LogConfig struct {
	Level          string        `mapstructure:"level" yaml:"level"`
	Format         string        `mapstructure:"format" yaml:"format"`
	StatusInterval time.Duration `mapstructure:"status-interval" yaml:"status-interval"`
}

// NetworkConfig identifies the Waku network and the shards to relay.
type NetworkConfig struct {
	ClusterID uint16 `mapstructure:"cluster-id" yaml:"cluster-id"`
	NumShards int    `mapstructure:"num-shards" yaml:"num-shards"`
	Shards    []int  `mapstructure:"shards" yaml:"shards"`
}

// P2PConfig lists the libp2p listen addresses and peers dialled at start,
// the node key, the addresses announced to peers and the secure websocket
// certificate.
type P2PConfig struct {
	Listen      []string `mapstructure:"listen" yaml:"listen"`
	StaticPeers []string `mapstructure:"static-peers" yaml:"static-peers"`
	// MaxConnections caps the node's connections (nwaku's
	// --max-connections): the peer manager's budget, half of it for relay
	// peers, and the connection manager's high water mark.
	MaxConnections int `mapstructure:"max-connections" yaml:"max-connections"`
	// NodeKey is the node's secp256k1 private key in hex (nwaku's
	// --nodekey; see DecodeNodeKey); empty: the key file in the data
	// directory.
	NodeKey string `mapstructure:"nodekey" yaml:"nodekey"`
	// PortsShift is added to every port the node listens on (nwaku's
	// --ports-shift; see ShiftPort), so that several nodes share a host.
	PortsShift int `mapstructure:"ports-shift" yaml:"ports-shift"`
	// ExtMultiaddr are announced to peers besides the listen addresses
	// (nwaku's --ext-multiaddr); with ExtMultiaddrOnly, instead of them.
	ExtMultiaddr     []string `mapstructure:"ext-multiaddr" yaml:"ext-multiaddr"`
	ExtMultiaddrOnly bool     `mapstructure:"ext-multiaddr-only" yaml:"ext-multiaddr-only"`
	// NAT is nwaku's --nat: "none", "any" (no port mapping here: as
	// none) or "extip:<IP>" (announce that IP); see ParseNAT.
	NAT string `mapstructure:"nat" yaml:"nat"`
	// DNS4DomainName, when set, is announced as /dns4/<name>/tcp/<port>
	// instead of the IPv4 listen addresses (nwaku's --dns4-domain-name).
	DNS4DomainName string `mapstructure:"dns4-domain-name" yaml:"dns4-domain-name"`
	// WebsocketSecureSupport serves the websocket listen addresses over
	// TLS (/wss) with the certificate and key files (nwaku's
	// --websocket-secure-support, -cert-path, -key-path).
	WebsocketSecureSupport  bool   `mapstructure:"websocket-secure-support" yaml:"websocket-secure-support"`
	WebsocketSecureCertPath string `mapstructure:"websocket-secure-cert-path" yaml:"websocket-secure-cert-path"`
	WebsocketSecureKeyPath  string `mapstructure:"websocket-secure-key-path" yaml:"websocket-secure-key-path"`
	// The request streams of lightpush, store, filter and metadata
	// (p2p/admission), each protocol counted on its own: how long a stream
	// may wait for its request's first byte and a request may take, and
	// the requests in progress and idle streams per peer, per address
	// prefix (/24 IPv4, /56 IPv6) and in all.
	RequestFirstByteTimeout time.Duration `mapstructure:"request-first-byte-timeout" yaml:"request-first-byte-timeout"`
	RequestTimeout          time.Duration `mapstructure:"request-timeout" yaml:"request-timeout"`
	RequestsPerPeer         int           `mapstructure:"requests-per-peer" yaml:"requests-per-peer"`
	RequestsPerPrefix       int           `mapstructure:"requests-per-prefix" yaml:"requests-per-prefix"`
	RequestsTotal           int           `mapstructure:"requests-total" yaml:"requests-total"`
	IdleStreamsPerPeer      int           `mapstructure:"idle-streams-per-peer" yaml:"idle-streams-per-peer"`
	IdleStreamsPerPrefix    int           `mapstructure:"idle-streams-per-prefix" yaml:"idle-streams-per-prefix"`
	IdleStreamsTotal        int           `mapstructure:"idle-streams-total" yaml:"idle-streams-total"`
}

// DiscoveryConfig says how the node finds peers besides p2p.static-peers:
// discv5 (UDP), EIP-1459 DNS trees, entry nodes, and peer exchange.
type DiscoveryConfig struct {
	// Discv5 runs Waku discv5 (packet protocol id d5waku) on UDP
	// Discv5UDPPort (shifted by p2p.ports-shift), from Discv5Bootstrap
	// and the nodes of the DNS trees.
	Discv5          bool     `mapstructure:"discv5" yaml:"discv5"`
	Discv5UDPPort   int      `mapstructure:"discv5-udp-port" yaml:"discv5-udp-port"`
	Discv5Bootstrap []string `mapstructure:"discv5-bootstrap-nodes" yaml:"discv5-bootstrap-nodes"`
	// DNS reads the EIP-1459 trees of DNSURLs (enrtree://) for peers and
	// discv5 bootstrap nodes, with DNSNameServer ("ip[:port]") instead of
	// the system resolver when set.
	DNS           bool     `mapstructure:"dns" yaml:"dns"`
	DNSURLs       []string `mapstructure:"dns-urls" yaml:"dns-urls"`
	DNSNameServer string   `mapstructure:"dns-name-server" yaml:"dns-name-server"`
	// EntryNodes are multiaddrs (with /p2p) of nodes to try at start and
	// to ask for peers; unlike static peers they are not kept connected.
	EntryNodes []string `mapstructure:"entry-nodes" yaml:"entry-nodes"`
	// PeerExchange serves /vac/waku/peer-exchange/2.0.0-alpha1 from the
	// peers discv5 found; PeerExchangeNode, when set, is a node this one
	// asks for peers (nodes without UDP).
	PeerExchange     bool   `mapstructure:"peer-exchange" yaml:"peer-exchange"`
	PeerExchangeNode string `mapstructure:"peer-exchange-node" yaml:"peer-exchange-node"`
}

// TWNDNSTree is The Waku Network's EIP-1459 tree, and TWNEntryNodes its
// bootstrap nodes, as nwaku's twn preset lists them (entryNodes of
// TheWakuNetworkConf in waku/factory/networks_config.nim).
const TWNDNSTree = "enrtree://AOGYWMBYOUIMOENHXCHILPKY3ZRFEULMFI4DOM442QSZ73TT2A7VI@test.waku.nodes.status.im"

// TWNEntryNodes: see TWNDNSTree.
var TWNEntryNodes = []string{
	"/dns4/node-01.ac-cn-hongkong-c.waku.test.status.im/tcp/30303/p2p/16Uiu2HAkzHaTP5JsUwfR9NR8Rj9HC24puS6ocaU8wze4QrXr9iXp",
	"/dns4/node-01.do-ams3.waku.test.status.im/tcp/30303/p2p/16Uiu2HAkykgaECHswi3YKJ5dMLbq2kPVCo89fcyTd38UcQD6ej5W",
	"/dns4/node-01.gc-us-central1-a.waku.test.status.im/tcp/30303/p2p/16Uiu2HAmDCp8XJ9z1ev18zuv8NHekAsjNyezAvmMfFEJkiharitG",
}

// RLNConfig holds the rate-limiting nullifier parameters.
type RLNConfig struct {
	Enabled          bool          `mapstructure:"enabled" yaml:"enabled"`
	EpochPeriod      time.Duration `mapstructure:"epoch-period" yaml:"epoch-period"`
	UserMessageLimit int           `mapstructure:"user-message-limit" yaml:"user-message-limit"`
	MaxEpochGap      time.Duration `mapstructure:"max-epoch-gap" yaml:"max-epoch-gap"`
	RootWindow       int           `mapstructure:"root-window" yaml:"root-window"`
	ArtefactsDir     string        `mapstructure:"artefacts-dir" yaml:"artefacts-dir"`
	// Keystore holds the node's own membership (nwaku's
	// --rln-relay-cred-path): messages published through the REST API get
	// their proofs from it. Empty: the node publishes only messages that
	// carry a proof.
	Keystore string `mapstructure:"keystore" yaml:"keystore"`
	// KeystorePassword unlocks it (better set by RLND_RLN_KEYSTORE_PASSWORD).
	KeystorePassword string `mapstructure:"keystore-password" yaml:"keystore-password"`
	// Signal is what a proof's x commits to: "timestamped" (nwaku since
	// 2025: payload, content topic, timestamp) or "payload-topic" (js-waku
	// and go-waku: payload, content topic).
	Signal string `mapstructure:"signal" yaml:"signal"`
}

// ChainConfig locates the membership contract and bounds the start of its
// sync.
type ChainConfig struct {
	RPCURL   string `mapstructure:"rpc-url" yaml:"rpc-url"`
	ChainID  uint64 `mapstructure:"chain-id" yaml:"chain-id"`
	Contract string `mapstructure:"contract" yaml:"contract"`
	// StartBlock is the first block a sync without a checkpoint reads;
	// 0 asks the contract's deployedBlockNumber() view.
	StartBlock uint64 `mapstructure:"start-block" yaml:"start-block"`
	// StartTimeout is how long the start waits for the chain endpoint to
	// answer before it gives up (a long history sync that gets answers is
	// not bounded).
	StartTimeout time.Duration `mapstructure:"start-timeout" yaml:"start-timeout"`
}

// RESTConfig controls the REST API server.
type RESTConfig struct {
	Enabled bool   `mapstructure:"enabled" yaml:"enabled"`
	Address string `mapstructure:"address" yaml:"address"`
	// AllowOrigin lists the browser origins that may call the API (nwaku's
	// --rest-allow-origin): "*", or origins with * and ? wildcards.
	AllowOrigin []string `mapstructure:"allow-origin" yaml:"allow-origin"`
	// Admin serves /admin/v1 (nwaku's --rest-admin).
	Admin bool `mapstructure:"admin" yaml:"admin"`
	// RelayCacheCapacity is the messages kept per topic subscribed
	// through the API until they are fetched.
	RelayCacheCapacity int `mapstructure:"relay-cache-capacity" yaml:"relay-cache-capacity"`
}

// MetricsConfig controls the Prometheus metrics server.
type MetricsConfig struct {
	Enabled bool   `mapstructure:"enabled" yaml:"enabled"`
	Address string `mapstructure:"address" yaml:"address"`
}

// twnPreset returns the values for The Waku Network; they are also the
// built-in defaults.
func twnPreset() Config {
	return Config{
		Log: LogConfig{Level: "info", Format: "text"},
		Network: NetworkConfig{
			ClusterID: 1,
			NumShards: 8,
		},
		P2P: P2PConfig{
			Listen:                  []string{"/ip4/0.0.0.0/tcp/60000", "/ip4/0.0.0.0/tcp/8000/ws"},
			NAT:                     NATNone,
			MaxConnections:          150,
			RequestFirstByteTimeout: 5 * time.Minute, RequestTimeout: 30 * time.Second,
			RequestsPerPeer: 8, RequestsPerPrefix: 32, RequestsTotal: 128,
			IdleStreamsPerPeer: 4, IdleStreamsPerPrefix: 64, IdleStreamsTotal: 512,
		},
		Discovery: DiscoveryConfig{
			Discv5: true, Discv5UDPPort: 9000,
			DNS: true, DNSURLs: []string{TWNDNSTree},
			EntryNodes:   append([]string(nil), TWNEntryNodes...),
			PeerExchange: true,
		},
		RLN: RLNConfig{
			Enabled:          true,
			EpochPeriod:      600 * time.Second,
			UserMessageLimit: 100,
			MaxEpochGap:      20 * time.Second,
			RootWindow:       50,
			Signal:           "timestamped",
		},
		Chain: ChainConfig{
			ChainID:      59141,
			Contract:     "0xB9cd878C90E49F797B4431fBF4fb333108CB90e6",
			StartTimeout: 60 * time.Second,
		},
		REST:      RESTConfig{Address: "127.0.0.1:8645", RelayCacheCapacity: 50},
		Metrics:   MetricsConfig{Address: "127.0.0.1:8008"},
		Lightpush: LightpushConfig{PerPeerQuota: 10, PerIPQuota: 20, PerPrefixQuota: 40, ReservedPercent: 25, Workers: 2},
		Store:     StoreConfig{RetentionTime: 48 * time.Hour, MaxFullPages: 8},
		Filter: FilterConfig{MaxPeers: 1000, MaxPeersPerPrefix: 100, MaxCriteriaPerPeer: 1000, MaxContentTopicLength: 256,
			PushQueue: 64, PushQueueBytes: 1 << 20},
	}
}

// devnetPreset returns the values for a local development chain with short
// epochs.
func devnetPreset() Config {
	c := twnPreset()
	c.Network.ClusterID = 66
	c.Network.NumShards = 8
	c.RLN.EpochPeriod = 10 * time.Second
	c.RLN.UserMessageLimit = 10
	c.RLN.MaxEpochGap = 20 * time.Second
	c.RLN.RootWindow = 50
	c.Chain.RPCURL = "http://127.0.0.1:8545"
	c.Chain.ChainID = 1337
	// The registry rlnd devchain deploys: the first contract created by
	// dev account 0 (contracts/devchain), at the same address on every
	// fresh dev chain.
	c.Chain.Contract = "0xa1C51e71CFb1dBB016dF743FD5dc48D62Ebb917B"
	c.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/60000", "/ip4/127.0.0.1/tcp/8000/ws"}
	// discv5 on loopback, on any free UDP port (the ENR says which); the
	// first node's ENR is the others' bootstrap node (rlnd devnet sets
	// it). No DNS tree and no entry nodes.
	c.Discovery = DiscoveryConfig{Discv5: true, PeerExchange: true}
	c.REST.Enabled = true
	c.REST.Admin = true
	c.Metrics.Enabled = true
	return c
}

// presets maps each preset name to the function building its values. It is
// built on each call so that nothing mutable is shared between callers.
func presets() map[string]func() Config {
	return map[string]func() Config{
		"twn":    twnPreset,
		"devnet": devnetPreset,
	}
}

// PresetNames returns the names of the known presets, sorted.
func PresetNames() []string {
	all := presets()
	names := make([]string, 0, len(all))
	for name := range all {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Preset returns a fresh copy of the named preset's values. An empty name
// selects DefaultPreset; names are not case sensitive.
func Preset(name string) (Config, error) {
	if name == "" {
		name = DefaultPreset
	}
	// nwaku's --preset is not case sensitive (TWN, twn).
	build, ok := presets()[strings.ToLower(name)]
	if !ok {
		return Config{}, problemf(nil, "unknown preset %q, known presets: %s",
			name, joinNames(PresetNames()))
	}
	return build(), nil
}

// ShardList returns the shards to subscribe to: the explicit list when one is
// set, otherwise every shard 0..num-shards-1.
func (c *Config) ShardList() []int {
	if len(c.Network.Shards) > 0 {
		out := make([]int, len(c.Network.Shards))
		copy(out, c.Network.Shards)
		return out
	}
	n := max(c.Network.NumShards, 0)
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// YAML renders the configuration with the kebab-case keys; durations are
// written in time.Duration.String form. Loading the output as a file gives
// back an equal Config.
func (c *Config) YAML() ([]byte, error) {
	out, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("config: encoding as YAML: %w", err)
	}
	return out, nil
}
