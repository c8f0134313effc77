package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/internal/redact"
	"github.com/rlnd/rlnd/wire"
)

// nwaku's command line (waku/factory/external_config.nim, and the flags
// older releases had) carries over to rlnd node in three ways:
//
//   - aliases: a flag that sets one key as it is (--cluster-id, --nodekey...)
//     is an alias in the key table (keys.go);
//   - normalized values: log.level takes nwaku's levels, log.format its
//     TEXT|JSON, rest.address and metrics.address an IP alone (keys.go);
//   - the flags below, which are no key of their own: Load maps them onto
//     keys, ignores them with a warning (Config.Warnings) where ignoring
//     changes nothing that matters, or refuses them with one line saying
//     why.
//
// Any other flag is unknown: pflag's error, which ExplainFlagError words
// for an nwaku command line.

// nwaku's default ports of the listeners whose address rlnd keeps as
// host:port.
const (
	nwakuRESTPort      = 8645
	nwakuMetricsPort   = 8008
	nwakuWebsocketPort = 8000
)

// How rlnd takes an nwaku flag, for its help text.
const (
	nwakuMapped  = "mapped"
	nwakuIgnored = "ignored"
	nwakuRefused = "refused"
)

// nwakuFlag is one of nwaku's flags that is not an alias of a key.
type nwakuFlag struct {
	name string
	// kind is nwakuMapped (shown in the help), nwakuIgnored or nwakuRefused
	// (hidden from it; some values may still be accepted, see apply).
	kind string
	// isBool says the flag takes true|false and alone means true.
	isBool bool
	// note says what rlnd does with the flag.
	note string
	// apply applies one value of the flag to c, in the order given, after
	// every key. It returns a warning for a value accepted without
	// effect, and an error (problemf, naming the flag) for a value
	// refused.
	apply func(c *Config, value string) (warning string, err error)
}

// nwakuFlags is the table of nwaku's flags that are not aliases, in the
// order Load applies them: the listen address before the ports, websocket
// support before its port.
func nwakuFlags() []nwakuFlag {
	return []nwakuFlag{
		// Listen addresses and ports.
		{name: "listen-address", kind: nwakuMapped,
			note:  "the IP every p2p.listen address listens on (nwaku's default 0.0.0.0)",
			apply: applyListenAddress},
		{name: "tcp-port", kind: nwakuMapped,
			note:  "the port of the TCP addresses of p2p.listen (nwaku's default 60000)",
			apply: applyTCPPort},
		{name: "websocket-support", kind: nwakuMapped, isBool: true,
			note:  "true: p2p.listen gets a websocket address (/ws on --websocket-port, 8000) if it has none; false: its websocket addresses are dropped (unless p2p.websocket-secure-support serves them as wss)",
			apply: applyWebsocketSupport},
		{name: "websocket-port", kind: nwakuMapped,
			note:  "the port of the websocket addresses of p2p.listen (nwaku's default 8000)",
			apply: applyWebsocketPort},
		{name: "rest-port", kind: nwakuMapped,
			note:  "the port of rest.address (nwaku's default 8645)",
			apply: func(c *Config, v string) (string, error) { return "", setPort("rest-port", &c.REST.Address, v) }},
		{name: "metrics-server-port", kind: nwakuMapped,
			note: "the port of metrics.address (nwaku's default 8008)",
			apply: func(c *Config, v string) (string, error) {
				return "", setPort("metrics-server-port", &c.Metrics.Address, v)
			}},

		// Messages, relay, RLN.
		{name: "max-msg-size", kind: nwakuMapped,
			note:  fmt.Sprintf("%s only (nwaku's default): rlnd's bound on a message is fixed (wire.MaxMessageSize)", maxMsgSizeText),
			apply: applyMaxMsgSize},
		{name: "relay", kind: nwakuMapped, isBool: true,
			note:  "true only: rlnd always relays",
			apply: onlyBool("relay", true, "rlnd always relays (a node without relay is a light client: use rlnd lightpush, rlnd store or a js-waku light node)")},
		{name: "rln-relay-dynamic", kind: nwakuMapped, isBool: true,
			note:  "true only: rlnd always follows the membership registry on the chain",
			apply: onlyBool("rln-relay-dynamic", true, "rlnd follows the membership registry on the chain (chain.rpc-url, chain.contract); it has no static group")},
		{name: "rln-relay-epoch-sec", kind: nwakuMapped,
			note:  "rln.epoch-period, in seconds",
			apply: applyEpochSec},
		{name: "pubsub-topic", kind: nwakuMapped,
			note:  "/waku/2/rs/<cluster-id>/<shard>: adds the shard to network.shards (nwaku's deprecated form of --shard)",
			apply: applyPubsubTopic},
		{name: "content-topic", kind: nwakuMapped,
			note:  "adds the shard of the content topic (autosharding) to network.shards when it lists shards (empty: every shard already)",
			apply: applyContentTopic},

		// Store.
		{name: "store-message-db-url", kind: nwakuMapped,
			note:  "sqlite://<path> sets store.db-path, postgres://... (or postgresql://) store.db-url",
			apply: applyStoreDBURL},
		{name: "store-message-retention-policy", kind: nwakuMapped,
			note:  "none, time:<seconds>, capacity:<count> or size:<n>MB|GB (MiB, GiB) sets store.retention-time, -count or -bytes, and the other two to 0 (no bound)",
			apply: applyRetentionPolicy},
		{name: "store-message-db-vacuum", kind: nwakuIgnored, isBool: true,
			note:  "rlnd's SQLite archive reclaims space as retention deletes",
			apply: ignoreWhen("store-message-db-vacuum", "true", "rlnd does not vacuum its archive at start")},
		{name: "store-message-db-migration", kind: nwakuIgnored, isBool: true,
			note:  "rlnd always brings its own archive schema up to date",
			apply: ignoreWhen("store-message-db-migration", "false", "rlnd always brings its archive's schema up to date at start")},
		{name: "store-max-num-db-connections", kind: nwakuIgnored,
			note:  "rlnd sizes its PostgreSQL pool itself",
			apply: ignore("store-max-num-db-connections", "rlnd sizes its PostgreSQL connection pool itself")},
		{name: "store-resume", kind: nwakuRefused, isBool: true,
			note:  "false only: rlnd does not fetch missed messages from other store nodes at start",
			apply: onlyBool("store-resume", false, "rlnd does not fetch the messages it missed from other store nodes at start")},
		{name: "store-sync", kind: nwakuRefused, isBool: true,
			note:  "false only: rlnd does not speak the store sync protocol",
			apply: onlyBool("store-sync", false, "rlnd does not speak the store sync (reconciliation) protocol")},
		{name: "store-sync-interval", kind: nwakuIgnored,
			note:  "store sync is off in rlnd",
			apply: ignore("store-sync-interval", "rlnd does not speak the store sync protocol")},
		{name: "store-sync-range", kind: nwakuIgnored,
			note:  "store sync is off in rlnd",
			apply: ignore("store-sync-range", "rlnd does not speak the store sync protocol")},
		{name: "store-sync-relay-jitter", kind: nwakuIgnored,
			note:  "store sync is off in rlnd",
			apply: ignore("store-sync-relay-jitter", "rlnd does not speak the store sync protocol")},
		{name: "legacy-store", kind: nwakuRefused, isBool: true,
			note:  "false only: rlnd serves store v3 only",
			apply: onlyBool("legacy-store", false, "rlnd serves store v3 (/vac/waku/store-query/3.0.0) only, not store v2")},

		// Filter.
		{name: "filter-subscription-timeout", kind: nwakuIgnored,
			note:  "rlnd's filter subscriptions expire after 5 minutes without a ping, nwaku's default",
			apply: ignore("filter-subscription-timeout", "rlnd's filter subscriptions expire after 5 minutes without a ping (nwaku's default)")},
		{name: "filter-timeout", kind: nwakuIgnored,
			note:  "the filter v1 setting of older nwaku releases",
			apply: ignore("filter-timeout", "it is a setting of filter v1, which rlnd does not serve")},

		// Peers and connections.
		{name: "keep-alive", kind: nwakuIgnored, isBool: true,
			note:  "rlnd sends no keep-alive pings",
			apply: ignoreWhen("keep-alive", "true", "rlnd sends no keep-alive pings on idle connections")},
		{name: "peer-persistence", kind: nwakuIgnored, isBool: true,
			note:  "rlnd always keeps its peers in <data-dir>/peerstore",
			apply: ignoreWhen("peer-persistence", "false", "rlnd always keeps the peers it knows in <data-dir>/peerstore")},
		{name: "peer-store-capacity", kind: nwakuIgnored,
			note:  "rlnd's peer store has its own bound",
			apply: ignore("peer-store-capacity", "rlnd's peer store has its own bound")},
		{name: "relay-service-ratio", kind: nwakuIgnored,
			note:  "rlnd keeps half of p2p.max-connections for relay peers",
			apply: ignore("relay-service-ratio", "rlnd keeps half of p2p.max-connections for relay peers, the rest for light clients and service peers")},
		{name: "max-relay-peers", kind: nwakuIgnored,
			note:  "rlnd keeps half of p2p.max-connections for relay peers",
			apply: ignore("max-relay-peers", "rlnd keeps half of p2p.max-connections for relay peers")},
		{name: "ip-colocation-limit", kind: nwakuIgnored,
			note:  "rlnd bounds peers per address prefix with its own limits",
			apply: ignore("ip-colocation-limit", "rlnd bounds the peers and requests of one address prefix with its own limits (p2p.requests-per-prefix, p2p.idle-streams-per-prefix, filter.max-peers-per-prefix)")},
		{name: "relay-peer-exchange", kind: nwakuIgnored, isBool: true,
			note:  "rlnd's gossipsub does no peer exchange on prune",
			apply: ignoreWhen("relay-peer-exchange", "true", "rlnd's gossipsub does no peer exchange on prune (discv5 and Waku peer exchange find peers)")},
		{name: "relay-shard-manager", kind: nwakuIgnored, isBool: true,
			note:  "rlnd's peer manager is shard aware already",
			apply: ignoreWhen("relay-shard-manager", "true", "rlnd's peer manager chooses relay peers by shard already")},
		{name: "relay-client", kind: nwakuRefused, isBool: true,
			note:  "false only: rlnd is no circuit relay client",
			apply: onlyBool("relay-client", false, "rlnd is no circuit relay client: a node behind NAT needs its ports forwarded (see p2p.nat)")},
		{name: "agent-string", kind: nwakuIgnored,
			note:  "rlnd identifies as rlnd/<version>",
			apply: ignore("agent-string", "rlnd identifies itself as rlnd/<version>")},
		{name: "dns-addrs", kind: nwakuIgnored, isBool: true,
			note:  "rlnd always resolves /dns, /dns4, /dns6 and /dnsaddr addresses",
			apply: ignoreWhen("dns-addrs", "false", "rlnd always resolves /dns, /dns4, /dns6 and /dnsaddr addresses")},
		{name: "dns-addrs-name-server", kind: nwakuIgnored,
			note:  "rlnd resolves DNS multiaddrs with the system resolver",
			apply: ignore("dns-addrs-name-server", "rlnd resolves DNS multiaddrs with the system resolver (discovery.dns-name-server is for the DNS discovery trees)")},
		{name: "rate-limit", kind: nwakuIgnored,
			note:  "rlnd bounds requests with p2p.requests-* and p2p.idle-streams-*",
			apply: ignore("rate-limit", "rlnd bounds requests per peer, per address prefix and in all with p2p.requests-* and p2p.idle-streams-*")},
		{name: "rendezvous", kind: nwakuIgnored, isBool: true,
			note:  "rlnd serves no rendezvous",
			apply: ignoreWhen("rendezvous", "true", "rlnd serves no rendezvous point (discv5 and peer exchange find peers)")},
		{name: "reliability", kind: nwakuRefused, isBool: true,
			note:  "false only: rlnd has no store-confirmed sending",
			apply: onlyBool("reliability", false, "rlnd does not confirm its own messages with store queries")},

		// Discovery.
		{name: "discv5-enr-auto-update", kind: nwakuIgnored, isBool: true,
			note:  "rlnd's ENR carries the addresses it announces",
			apply: ignoreWhen("discv5-enr-auto-update", "true", "rlnd's ENR carries the addresses it announces (set p2p.nat extip:<IP> or p2p.ext-multiaddr for a public address)")},
		{name: "discv5-table-ip-limit", kind: nwakuIgnored,
			note:  "go-ethereum's discv5 table limits apply",
			apply: ignore("discv5-table-ip-limit", "go-ethereum's discv5 table limits apply")},
		{name: "discv5-bucket-ip-limit", kind: nwakuIgnored,
			note:  "go-ethereum's discv5 table limits apply",
			apply: ignore("discv5-bucket-ip-limit", "go-ethereum's discv5 table limits apply")},
		{name: "discv5-bits-per-hop", kind: nwakuIgnored,
			note:  "go-ethereum's discv5 lookups apply",
			apply: ignore("discv5-bits-per-hop", "go-ethereum's discv5 lookups apply")},

		// RLN.
		{name: "rln-relay-tree-path", kind: nwakuIgnored,
			note:  "rlnd keeps the tree in memory and its sync checkpoint in <data-dir>/membership",
			apply: ignore("rln-relay-tree-path", "rlnd keeps the Merkle tree in memory and its sync checkpoint in <data-dir>/membership")},
		{name: "rln-relay-bandwidth-threshold", kind: nwakuIgnored,
			note:  "rlnd verifies every proof",
			apply: ignore("rln-relay-bandwidth-threshold", "rlnd verifies the proof of every message")},
		{name: "rln-relay-membership-index", kind: nwakuRefused,
			note:  "rlnd publishes with every membership of rln.keystore",
			apply: refuse("rln-relay-membership-index", "rlnd publishes with every membership of rln.keystore; keep only the ones to use in it (rlnd membership list shows them)")},
		{name: "rln-relay-cred-index", kind: nwakuRefused,
			note:  "rlnd publishes with every membership of rln.keystore",
			apply: refuse("rln-relay-cred-index", "rlnd publishes with every membership of rln.keystore; keep only the ones to use in it (rlnd membership list shows them)")},
		{name: "rln-relay-id-key", kind: nwakuRefused,
			note:  "rlnd reads identities from a keystore only",
			apply: refuse("rln-relay-id-key", "rlnd reads RLN identities from a keystore only (--rln-relay-cred-path; rlnd membership keygen and register make one)")},
		{name: "rln-relay-id-commitment-key", kind: nwakuRefused,
			note:  "rlnd reads identities from a keystore only",
			apply: refuse("rln-relay-id-commitment-key", "rlnd reads RLN identities from a keystore only (--rln-relay-cred-path; rlnd membership keygen and register make one)")},
		{name: "rln-relay-eth-private-key", kind: nwakuRefused,
			note:  "rlnd node registers no membership",
			apply: refuse("rln-relay-eth-private-key", "rlnd node registers no membership: register with rlnd membership register, then give its keystore")},
		{name: "execute", kind: nwakuRefused, isBool: true,
			note:  "false only: it belongs to nwaku's keystore generator (use rlnd membership register)",
			apply: onlyBool("execute", false, "it belongs to nwaku's generateRlnKeystore command: register with rlnd membership register")},
		{name: "protected-shard", kind: nwakuRefused,
			note:  "rlnd protects shards with RLN only",
			apply: refuse("protected-shard", "rlnd protects shards with RLN proofs only, not with a signing key")},
		{name: "protected-topic", kind: nwakuRefused,
			note:  "rlnd protects shards with RLN only",
			apply: refuse("protected-topic", "rlnd protects shards with RLN proofs only, not with a signing key")},
		{name: "topic", kind: nwakuRefused,
			note:  "named pubsub topics: use --shard",
			apply: refuse("topic", "rlnd relays the shards /waku/2/rs/<cluster>/<shard> only: use --shard")},

		// APIs and the rest.
		{name: "config-file", kind: nwakuRefused,
			note:  "nwaku's TOML keys are not rlnd's: use --config",
			apply: refuse("config-file", "nwaku's TOML keys are not rlnd's: give rlnd's YAML or TOML file with --config (README.md, Configuration)")},
		{name: "rest-private", kind: nwakuRefused, isBool: true,
			note:  "false only: rlnd has no private REST API",
			apply: onlyBool("rest-private", false, "rlnd serves no private REST API")},
		{name: "metrics-logging", kind: nwakuIgnored, isBool: true,
			note:  "rlnd does not log its metrics",
			apply: ignoreWhen("metrics-logging", "true", "rlnd does not log its metrics periodically (read them at metrics.address)")},
		{name: "rpc", kind: nwakuRefused, isBool: true,
			note:  "false only: rlnd has no JSON-RPC API",
			apply: onlyBool("rpc", false, errNoJSONRPC)},
		{name: "rpc-address", kind: nwakuRefused,
			note:  "rlnd has no JSON-RPC API",
			apply: refuse("rpc-address", errNoJSONRPC)},
		{name: "rpc-port", kind: nwakuRefused,
			note:  "rlnd has no JSON-RPC API",
			apply: refuse("rpc-port", errNoJSONRPC)},
		{name: "rpc-admin", kind: nwakuRefused, isBool: true,
			note:  "false only: rlnd has no JSON-RPC API",
			apply: onlyBool("rpc-admin", false, errNoJSONRPC)},
		{name: "rpc-private", kind: nwakuRefused, isBool: true,
			note:  "false only: rlnd has no JSON-RPC API",
			apply: onlyBool("rpc-private", false, errNoJSONRPC)},
	}
}

const errNoJSONRPC = "rlnd serves no JSON-RPC API (nwaku dropped it too): use the REST API (--rest, --rest-address, --rest-port)"

// registerNwakuFlags adds the flags of nwakuFlags to fs; the ignored and
// refused ones are hidden from the help.
func registerNwakuFlags(fs *pflag.FlagSet) {
	for _, nf := range nwakuFlags() {
		usage := fmt.Sprintf("nwaku's --%s (%s): %s", nf.name, nf.kind, nf.note)
		f := fs.VarPF(&nwakuValue{isBool: nf.isBool}, nf.name, "", usage)
		if nf.isBool {
			f.NoOptDefVal = "true"
		}
		if nf.kind != nwakuMapped {
			f.Hidden = true
		}
	}
}

// nwakuValue collects the values given to an nwaku flag, in order; Load
// checks and applies them.
type nwakuValue struct {
	values []string
	isBool bool
}

func (v *nwakuValue) Set(s string) error {
	v.values = append(v.values, s)
	return nil
}

func (v *nwakuValue) String() string {
	if len(v.values) == 0 {
		return ""
	}
	return v.values[len(v.values)-1]
}

func (v *nwakuValue) Type() string {
	if v.isBool {
		return "bool"
	}
	return "string"
}

// applyNwakuFlags applies the nwaku flags set in fs to c, in table order,
// and records their warnings in c.
func applyNwakuFlags(c *Config, fs *pflag.FlagSet, origins Origins) []error {
	var problems []error
	for _, nf := range nwakuFlags() {
		f := fs.Lookup(nf.name)
		if f == nil || !f.Changed {
			continue
		}
		values := []string{f.Value.String()}
		if v, ok := f.Value.(*nwakuValue); ok {
			values = v.values
		}
		// The keys the flag changes are its: those are the ones a
		// mapped flag sets.
		before := c.values()
		for _, value := range values {
			warning, err := nf.apply(c, strings.TrimSpace(value))
			if err != nil {
				problems = append(problems, err) // one error per flag
				break
			}
			if warning != "" && !slices.Contains(c.warnings, warning) {
				c.warnings = append(c.warnings, warning)
			}
		}
		origins.changed(before, c, Origin{Layer: LayerFlag, Name: "--" + nf.name})
	}
	// nwaku's --dns-discovery-url turns DNS discovery on (its
	// --dns-discovery is deprecated); an explicit --dns-discovery wins.
	if flagChanged(fs, "dns-discovery-url") && !flagChanged(fs, "dns-discovery") && !flagChanged(fs, "discovery-dns") {
		before := c.values()
		c.Discovery.DNS = true
		origins.changed(before, c, Origin{Layer: LayerFlag, Name: "--dns-discovery-url"})
	}
	return problems
}

func flagChanged(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}

// ignore accepts any value of the flag with a warning saying why it has no
// effect.
func ignore(name, why string) func(*Config, string) (string, error) {
	return func(*Config, string) (string, error) {
		return fmt.Sprintf("nwaku's --%s is ignored: %s", name, why), nil
	}
}

// ignoreWhen accepts a boolean flag: the value that asks for something rlnd
// does not do gets a warning, the other value is what rlnd does anyway.
func ignoreWhen(name, warnOn, why string) func(*Config, string) (string, error) {
	want, _ := strconv.ParseBool(warnOn)
	return func(_ *Config, v string) (string, error) {
		b, verr := decodeBool(v)
		if verr != nil {
			return "", problemf(nil, "--%s: %s", name, verr.msg)
		}
		if b != want {
			return "", nil
		}
		return fmt.Sprintf("nwaku's --%s=%t is ignored: %s", name, b, why), nil
	}
}

// onlyBool accepts the one value of a boolean flag that is what rlnd does,
// and refuses the other.
func onlyBool(name string, allowed bool, why string) func(*Config, string) (string, error) {
	return func(_ *Config, v string) (string, error) {
		b, verr := decodeBool(v)
		if verr != nil {
			return "", problemf(nil, "--%s: %s (rlnd supports %t only)", name, verr.msg, allowed)
		}
		if b != allowed {
			return "", problemf(nil, "--%s=%t is not supported, allowed %t: %s", name, b, allowed, why)
		}
		return "", nil
	}
}

// refuse refuses the flag whatever its value, which the error does not
// quote (it may be a secret).
func refuse(name, why string) func(*Config, string) (string, error) {
	return func(*Config, string) (string, error) {
		return "", problemf(nil, "--%s is an nwaku flag rlnd does not support: %s", name, why)
	}
}

// parsePort reads a port number 0..65535.
func parsePort(name, v string) (int, error) {
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil {
		return 0, problemf(nil, "--%s: %q is not a port, allowed 0..65535", name, v)
	}
	return int(n), nil
}

// setPort replaces the port of a host:port address.
func setPort(name string, addr *string, v string) error {
	port, err := parsePort(name, v)
	if err != nil {
		return err
	}
	host, _, splitErr := net.SplitHostPort(*addr)
	if splitErr != nil {
		// Validate reports the address; the port cannot be placed.
		return problemf(nil, "--%s: the address %q has no host:port form to set the port of", name, *addr)
	}
	*addr = net.JoinHostPort(host, strconv.Itoa(port))
	return nil
}

// listenAddrsOf parses p2p.listen; entries that do not parse stay as they
// are (Validate reports them).
func listenAddrsOf(c *Config) ([]listenAddr, []bool) {
	addrs := make([]listenAddr, len(c.P2P.Listen))
	ok := make([]bool, len(c.P2P.Listen))
	for i, s := range c.P2P.Listen {
		l, err := parseListenAddr(s)
		addrs[i], ok[i] = l, err == nil
	}
	return addrs, ok
}

// firstListenIP is the IP of the first valid p2p.listen address, else
// nwaku's default 0.0.0.0.
func firstListenIP(addrs []listenAddr, ok []bool) netip.Addr {
	for i, l := range addrs {
		if ok[i] {
			return l.ip
		}
	}
	return netip.IPv4Unspecified()
}

func applyListenAddress(c *Config, v string) (string, error) {
	ip, err := netip.ParseAddr(v)
	if err != nil || ip.Zone() != "" {
		return "", problemf(nil, "--listen-address: %q is not an IP address, allowed an IPv4 or IPv6 address (nwaku's default 0.0.0.0)", v)
	}
	addrs, ok := listenAddrsOf(c)
	for i := range addrs {
		if ok[i] {
			addrs[i].ip = ip.Unmap()
			c.P2P.Listen[i] = addrs[i].String()
		}
	}
	if len(c.P2P.Listen) == 0 {
		c.P2P.Listen = []string{listenAddr{ip: ip.Unmap(), port: 60000, kind: listenTCP}.String()}
	}
	return "", nil
}

func applyTCPPort(c *Config, v string) (string, error) {
	port, err := parsePort("tcp-port", v)
	if err != nil {
		return "", err
	}
	addrs, ok := listenAddrsOf(c)
	found := false
	for i := range addrs {
		if ok[i] && addrs[i].kind == listenTCP {
			addrs[i].port = port
			c.P2P.Listen[i] = addrs[i].String()
			found = true
		}
	}
	if !found {
		c.P2P.Listen = append(c.P2P.Listen, listenAddr{ip: firstListenIP(addrs, ok), port: port, kind: listenTCP}.String())
	}
	return "", nil
}

func applyWebsocketSupport(c *Config, v string) (string, error) {
	on, verr := decodeBool(v)
	if verr != nil {
		return "", problemf(nil, "--websocket-support: %s", verr.msg)
	}
	addrs, ok := listenAddrsOf(c)
	var kept []string
	found := false
	for i, s := range c.P2P.Listen {
		isWS := ok[i] && addrs[i].kind != listenTCP
		found = found || isWS
		// With p2p.websocket-secure-support the websocket addresses
		// serve wss, which nwaku serves on its websocket port whether
		// or not --websocket-support is on.
		if on || !isWS || c.P2P.WebsocketSecureSupport {
			kept = append(kept, s)
		}
	}
	if on && !found {
		kept = append(kept, listenAddr{ip: firstListenIP(addrs, ok), port: nwakuWebsocketPort, kind: listenWS}.String())
	}
	c.P2P.Listen = kept
	return "", nil
}

func applyWebsocketPort(c *Config, v string) (string, error) {
	port, err := parsePort("websocket-port", v)
	if err != nil {
		return "", err
	}
	addrs, ok := listenAddrsOf(c)
	found := false
	for i := range addrs {
		if ok[i] && addrs[i].kind != listenTCP {
			addrs[i].port = port
			c.P2P.Listen[i] = addrs[i].String()
			found = true
		}
	}
	if !found {
		return "nwaku's --websocket-port is ignored: p2p.listen has no websocket address (add --websocket-support=true)", nil
	}
	return "", nil
}

// maxMsgSizeText is wire.MaxMessageSize as nwaku writes its default.
var maxMsgSizeText = fmt.Sprintf("%dKiB", wire.MaxMessageSize/1024)

func applyMaxMsgSize(_ *Config, v string) (string, error) {
	n, err := parseNwakuSize(v)
	if err != nil {
		return "", problemf(nil, "--max-msg-size: %q %v, allowed %s", v, err, maxMsgSizeText)
	}
	switch {
	case n > wire.MaxMessageSize:
		return "", problemf(nil, "--max-msg-size: %q (%d bytes) is larger than rlnd's fixed limit on a message, %s (%d bytes); allowed %s",
			v, n, maxMsgSizeText, wire.MaxMessageSize, maxMsgSizeText)
	case n < wire.MaxMessageSize:
		return "", problemf(nil, "--max-msg-size: %q (%d bytes) is below rlnd's fixed limit on a message, %s (%d bytes), which it cannot lower; allowed %s",
			v, n, maxMsgSizeText, wire.MaxMessageSize, maxMsgSizeText)
	}
	return "", nil
}

// parseNwakuSize reads a message size as nwaku writes it: a number
// (decimals with '.' or ',') and a unit, B, KB (1000 bytes) or KiB (1024),
// in any case, optionally spaced; a number alone is bytes.
func parseNwakuSize(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != ',' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	f, err := strconv.ParseFloat(strings.Replace(num, ",", ".", 1), 64)
	if err != nil || num == "" || f < 0 {
		return 0, fmt.Errorf("is not a size (e.g. 150KiB, 153600B)")
	}
	var mult float64
	switch unit {
	case "", "b":
		mult = 1
	case "kb":
		mult = 1000
	case "kib":
		mult = 1024
	default:
		return 0, fmt.Errorf("has unit %q, not B, KB or KiB", unit)
	}
	if f*mult >= 1<<63 {
		return 0, fmt.Errorf("is too large")
	}
	return uint64(f * mult), nil
}

func applyEpochSec(c *Config, v string) (string, error) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < 1 {
		return "", problemf(nil, "--rln-relay-epoch-sec: %q is not a whole number of seconds, allowed >= 1", v)
	}
	c.RLN.EpochPeriod = time.Duration(n) * time.Second
	return "", nil
}

// addShard adds shard to network.shards unless it is there.
func addShard(c *Config, shard int) {
	if !slices.Contains(c.Network.Shards, shard) {
		c.Network.Shards = append(c.Network.Shards, shard)
	}
}

func applyPubsubTopic(c *Config, v string) (string, error) {
	t, err := autoshard.ParsePubsubTopic(v)
	if err != nil {
		return "", problemf(nil, "--pubsub-topic: %q is not a shard's topic, allowed /waku/2/rs/<cluster-id>/<shard> (rlnd relays no named topics: use --shard)", v)
	}
	if t.Cluster != c.Network.ClusterID {
		return "", problemf(nil, "--pubsub-topic: %q is a shard of cluster %d, but network.cluster-id is %d; allowed /waku/2/rs/%d/<shard>",
			v, t.Cluster, c.Network.ClusterID, c.Network.ClusterID)
	}
	addShard(c, int(t.Shard))
	return "", nil
}

func applyContentTopic(c *Config, v string) (string, error) {
	t, err := autoshard.ShardFor(v, c.Network.ClusterID, c.Network.NumShards)
	if err != nil {
		return "", problemf(err, "--content-topic: %v; allowed /<application>/<version>/<topic name>/<encoding>", err)
	}
	if len(c.Network.Shards) > 0 {
		addShard(c, int(t.Shard))
	}
	return "", nil
}

func applyStoreDBURL(c *Config, v string) (string, error) {
	const allowed = "allowed sqlite://<path> or postgres://user:password@host:port/db"
	scheme, rest, ok := strings.Cut(v, "://")
	switch {
	case v == "":
		return "", problemf(nil, "--store-message-db-url: empty (nwaku's archive in memory) is not supported: rlnd's archive is a SQLite file or PostgreSQL; %s", allowed)
	case ok && strings.EqualFold(scheme, "sqlite"):
		if rest == "" {
			return "", problemf(nil, "--store-message-db-url: %q has no path; %s", v, allowed)
		}
		c.Store.DBPath, c.Store.DBURL = rest, ""
	case ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql")):
		c.Store.DBURL = v
	default:
		// The URL may hold a password: quote it redacted.
		return "", problemf(nil, "--store-message-db-url: %q is neither SQLite nor PostgreSQL; %s", redact.URL(v), allowed)
	}
	return "", nil
}

func applyRetentionPolicy(c *Config, v string) (string, error) {
	const allowed = "allowed none, time:<seconds>, capacity:<count> or size:<number>MB|GB"
	policy, arg, _ := strings.Cut(strings.ToLower(v), ":")
	s := &c.Store
	switch policy {
	case "", "none":
		if arg != "" {
			break
		}
		s.RetentionTime, s.RetentionCount, s.RetentionBytes = 0, 0, 0
		return "", nil
	case "time":
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n < 1 || n > int64(1<<63-1)/int64(time.Second) {
			return "", problemf(nil, "--store-message-retention-policy: %q: %q is not a whole number of seconds >= 1; %s", v, arg, allowed)
		}
		s.RetentionTime, s.RetentionCount, s.RetentionBytes = time.Duration(n)*time.Second, 0, 0
		return "", nil
	case "capacity":
		n, err := strconv.ParseInt(arg, 10, 0)
		if err != nil || n < 1 {
			return "", problemf(nil, "--store-message-retention-policy: %q: %q is not a message count >= 1; %s", v, arg, allowed)
		}
		s.RetentionTime, s.RetentionCount, s.RetentionBytes = 0, int(n), 0
		return "", nil
	case "size":
		num, mult := arg, 0.0
		if n, ok := strings.CutSuffix(arg, "gb"); ok {
			num, mult = n, 1<<30
		} else if n, ok := strings.CutSuffix(arg, "mb"); ok {
			num, mult = n, 1<<20
		}
		f, err := strconv.ParseFloat(num, 64)
		if mult == 0 || !isDecimal(num) || err != nil || f*mult < 1 || f*mult >= 1<<62 {
			return "", problemf(nil, "--store-message-retention-policy: %q is not a size above 0 in MB or GB (MiB, GiB as nwaku counts); %s", v, allowed)
		}
		s.RetentionTime, s.RetentionCount, s.RetentionBytes = 0, 0, int(f*mult)
		return "", nil
	}
	return "", problemf(nil, "--store-message-retention-policy: %q is not a retention policy; %s", v, allowed)
}

// isDecimal reports whether s is digits with at most one '.' among them.
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// normalizeLogLevel maps nwaku's log levels (any case) onto rlnd's.
func normalizeLogLevel(_, s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace", "debug":
		return "debug", nil
	case "info", "notice":
		return "info", nil
	case "warn":
		return "warn", nil
	case "error", "fatal":
		return "error", nil
	}
	return "", fmt.Errorf("%q is not allowed, allowed debug|info|warn|error, or nwaku's TRACE|DEBUG|INFO|NOTICE|WARN|ERROR|FATAL (any case)", s)
}

// normalizeLogFormat takes nwaku's TEXT and JSON (any case).
func normalizeLogFormat(_, s string) (string, error) {
	switch f := strings.ToLower(strings.TrimSpace(s)); f {
	case "text", "json":
		return f, nil
	}
	return "", fmt.Errorf("%q is not allowed, allowed text|json (any case, as nwaku's TEXT|JSON)", s)
}

// ipAloneKeepsPort takes an IP alone (nwaku's --rest-address and
// --metrics-server-address are IPs; an IPv6 may be bracketed) as that IP
// with the port of the value set before, or defaultPort when that has
// none. Any other text is kept for Validate, which wants host:port.
func ipAloneKeepsPort(defaultPort int) func(before, s string) (string, error) {
	return func(before, s string) (string, error) {
		host := strings.TrimSpace(s)
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || ip.Zone() != "" {
			return s, nil
		}
		port := strconv.Itoa(defaultPort)
		if _, p, err := net.SplitHostPort(before); err == nil && p != "" {
			port = p
		}
		return net.JoinHostPort(ip.String(), port), nil
	}
}
