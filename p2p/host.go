// Package p2p is the libp2p host of an rlnd node: the transports, security
// and stream multiplexers that nwaku, go-waku and js-waku peers speak (TCP and
// websocket; noise, and TLS for go-libp2p peers; yamux and mplex), identify
// and ping, connection and resource limits, and the Waku metadata protocol
// that admits a peer only when it is on our cluster.
//
// Every new connection, inbound or outbound, is checked with a metadata query
// (see metadata.go). Protocols that should only serve admitted peers (relay)
// wait for the outcome with WaitPeer before they treat a peer as theirs.
package p2p

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/libp2p/go-libp2p/p2p/transport/websocket"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/p2p/admission"
	"github.com/rlnd/rlnd/p2p/mplex"
)

// Stream multiplexer protocol ids, for HostConfig.Muxers.
const (
	MuxerYamux = yamux.ID // "/yamux/1.0.0"
	MuxerMplex = mplex.ID // "/mplex/6.7.0", js-waku's only muxer
)

// Defaults.
const (
	DefaultMaxPeers        = 150
	DefaultMetadataTimeout = 5 * time.Second
	DefaultMetadataIdle    = 2 * time.Minute
	DefaultGracePeriod     = 20 * time.Second
	DefaultUserAgent       = "rlnd"
)

// ConnLimits bounds the connections a host keeps.
type ConnLimits struct {
	// MaxPeers is the connection manager's high water mark: above it the
	// least useful connections are closed down to 90% of it (default 150).
	// The resource manager refuses connections beyond twice this number, so
	// that a burst of dials cannot exhaust the process before trimming.
	MaxPeers int
	// GracePeriod protects new connections from trimming (default 20 s).
	GracePeriod time.Duration
}

// HostConfig configures NewHost. Only ClusterID is required.
type HostConfig struct {
	// PrivKey is the node key; nil generates a secp256k1 key (the key type
	// Waku ENRs carry).
	PrivKey crypto.PrivKey
	// Listen are the multiaddrs to listen on, for example
	// /ip4/0.0.0.0/tcp/60000, /ip4/0.0.0.0/tcp/8000/ws and, with
	// WebsocketTLS, /ip4/0.0.0.0/tcp/443/tls/ws (or /wss). Empty: dial
	// only. Every one must be listened on: one that fails (a port in
	// use) fails NewHost, naming it. TCP ports are not shared with other
	// sockets (go-libp2p's SO_REUSEPORT is off).
	Listen []string
	// WebsocketTLS serves the secure websocket listen addresses (see
	// WebsocketCert.TLSConfig); nil: none may be configured.
	WebsocketTLS *tls.Config
	// Advertise says which addresses are announced to peers (default:
	// what go-libp2p finds).
	Advertise Advertise
	// ClusterID is the Waku cluster this node belongs to.
	ClusterID uint16
	// Shards returns the shards we relay (read on every metadata exchange,
	// so it may change). nil means none.
	Shards func() []uint32
	// Muxers are the stream multiplexers offered, most preferred first
	// (default yamux, then mplex). Tests force one with a single entry.
	Muxers []string
	// UserAgent is sent in identify (default "rlnd").
	UserAgent string
	// ConnLimits bounds the connections.
	ConnLimits ConnLimits
	// MetadataTimeout bounds one metadata exchange, either direction
	// (default 5 s). A peer that has not answered by then is disconnected.
	MetadataTimeout time.Duration
	// MetadataIdleTimeout bounds how long a peer's metadata stream may
	// stay open before its request arrives (default 2 min). js-waku opens
	// a metadata stream ahead of use on every peer store update and
	// sends its request on it later; resetting such streams early makes
	// its next query fail.
	MetadataIdleTimeout time.Duration
	// MetadataAdmission bounds the metadata request streams we answer
	// (p2p/admission); its FirstByte defaults to MetadataIdleTimeout and
	// its Request to MetadataTimeout, the rest to admission's defaults.
	// The metadata protocol has no busy status: a request over a limit is
	// reset.
	MetadataAdmission admission.Limits
	// StreamLimits bound the streams of the protocols the host carries
	// besides its own (see StreamLimits); a protocol without a scope keeps
	// go-libp2p's default limits.
	StreamLimits []StreamLimits
	// Registerer receives the host's metrics: the connected peers and the
	// metadata responder's admission (nil: not registered).
	Registerer prometheus.Registerer
	// TolerateNoMetadata keeps peers that do not speak the metadata
	// protocol at all (admitted without metadata). The default, false, is
	// nwaku's behaviour: such peers are disconnected. Every Waku node
	// (nwaku, go-waku, js-waku relay and light nodes) serves metadata.
	TolerateNoMetadata bool
	// OnPeerReady is called once a connected peer has passed the metadata
	// check. It runs on its own goroutine and must not block for long.
	// The peer may disconnect at any time after (even just before) the
	// call: users track disconnections with a network Notifiee, and
	// OnPeerRejected follows if a later finding rejects an admitted peer.
	OnPeerReady func(peer.ID, PeerMetadata)
	// OnPeerRejected is called when a peer is disconnected by the metadata
	// check; reason wraps one of the Err* sentinels of this package.
	OnPeerRejected func(peer.ID, error)
	// Logger receives the host's logs (default: discarded).
	Logger *slog.Logger
}

// Host is a running libp2p host with the metadata check.
type Host struct {
	h    host.Host
	cfg  HostConfig
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	peers    map[peer.ID]*peerState
	rejected map[peer.ID]error
	notifiee *network.NotifyBundle
	metaGate *admission.Gate
}

// NewHost builds and starts a host listening on cfg.Listen.
func NewHost(cfg HostConfig) (*Host, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.ConnLimits.MaxPeers <= 0 {
		cfg.ConnLimits.MaxPeers = DefaultMaxPeers
	}
	if cfg.ConnLimits.GracePeriod <= 0 {
		cfg.ConnLimits.GracePeriod = DefaultGracePeriod
	}
	if cfg.MetadataTimeout <= 0 {
		cfg.MetadataTimeout = DefaultMetadataTimeout
	}
	if cfg.MetadataIdleTimeout <= 0 {
		cfg.MetadataIdleTimeout = DefaultMetadataIdle
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if len(cfg.Muxers) == 0 {
		cfg.Muxers = []string{MuxerYamux, MuxerMplex}
	}
	if cfg.PrivKey == nil {
		k, _, err := crypto.GenerateSecp256k1Key(nil)
		if err != nil {
			return nil, fmt.Errorf("p2p: generate node key: %w", err)
		}
		cfg.PrivKey = k
	}
	listen, err := listenAddrs(cfg)
	if err != nil {
		return nil, err
	}
	ref := &listenRef{}
	adv := &advertiser{cfg: cfg.Advertise, listen: ref}
	opts, err := hostOptions(cfg, adv)
	if err != nil {
		return nil, err
	}
	lh, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("p2p: start libp2p host: %w", err)
	}
	ref.set(lh.Network().ListenAddresses)
	if err := listenAll(lh.Network(), listen); err != nil {
		_ = lh.Close()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	h := &Host{
		h:        lh,
		cfg:      cfg,
		log:      cfg.Logger.With("peer_id", lh.ID().String()),
		ctx:      ctx,
		stop:     stop,
		peers:    map[peer.ID]*peerState{},
		rejected: map[peer.ID]error{},
	}
	metaLimits := cfg.MetadataAdmission
	if metaLimits.FirstByte <= 0 {
		metaLimits.FirstByte = cfg.MetadataIdleTimeout
	}
	if metaLimits.Request <= 0 {
		metaLimits.Request = cfg.MetadataTimeout
	}
	if h.metaGate, err = admission.New(admission.Config{Protocol: string(ProtocolMetadata), Limits: metaLimits, Registerer: cfg.Registerer, Logger: h.log}); err != nil {
		_ = lh.Close()
		stop()
		return nil, fmt.Errorf("p2p: metadata: %w", err)
	}
	if err := h.registerMetrics(cfg.Registerer); err != nil {
		_ = lh.Close()
		stop()
		return nil, err
	}
	lh.SetStreamHandler(ProtocolMetadata, h.handleMetadata)
	h.notifiee = &network.NotifyBundle{
		ConnectedF:    func(_ network.Network, c network.Conn) { h.connected(c) },
		DisconnectedF: func(_ network.Network, c network.Conn) { h.disconnected(c) },
	}
	lh.Network().Notify(h.notifiee)
	h.log.Info("libp2p host started", "listen", h.Addrs(), "advertised", h.AdvertisedAddrs(), "cluster", cfg.ClusterID)
	return h, nil
}

// listenAddrs parses cfg.Listen; a secure websocket address needs
// cfg.WebsocketTLS.
func listenAddrs(cfg HostConfig) ([]ma.Multiaddr, error) {
	var listen []ma.Multiaddr
	for _, s := range cfg.Listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("p2p: listen address %q: %w", s, err)
		}
		secure := false
		for _, c := range a {
			if code := c.Protocol().Code; code == ma.P_WSS || code == ma.P_TLS {
				secure = true
			}
		}
		if secure && cfg.WebsocketTLS == nil {
			return nil, fmt.Errorf("p2p: listen address %s is a secure websocket, which needs a certificate (HostConfig.WebsocketTLS)", a)
		}
		listen = append(listen, a)
	}
	return listen, nil
}

// listenAll listens on each address in turn and fails on the first that
// cannot be listened on, naming it. go-libp2p's own listening (the
// ListenAddrs option) logs and drops the addresses that fail as long as
// one works: a node would run without, say, its websocket port.
func listenAll(n network.Network, addrs []ma.Multiaddr) error {
	one, ok := n.(interface{ AddListenAddr(ma.Multiaddr) error })
	for _, a := range addrs {
		var err error
		if ok {
			// The swarm's own: its error wraps the system's (such as
			// EADDRINUSE) where Listen only formats it.
			err = one.AddListenAddr(a)
		} else {
			err = n.Listen(a)
		}
		if err != nil {
			return fmt.Errorf("p2p: %w %s: %w", ErrListen, a, err)
		}
	}
	return nil
}

func hostOptions(cfg HostConfig, adv *advertiser) ([]libp2p.Option, error) {
	var muxers []libp2p.Option
	seen := map[string]bool{}
	for _, id := range cfg.Muxers {
		if seen[id] {
			return nil, fmt.Errorf("p2p: muxer %q listed twice", id)
		}
		seen[id] = true
		switch id {
		case MuxerYamux:
			muxers = append(muxers, libp2p.Muxer(yamux.ID, yamux.DefaultTransport))
		case MuxerMplex:
			muxers = append(muxers, libp2p.Muxer(mplex.ID, mplex.DefaultTransport))
		default:
			return nil, fmt.Errorf("p2p: unknown muxer %q (want %q or %q)", id, MuxerYamux, MuxerMplex)
		}
	}
	rm, err := resourceManager(cfg.ConnLimits.MaxPeers, cfg.StreamLimits)
	if err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(
		max(1, cfg.ConnLimits.MaxPeers*9/10), cfg.ConnLimits.MaxPeers,
		connmgr.WithGracePeriod(cfg.ConnLimits.GracePeriod),
	)
	if err != nil {
		return nil, fmt.Errorf("p2p: connection manager: %w", err)
	}
	var wsOpts []any
	if cfg.WebsocketTLS != nil {
		wsOpts = append(wsOpts, websocket.WithTLSConfig(cfg.WebsocketTLS))
	}
	opts := []libp2p.Option{
		libp2p.Identity(cfg.PrivKey),
		libp2p.UserAgent(cfg.UserAgent),
		// No SO_REUSEPORT: with it a second node (or anything else that
		// sets it) could bind our port, and the kernel would share the
		// connections between them. The websocket transport listens
		// without it. Without it go-libp2p dials from any address:
		// dialFrom keeps dialing from the listen address.
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport(), tcp.WithDialerForAddr(dialFrom(adv.listen))),
		libp2p.Transport(websocket.New, wsOpts...),
		// noise first: nwaku and js-waku speak only noise; TLS for
		// go-libp2p peers that prefer it.
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.DisableRelay(),
		libp2p.Ping(true),
	}
	opts = append(opts, muxers...)
	// NewHost listens itself (listenAll), address by address.
	opts = append(opts, libp2p.NoListenAddrs, libp2p.AddrsFactory(adv.addrs))
	return opts, nil
}

// dialFrom picks the source address of TCP dials (go-libp2p dials from
// its listen address only through SO_REUSEPORT, which the host turns
// off): a loopback destination is dialed from the host's first specific
// loopback listen address of its family, another from the host's listen
// address of its family when that is one specific address; otherwise the
// system picks. A node listening on one address is seen at it; on Linux
// hosts on distinct 127.x.y.z addresses (tests) are distinct sources.
func dialFrom(listen *listenRef) tcp.DialerForAddr {
	return func(raddr ma.Multiaddr) (tcp.ContextDialer, error) {
		d := &net.Dialer{}
		dst, ok := addrIP(raddr)
		if !ok {
			return d, nil
		}
		var specific []netip.Addr
		wildcard := false
		for _, l := range listen.addrs() {
			ip, ok := addrIP(l)
			if !ok || ip.Is4() != dst.Is4() {
				continue
			}
			if ip.IsUnspecified() {
				wildcard = true
			} else if !slices.Contains(specific, ip) {
				specific = append(specific, ip)
			}
		}
		var src netip.Addr
		if dst.IsLoopback() {
			for _, ip := range specific {
				if ip.IsLoopback() {
					src = ip
					break
				}
			}
		} else if len(specific) == 1 && !wildcard && !specific[0].IsLoopback() {
			src = specific[0]
		}
		if src.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		}
		return d, nil
	}
}

// Connection limits per source subnet (go-libp2p's resource manager; the
// loopback networks stay unlimited, as go-libp2p has them). One IPv4
// address keeps go-libp2p's 8 connections; one /24 may hold 32 of the
// 2 x MaxPeers (300 by default), so a single operator's network cannot take
// more than about a tenth of them. IPv6: go-libp2p's 8 per /56 and 64 per
// /48.
var (
	connLimitsV4 = []rcmgr.ConnLimitPerSubnet{{PrefixLength: 32, ConnCount: 8}, {PrefixLength: 24, ConnCount: 32}}
	connLimitsV6 = []rcmgr.ConnLimitPerSubnet{{PrefixLength: 56, ConnCount: 8}, {PrefixLength: 48, ConnCount: 64}}
)

// resourceManager configures go-libp2p's resource manager: its default
// limits scaled to the machine, the connections capped at twice maxPeers,
// connections per source subnet (connLimitsV4/V6), and a scope per Waku
// protocol with its stream limits: the host's own (hostStreamLimits) and
// the others' (HostConfig.StreamLimits).
func resourceManager(maxPeers int, others []StreamLimits) (network.ResourceManager, error) {
	scopes := append(hostStreamLimits(), others...)
	if err := checkStreamLimits(scopes); err != nil {
		return nil, err
	}
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	for _, ps := range scopes {
		for _, id := range ps.Protocols {
			// Memory stays go-libp2p's default for a protocol (the muxers'
			// receive windows are reserved from it); streams are fixed, not
			// scaled with the machine's memory.
			total := scaling.ProtocolBaseLimit
			total.StreamsInbound, total.StreamsOutbound, total.Streams = ps.Total, 2*ps.Total, 3*ps.Total
			scaling.AddProtocolLimit(id, total, rcmgr.BaseLimitIncrease{Memory: scaling.ProtocolLimitIncrease.Memory})
			perPeer := scaling.ProtocolPeerBaseLimit
			perPeer.StreamsInbound, perPeer.StreamsOutbound, perPeer.Streams = ps.PerPeer, 2*ps.PerPeer, 3*ps.PerPeer
			scaling.AddProtocolPeerLimit(id, perPeer, rcmgr.BaseLimitIncrease{Memory: scaling.ProtocolPeerLimitIncrease.Memory})
		}
	}
	conns := rcmgr.LimitVal(2 * maxPeers)
	partial := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{Conns: conns, ConnsInbound: conns, ConnsOutbound: conns},
	}
	limits := partial.Build(scaling.AutoScale())
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits), rcmgr.WithLimitPerSubnet(connLimitsV4, connLimitsV6))
	if err != nil {
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	return rm, nil
}

// Libp2p is the underlying libp2p host, for registering protocols and
// dialing. Stream handlers should be set before peers connect, so that
// identify announces them.
func (h *Host) Libp2p() host.Host { return h.h }

// ID is the host's peer id.
func (h *Host) ID() peer.ID { return h.h.ID() }

// Addrs are the host's listen addresses (a wildcard address resolved to
// each interface's) with /p2p/<id> appended, ready to be dialed by another
// node.
func (h *Host) Addrs() []ma.Multiaddr {
	self, err := ma.NewComponent("p2p", h.h.ID().String())
	if err != nil {
		return nil
	}
	listen, err := h.h.Network().InterfaceListenAddresses()
	if err != nil {
		h.log.Warn("interface listen addresses", "err", err)
		listen = h.h.Network().ListenAddresses()
	}
	var out []ma.Multiaddr
	for _, a := range listen {
		out = append(out, a.Encapsulate(self.Multiaddr()))
	}
	return out
}

// AdvertisedAddrs are the addresses the host announces to peers (in
// identify; the ENR builder reads them): what HostConfig.Advertise makes
// of the listen addresses, without /p2p/<id>. They change as listeners
// and confirmed observed addresses do.
func (h *Host) AdvertisedAddrs() []ma.Multiaddr { return h.h.Addrs() }

// IsSelf reports whether ai is this host: its peer id is ours, or every
// one of its (one or more) addresses is one of ours, listened on or
// announced. Dialing it would reach no other node.
func (h *Host) IsSelf(ai peer.AddrInfo) bool {
	if ai.ID == h.h.ID() {
		return true
	}
	if len(ai.Addrs) == 0 {
		return false
	}
	own := h.ownAddrs()
	for _, a := range ai.Addrs {
		if !slices.ContainsFunc(own, a.Equal) {
			return false
		}
	}
	return true
}

// ownAddrs are the addresses that reach this host: listened on (as
// configured and on each interface) and announced.
func (h *Host) ownAddrs() []ma.Multiaddr {
	own := slices.Clone(h.h.Network().ListenAddresses())
	if ifaces, err := h.h.Network().InterfaceListenAddresses(); err == nil {
		own = append(own, ifaces...)
	}
	return append(own, h.AdvertisedAddrs()...)
}

// ClusterID is the configured cluster.
func (h *Host) ClusterID() uint16 { return h.cfg.ClusterID }

// Connect dials a peer (if not connected) and waits until the metadata check
// has admitted or rejected it, or ctx ends. A rejection is returned as an
// error wrapping one of the Err* sentinels.
//
// A peer that is this host (IsSelf) is not dialed: the error wraps
// ErrSelf. Addresses of ours given for another peer id are left out.
func (h *Host) Connect(ctx context.Context, ai peer.AddrInfo) (PeerMetadata, error) {
	if h.IsSelf(ai) {
		return PeerMetadata{}, fmt.Errorf("p2p: dial %s at %v: %w", ai.ID, ai.Addrs, ErrSelf)
	}
	own := h.ownAddrs()
	ai.Addrs = slices.DeleteFunc(slices.Clone(ai.Addrs), func(a ma.Multiaddr) bool { return slices.ContainsFunc(own, a.Equal) })
	if err := h.h.Connect(ctx, ai); err != nil {
		return PeerMetadata{}, fmt.Errorf("p2p: dial %s: %w", ai.ID, err)
	}
	return h.WaitPeer(ctx, ai.ID)
}

// WaitPeer waits until the metadata check of a connected peer has an
// outcome.
func (h *Host) WaitPeer(ctx context.Context, p peer.ID) (PeerMetadata, error) {
	h.mu.Lock()
	st := h.peers[p]
	reason := h.rejected[p]
	h.mu.Unlock()
	if st == nil {
		if h.h.Network().Connectedness(p) != network.Connected {
			if reason != nil {
				return PeerMetadata{}, reason
			}
			return PeerMetadata{}, fmt.Errorf("p2p: %s: %w", p, ErrNotConnected)
		}
		// The connection notification may not have arrived yet: start
		// the check here (it runs once per peer either way).
		if st = h.startCheck(p); st == nil {
			return PeerMetadata{}, ErrClosed
		}
	}
	select {
	case <-ctx.Done():
		return PeerMetadata{}, ctx.Err()
	case <-st.done:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if st.ready {
		return st.md, nil
	}
	return PeerMetadata{}, st.err
}

// Close stops the host: connections close, and it returns once the
// metadata checks and the metadata requests in progress have ended.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.stop()
	h.h.Network().StopNotify(h.notifiee)
	err := h.h.Close()
	h.metaGate.Close()
	h.wg.Wait()
	return err
}

// Errors of NewHost, Connect and WaitPeer besides the metadata
// rejections.
var (
	ErrNotConnected = errors.New("peer not connected")
	ErrClosed       = errors.New("host closed")
	// ErrSelf: the peer to dial is this host.
	ErrSelf = errors.New("peer is this node")
	// ErrListen: a listen address could not be listened on (the error
	// names it and wraps the system's, e.g. syscall.EADDRINUSE).
	ErrListen = errors.New("cannot listen on")
)
