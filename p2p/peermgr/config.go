package peermgr

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/relay/gossipsub"
)

// Defaults. Where nwaku has the number (waku/node/peer_manager and its
// configuration) it is nwaku's; the others are ours.
const (
	// DefaultRelayShare is the relay budget's share of MaxPeers: nwaku's
	// relay-service-ratio default 50:50 (relay peers ceil(50%), service
	// peers the rest).
	DefaultRelayShare = 0.5
	// DefaultShardTarget is gossipsub's D, the mesh degree each shard
	// needs (relay/gossipsub DefaultParams, nwaku's).
	DefaultShardTarget = 6
	// DefaultDialTimeout bounds one dial and the metadata check after it
	// (nwaku DefaultDialTimeout).
	DefaultDialTimeout = 10 * time.Second
	// DefaultMaxParallelDials (nwaku MaxParallelDials).
	DefaultMaxParallelDials = 10
	// DefaultInterval is the run loop's period (nwaku's connectivity loop
	// runs every 15 to 30 s); events wake it in between.
	DefaultInterval = 15 * time.Second
	// DefaultColocationLimit is the number of connected peers one IP may
	// have (nwaku's ip-colocation-limit).
	DefaultColocationLimit = 5
	// DefaultMaxPerPrefix bounds the peer store's records of one address
	// prefix (/24, /56) or DNS name (ours).
	DefaultMaxPerPrefix = 16
	// DefaultGraylistBan is how long a peer disconnected for its gossipsub
	// score is not dialled or kept (ours; the router forgets a departed
	// peer's score after RetainScore, 10 minutes in nwaku's parameters).
	DefaultGraylistBan = time.Hour
	// DefaultClusterBan is how long a peer found on another cluster is not
	// dialled (ours).
	DefaultClusterBan = 24 * time.Hour
	// DefaultBanTableSize bounds the bans remembered (ours).
	DefaultBanTableSize = 4096
	// DefaultStoreInterval is how often the peer store is written when it
	// changed (ours; nwaku writes to SQLite on every change).
	DefaultStoreInterval = time.Minute
	// DefaultStoreCapacityFactor: the peer store holds this many times
	// MaxPeers records (nwaku's peer store capacity, 5 x max-connections).
	DefaultStoreCapacityFactor = 5
	// DefaultLogWindow, DefaultLogLines: at most DefaultLogLines
	// connection-change lines per window, two (a connection and a
	// disconnection) per peer (ours).
	DefaultLogWindow = time.Minute
	DefaultLogLines  = 100
	// DefaultSummaryInterval is how often the connection summary is logged
	// (nwaku's LogAndMetricsInterval).
	DefaultSummaryInterval = 3 * time.Minute
	// DefaultStoreFile is the peer store's file name in a node's data
	// directory.
	DefaultStoreFile = "peers.json"
)

// DefaultBackoff is the backoff of a candidate whose dials fail: 120 s,
// 480 s, 1920 s, 7680 s (nwaku's initialBackoffInSec 120 and backoffFactor
// 4), then 7680 s between attempts (nwaku gives up after 5 failures instead;
// here the record ages out of the store unless discovery offers it again).
var DefaultBackoff = Backoff{Initial: 120 * time.Second, Factor: 4, Max: 7680 * time.Second}

// DefaultStaticBackoff is the redial backoff of a static peer: 1 s doubling
// up to a minute (what node's keepConnected did). A static peer is never
// given up.
var DefaultStaticBackoff = Backoff{Initial: time.Second, Factor: 2, Max: time.Minute}

// ErrInvalidConfig reports a configuration the manager cannot run with.
var ErrInvalidConfig = errors.New("peermgr: invalid config")

// ServiceSlots are the service peers kept connected besides the relay
// peers, per service: nwaku's service slots (one store, lightpush or
// filter peer each when configured). Peers already connected that offer
// the service count; candidates whose capabilities include it are dialled
// for the rest.
type ServiceSlots struct {
	Store, Lightpush, Filter int
}

// Config configures a Manager. Only Host is required.
type Config struct {
	// Host is the node's libp2p host (its metadata check admits peers).
	Host *p2p.Host
	// Shards are the shards we relay; with none no relay peers are sought.
	Shards []uint16
	// Static peers are kept connected whatever the budgets, redialled
	// with StaticBackoff, never pruned, graylisted or banned.
	Static []peer.AddrInfo

	// MaxPeers caps the connected peers: the host's ConnLimits.MaxPeers
	// (default p2p.DefaultMaxPeers, nwaku's max-connections 150).
	MaxPeers int
	// RelayPeers is the relay budget, inbound and outbound (default
	// ceil(MaxPeers x DefaultRelayShare)); the rest of MaxPeers is for
	// service peers and light clients.
	RelayPeers int
	// OutRelayPeers is the outbound relay target (default RelayPeers / 3,
	// nwaku's); inbound relay peers are kept to RelayPeers - OutRelayPeers.
	OutRelayPeers int
	// ShardTarget is the relay peers each of our shards should have
	// (default DefaultShardTarget, gossipsub D).
	ShardTarget int
	// ServiceSlots are the service peers to keep (default none).
	ServiceSlots ServiceSlots

	// ColocationLimit caps the connected peers per IP (0: default 5;
	// negative: no cap).
	ColocationLimit int
	// MaxPerPrefix caps the peer store's records per address prefix
	// (0: default 16; negative: no cap).
	MaxPerPrefix int
	// PrefixExempt are networks neither cap applies to. nil means the
	// loopback networks (where a devnet runs every node, as gossipsub's
	// colocation whitelist has it); an empty non-nil slice exempts none.
	PrefixExempt []netip.Prefix

	// DialTimeout bounds a dial with the metadata check after it.
	DialTimeout time.Duration
	// MaxParallelDials bounds the dials in flight.
	MaxParallelDials int
	// Interval is the run loop's period; events (a candidate added, a
	// peer connected, admitted or disconnected, a dial done) wake it in
	// between, at most once per min(Interval, 250 ms).
	Interval time.Duration
	// Backoff applies to candidates whose dials fail (default
	// DefaultBackoff); StaticBackoff to static peers (default
	// DefaultStaticBackoff).
	Backoff, StaticBackoff Backoff

	// Scores reads the gossipsub scores of the relay's peers
	// (relay/pubsub.PubSub.Scores); nil: no peer is disconnected for its
	// score.
	Scores func() map[peer.ID]float64
	// GraylistThreshold: a peer scoring below it is disconnected and
	// banned for GraylistBan (default gossipsub's graylist threshold,
	// -10000 in nwaku's parameters; thresholds are negative, zero means
	// the default).
	GraylistThreshold float64
	// GraylistBan and ClusterBan are how long graylisted peers and peers
	// found on another cluster are not dialled (defaults DefaultGraylistBan,
	// DefaultClusterBan); BanTableSize bounds the bans kept.
	GraylistBan, ClusterBan time.Duration
	BanTableSize            int

	// StorePath is the peer store file ("" keeps the store in memory).
	StorePath string
	// StoreCapacity bounds the peer store (default 5 x MaxPeers).
	StoreCapacity int
	// StoreInterval is how often a changed store is written (default
	// DefaultStoreInterval); it is also written at Close.
	StoreInterval time.Duration

	// LogWindow and LogLines bound the connection-change log lines.
	LogWindow time.Duration
	LogLines  int
	// SummaryInterval is how often the connection summary is logged.
	SummaryInterval time.Duration

	// Registerer receives the metrics (nil: none).
	Registerer prometheus.Registerer
	// Logger receives the logs (default: discarded).
	Logger *slog.Logger

	// fs is the file layer of the peer store (tests fail its steps).
	fs storeFS
}

// withDefaults fills the zero fields and checks the result.
func (c Config) withDefaults() (Config, error) {
	if c.Host == nil {
		return c, fmt.Errorf("%w: no host", ErrInvalidConfig)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.fs == nil {
		c.fs = osFS{}
	}
	setDefault(&c.MaxPeers, p2p.DefaultMaxPeers)
	setDefault(&c.RelayPeers, int(math.Ceil(float64(c.MaxPeers)*DefaultRelayShare)))
	setDefault(&c.OutRelayPeers, c.RelayPeers/3)
	setDefault(&c.ShardTarget, DefaultShardTarget)
	setDefault(&c.ColocationLimit, DefaultColocationLimit)
	setDefault(&c.MaxPerPrefix, DefaultMaxPerPrefix)
	setDefault(&c.DialTimeout, DefaultDialTimeout)
	setDefault(&c.MaxParallelDials, DefaultMaxParallelDials)
	setDefault(&c.Interval, DefaultInterval)
	setDefault(&c.GraylistBan, DefaultGraylistBan)
	setDefault(&c.ClusterBan, DefaultClusterBan)
	setDefault(&c.BanTableSize, DefaultBanTableSize)
	setDefault(&c.StoreCapacity, DefaultStoreCapacityFactor*c.MaxPeers)
	setDefault(&c.StoreInterval, DefaultStoreInterval)
	setDefault(&c.LogWindow, DefaultLogWindow)
	setDefault(&c.LogLines, DefaultLogLines)
	setDefault(&c.SummaryInterval, DefaultSummaryInterval)
	if c.Backoff == (Backoff{}) {
		c.Backoff = DefaultBackoff
	}
	if c.StaticBackoff == (Backoff{}) {
		c.StaticBackoff = DefaultStaticBackoff
	}
	if c.GraylistThreshold == 0 {
		c.GraylistThreshold = gossipsub.DefaultThresholds().Graylist
	}
	if c.PrefixExempt == nil {
		c.PrefixExempt = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	c.Shards = slices.Clone(c.Shards)
	slices.Sort(c.Shards)
	c.Shards = slices.Compact(c.Shards)
	return c, c.validate()
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

func (c Config) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case c.MaxPeers < 1:
		return bad("max peers %d: want at least 1", c.MaxPeers)
	case c.RelayPeers < 0 || c.RelayPeers > c.MaxPeers:
		return bad("relay peers %d: want 0 to max peers (%d)", c.RelayPeers, c.MaxPeers)
	case c.OutRelayPeers < 0 || c.OutRelayPeers > c.RelayPeers:
		return bad("outbound relay peers %d: want 0 to relay peers (%d)", c.OutRelayPeers, c.RelayPeers)
	case len(c.Shards) > 0 && c.ShardTarget > c.RelayPeers:
		// nwaku refuses a relay budget below gossipsub's D high for the
		// same reason: the node would be isolated.
		return bad("shard target %d above the relay budget %d: the shards could never reach it", c.ShardTarget, c.RelayPeers)
	case c.ShardTarget < 1:
		return bad("shard target %d: want at least 1", c.ShardTarget)
	case len(c.Shards) > 0 && c.Shards[len(c.Shards)-1] > MaxShard:
		return bad("shard %d: want at most %d", c.Shards[len(c.Shards)-1], MaxShard)
	case c.ServiceSlots.Store < 0 || c.ServiceSlots.Lightpush < 0 || c.ServiceSlots.Filter < 0:
		return bad("negative service slots %+v", c.ServiceSlots)
	case c.DialTimeout < 0 || c.Interval < 0 || c.MaxParallelDials < 1:
		return bad("dial timeout %v, interval %v, parallel dials %d: want positive values", c.DialTimeout, c.Interval, c.MaxParallelDials)
	case c.GraylistThreshold > 0:
		return bad("graylist threshold %v: want a negative score", c.GraylistThreshold)
	case c.GraylistBan < 0 || c.ClusterBan < 0 || c.BanTableSize < 1:
		return bad("bans %v, %v, table %d: want positive values", c.GraylistBan, c.ClusterBan, c.BanTableSize)
	case c.StoreCapacity < 1 || c.StoreInterval < 0:
		return bad("store capacity %d, interval %v: want positive values", c.StoreCapacity, c.StoreInterval)
	case c.LogWindow < 0 || c.LogLines < 1 || c.SummaryInterval < 0:
		return bad("log window %v, lines %d, summary %v: want positive values", c.LogWindow, c.LogLines, c.SummaryInterval)
	}
	if err := c.Backoff.validate("candidate"); err != nil {
		return err
	}
	return c.StaticBackoff.validate("static")
}

// policy is the config's numbers for plan.
func (c Config) policy() policy {
	p := policy{
		maxPeers: c.MaxPeers, relayPeers: c.RelayPeers, outRelay: c.OutRelayPeers,
		shardTarget: c.ShardTarget, shards: c.Shards, colocation: max(c.ColocationLimit, 0),
		exempt: c.PrefixExempt, maxDials: c.MaxParallelDials,
	}
	for _, s := range []slot{{CapStore, c.ServiceSlots.Store}, {CapLightpush, c.ServiceSlots.Lightpush}, {CapFilter, c.ServiceSlots.Filter}} {
		if s.n > 0 {
			p.slots = append(p.slots, s)
		}
	}
	return p
}
