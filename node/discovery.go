package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/p2p/discv5"
	"github.com/rlnd/rlnd/p2p/dnsdisc"
	"github.com/rlnd/rlnd/p2p/peerexchange"
	"github.com/rlnd/rlnd/p2p/peermgr"
	"github.com/rlnd/rlnd/p2p/wakuenr"
)

// Files of the data directory that discovery keeps.
const (
	peerStoreFile = "peerstore"
	discv5DBDir   = "discv5"
)

// dnsStartTimeout bounds the first read of the DNS trees at start: a tree
// that cannot be read by then is followed in the background.
const dnsStartTimeout = 10 * time.Second

// Peer exchange as a client (discovery.peer-exchange-node): how often the
// node asks, and the longest wait after failures.
const (
	pxAskEvery   = 30 * time.Second
	pxMaxBackoff = 5 * time.Minute
)

// SourceEntry names the entry nodes (discovery.entry-nodes) as a source of
// candidates.
const SourceEntry = "entry"

// startPeerExchange serves peer exchange from a cache that discv5 fills
// (discovery.peer-exchange): before peers connect, so that identify
// announces the protocol (js-waku asks only peers that announce it).
func (n *Node) startPeerExchange() error {
	if !n.cfg.Discovery.PeerExchange {
		return nil
	}
	cluster := n.cfg.Network.ClusterID
	cache, err := peerexchange.NewCache(peerexchange.CacheConfig{
		Accept: func(rec *enode.Node) error {
			p, err := wakuenr.Decode(rec)
			if err != nil {
				return err
			}
			if !p.HasShards || p.Shards.Cluster != cluster {
				return fmt.Errorf("not a peer of cluster %d", cluster)
			}
			return nil
		},
		Registerer: n.registry,
	})
	if err != nil {
		return fmt.Errorf("node: peer exchange: %w", err)
	}
	n.pxCache = cache
	if n.px, err = peerexchange.NewServer(n.host.Libp2p(), peerexchange.ServerConfig{Cache: cache, Logger: n.log, Registerer: n.registry}); err != nil {
		return fmt.Errorf("node: peer exchange: %w", err)
	}
	return nil
}

// startDiscovery starts the peer manager with the static peers, then what
// feeds it candidates: the entry nodes, the DNS trees, discv5 and a peer
// exchange node, as configured.
func (n *Node) startDiscovery(ctx context.Context, ping, dnsRecheck time.Duration) error {
	static, err := n.staticPeers()
	if err != nil {
		return err
	}
	pc := peermgr.Config{
		Host: n.host, Shards: n.shards16(), Static: static, Scores: n.relay.PubSub().Scores, MaxPeers: n.cfg.P2P.MaxConnections,
		Registerer: n.registry, Logger: n.log,
	}
	if n.dataDir != "" {
		pc.StorePath = filepath.Join(n.dataDir, peerStoreFile)
	}
	if n.peers, err = peermgr.New(pc); err != nil {
		return fmt.Errorf("node: peer manager: %w", err)
	}
	if err := n.peers.Start(); err != nil {
		return fmt.Errorf("node: peer manager: %w", err)
	}
	dc := n.cfg.Discovery
	for i, s := range dc.EntryNodes {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return fmt.Errorf("node: discovery.entry-nodes[%d] %q: %w", i, s, err)
		}
		n.offer(peermgr.Candidate{Info: *ai, Source: SourceEntry})
	}
	boot, err := discv5.ParseBootnodes(dc.Discv5Bootstrap)
	if err != nil {
		return fmt.Errorf("node: discovery.discv5-bootstrap-nodes: %w", err)
	}
	if dc.DNS && len(dc.DNSURLs) > 0 {
		fromDNS, err := n.startDNS(ctx, dnsRecheck)
		if err != nil {
			return err
		}
		boot = append(boot, fromDNS...)
	}
	if dc.Discv5 {
		if err := n.startDiscv5(ctx, boot, ping); err != nil {
			return err
		}
	}
	if dc.PeerExchangeNode != "" {
		ai, err := peer.AddrInfoFromString(dc.PeerExchangeNode)
		if err != nil {
			return fmt.Errorf("node: discovery.peer-exchange-node %q: %w", dc.PeerExchangeNode, err)
		}
		n.wg.Add(1)
		go n.askPeerExchange(ctx, *ai)
	}
	return nil
}

// staticPeers parses p2p.static-peers; one that is this node (its peer id
// or its addresses) is left out with a warning.
func (n *Node) staticPeers() ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, s := range n.cfg.P2P.StaticPeers {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return nil, fmt.Errorf("node: static peer %q: %w", s, err)
		}
		if n.host.IsSelf(*ai) {
			n.log.Warn("a static peer is this node: not dialing it", "static_peer", s, "peer", n.host.ID())
			continue
		}
		out = append(out, *ai)
	}
	return out, nil
}

// shards16 are the shards the node relays.
func (n *Node) shards16() []uint16 {
	var out []uint16
	for _, s := range n.cfg.ShardList() {
		out = append(out, uint16(s))
	}
	return out
}

// offer gives a candidate to the peer manager; a refusal (another
// cluster, banned, this node...) is the manager's decision, logged at
// debug.
func (n *Node) offer(c peermgr.Candidate) {
	if err := n.peers.Add(c); err != nil && !errors.Is(err, peermgr.ErrClosed) {
		n.log.Debug("discovery: candidate not taken", "peer", c.Info.ID, "source", c.Source, "err", err)
	}
}

// candidate turns a decoded Waku ENR into a peer manager candidate.
func candidate(p wakuenr.Peer, source string) peermgr.Candidate {
	return peermgr.Candidate{
		Info: p.AddrInfo(), ClusterKnown: p.HasShards, Cluster: p.Shards.Cluster, Shards: p.Shards.Indices,
		Caps: peermgr.Capabilities(p.Capabilities), Source: source,
	}
}

// startDNS reads the DNS trees once (bounded by dnsStartTimeout), offers
// their nodes and returns those with a UDP port as discv5 bootstrap
// nodes, then follows the trees in the background, asking for their roots
// every recheck (0: dnsdisc's default).
func (n *Node) startDNS(ctx context.Context, recheck time.Duration) ([]*enode.Node, error) {
	dc := n.cfg.Discovery
	client, err := dnsdisc.New(dnsdisc.Config{URLs: dc.DNSURLs, NameServer: dc.DNSNameServer, RecheckInterval: recheck, Logger: n.log, Registerer: n.registry})
	if err != nil {
		return nil, fmt.Errorf("node: discovery.dns-urls: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, dnsStartTimeout)
	nodes, err := client.Resolve(rctx)
	cancel()
	if err != nil {
		n.log.Warn("DNS discovery: could not read every tree at start; following them in the background", "urls", dc.DNSURLs, "nodes", len(nodes), "err", err)
	} else {
		n.log.Info("DNS discovery", "urls", dc.DNSURLs, "nodes", len(nodes))
	}
	var boot []*enode.Node
	for _, rec := range nodes {
		n.offerRecord(rec, peermgr.SourceDNS)
		if rec.UDP() != 0 {
			boot = append(boot, rec)
		}
	}
	n.dnsFeed = client.Follow()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for n.dnsFeed.Next() {
			n.offerRecord(n.dnsFeed.Node(), peermgr.SourceDNS)
		}
	}()
	return boot, nil
}

// offerRecord offers the peer of a Waku ENR (and keeps it for peer
// exchange when it came from discovery); records that do not decode are
// dropped at debug.
func (n *Node) offerRecord(rec *enode.Node, source string) {
	p, err := wakuenr.Decode(rec)
	if err != nil {
		n.log.Debug("discovery: record dropped", "source", source, "node", rec.ID(), "err", err)
		return
	}
	if p.ID == n.host.ID() {
		return
	}
	n.offer(candidate(p, source))
	if n.pxCache != nil {
		_ = n.pxCache.Add(rec) // the cache says no to other clusters, its own bound
	}
}

// startDiscv5 runs discv5 on discovery.discv5-udp-port (shifted) with our
// Waku record, and offers what it finds to the peer manager.
func (n *Node) startDiscv5(ctx context.Context, boot []*enode.Node, ping time.Duration) error {
	key, err := wakuenr.ECDSAKey(n.host.Libp2p().Peerstore().PrivKey(n.host.ID()))
	if err != nil {
		return fmt.Errorf("node: discv5 key: %w", err)
	}
	port, err := n.cfg.ShiftPort(n.cfg.Discovery.Discv5UDPPort)
	if err != nil {
		return fmt.Errorf("node: discovery.discv5-udp-port: %w", err)
	}
	rec, err := n.localRecord()
	if err != nil {
		return err
	}
	dc := discv5.Config{
		PrivKey: key, Listen: net.JoinHostPort(n.udpHost(), fmt.Sprint(port)), Bootnodes: boot, Record: rec,
		Logger: n.log, Registerer: n.registry, PingInterval: ping,
	}
	if n.dataDir != "" {
		dc.NodeDB = filepath.Join(n.dataDir, discv5DBDir)
	}
	if n.d5, err = discv5.New(dc); err == nil {
		err = n.d5.Start()
	}
	if err != nil && errors.Is(err, wakuenr.ErrTooBig) && len(rec.Multiaddrs) > 0 {
		n.log.Warn("discv5: the announced multiaddrs do not fit the 300-byte ENR: leaving them out", "multiaddrs", rec.Multiaddrs, "err", err)
		if n.d5 != nil {
			_ = n.d5.Close() // its node database is opened again below
		}
		dc.Record.Multiaddrs = nil
		if n.d5, err = discv5.New(dc); err == nil {
			err = n.d5.Start()
		}
	}
	if err != nil {
		return fmt.Errorf("node: discv5 on UDP %s: %w", dc.Listen, err)
	}
	feed, err := n.d5.Candidates(ctx)
	if err != nil {
		return fmt.Errorf("node: discv5: %w", err)
	}
	n.log.Info("discv5 started", "udp", n.d5.LocalAddr(), "enr", n.d5.SelfText(), "bootstrap_nodes", len(boot))
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for p := range feed {
			n.offer(candidate(p, peermgr.SourceDiscv5))
			if n.pxCache != nil {
				_ = n.pxCache.Add(p.Node)
			}
		}
	}()
	return nil
}

// udpHost is the host discv5 listens on: that of the first TCP listen
// address (0.0.0.0 when it is unspecified or there is none).
func (n *Node) udpHost() string {
	listen, err := n.cfg.ListenAddrs()
	if err == nil {
		for _, s := range listen {
			a, err := ma.NewMultiaddr(s)
			if err != nil {
				continue
			}
			if ip, err := manet.ToIP(a); err == nil {
				return ip.String()
			}
		}
	}
	return "0.0.0.0"
}

// localRecord is what our ENR says: the services we run, our cluster and
// shards, the plain TCP address (the most public advertised one) and the
// others peers cannot read from ip/tcp (websocket, DNS names) on the same
// IP or by name.
func (n *Node) localRecord() (wakuenr.LocalRecord, error) {
	caps := wakuenr.Relay
	if n.lp != nil {
		caps |= wakuenr.Lightpush
	}
	if n.store != nil {
		caps |= wakuenr.Store
	}
	if n.filter != nil {
		caps |= wakuenr.Filter
	}
	shards, err := wakuenr.NewShards(n.cfg.Network.ClusterID, n.shards16()...)
	if err != nil {
		return wakuenr.LocalRecord{}, fmt.Errorf("node: ENR shards: %w", err)
	}
	ip, tcp, rest := wakuenr.SplitAddrs(mostPublicFirst(n.host.AdvertisedAddrs()))
	if ip != nil && !n.ipKnown(ip) {
		// Listening on every interface with nothing announced: the
		// interfaces' private addresses are no use to other hosts, and
		// discv5 learns the public one from its peers (go-ethereum's
		// endpoint prediction) when the record leaves it out.
		ip = nil
	}
	var extra []ma.Multiaddr
	for _, a := range rest {
		addrIP, err := manet.ToIP(a)
		if err != nil || ip == nil || addrIP.Equal(ip) {
			extra = append(extra, a) // a DNS name, or on our IP
		}
	}
	return wakuenr.LocalRecord{IP: ip, TCP: tcp, Capabilities: caps, Shards: &shards, Multiaddrs: extra}, nil
}

// ipKnown reports whether ip, the most public of the advertised plain
// TCP addresses, is one other hosts can reach us on: a public address, a
// specific listen address, or one the operator announced (p2p.nat extip,
// p2p.ext-multiaddr).
func (n *Node) ipKnown(ip net.IP) bool {
	if addr, ok := netip.AddrFromSlice(ip); ok && addr.Unmap().IsGlobalUnicast() && !addr.Unmap().IsPrivate() {
		return true
	}
	if host := net.ParseIP(n.udpHost()); host != nil && !host.IsUnspecified() {
		return true
	}
	nat, err := config.ParseNAT(n.cfg.P2P.NAT)
	return (err == nil && nat.Mode == config.NATExtIP) || len(n.cfg.P2P.ExtMultiaddr) > 0
}

// mostPublicFirst orders addresses public, then private, then loopback,
// keeping their order otherwise, so that the ENR names the address that
// reaches furthest.
func mostPublicFirst(addrs []ma.Multiaddr) []ma.Multiaddr {
	rank := func(a ma.Multiaddr) int {
		switch {
		case manet.IsIPLoopback(a):
			return 2
		case manet.IsPrivateAddr(a):
			return 1
		}
		return 0
	}
	out := slices.Clone(addrs)
	slices.SortStableFunc(out, func(a, b ma.Multiaddr) int { return rank(a) - rank(b) })
	return out
}

// askPeerExchange asks a peer-exchange node for peers every pxAskEvery
// (backing off after failures, up to pxMaxBackoff) and offers them.
func (n *Node) askPeerExchange(ctx context.Context, ai peer.AddrInfo) {
	defer n.wg.Done()
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		got, err := n.pxRound(ctx, ai)
		if err != nil {
			if ctx.Err() != nil {
				return // stopping: not a failure of the round
			}
			wait = min(max(2*wait, pxAskEvery), pxMaxBackoff)
			n.nm.nodeError(errPeerExchange)
			n.log.Warn("peer exchange: asking for peers failed", "node", ai.ID, "err", err, "retry", wait)
			continue
		}
		wait = pxAskEvery
		n.log.Debug("peer exchange: peers received", "node", ai.ID, "records", got)
	}
}

// pxRound connects to the peer-exchange node and asks it once.
func (n *Node) pxRound(ctx context.Context, ai peer.AddrInfo) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, peerexchange.DefaultRequestTimeout)
	defer cancel()
	if _, err := n.host.Connect(cctx, ai); err != nil {
		return 0, err
	}
	recs, err := peerexchange.Request(cctx, n.host.Libp2p(), ai.ID, peerexchange.MaxPeers)
	if err != nil {
		return 0, err
	}
	for _, rec := range recs {
		n.offerRecord(rec, peermgr.SourcePeerExchange)
	}
	return len(recs), nil
}

// ENR is the node's Waku ENR in text form: discv5's record, or without
// discv5 one signed once from the same fields ("" if it cannot be built).
func (n *Node) ENR() string {
	if n.d5 != nil {
		return n.d5.SelfText()
	}
	n.enrOnce.Do(func() {
		text, err := n.buildENR()
		if err != nil {
			n.log.Warn("no ENR: building the record failed", "err", err)
		}
		n.enrText = text
	})
	return n.enrText
}

// buildENR signs the node's record (sequence 1) with the node key; the
// announced multiaddrs are left out if the record is over 300 bytes with
// them.
func (n *Node) buildENR() (string, error) {
	key, err := wakuenr.ECDSAKey(n.host.Libp2p().Peerstore().PrivKey(n.host.ID()))
	if err != nil {
		return "", err
	}
	rec, err := n.localRecord()
	if err != nil {
		return "", err
	}
	node, err := wakuenr.Build(key, 1, rec)
	if errors.Is(err, wakuenr.ErrTooBig) && len(rec.Multiaddrs) > 0 {
		rec.Multiaddrs = nil
		node, err = wakuenr.Build(key, 1, rec)
	}
	if err != nil {
		return "", err
	}
	return wakuenr.Text(node), nil
}

// Peers is the node's peer manager.
func (n *Node) Peers() *peermgr.Manager { return n.peers }
