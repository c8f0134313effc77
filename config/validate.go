package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/rlnd/rlnd/internal/redact"
	"github.com/rlnd/rlnd/p2p/dnsdisc"
	"github.com/rlnd/rlnd/p2p/wakuenr"
	"github.com/rlnd/rlnd/wire"
)

// checker collects every problem found while validating.
type checker struct {
	problems []error
}

func (ch *checker) addf(cause error, key, format string, args ...any) {
	ch.problems = append(ch.problems, problemf(cause, "%s: %s", key, fmt.Sprintf(format, args...)))
}

// Validate checks every value against its allowed range or format. It returns
// nil, or an errors.Join of one error per problem; each names its key, says
// what is allowed and wraps ErrInvalid.
func (c *Config) Validate() error {
	var ch checker

	ch.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	ch.oneOf("log.format", c.Log.Format, "text", "json")
	if d := c.Log.StatusInterval; d != 0 && d < time.Second {
		ch.addf(nil, "log.status-interval", "%s is not allowed, allowed 0 (no status line) or >= 1s", d)
	}

	numShardsOK := ch.intRange("network.num-shards", c.Network.NumShards, 1, 1024)
	ch.shards(c.Network.Shards, c.Network.NumShards, numShardsOK)

	for i, addr := range c.P2P.StaticPeers {
		ch.multiaddr(fmt.Sprintf("p2p.static-peers[%d]", i), addr, true)
	}
	ch.p2pAddresses(c)
	ch.intRange("p2p.max-connections", c.P2P.MaxConnections, 1, 10000)
	ch.discovery(c)
	ch.atLeastSecond("p2p.request-first-byte-timeout", c.P2P.RequestFirstByteTimeout)
	ch.atLeastSecond("p2p.request-timeout", c.P2P.RequestTimeout)
	ch.intRange("p2p.requests-per-peer", c.P2P.RequestsPerPeer, 1, 65535)
	ch.intRange("p2p.requests-per-prefix", c.P2P.RequestsPerPrefix, 1, 65535)
	ch.intRange("p2p.requests-total", c.P2P.RequestsTotal, 1, 65535)
	ch.intRange("p2p.idle-streams-per-peer", c.P2P.IdleStreamsPerPeer, 1, 65535)
	ch.intRange("p2p.idle-streams-per-prefix", c.P2P.IdleStreamsPerPrefix, 1, 65535)
	ch.intRange("p2p.idle-streams-total", c.P2P.IdleStreamsTotal, 1, 65535)

	ch.wholeSeconds("rln.epoch-period", c.RLN.EpochPeriod)
	ch.intRange("rln.user-message-limit", c.RLN.UserMessageLimit, 1, 65535)
	ch.wholeSeconds("rln.max-epoch-gap", c.RLN.MaxEpochGap)
	ch.intRange("rln.root-window", c.RLN.RootWindow, 1, 10000)
	ch.oneOf("rln.signal", c.RLN.Signal, "timestamped", "payload-topic")

	ch.rpcURL("chain.rpc-url", c.Chain.RPCURL)
	if c.Chain.ChainID < 1 {
		ch.addf(nil, "chain.chain-id", "%d is out of range, allowed >= 1", c.Chain.ChainID)
	}
	ch.contract("chain.contract", c.Chain.Contract)
	ch.atLeastSecond("chain.start-timeout", c.Chain.StartTimeout)

	ch.hostPort("rest.address", c.REST.Address)
	ch.intRange("rest.relay-cache-capacity", c.REST.RelayCacheCapacity, 1, 100000)
	for key, addr := range map[string]string{"lightpush.service-node": c.Lightpush.ServiceNode,
		"filter.service-node": c.Filter.ServiceNode, "store.service-node": c.Store.ServiceNode} {
		if addr != "" {
			ch.multiaddr(key, addr, true)
		}
	}
	ch.hostPort("metrics.address", c.Metrics.Address)
	ch.ports(c)

	ch.intRange("lightpush.per-peer-quota", c.Lightpush.PerPeerQuota, 1, 65535)
	ch.intRange("lightpush.per-ip-quota", c.Lightpush.PerIPQuota, 0, 65535)
	ch.intRange("lightpush.per-prefix-quota", c.Lightpush.PerPrefixQuota, 0, 65535)
	ch.intRange("lightpush.reserved-percent", c.Lightpush.ReservedPercent, 0, 100)
	if c.Lightpush.GlobalCap < 0 {
		ch.addf(nil, "lightpush.global-cap", "%d is out of range, allowed >= 0", c.Lightpush.GlobalCap)
	}
	ch.intRange("lightpush.workers", c.Lightpush.Workers, 1, 64)
	if ch.intRange("filter.max-peers", c.Filter.MaxPeers, 1, 100000) {
		ch.intRange("filter.max-peers-per-prefix", c.Filter.MaxPeersPerPrefix, 1, c.Filter.MaxPeers)
	}
	ch.intRange("filter.max-criteria-per-peer", c.Filter.MaxCriteriaPerPeer, 1, 100000)
	ch.intRange("filter.max-content-topic-length", c.Filter.MaxContentTopicLength, 16, 4096)
	ch.intRange("filter.push-queue", c.Filter.PushQueue, 1, 65536)
	ch.intRange("filter.push-queue-bytes", c.Filter.PushQueueBytes, wire.MaxFrameSize, 1<<30)
	if c.Store.RetentionTime < 0 || c.Store.RetentionCount < 0 || c.Store.RetentionBytes < 0 {
		ch.addf(nil, "store.retention-*", "retention bounds must not be negative")
	}
	ch.intRange("store.max-full-pages", c.Store.MaxFullPages, 1, 1024)
	if c.Store.Enabled && c.Store.DBPath == "" && c.Store.DBURL == "" && c.Node.DataDir == "" {
		ch.addf(nil, "store.db-path", "must be set when store.enabled (or store.db-url, or node.data-dir for its store.db)")
	}
	if u := c.Store.DBURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		ch.addf(nil, "store.db-url", "must be a postgres:// or postgresql:// URL")
	}
	if c.Lightpush.Enabled && c.Lightpush.Keystore != "" && c.Lightpush.SlotsFile == "" && c.Node.DataDir == "" {
		ch.addf(nil, "lightpush.slots-file", "must be set for proof as a service (or node.data-dir for its lightpush-slots)")
	}

	return errors.Join(ch.problems...)
}

func (ch *checker) oneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		ch.addf(nil, key, "%q is not allowed, allowed %s", value, strings.Join(allowed, "|"))
	}
}

// intRange reports whether lo <= v <= hi, recording a problem if not.
func (ch *checker) intRange(key string, v, lo, hi int) bool {
	if v < lo || v > hi {
		ch.addf(nil, key, "%d is out of range, allowed %d..%d", v, lo, hi)
		return false
	}
	return true
}

func (ch *checker) shards(shards []int, numShards int, numShardsOK bool) {
	const key = "network.shards"
	seen := make(map[int]bool, len(shards))
	for _, s := range shards {
		switch {
		case s < 0 || (numShardsOK && s >= numShards):
			if numShardsOK {
				ch.addf(nil, key, "shard %d is out of range, allowed 0..%d (num-shards is %d)", s, numShards-1, numShards)
			} else {
				ch.addf(nil, key, "shard %d is out of range, allowed 0..num-shards-1", s)
			}
		case seen[s]:
			ch.addf(nil, key, "shard %d is listed more than once, each shard may appear once", s)
		}
		seen[s] = true
	}
}

func (ch *checker) multiaddr(key, s string, needPeerID bool) {
	addr, err := ma.NewMultiaddr(s)
	if err != nil {
		ch.addf(err, key, "%q is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/60000): %v", s, err)
		return
	}
	if !needPeerID {
		return
	}
	if _, err := addr.ValueForProtocol(ma.P_P2P); err != nil {
		ch.addf(nil, key, "%q has no /p2p/<peer id> component, allowed multiaddrs ending in /p2p/<peer id>", s)
	}
}

// p2pAddresses checks the node key, the listen addresses, what is
// announced and the secure websocket settings.
func (ch *checker) p2pAddresses(c *Config) {
	p := c.P2P
	if p.NodeKey != "" {
		if _, err := DecodeNodeKey(p.NodeKey); err != nil {
			ch.addf(nil, "p2p.nodekey", "the value (not shown: the key is secret) %v", err)
		}
	}
	shiftOK := ch.intRange("p2p.ports-shift", p.PortsShift, 0, 65535)
	websockets := 0
	for i, s := range p.Listen {
		key := fmt.Sprintf("p2p.listen[%d]", i)
		l, err := parseListenAddr(s)
		if err != nil {
			ch.addf(nil, key, "%v", err)
			continue
		}
		if l.kind != listenTCP {
			websockets++
		}
		if l.kind == listenWSS && !p.WebsocketSecureSupport {
			ch.addf(nil, key, "%q is a secure websocket address, allowed with p2p.websocket-secure-support and its certificate (or use /ws)", s)
		}
		if _, err := shiftPort(l.port, p.PortsShift); err != nil && shiftOK {
			ch.addf(nil, key, "%q: %v", s, err)
		}
	}
	for i, s := range p.ExtMultiaddr {
		ch.extMultiaddr(fmt.Sprintf("p2p.ext-multiaddr[%d]", i), s)
	}
	if p.ExtMultiaddrOnly && len(p.ExtMultiaddr) == 0 {
		ch.addf(nil, "p2p.ext-multiaddr-only", "is on but p2p.ext-multiaddr is empty: the node would announce no address")
	}
	if _, err := ParseNAT(p.NAT); err != nil {
		ch.addf(nil, "p2p.nat", "%v", err)
	}
	if p.DNS4DomainName != "" {
		if err := checkDomainName(p.DNS4DomainName); err != nil {
			ch.addf(nil, "p2p.dns4-domain-name", "%q %v", p.DNS4DomainName, err)
		}
	}
	if p.WebsocketSecureSupport {
		if p.WebsocketSecureCertPath == "" {
			ch.addf(nil, "p2p.websocket-secure-cert-path", "must be set when p2p.websocket-secure-support is on (a PEM certificate file)")
		}
		if p.WebsocketSecureKeyPath == "" {
			ch.addf(nil, "p2p.websocket-secure-key-path", "must be set when p2p.websocket-secure-support is on (a PEM private key file)")
		}
		if websockets == 0 {
			ch.addf(nil, "p2p.websocket-secure-support", "is on but p2p.listen has no websocket address (e.g. /ip4/0.0.0.0/tcp/8000/ws) to serve over TLS")
		}
	} else {
		for _, kv := range [][2]string{{"p2p.websocket-secure-cert-path", p.WebsocketSecureCertPath}, {"p2p.websocket-secure-key-path", p.WebsocketSecureKeyPath}} {
			if kv[1] != "" {
				ch.addf(nil, kv[0], "is set but p2p.websocket-secure-support is off: turn it on, or clear the path")
			}
		}
	}
}

// extMultiaddr checks one announced address: a multiaddr a peer can dial
// over TCP (or websocket), without /p2p/<id> (the node's own is implied).
func (ch *checker) extMultiaddr(key, s string) {
	const allowed = "allowed /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>, optionally followed by /ws, /wss or /tls/ws, without /p2p"
	addr, err := ma.NewMultiaddr(s)
	if err != nil {
		ch.addf(err, key, "%q is not a multiaddr (%v), %s", s, err, allowed)
		return
	}
	if _, err := addr.ValueForProtocol(ma.P_P2P); err == nil {
		ch.addf(nil, key, "%q has a /p2p/<peer id> component, %s", s, allowed)
		return
	}
	if len(addr) < 2 || addr[1].Protocol().Code != ma.P_TCP {
		ch.addf(nil, key, "%q is not a TCP address, %s", s, allowed)
		return
	}
	switch addr[0].Protocol().Code {
	case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
	default:
		ch.addf(nil, key, "%q does not start with an IP address or a domain name, %s", s, allowed)
	}
}

// checkDomainName checks s is a DNS host name (RFC 1123): dot-separated
// labels of letters, digits and inner hyphens, 1..63 bytes each, 253 in
// all, not an IP address.
func checkDomainName(s string) error {
	if _, err := netip.ParseAddr(s); err == nil {
		return errors.New("is an IP address, allowed a domain name (for an IP use p2p.nat=extip:<IP>)")
	}
	if len(s) > 253 {
		return fmt.Errorf("is %d bytes long, allowed a domain name of at most 253", len(s))
	}
	for _, label := range strings.Split(s, ".") {
		ok := len(label) >= 1 && len(label) <= 63 && label[0] != '-' && label[len(label)-1] != '-'
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				ok = false
			}
		}
		if !ok {
			return errors.New("is not a domain name, allowed labels of 1..63 letters, digits and inner hyphens separated by dots")
		}
	}
	return nil
}

// ports finds two listeners of the node on one TCP port (after
// p2p.ports-shift): libp2p's, and the metrics and REST servers' when on.
// The system would refuse the second at start.
func (ch *checker) ports(c *Config) {
	if c.P2P.PortsShift < 0 || c.P2P.PortsShift > 65535 {
		return // reported already
	}
	var eps []endpoint
	for i, s := range c.P2P.Listen {
		l, err := parseListenAddr(s)
		if err != nil {
			continue // reported already
		}
		if l.port, err = c.ShiftPort(l.port); err != nil {
			continue
		}
		eps = append(eps, endpoint{key: fmt.Sprintf("p2p.listen[%d]", i), value: s, hosts: []netip.Addr{l.ip}, port: l.port})
	}
	for _, srv := range []struct {
		key, addr string
		on        bool
	}{{"metrics.address", c.Metrics.Address, c.Metrics.Enabled}, {"rest.address", c.REST.Address, c.REST.Enabled}} {
		if !srv.on {
			continue
		}
		host, portText, err := net.SplitHostPort(srv.addr)
		if err != nil {
			continue // reported already
		}
		port, err := strconv.ParseUint(portText, 10, 16)
		if err != nil {
			continue // reported already
		}
		shiftedPort, err := c.ShiftPort(int(port))
		if err != nil {
			ch.addf(nil, srv.key, "%q: %v", srv.addr, err)
			continue
		}
		eps = append(eps, hostPortEndpoint(srv.key, srv.addr, host, shiftedPort))
	}
	shifted := ""
	if c.P2P.PortsShift != 0 {
		shifted = fmt.Sprintf(" (after p2p.ports-shift %d)", c.P2P.PortsShift)
	}
	for j := range eps {
		for i := range j {
			if eps[i].overlaps(eps[j]) {
				ch.addf(nil, eps[j].key, "%q and %s %q would both listen on TCP port %d%s; give each listener its own port",
					eps[j].value, eps[i].key, eps[i].value, eps[j].port, shifted)
				break
			}
		}
	}
}

func (ch *checker) atLeastSecond(key string, d time.Duration) {
	if d < time.Second {
		ch.addf(nil, key, "%s is too short, allowed >= 1s", d)
	}
}

func (ch *checker) wholeSeconds(key string, d time.Duration) {
	switch {
	case d < time.Second:
		ch.addf(nil, key, "%s is too short, allowed >= 1s in whole seconds", d)
	case d%time.Second != 0:
		ch.addf(nil, key, "%s is not a whole number of seconds, allowed >= 1s in whole seconds", d)
	}
}

func (ch *checker) rpcURL(key, s string) {
	if s == "" {
		return
	}
	const allowed = "allowed empty or an http, https, ws or wss URL"
	u, err := url.Parse(s)
	if err != nil {
		// The URL may hold an API key or a password: quote it redacted.
		err = redact.Error(err, s)
		ch.addf(err, key, "%q is not a URL, %s: %v", redact.URL(s), allowed, err)
		return
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		ch.addf(nil, key, "%q has scheme %q, %s", redact.URL(s), u.Scheme, allowed)
		return
	}
	if u.Host == "" {
		ch.addf(nil, key, "%q has no host, %s", redact.URL(s), allowed)
	}
}

func (ch *checker) contract(key, s string) {
	if s == "" {
		return
	}
	hex, ok := strings.CutPrefix(s, "0x")
	valid := ok && len(hex) == 40
	for _, r := range hex {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			valid = false
		}
	}
	if !valid {
		ch.addf(nil, key, "%q is not a contract address, allowed empty or 0x followed by 40 hex digits", s)
	}
}

func (ch *checker) hostPort(key, s string) {
	const allowed = "allowed host:port with port 0..65535 (e.g. 127.0.0.1:8645)"
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		ch.addf(err, key, "%q is not host:port, %s: %v", s, allowed, err)
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		ch.addf(nil, key, "%q has port %q, %s", s, port, allowed)
	}
}

// discovery checks the discovery keys: the discv5 port (shifted), the
// bootstrap records, the DNS trees and name server, and the entry and
// peer-exchange nodes.
func (ch *checker) discovery(c *Config) {
	d := c.Discovery
	if ch.intRange("discovery.discv5-udp-port", d.Discv5UDPPort, 0, 65535) && d.Discv5 && c.P2P.PortsShift >= 0 {
		if _, err := c.ShiftPort(d.Discv5UDPPort); err != nil {
			ch.addf(nil, "discovery.discv5-udp-port", "%d: %v", d.Discv5UDPPort, err)
		}
	}
	for i, text := range d.Discv5Bootstrap {
		if _, err := wakuenr.Parse(text); err != nil {
			ch.addf(err, fmt.Sprintf("discovery.discv5-bootstrap-nodes[%d]", i), "not a valid enr: record: %v", err)
		}
	}
	for i, u := range d.DNSURLs {
		if _, err := dnsdisc.ParseURL(u); err != nil {
			ch.addf(err, fmt.Sprintf("discovery.dns-urls[%d]", i), "%v", err)
		}
	}
	if d.DNS && len(d.DNSURLs) == 0 {
		ch.addf(nil, "discovery.dns", "is on but discovery.dns-urls is empty; give an enrtree:// URL or turn it off")
	}
	if d.DNSNameServer != "" {
		if _, err := netip.ParseAddr(d.DNSNameServer); err != nil {
			if _, err := netip.ParseAddrPort(d.DNSNameServer); err != nil {
				ch.addf(nil, "discovery.dns-name-server", "%q is neither an IP nor IP:port", d.DNSNameServer)
			}
		}
	}
	for i, addr := range d.EntryNodes {
		ch.multiaddr(fmt.Sprintf("discovery.entry-nodes[%d]", i), addr, true)
	}
	if d.PeerExchangeNode != "" {
		ch.multiaddr("discovery.peer-exchange-node", d.PeerExchangeNode, true)
	}
}
