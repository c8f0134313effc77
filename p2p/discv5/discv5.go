// Package discv5 runs Waku's node discovery: Ethereum's Node Discovery v5
// (go-ethereum's p2p/discover) with Waku's packet protocol id "d5waku", so
// that Waku nodes (nwaku, go-waku) and Ethereum nodes do not answer each
// other, and a local record carrying the Waku entries (p2p/wakuenr).
//
// A Service listens on one UDP socket (default 0.0.0.0:9000), joins the
// network through bootstrap records, keeps its own record up to date
// (Update) and feeds candidates to the peer manager: Candidates runs a
// random walk through the network and yields the peers that fit us (same
// cluster, a shard in common with ours, the capabilities we need), each
// once, at a bounded rate and with a bounded share per address prefix.
//
// Everything a walk takes from the network is bounded: go-ethereum bounds
// the table (16 nodes a bucket, at most 2 a /24 a bucket and 10 a /24 in
// the table for addresses outside the LAN), every request in time, and
// the records to 300 bytes; a feed bounds what it remembers
// (Limits.SeenCache), how fast it yields (Limits.PerSecond, Limits.Burst)
// and how many of the peers it remembers share one address prefix
// (Limits.PerPrefix).
package discv5

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/p2p/discover"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/p2p/wakuenr"
)

// Protocol constants.
const (
	// ProtocolID is Waku's discv5 packet protocol id (Ethereum's is
	// "discv5").
	ProtocolID = "d5waku"
	// DefaultListen is nwaku's discv5 UDP address.
	DefaultListen = "0.0.0.0:9000"
)

// Errors callers branch on.
var (
	ErrClosed         = errors.New("discv5: service closed")
	ErrNotStarted     = errors.New("discv5: service not started")
	ErrStarted        = errors.New("discv5: service already started")
	ErrTooManyFeeds   = errors.New("discv5: too many candidate feeds")
	ErrInvalidConfig  = errors.New("discv5: invalid config")
	ErrInvalidRecords = errors.New("discv5: invalid bootstrap record")
)

// Config configures New. Only PrivKey is required.
type Config struct {
	// PrivKey is the node key (secp256k1; wakuenr.ECDSAKey converts the
	// libp2p node key).
	PrivKey *ecdsa.PrivateKey
	// Listen is the UDP address, host:port (default DefaultListen). Port 0
	// picks a free port (LocalAddr tells which). An IPv4 host (0.0.0.0
	// included) listens on IPv4 only, an IPv6 host on IPv6, an empty host
	// on both.
	Listen string
	// ProtocolID is the packet protocol id, 6 bytes (default ProtocolID).
	// Nodes with different ids do not understand each other.
	ProtocolID string
	// Bootnodes are the records the node joins the network through (see
	// ParseBootnodes).
	Bootnodes []*enode.Node
	// NodeDB is the path of the node database (go-ethereum's LevelDB: the
	// nodes seen, our record's sequence number); "" keeps it in memory.
	NodeDB string
	// Record is our record: the Waku entries, and the address and libp2p
	// TCP port peers dial. Record.UDP 0 is the port listened on. A nil
	// Record.IP is the listen host when that is a specific address, else
	// the address discovery peers report seeing us at (go-ethereum's
	// endpoint prediction, from 10 peers): set it when the public address
	// is known (nwaku's --nat=extip).
	Record wakuenr.LocalRecord
	// RequiredCapabilities are the flags a candidate's waku2 entry must
	// have (default wakuenr.Relay); AnyCapabilities lifts the requirement.
	RequiredCapabilities wakuenr.Capabilities
	AnyCapabilities      bool
	// Limits bound the candidate feeds (zero fields take the defaults).
	Limits Limits
	// Logger receives the service's logs and go-ethereum's discovery logs
	// (default: discarded).
	Logger *slog.Logger
	// Registerer receives the metrics (nil: not registered).
	Registerer prometheus.Registerer
	// PingInterval is how often go-ethereum checks the liveness of one
	// table node, which is also how fast a new node is handed out by the
	// random walk in a small network (0: go-ethereum's default, 3 s).
	// A local test network shortens it.
	PingInterval time.Duration
}

// ParseBootnodes reads "enr:..." text records (see wakuenr.Parse). Empty
// lines and lines starting with '#' are skipped, as nwaku does; anything
// else that is not a valid record is an error naming it.
func ParseBootnodes(texts []string) ([]*enode.Node, error) {
	var out []*enode.Node
	for k, t := range texts {
		if t == "" || t[0] == '#' {
			continue
		}
		n, err := wakuenr.Parse(t)
		if err != nil {
			return nil, fmt.Errorf("%w %d: %w", ErrInvalidRecords, k, err)
		}
		if _, ok := n.UDPEndpoint(); !ok {
			return nil, fmt.Errorf("%w %d: record %s has no IP and UDP port to reach it at", ErrInvalidRecords, k, n.ID().TerminalString())
		}
		out = append(out, n)
	}
	return out, nil
}

// Service is one discv5 node.
type Service struct {
	cfg      Config
	protoID  [6]byte
	listen   *net.UDPAddr
	network  string
	logger   *slog.Logger
	metrics  *metrics
	db       *enode.DB
	ln       *enode.LocalNode
	required wakuenr.Capabilities

	ctx    context.Context // ends at Close; parent of the feeds' contexts
	cancel context.CancelFunc
	wg     sync.WaitGroup // the feeds

	mu     sync.Mutex
	record wakuenr.LocalRecord // as last applied
	udp    *discover.UDPv5
	conn   *net.UDPConn
	feeds  int
	closed bool
}

// New checks cfg and prepares the service: our record is made (Self and
// Update work from here on) but nothing listens until Start.
func New(cfg Config) (*Service, error) {
	if cfg.PrivKey == nil {
		return nil, fmt.Errorf("%w: no PrivKey", ErrInvalidConfig)
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.ProtocolID == "" {
		cfg.ProtocolID = ProtocolID
	}
	if len(cfg.ProtocolID) != 6 {
		return nil, fmt.Errorf("%w: ProtocolID %q is %d bytes, want 6", ErrInvalidConfig, cfg.ProtocolID, len(cfg.ProtocolID))
	}
	limits, err := cfg.Limits.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.Limits = limits
	for k, n := range cfg.Bootnodes {
		if n == nil {
			return nil, fmt.Errorf("%w %d: nil", ErrInvalidRecords, k)
		}
		if err := n.ValidateComplete(); err != nil {
			return nil, fmt.Errorf("%w %d (%s): %w", ErrInvalidRecords, k, n.ID().TerminalString(), err)
		}
	}
	listen, network, err := parseListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	required := cfg.RequiredCapabilities
	if required == 0 {
		required = wakuenr.Relay
	}
	if cfg.AnyCapabilities {
		required = 0
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	db, err := enode.OpenDB(cfg.NodeDB)
	if err != nil {
		return nil, fmt.Errorf("discv5: open node database %q: %w", cfg.NodeDB, err)
	}
	s := &Service{
		cfg:      cfg,
		listen:   listen,
		network:  network,
		logger:   logger,
		metrics:  m,
		db:       db,
		ln:       enode.NewLocalNode(db, cfg.PrivKey),
		required: required,
	}
	copy(s.protoID[:], cfg.ProtocolID)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if listen.IP != nil && !listen.IP.IsUnspecified() {
		s.ln.SetFallbackIP(listen.IP)
	}
	rec := cfg.Record
	if rec.UDP == 0 && listen.Port != 0 {
		rec.UDP = listen.Port
	}
	if err := s.apply(rec); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// parseListen reads host:port and picks the socket's network.
func parseListen(listen string) (*net.UDPAddr, string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, "", fmt.Errorf("%w: Listen %q: %w", ErrInvalidConfig, listen, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, "", fmt.Errorf("%w: Listen %q: port %q, want 0 to 65535", ErrInvalidConfig, listen, port)
	}
	if host == "" {
		return &net.UDPAddr{Port: int(p)}, "udp", nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, "", fmt.Errorf("%w: Listen %q: host %q, want an IP address", ErrInvalidConfig, listen, host)
	}
	network := "udp6"
	if ip.Is4() || ip.Is4In6() {
		network, ip = "udp4", ip.Unmap()
	}
	return &net.UDPAddr{IP: ip.AsSlice(), Port: int(p)}, network, nil
}

// reserve are the entries go-ethereum's endpoint prediction may add to
// our record beyond what we set: an address of each family the socket
// speaks (unless ours is static) and the port it is seen at.
func (s *Service) reserve(rec wakuenr.LocalRecord) []enr.Entry {
	var out []enr.Entry
	static4 := rec.IP != nil && rec.IP.To4() != nil
	static6 := rec.IP != nil && rec.IP.To4() == nil
	if s.network != "udp6" {
		out = append(out, enr.UDP(65535))
		if !static4 {
			out = append(out, enr.IPv4(net.IPv4(255, 255, 255, 255).To4()))
		}
	}
	if s.network != "udp4" {
		out = append(out, enr.UDP6(65535))
		if !static6 {
			out = append(out, enr.IPv6(net.IPv6loopback))
		}
	}
	return out
}

// apply sets rec on our LocalNode; the caller holds s.mu or owns s alone.
func (s *Service) apply(rec wakuenr.LocalRecord) error {
	if rec.Shards != nil { // ours, not the caller's to change later
		sh := wakuenr.Shards{Cluster: rec.Shards.Cluster, Indices: slices.Clone(rec.Shards.Indices)}
		rec.Shards = &sh
	}
	rec.Multiaddrs = slices.Clone(rec.Multiaddrs)
	if err := wakuenr.Apply(s.ln, rec, s.reserve(rec)...); err != nil {
		return fmt.Errorf("discv5: our record: %w", err)
	}
	s.record = rec
	return nil
}

// Start listens and joins the network through the bootstrap records.
func (s *Service) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.udp != nil:
		return ErrStarted
	}
	conn, err := net.ListenUDP(s.network, s.listen)
	if err != nil {
		return fmt.Errorf("discv5: listen on %s: %w", s.cfg.Listen, err)
	}
	bound := conn.LocalAddr().(*net.UDPAddr)
	if s.record.UDP == 0 {
		rec := s.record
		rec.UDP = bound.Port
		if err := s.apply(rec); err != nil {
			conn.Close()
			return err
		}
	}
	protoID := s.protoID
	dcfg := discover.Config{
		PrivateKey:   s.cfg.PrivKey,
		Bootnodes:    s.cfg.Bootnodes,
		V5ProtocolID: &protoID,
		Log:          log.NewLogger(s.logger.Handler()),
		PingInterval: s.cfg.PingInterval,
	}
	udp, err := discover.ListenV5(conn, s.ln, dcfg)
	if err != nil {
		conn.Close()
		return fmt.Errorf("discv5: start: %w", err)
	}
	s.udp, s.conn = udp, conn
	s.metrics.track(udp)
	s.logger.Info("discv5 started", "addr", bound.String(), "protocol", s.cfg.ProtocolID, "bootnodes", len(s.cfg.Bootnodes), "enr", wakuenr.Text(s.ln.Node()))
	return nil
}

// Close stops the feeds and the listener and waits for every goroutine
// the service started. It may be called more than once.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	udp := s.udp
	s.mu.Unlock()

	s.cancel()
	if udp != nil {
		udp.Close()
	}
	s.wg.Wait()
	s.metrics.untrack()
	s.db.Close()
	return nil
}

// LocalAddr is the UDP address listened on (nil before Start).
func (s *Service) LocalAddr() *net.UDPAddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	return s.conn.LocalAddr().(*net.UDPAddr)
}

// Self is our current record.
func (s *Service) Self() *enode.Node { return s.ln.Node() }

// SelfText is our current record in text form ("enr:...").
func (s *Service) SelfText() string { return wakuenr.Text(s.ln.Node()) }

// Record is the LocalRecord last applied (its UDP port filled in).
func (s *Service) Record() wakuenr.LocalRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.record
}

// Update replaces our record's entries with rec (see wakuenr.LocalRecord;
// rec.UDP 0 keeps the port listened on). A record that would not fit in
// 300 bytes is refused (wakuenr.ErrTooBig) and the old one stays. Peers
// fetch the new record when they next talk to us (its sequence number is
// higher). The candidate filter follows rec's shards at once.
func (s *Service) Update(rec wakuenr.LocalRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if rec.UDP == 0 {
		rec.UDP = s.record.UDP
	}
	return s.apply(rec)
}

// ours is what candidates are matched against: our shards (nil: any
// cluster and shards) and the capabilities we require.
func (s *Service) ours() (*wakuenr.Shards, wakuenr.Capabilities) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.record.Shards, s.required
}

// transport is the running listener, or an error before Start and after
// Close.
func (s *Service) transport() (*discover.UDPv5, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, ErrClosed
	case s.udp == nil:
		return nil, ErrNotStarted
	}
	return s.udp, nil
}
