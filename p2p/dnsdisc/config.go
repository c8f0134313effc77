package dnsdisc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config's zero fields.
const (
	DefaultTimeout         = 5 * time.Second  // go-ethereum's per-query default
	DefaultRecheckInterval = 30 * time.Minute // go-ethereum's default
	DefaultMaxNodesPerTree = 256
	DefaultMaxTrees        = 16
	DefaultRateLimit       = 10 // queries per second
)

// Bounds of what one DNS answer may hold. A conforming entry is at most
// about 410 bytes (an ENR of 300 bytes in base64 with its prefix), and a
// name holds one entry.
const (
	// MaxEntrySize is the longest TXT record (its strings joined) accepted
	// as a tree entry or root.
	MaxEntrySize = 1024
	// MaxRecordsPerName is the most TXT records accepted at an entry's name.
	MaxRecordsPerName = 8
)

// Sentinel errors; the errors returned wrap one of them.
var (
	// ErrInvalidURL: a URL is not enrtree://<base32 public key>@<domain>.
	ErrInvalidURL = errors.New("dnsdisc: invalid enrtree URL")
	// ErrInvalidConfig: a Config field other than the URLs is wrong.
	ErrInvalidConfig = errors.New("dnsdisc: invalid config")
	// ErrTimeout: a DNS query got no answer within Config.Timeout.
	ErrTimeout = errors.New("dnsdisc: DNS query timed out")
	// ErrLookup: a DNS query failed (no such name, server failure, refused,
	// network error).
	ErrLookup = errors.New("dnsdisc: DNS query failed")
	// ErrNoRoot: the tree's domain has no enrtree-root record.
	ErrNoRoot = errors.New("dnsdisc: no enrtree-root record")
	// ErrBadSignature: the root record is not signed by the URL's key.
	ErrBadSignature = errors.New("dnsdisc: root signature does not verify")
	// ErrInvalidTree: a record of the tree is malformed, too large, does not
	// hash to its name, or holds a node record that does not verify.
	ErrInvalidTree = errors.New("dnsdisc: invalid tree")
	// ErrStaleRoot: the root's sequence number is not above the one of the
	// tree already followed (a replayed older tree); it is not taken.
	ErrStaleRoot = errors.New("dnsdisc: root sequence number did not increase")
)

// Config configures a Client.
type Config struct {
	// URLs are the trees to read, enrtree://<key>@<domain>. At least one.
	URLs []string
	// NameServer, "ip:port" or "ip" (port 53), is the DNS server asked
	// instead of the system's resolvers (nwaku's --dns-addrs-name-server).
	NameServer string
	// Timeout bounds each DNS query (default 5 s).
	Timeout time.Duration
	// RecheckInterval is how often a Feed asks for the trees' roots again
	// (default 30 min). A tree is read again only when its root changed.
	RecheckInterval time.Duration
	// MaxNodesPerTree is the most nodes taken from one tree (default 256).
	// The DNS queries for one tree are bounded accordingly: a larger tree
	// is read only up to that bound.
	MaxNodesPerTree int
	// MaxTrees is the most trees read, the configured ones and those
	// reached through links together (default 16).
	MaxTrees int
	// RateLimit is the most DNS queries per second of the Client, all
	// trees, Resolve calls and Feeds together (default 10; burst 10).
	RateLimit float64
	// Logger (default: discard).
	Logger *slog.Logger
	// Registerer receives the metrics (nil: not registered).
	Registerer prometheus.Registerer
}

// withDefaults fills the zero fields and checks the others.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Timeout < 0 {
		return cfg, fmt.Errorf("%w: Timeout %v is negative, expected a duration above zero (0: default %v)", ErrInvalidConfig, cfg.Timeout, DefaultTimeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RecheckInterval < 0 {
		return cfg, fmt.Errorf("%w: RecheckInterval %v is negative, expected a duration above zero (0: default %v)", ErrInvalidConfig, cfg.RecheckInterval, DefaultRecheckInterval)
	}
	if cfg.RecheckInterval == 0 {
		cfg.RecheckInterval = DefaultRecheckInterval
	}
	if cfg.MaxNodesPerTree < 0 {
		return cfg, fmt.Errorf("%w: MaxNodesPerTree %d is negative, expected at least 1 (0: default %d)", ErrInvalidConfig, cfg.MaxNodesPerTree, DefaultMaxNodesPerTree)
	}
	if cfg.MaxNodesPerTree == 0 {
		cfg.MaxNodesPerTree = DefaultMaxNodesPerTree
	}
	if cfg.MaxTrees < 0 {
		return cfg, fmt.Errorf("%w: MaxTrees %d is negative, expected at least the number of URLs (0: default %d)", ErrInvalidConfig, cfg.MaxTrees, DefaultMaxTrees)
	}
	if cfg.MaxTrees == 0 {
		cfg.MaxTrees = max(DefaultMaxTrees, len(cfg.URLs))
	}
	if cfg.MaxTrees < len(cfg.URLs) {
		return cfg, fmt.Errorf("%w: MaxTrees %d is below the %d URLs configured", ErrInvalidConfig, cfg.MaxTrees, len(cfg.URLs))
	}
	if cfg.RateLimit < 0 || cfg.RateLimit != cfg.RateLimit {
		return cfg, fmt.Errorf("%w: RateLimit %v, expected queries per second above zero (0: default %d)", ErrInvalidConfig, cfg.RateLimit, DefaultRateLimit)
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.NameServer != "" {
		ns, err := parseNameServer(cfg.NameServer)
		if err != nil {
			return cfg, err
		}
		cfg.NameServer = ns
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// parseNameServer returns s as "ip:port", port 53 when s is an address
// alone.
func parseNameServer(s string) (string, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(ip, 53).String(), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%w: NameServer %q: expected ip:port or an IP address (port 53)", ErrInvalidConfig, s)
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		if _, perr := netip.ParseAddr(host); perr != nil {
			return "", fmt.Errorf("%w: NameServer %q: host %q is not an IP address", ErrInvalidConfig, s, host)
		}
		return "", fmt.Errorf("%w: NameServer %q: port %q is not a number from 1 to 65535", ErrInvalidConfig, s, port)
	}
	if ap.Port() == 0 {
		return "", fmt.Errorf("%w: NameServer %q: port 0, expected 1 to 65535", ErrInvalidConfig, s)
	}
	return ap.String(), nil
}
