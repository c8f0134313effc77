// Package node composes an rlnd node from its configuration: the libp2p
// host with the metadata check, Waku relay with the RLN validator on the
// membership group (synced from the registry contract), Prometheus
// metrics and the health endpoint, the data directory, and the lifecycle
// that starts and stops them in order.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/internal/promutil"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/p2p/discv5"
	"github.com/rlnd/rlnd/p2p/dnsdisc"
	"github.com/rlnd/rlnd/p2p/peerexchange"
	"github.com/rlnd/rlnd/p2p/peermgr"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/relay/pubsub"
	"github.com/rlnd/rlnd/rest"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/store"
)

// The relay is what each service needs of one.
var (
	_ lightpush.Relay = (*relay.Relay)(nil)
	_ store.Relay     = (*relay.Relay)(nil)
	_ filter.Relay    = (*relay.Relay)(nil)
)

// Options are what a node is built from besides its configuration.
type Options struct {
	Config *config.Config
	// PrivKey is the node key; nil: p2p.nodekey, else the key file in
	// the data directory (created on the first start), else a fresh key.
	PrivKey crypto.PrivKey
	// Group replaces the group synced from the chain (tests, static
	// groups); nil syncs the registry at Config.Chain.
	Group membership.Group
	// Verifier replaces loading the verifying key from the artefacts.
	Verifier *rln.Verifier
	// SyncConfig tunes the registry sync (its Contract and ChainID come
	// from the configuration, its Registerer is the node's registry; its
	// CheckpointPath defaults to the data directory's, its StartBlock to
	// chain.start-block or the registry's deployment block).
	SyncConfig membership.SyncConfig
	// WrapChain, if set, wraps the chain endpoint the sync reads (tests
	// record or fault its calls).
	WrapChain func(membership.ChainSource) membership.ChainSource
	// Router replaces the gossipsub configuration (tests shorten the
	// heartbeat).
	Router *gossipsub.Config
	// Prover replaces loading the proving key for proof as a service.
	Prover *rln.Prover
	// LightpushMemberships prove light clients' messages besides those in
	// lightpush.keystore (the devnet registers its own); they must be in
	// the group.
	LightpushMemberships []relay.Member
	// Discv5PingInterval shortens discv5's liveness checks, which set
	// how fast a small network's nodes learn of each other (devnet,
	// tests); 0 keeps go-ethereum's 3 s.
	Discv5PingInterval time.Duration
	// DNSRecheckInterval is how often the DNS trees' roots are asked
	// again (tests); 0 keeps dnsdisc's 30 minutes.
	DNSRecheckInterval time.Duration
	// Version is the node's version, reported as nwaku's waku_version
	// metric (empty: "unknown").
	Version string
	// Registry receives the metrics; nil makes a new one.
	Registry *prometheus.Registry
	// OnEvidence receives double-signalling evidence.
	OnEvidence func(pubsubTopic string, ev rln.Evidence)
	Logger     *slog.Logger
}

// Node is a running rlnd relay node.
type Node struct {
	cfg      *config.Config
	log      *slog.Logger
	dataDir  string // "" without one
	host     *p2p.Host
	relay    *relay.Relay
	group    membership.Group
	gm       *membership.GroupManager
	eth      *ethclient.Client
	registry *prometheus.Registry
	lp       *lightpush.Service
	// own publishes the node's own messages with proofs from rln.keystore
	// (nil without it); prover is the proving key, loaded once.
	own      *lightpush.Service
	prover   *rln.Prover
	rest     *rest.Server
	filter   *filter.Service
	store    *store.Service
	archiver *store.Archiver
	archive  store.Archive
	metrics  *http.Server
	metAddr  net.Addr
	nm       *nodeMetrics       // waku_node_errors and the keystore import time
	wsCert   *p2p.WebsocketCert // nil without secure websocket
	// rlnDir is the RLN artefacts folder, resolved (and fetched, the first
	// time on a machine) when a key is first loaded.
	rlnDir string
	// Discovery (discovery.go): the peer manager, what feeds it, and the
	// peer-exchange server with its cache; nil when off.
	peers   *peermgr.Manager
	d5      *discv5.Service
	dnsFeed *dnsdisc.Feed
	pxCache *peerexchange.Cache
	px      *peerexchange.Server
	// enrText is the record ENR signs without discv5, once.
	enrOnce sync.Once
	enrText string
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
}

// New builds and starts a node: the group (synced once from the chain
// before relaying, so the first messages are judged on a current root),
// the host, relay and metrics server. Discovery and the peer manager
// (static peers among them) work in the background.
func New(ctx context.Context, o Options) (_ *Node, err error) {
	cfg := o.Config
	if cfg == nil {
		return nil, errors.New("node: no configuration")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkChainEndpoint(cfg, o); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if err := registerVersion(reg, o.Version); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	n := &Node{cfg: cfg, log: log, registry: reg, cancel: cancel}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if n.nm, err = newNodeMetrics(reg); err != nil {
		return nil, err
	}

	if dir := cfg.Node.DataDir; dir != "" {
		if err := prepareDataDir(dir); err != nil {
			return nil, err
		}
		n.dataDir = dir
	}
	signal, err := rln.ParseSignalMode(cfg.RLN.Signal)
	if err != nil {
		return nil, err
	}
	// The identity and addresses first: a bad key file or certificate
	// fails the start before the chain sync.
	hc, err := n.hostConfig(o.PrivKey)
	if err != nil {
		return nil, err
	}
	v, err := n.newValidator(ctx, runCtx, signal, o)
	if err != nil {
		return nil, err
	}
	if err := n.startRelay(hc, v, o); err != nil {
		return nil, err
	}
	if cfg.Lightpush.Enabled {
		if err := n.startLightpush(signal, o.Prover, o.LightpushMemberships); err != nil {
			return nil, err
		}
	}
	if cfg.Store.Enabled {
		if err := n.startStore(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Filter.Enabled {
		if err := n.startFilter(); err != nil {
			return nil, err
		}
	}
	if err := n.startPeerExchange(); err != nil {
		return nil, err
	}
	if cfg.Metrics.Enabled {
		if err := n.serveMetrics(); err != nil {
			return nil, err
		}
	}
	if err := n.startDiscovery(runCtx, o.Discv5PingInterval, o.DNSRecheckInterval); err != nil {
		return nil, err
	}
	if err := n.startOwnPublisher(signal, o.Prover); err != nil {
		return nil, err
	}
	if cfg.REST.Enabled {
		if err := n.startREST(o.Version); err != nil {
			return nil, err
		}
	}
	if _, ok := n.group.(membership.HealthReporter); ok {
		n.wg.Add(1)
		go n.watchHealth(runCtx)
	}
	if err := n.registerLateMetrics(); err != nil {
		return nil, err
	}
	if every := cfg.Log.StatusInterval; every > 0 {
		n.wg.Add(1)
		go n.logStatus(runCtx, every)
	}
	log.Info("node started", "peer", n.host.ID(), "addrs", n.Addrs(), "advertised", n.host.AdvertisedAddrs(), "topics", n.relay.Topics(), "rln", cfg.RLN.Enabled)
	return n, nil
}

// registerVersion reports the version as nwaku does: waku_version with
// the version as its label, set to 1.
func registerVersion(reg prometheus.Registerer, version string) error {
	if version == "" {
		version = "unknown"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "waku_version", Help: "Waku version info (the rlnd version).", ConstLabels: prometheus.Labels{"version": version},
	})
	g, err := promutil.Register(reg, g) // a registry shared by nodes of one version has it once
	if err != nil {
		return fmt.Errorf("node: register waku_version: %w", err)
	}
	g.Set(1)
	return nil
}

// newValidator builds the relay's validator: with RLN on, on the group
// (given, or synced from the chain before relaying, so the first messages
// are judged on a current root) and the verifying key.
func (n *Node) newValidator(ctx, runCtx context.Context, signal rln.SignalMode, o Options) (*relay.Validator, error) {
	cfg := n.cfg
	// An interface, set only when RLN is on: a nil *rln.Verifier in it
	// would not be a nil ProofVerifier.
	var verifier relay.ProofVerifier
	if cfg.RLN.Enabled {
		if o.Verifier != nil {
			verifier = o.Verifier
		} else {
			dir, err := n.artefactsDir(ctx)
			if err != nil {
				return nil, fmt.Errorf("node: RLN verifying key: %w", err)
			}
			loaded, err := rln.LoadVerifier(dir, rln.WakuRLNIdentifier)
			if err != nil {
				return nil, fmt.Errorf("node: RLN verifying key: %w", err)
			}
			verifier = loaded
		}
		n.group = o.Group
		if n.group == nil {
			if err := n.startSync(ctx, runCtx, o); err != nil {
				return nil, err
			}
		}
	}
	return relay.NewValidator(relay.ValidatorConfig{
		Group: n.group, Verifier: verifier, RLN: cfg.RLN.Enabled,
		EpochPeriod: cfg.RLN.EpochPeriod, MaxEpochGap: cfg.RLN.MaxEpochGap, Signal: signal,
		OnEvidence: func(topic string, ev rln.Evidence) {
			n.log.Warn("double signalling", "topic", topic, "epoch", ev.Epoch, "nullifier", ev.Nullifier.String(), "secret", ev.Secret.String())
			if o.OnEvidence != nil {
				o.OnEvidence(topic, ev)
			}
		},
		Registerer: n.registry,
	})
}

// startRelay starts the libp2p host (hc: its identity and addresses) with
// the metadata check, and Waku relay on the configured shards.
func (n *Node) startRelay(hc p2p.HostConfig, v *relay.Validator, o Options) (err error) {
	cfg := n.cfg
	shards := cfg.ShardList()
	shards32 := make([]uint32, len(shards))
	shards16 := make([]uint16, len(shards))
	for i, s := range shards {
		shards32[i], shards16[i] = uint32(s), uint16(s)
	}
	hc.ClusterID, hc.Shards, hc.Logger = cfg.Network.ClusterID, func() []uint32 { return shards32 }, n.log
	hc.MetadataAdmission, hc.StreamLimits, hc.Registerer = metadataLimits(cfg.P2P), streamLimits(), n.registry
	if n.host, err = p2p.NewHost(hc); err != nil {
		return err
	}
	n.relay, err = relay.New(n.host.Libp2p(), relay.Config{
		ClusterID: cfg.Network.ClusterID, NumShards: cfg.Network.NumShards, Shards: shards16,
		Validator: v, Router: o.Router, Logger: n.log, Registerer: n.registry,
		AwaitPeer: func(ctx context.Context, p peer.ID) error { _, err := n.host.WaitPeer(ctx, p); return err },
	})
	return err
}

// startStore opens the archive (PostgreSQL when store.db-url is set,
// SQLite otherwise), archives what the relay delivers and serves queries.
func (n *Node) startStore(ctx context.Context) error {
	sc := n.cfg.Store
	var db store.Archive
	var err error
	if sc.DBURL != "" {
		db, err = store.OpenPostgres(ctx, sc.DBURL)
	} else {
		path := sc.DBPath
		if path == "" {
			if path, err = n.dataFile("store.db-path", storeFile, legacyStoreFile); err != nil {
				return err
			}
		}
		db, err = store.OpenSQLite(path, store.SQLiteLogger(n.log))
	}
	if err != nil {
		return fmt.Errorf("node: store archive: %w", err)
	}
	n.archive = db
	// The archiver and the service share the store metrics: both
	// register them on the registry.
	if n.archiver, err = store.NewArchiver(n.relay, db, store.ArchiverConfig{Logger: n.log, Registerer: n.registry, MaxGap: n.cfg.RLN.MaxEpochGap,
		Retention: store.Retention{MaxAge: sc.RetentionTime, MaxCount: sc.RetentionCount, MaxBytes: int64(sc.RetentionBytes)}}); err != nil {
		return err
	}
	n.store, err = store.NewService(n.host.Libp2p(), db, store.ServiceConfig{Logger: n.log, Registerer: n.registry,
		Admission: admissionLimits(n.cfg.P2P), MaxFullPages: sc.MaxFullPages})
	return err
}

// startFilter serves filter subscriptions on the relay's messages.
func (n *Node) startFilter() (err error) {
	fc := n.cfg.Filter
	if n.filter, err = filter.NewService(n.host.Libp2p(), filter.ServiceConfig{Relay: n.relay, Logger: n.log, Registerer: n.registry,
		Admission: admissionLimits(n.cfg.P2P), MaxPeers: fc.MaxPeers, MaxPeersPerPrefix: fc.MaxPeersPerPrefix,
		MaxCriteriaPerPeer: fc.MaxCriteriaPerPeer, MaxContentTopicLength: fc.MaxContentTopicLength,
		PushQueue: fc.PushQueue, PushQueueBytes: fc.PushQueueBytes}); err != nil {
		return err
	}
	n.log.Info("filter service", "max_peers", fc.MaxPeers, "max_peers_per_prefix", fc.MaxPeersPerPrefix,
		"memory_bound_mib", n.filter.MemoryBound()>>20)
	return nil
}

// streamLimits are the resource manager's stream scopes of the protocols a
// node carries besides the host's own, each declared by its package. They
// apply whichever services are on: a node dials these protocols too.
func streamLimits() []p2p.StreamLimits {
	return []p2p.StreamLimits{pubsub.StreamLimits(), lightpush.StreamLimits(), store.StreamLimits(), filter.StreamLimits(), peerexchange.StreamLimits()}
}

// startLightpush serves lightpush; with memberships, from the keystore or
// given, it attaches proofs to light clients' messages.
func (n *Node) startLightpush(signal rln.SignalMode, prover *rln.Prover, given []relay.Member) error {
	lc := n.cfg.Lightpush
	sc := lightpush.ServiceConfig{
		Relay: n.relay, Group: n.group, EpochPeriod: n.cfg.RLN.EpochPeriod, MaxEpochGap: n.cfg.RLN.MaxEpochGap, Signal: signal,
		SlotsPath: lc.SlotsFile, PerPeerQuota: lc.PerPeerQuota, PerIPQuota: lc.PerIPQuota, PerPrefixQuota: lc.PerPrefixQuota,
		GlobalCap: lc.GlobalCap, ReservedShare: float64(lc.ReservedPercent) / 100, AllowlistPath: lc.Allowlist, Workers: lc.Workers,
		Logger: n.log, Registerer: n.registry, Admission: admissionLimits(n.cfg.P2P),
	}
	if lc.ReservedPercent == 0 {
		sc.ReservedShare = -1 // none
	}
	ms, err := n.keystoreMemberships("lightpush.keystore", lc.Keystore, lc.KeystorePassword)
	if err != nil {
		return err
	}
	sc.Memberships = append(ms, given...)
	if len(sc.Memberships) > 0 && sc.SlotsPath == "" {
		if sc.SlotsPath, err = n.dataFile("lightpush.slots-file", slotsFile, legacySlotsFile); err != nil {
			return err
		}
	}
	if len(sc.Memberships) > 0 {
		if !n.cfg.RLN.Enabled {
			return errors.New("node: proof as a service (lightpush memberships) needs rln.enabled")
		}
		if sc.Prover, err = n.loadProver(prover); err != nil {
			return err
		}
	}
	lp, err := lightpush.NewService(n.host.Libp2p(), sc)
	if err != nil {
		return err
	}
	n.lp = lp
	n.log.Info("lightpush on", "proof-as-a-service memberships", len(sc.Memberships), "slots", sc.SlotsPath)
	return nil
}

// keystoreMemberships are the memberships in the keystore at path (none
// when it is unset), unlocked with password; key names its setting.
func (n *Node) keystoreMemberships(key, path, password string) ([]relay.Member, error) {
	if path == "" {
		return nil, nil
	}
	if !n.cfg.RLN.Enabled {
		return nil, fmt.Errorf("node: %s needs rln.enabled", key)
	}
	start := time.Now()
	ks, err := membership.Load(path)
	if err != nil {
		return nil, fmt.Errorf("node: %s: %w", key, err)
	}
	creds, err := ks.All(password)
	if err != nil {
		return nil, fmt.Errorf("node: %s %s: %w", key, path, err)
	}
	n.nm.imported(time.Since(start))
	var ms []relay.Member
	for _, m := range creds {
		id, err := m.Identity.Identity()
		if err != nil {
			return nil, err
		}
		limit := m.UserMessageLimit
		if limit == 0 {
			limit = uint64(n.cfg.RLN.UserMessageLimit)
		}
		ms = append(ms, relay.Member{Identity: id, Index: m.TreeIndex, UserMessageLimit: limit})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("node: %s %s holds no membership", key, path)
	}
	return ms, nil
}

// loadProver is the proving key: given, loaded before, or loaded now from
// the artefacts.
func (n *Node) loadProver(given *rln.Prover) (*rln.Prover, error) {
	if given != nil {
		n.prover = given
	}
	if n.prover != nil {
		return n.prover, nil
	}
	// With RLN on, the verifier's resolve ran first under New's context
	// and this is a lookup; otherwise no context is at hand here, and a
	// fetch still needed is bounded by its per-file timeouts.
	dir, err := n.artefactsDir(context.Background())
	if err != nil {
		return nil, fmt.Errorf("node: RLN proving key: %w", err)
	}
	p, err := rln.LoadProver(dir, rln.WakuRLNIdentifier)
	if err != nil {
		return nil, fmt.Errorf("node: RLN proving key: %w", err)
	}
	n.prover = p
	return p, nil
}

// artefactsDir resolves the RLN artefacts folder once: rln.artefacts-dir
// when set (only it), else ../shared/rln/tree_depth_20, else the cache,
// fetched into the first time (see rln/artefacts).
func (n *Node) artefactsDir(ctx context.Context) (string, error) {
	if n.rlnDir != "" {
		return n.rlnDir, nil
	}
	loc, err := artefacts.Resolve(ctx, artefacts.Options{Dir: n.cfg.RLN.ArtefactsDir, Logger: n.log})
	if err != nil {
		return "", err
	}
	if loc.Source != artefacts.SourceConfig {
		n.log.Info("RLN artefacts", "dir", loc.Dir, "source", loc.Source.String())
	}
	n.rlnDir = loc.Dir
	return loc.Dir, nil
}

// Archive is the store archive (nil when off).
func (n *Node) Archive() store.Archive { return n.archive }

// Filter is the filter service (nil when off).
func (n *Node) Filter() *filter.Service { return n.filter }

// Lightpush is the lightpush service (nil when off).
func (n *Node) Lightpush() *lightpush.Service { return n.lp }

// Reload reads again what may change while the node runs: the lightpush
// allowlist, when one is configured, and the secure websocket certificate
// (a renewed one is served to new connections). On an error the old
// values stay.
func (n *Node) Reload() error {
	var errs []error
	if n.lp != nil && n.cfg.Lightpush.Allowlist != "" {
		errs = append(errs, n.lp.ReloadAllowlist())
	}
	if n.wsCert != nil {
		if err := n.wsCert.Reload(); err != nil {
			errs = append(errs, fmt.Errorf("node: secure websocket certificate kept: %w", err))
		} else {
			n.logWebsocketCert()
		}
	}
	return errors.Join(errs...)
}

// serveMetrics serves the Prometheus metrics at /metrics and the node's
// health at /health (see serveHealth) on metrics.address.
func (n *Node) serveMetrics() error {
	addr, err := n.cfg.ShiftHostPort(n.cfg.Metrics.Address)
	if err != nil {
		return fmt.Errorf("node: metrics.address: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if shift := n.cfg.P2P.PortsShift; shift != 0 {
			return fmt.Errorf("node: metrics on %s (metrics.address %s after p2p.ports-shift %d): %w", addr, n.cfg.Metrics.Address, shift, err)
		}
		return fmt.Errorf("node: metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(n.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /health", n.serveHealth)
	n.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	n.metAddr = ln.Addr()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.metrics.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("metrics server", "err", err)
		}
	}()
	return nil
}

// MetricsAddr is the metrics server's address (nil when off).
func (n *Node) MetricsAddr() net.Addr { return n.metAddr }

// Relay is the node's Waku relay.
func (n *Node) Relay() *relay.Relay { return n.relay }

// Host is the node's libp2p host.
func (n *Node) Host() *p2p.Host { return n.host }

// Group is the membership group the validator uses (nil with RLN off).
func (n *Node) Group() membership.Group { return n.group }

// Registry is the metrics registry.
func (n *Node) Registry() *prometheus.Registry { return n.registry }

// Addrs are the node's full multiaddrs (with /p2p/<id>).
func (n *Node) Addrs() []ma.Multiaddr { return n.host.Addrs() }

// Close stops the node: peers first, then relay, sync and metrics.
func (n *Node) Close() error {
	n.once.Do(func() {
		n.cancel()
		if n.rest != nil {
			_ = n.rest.Close()
		}
		// Discovery first: no new dials or candidates while the rest
		// stops; the peer manager writes its store on Close.
		if n.dnsFeed != nil {
			n.dnsFeed.Close()
		}
		if n.d5 != nil {
			_ = n.d5.Close()
		}
		if n.peers != nil {
			if err := n.peers.Close(); err != nil {
				n.log.Warn("peer manager: closing", "err", err)
			}
		}
		if n.px != nil {
			n.px.Close()
		}
		if n.lp != nil {
			n.lp.Close()
		}
		if n.own != nil {
			n.own.Close()
		}
		if n.filter != nil {
			n.filter.Close()
		}
		if n.store != nil {
			n.store.Close()
		}
		if n.relay != nil {
			_ = n.relay.Close()
		}
		if n.host != nil {
			_ = n.host.Close()
		}
		if n.archiver != nil {
			n.archiver.Close() // after relay: what it delivered is stored
		}
		if n.archive != nil {
			_ = n.archive.Close()
		}
		if n.gm != nil {
			n.gm.Stop()
		}
		if n.metrics != nil {
			// Close has no context: scrapes in progress get 5 s, then
			// their connections are closed, so that none outlives Close.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := n.metrics.Shutdown(ctx); err != nil {
				_ = n.metrics.Close()
			}
			cancel()
		}
		n.wg.Wait()
		if n.eth != nil {
			n.eth.Close()
		}
	})
	return nil
}
