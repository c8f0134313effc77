// Package peermgr is rlnd's peer manager: it keeps the node connected to
// enough relay peers on each of its shards, to its service peers and to its
// static peers, within the connection budget, from the candidates discovery
// offers (Add), and remembers the peers it knows in a peer store that
// survives restarts.
//
// Policy (Config has the numbers and where they come from):
//   - At most MaxPeers connections. A relay budget (RelayPeers, half of
//     them) of which OutRelayPeers (a third) are dialled by us; inbound
//     relay peers beyond the rest are disconnected, least useful first, so
//     that inbound peers cannot take every slot. Peers that are not relay
//     peers (light clients, service peers) share what the relay budget
//     leaves.
//   - Each of our shards is brought to ShardTarget relay peers (gossipsub
//     D), dialling first the candidates that cover most of the shards that
//     are short; then the outbound target is filled.
//   - Service slots keep store, lightpush and filter peers outside the
//     relay budget.
//   - A candidate whose dials fail waits an exponential backoff; it is
//     never dialled while a dial to it is in flight or within Interval of
//     the last one.
//   - We never dial ourselves, a candidate known to be on another cluster,
//     or a peer the metadata check found on another cluster (banned for
//     ClusterBan). A peer whose gossipsub score falls below the graylist
//     threshold is disconnected and banned for GraylistBan.
//   - At most ColocationLimit peers per IP; the newest beyond it go.
//   - Static peers are always redialled and never pruned.
//
// One goroutine, the run loop, decides (policy.go is the decision, a pure
// function of what is connected, dialled and known) and carries out; the
// dials and the waits for each new peer's metadata check run on goroutines
// of their own. Close stops and waits for all of them, then writes the
// peer store.
package peermgr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/rlnd/rlnd/p2p"
)

// protectTag is the connection manager tag the manager protects its
// static and service-slot peers with.
const protectTag = "peermgr"

// Manager is a running peer manager.
type Manager struct {
	cfg  Config
	pol  policy
	h    *p2p.Host
	self peer.ID
	log  *slog.Logger
	met  *metrics
	// statics are the static peers (immutable after New).
	statics map[peer.ID]peer.AddrInfo

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{}

	// saveMu serialises writes of the store file (the loop's and Close's).
	saveMu sync.Mutex
	// life serialises Start and Close (taken before mu).
	life sync.Mutex

	mu       sync.Mutex
	started  bool
	closed   bool
	notifiee *network.NotifyBundle
	store    *peerStore
	bans     *banTable
	static   map[peer.ID]*staticState
	dialing  map[peer.ID]intent
	lastDial map[peer.ID]time.Time // dials started within Interval
	watching map[peer.ID]bool
	live     map[peer.ID]*livePeer // admitted peers at the last step
	protect  map[peer.ID]bool      // protected in the connection manager
	limiter  *logLimiter
	stats    Stats
	saved    time.Time // last store write

	summary time.Time // last summary line (the loop's own)
}

type staticState struct {
	fails int
	next  time.Time
}

// Stats are the manager's counters and its view at the last step.
type Stats struct {
	// Known is the number of peer store records; Banned the bans in
	// force; Dialing the dials in flight.
	Known, Banned, Dialing int
	// Connected are the admitted peers; RelayIn and RelayOut the relay
	// peers among them by direction.
	Connected, RelayIn, RelayOut int
	// ShardPeers are the relay peers of each of our shards.
	ShardPeers map[uint16]int
	// Dials started, and how many of them failed.
	Dials, DialFailures uint64
	// Disconnects are the peers disconnected by the manager, Graylisted
	// those among them for their gossipsub score.
	Disconnects, Graylisted uint64
	// Steps counts the run loop's passes.
	Steps uint64
	// LogsSuppressed counts the connection-change lines left out.
	LogsSuppressed uint64
	// StoreWrites and StoreWriteFailures count the peer store saves.
	StoreWrites, StoreWriteFailures uint64
}

// New builds a manager: it checks the config, loads the peer store and
// registers the metrics. Start runs it.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg: cfg, pol: cfg.policy(), h: cfg.Host, self: cfg.Host.ID(), log: cfg.Logger,
		statics: map[peer.ID]peer.AddrInfo{}, wake: make(chan struct{}, 1),
		store:  newPeerStore(cfg.StoreCapacity, cfg.MaxPerPrefix, cfg.PrefixExempt),
		bans:   newBanTable(cfg.BanTableSize),
		static: map[peer.ID]*staticState{}, dialing: map[peer.ID]intent{}, lastDial: map[peer.ID]time.Time{},
		watching: map[peer.ID]bool{}, live: map[peer.ID]*livePeer{}, protect: map[peer.ID]bool{},
		limiter: newLogLimiter(cfg.LogWindow, 2, cfg.LogLines),
	}
	for _, ai := range cfg.Static {
		n, err := normalise(Candidate{Info: ai, Source: SourceStatic})
		if err != nil {
			return nil, fmt.Errorf("%w: static peer %s: %v", ErrInvalidConfig, ai.ID, err)
		}
		if n.Info.ID == m.self {
			return nil, fmt.Errorf("%w: static peer %s is this node", ErrInvalidConfig, ai.ID)
		}
		m.statics[n.Info.ID] = n.Info
		m.static[n.Info.ID] = &staticState{}
	}
	if m.met, err = newMetrics(cfg.Registerer, m); err != nil {
		return nil, err
	}
	if err := m.loadStore(); err != nil {
		return nil, err
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// loadStore reads the peer store file. A corrupt file is logged, kept
// aside as <path>.corrupt and the store starts empty; a missing one is an
// empty store.
func (m *Manager) loadStore() error {
	path := m.cfg.StorePath
	if path == "" {
		return nil
	}
	limit := int64(64<<10) + int64(m.cfg.StoreCapacity)*storeRecordBound
	saved, err := readStore(m.cfg.fs, path, limit)
	if errors.Is(err, errCorruptStore) {
		m.met.fault("corrupt")
		aside := path + ".corrupt"
		if rerr := m.cfg.fs.Rename(path, aside); rerr != nil {
			m.log.Warn("peer store file corrupt and could not be kept aside; starting empty", "path", path, "err", err, "rename_err", rerr)
		} else {
			m.log.Warn("peer store file corrupt: kept aside, starting empty", "path", path, "kept_as", aside, "err", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	saved = slices.DeleteFunc(saved, func(k KnownPeer) bool {
		return k.ID == m.self || (k.ClusterKnown && k.Cluster != m.h.ClusterID()) || m.statics[k.ID].ID != ""
	})
	kept := m.store.load(saved)
	m.store.dirty = false
	m.log.Info("peer store loaded", "path", path, "peers", kept, "in_file", len(saved))
	return nil
}

// Start runs the manager: it watches the host's connections and starts the
// run loop.
func (m *Manager) Start() error {
	m.life.Lock()
	defer m.life.Unlock()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if m.started {
		m.mu.Unlock()
		return ErrStarted
	}
	m.started = true
	m.notifiee = &network.NotifyBundle{
		ConnectedF:    func(_ network.Network, c network.Conn) { m.connected(c.RemotePeer()) },
		DisconnectedF: func(network.Network, network.Conn) { m.poke() },
	}
	m.wg.Add(1)
	go m.loop()
	m.mu.Unlock()
	// The network is called without the lock: its notifications take it.
	net := m.h.Libp2p().Network()
	net.Notify(m.notifiee)
	for _, p := range net.Peers() {
		m.connected(p)
	}
	return nil
}

// Close stops the manager and waits for its goroutines (dials in flight
// are cancelled), then writes the peer store; the error is the write's.
// Connections stay up.
func (m *Manager) Close() error {
	m.life.Lock()
	defer m.life.Unlock()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	notifiee := m.notifiee
	m.mu.Unlock()
	if notifiee != nil {
		m.h.Libp2p().Network().StopNotify(notifiee)
	}
	m.cancel()
	m.wg.Wait()
	m.mu.Lock()
	cm := m.h.Libp2p().ConnManager()
	for id := range m.protect {
		cm.Unprotect(id, protectTag)
	}
	clear(m.protect)
	m.mu.Unlock()
	return m.save(time.Now(), true)
}

// poke wakes the run loop.
func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// connected is the network's notification of a new connection: it starts
// a wait for the peer's metadata check (once per peer at a time).
func (m *Manager) connected(p peer.ID) {
	m.mu.Lock()
	m.watchLocked(p)
	m.mu.Unlock()
	m.poke()
}

func (m *Manager) watchLocked(p peer.ID) {
	if m.closed || m.watching[p] {
		return
	}
	m.watching[p] = true
	m.wg.Add(1)
	go m.watch(p)
}

// watch waits for a peer's metadata check (bounded by the host's metadata
// timeout) and wakes the loop. A peer of our store found on another
// cluster is dropped from it and banned.
func (m *Manager) watch(p peer.ID) {
	defer m.wg.Done()
	_, err := m.h.WaitPeer(m.ctx, p)
	m.mu.Lock()
	delete(m.watching, p)
	if otherCluster(err) && m.store.get(p) != nil {
		m.banOtherCluster(p, err, time.Now())
	}
	m.mu.Unlock()
	m.poke()
}

func otherCluster(err error) bool {
	return errors.Is(err, p2p.ErrClusterMismatch) || errors.Is(err, p2p.ErrNoClusterID)
}

// banOtherCluster forgets a peer found on another cluster and bans it.
func (m *Manager) banOtherCluster(p peer.ID, err error, now time.Time) {
	if m.statics[p].ID != "" {
		return
	}
	m.store.remove(p)
	m.bans.add(p, now.Add(m.cfg.ClusterBan), pruneOtherCluster)
	m.log.Info("peer is on another cluster: forgotten and not dialled again", "peer", p, "for", m.cfg.ClusterBan, "err", err)
}

// Add offers a candidate. It does not block: the candidate is checked,
// recorded in the peer store (bounded: the least recently seen record
// makes room) and the run loop is woken. The error says why a candidate
// was refused (ErrInvalidCandidate, ErrSelf, ErrOtherCluster, ErrBanned,
// ErrPrefixFull, ErrStoreFull, ErrClosed).
func (m *Manager) Add(c Candidate) error {
	n, err := normalise(c)
	if err != nil {
		return err
	}
	id := n.Info.ID
	if id == m.self {
		return ErrSelf
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if n.ClusterKnown && n.Cluster != m.h.ClusterID() {
		m.store.remove(id)
		return fmt.Errorf("%w: %s is on cluster %d, we are on %d", ErrOtherCluster, id, n.Cluster, m.h.ClusterID())
	}
	if b, ok := m.bans.banned(id, now); ok {
		return fmt.Errorf("%w: %s (%s) until %s", ErrBanned, id, b.reason, b.until.Format(time.RFC3339))
	}
	if m.statics[id].ID != "" {
		return nil // kept anyway
	}
	if err := m.store.upsert(n, now, m.pinnedLocked); err != nil {
		return fmt.Errorf("candidate %s: %w", id, err)
	}
	m.poke()
	return nil
}

func (m *Manager) pinnedLocked(id peer.ID) bool {
	_, dialing := m.dialing[id]
	return dialing || m.live[id] != nil
}

// Peers returns the peer store's records, ordered by peer id.
func (m *Manager) Peers() []KnownPeer {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.store.snapshot()
}

func (m *Manager) storeSize() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.store.len()
}

// Stats returns the counters and the view of the last step.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.stats
	st.Known, st.Banned, st.Dialing = m.store.len(), m.bans.len(), len(m.dialing)
	st.ShardPeers = map[uint16]int{}
	for _, s := range m.cfg.Shards {
		st.ShardPeers[s] = 0
	}
	st.Connected = len(m.live)
	for _, p := range m.live {
		if !p.relay() {
			continue
		}
		if p.out {
			st.RelayOut++
		} else {
			st.RelayIn++
		}
		for _, s := range p.shards {
			st.ShardPeers[s]++
		}
	}
	return st
}

// loop is the run loop: a step at start, every Interval, when woken, and
// when a static peer's backoff ends (at most once per min(Interval,
// 250 ms)).
func (m *Manager) loop() {
	defer m.wg.Done()
	gap := min(m.cfg.Interval, 250*time.Millisecond)
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	for {
		last := time.Now()
		var staticDue <-chan time.Time
		var staticTimer *time.Timer
		if at := m.step(last); !at.IsZero() {
			staticTimer = time.NewTimer(max(time.Until(at), 0))
			staticDue = staticTimer.C
		}
		select {
		case <-m.ctx.Done():
		case <-tick.C:
		case <-m.wake:
		case <-staticDue:
		}
		if staticTimer != nil {
			staticTimer.Stop()
		}
		if m.ctx.Err() != nil {
			return
		}
		if wait := gap - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-m.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// gathered is what a step reads from the host before it takes the lock.
type gathered struct {
	live      []*livePeer
	connected map[peer.ID]bool // every connected peer, admitted or not
	scores    map[peer.ID]float64
}

// gather reads the host: the connected peers and, for the admitted ones,
// their direction, address, agent, services and shards.
func (m *Manager) gather() gathered {
	net := m.h.Libp2p().Network()
	ps := m.h.Libp2p().Peerstore()
	g := gathered{connected: map[peer.ID]bool{}}
	for _, p := range net.Peers() {
		conns := net.ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		g.connected[p] = true
		md, ok := m.h.Peer(p)
		if !ok {
			continue // metadata check not done, or rejected
		}
		lp := &livePeer{id: p, static: m.statics[p].ID != ""}
		first := conns[0]
		for _, c := range conns {
			if c.Stat().Direction == network.DirOutbound {
				lp.out = true
			}
			if c.Stat().Opened.Before(first.Stat().Opened) {
				first = c
			}
		}
		lp.since, lp.addr = first.Stat().Opened, first.RemoteMultiaddr()
		if ip, err := manet.ToIP(lp.addr); err == nil {
			if a, ok := netip.AddrFromSlice(ip); ok {
				lp.ip = a.Unmap()
			}
		}
		if av, err := ps.Get(p, "AgentVersion"); err == nil {
			lp.agent, _ = av.(string)
		}
		if protos, err := ps.GetProtocols(p); err == nil {
			lp.caps = capsOf(protos)
		}
		for _, s := range md.Shards {
			if _, ok := slices.BinarySearch(m.cfg.Shards, uint16(s)); ok && s <= MaxShard {
				lp.shards = append(lp.shards, uint16(s))
			}
		}
		slices.Sort(lp.shards)
		lp.shards = slices.Compact(lp.shards)
		g.live = append(g.live, lp)
	}
	if m.cfg.Scores != nil {
		g.scores = m.cfg.Scores()
	}
	return g
}

// step runs the policy once and carries out its decisions. It returns
// when the first static peer waiting out its backoff is due (zero: none).
func (m *Manager) step(now time.Time) (staticDue time.Time) {
	g := m.gather()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return time.Time{}
	}
	m.stats.Steps++
	m.bans.expire(now)
	live, closes := m.screenLocked(g, now)
	m.logChangesLocked(g.live, now)
	statics, staticDue := m.staticsDueLocked(g, now)
	out := m.pol.plan(planInput{
		live: live, pending: maps.Clone(m.dialing), candidates: m.eligibleLocked(g, now), statics: statics,
	})
	closes = append(closes, out.closes...)
	for _, d := range out.dials {
		m.dialing[d.id] = d.intent
		m.lastDial[d.id] = now
		m.stats.Dials++
		if d.intent.static {
			st := m.static[d.id]
			st.next = now.Add(m.cfg.StaticBackoff.Delay(max(st.fails, 1)))
		}
		m.wg.Add(1)
	}
	m.stats.Disconnects += uint64(len(closes))
	for id, at := range m.lastDial {
		if now.Sub(at) >= m.cfg.Interval {
			delete(m.lastDial, id)
		}
	}
	protect, unprotect := m.protectionLocked(out.protected)
	m.mu.Unlock()

	for _, d := range out.dials {
		go m.dial(d)
	}
	for _, c := range closes {
		m.met.prune(c.reason)
		m.log.Debug("disconnecting peer", "peer", c.id, "reason", c.reason)
		_ = m.h.Libp2p().Network().ClosePeer(c.id)
	}
	cm := m.h.Libp2p().ConnManager()
	for _, id := range protect {
		cm.Protect(id, protectTag)
	}
	for _, id := range unprotect {
		cm.Unprotect(id, protectTag)
	}
	if err := m.save(now, false); err != nil {
		m.log.Warn("peer store not written; the previous file is kept", "err", err)
	}
	m.logSummary(now)
	return staticDue
}

// screenLocked closes banned peers and bans those whose gossipsub score
// is below the graylist threshold (static peers are kept); the rest go to
// the policy.
func (m *Manager) screenLocked(g gathered, now time.Time) ([]*livePeer, []closeOrder) {
	var keep []*livePeer
	var closes []closeOrder
	for _, p := range g.live {
		if s, ok := g.scores[p.id]; ok {
			p.score, p.scored = s, true
		}
		if p.static {
			keep = append(keep, p)
			continue
		}
		if _, ok := m.bans.banned(p.id, now); ok {
			closes = append(closes, closeOrder{id: p.id, reason: pruneBanned})
			continue
		}
		if p.scored && p.score < m.cfg.GraylistThreshold {
			m.bans.add(p.id, now.Add(m.cfg.GraylistBan), pruneGraylist)
			m.stats.Graylisted++
			closes = append(closes, closeOrder{id: p.id, reason: pruneGraylist})
			if m.limiter.allow(p.id) {
				m.log.Info("disconnecting graylisted peer", "peer", p.id, "score", p.score, "threshold", m.cfg.GraylistThreshold, "banned_for", m.cfg.GraylistBan)
			}
			continue
		}
		keep = append(keep, p)
	}
	// A connection not (yet) admitted is the host's business; a banned
	// peer that dials in again is closed at once.
	admitted := make(map[peer.ID]bool, len(g.live))
	for _, p := range g.live {
		admitted[p.id] = true
	}
	for p := range g.connected {
		if _, ok := m.bans.banned(p, now); ok && m.statics[p].ID == "" && !admitted[p] {
			closes = append(closes, closeOrder{id: p, reason: pruneBanned})
		}
	}
	return keep, closes
}

// logChangesLocked logs the peers admitted and gone since the last step,
// within the log limiter, and records them in the store.
func (m *Manager) logChangesLocked(live []*livePeer, now time.Time) {
	if n := m.limiter.roll(now); n > 0 {
		m.stats.LogsSuppressed += uint64(n)
		m.log.Info("peer connection changes not logged (rate limit)", "lines", n, "window", m.cfg.LogWindow)
	}
	cur := make(map[peer.ID]*livePeer, len(live))
	for _, p := range live {
		cur[p.id] = p
		if m.live[p.id] != nil {
			continue
		}
		if r := m.store.get(p.id); r != nil {
			md, _ := m.h.Peer(p.id)
			var all []uint16
			for _, s := range md.Shards {
				if s <= MaxShard {
					all = append(all, uint16(s))
				}
			}
			slices.Sort(all)
			m.store.connected(p.id, p.caps, !md.Missing, m.h.ClusterID(), slices.Compact(all), now)
		}
		if m.limiter.allow(p.id) {
			m.log.Info("peer connected", "peer", p.id, "direction", direction(p.out), "address", p.addr, "agent", p.agent, "services", p.caps, "shards", p.shards)
		}
	}
	for id, p := range m.live {
		if cur[id] != nil {
			continue
		}
		m.store.seen(id, now)
		if m.limiter.allow(id) {
			m.log.Info("peer disconnected", "peer", id, "direction", direction(p.out), "address", p.addr, "agent", p.agent, "connected_for", now.Sub(p.since).Round(time.Second))
		}
	}
	m.live = cur
}

func direction(out bool) string {
	if out {
		return "outbound"
	}
	return "inbound"
}

// eligibleLocked are the store records that may be dialled now.
func (m *Manager) eligibleLocked(g gathered, now time.Time) []*record {
	var out []*record
	for id, r := range m.store.peers {
		if _, dialing := m.dialing[id]; dialing || g.connected[id] || id == m.self {
			continue
		}
		if r.ClusterKnown && r.Cluster != m.h.ClusterID() {
			continue
		}
		if _, ok := m.bans.banned(id, now); ok {
			continue
		}
		if at, ok := m.lastDial[id]; ok && now.Sub(at) < m.cfg.Interval {
			continue
		}
		if r.Failures > 0 && now.Before(r.LastFailure.Add(m.cfg.Backoff.Delay(r.Failures))) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// staticsDueLocked are the static peers to dial now, and when the first
// of those waiting out their backoff is due (zero: none waits).
func (m *Manager) staticsDueLocked(g gathered, now time.Time) (due []dialOrder, next time.Time) {
	for id, ai := range m.statics {
		if _, dialing := m.dialing[id]; dialing || g.connected[id] {
			continue
		}
		if at := m.static[id].next; now.Before(at) {
			if next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		due = append(due, dialOrder{id: id, addrs: slices.Clone(ai.Addrs), source: SourceStatic, intent: intent{static: true}})
	}
	return due, next
}

// protectionLocked updates the set of peers protected in the connection
// manager, returning the changes to make.
func (m *Manager) protectionLocked(want map[peer.ID]bool) (protect, unprotect []peer.ID) {
	for id := range want {
		if !m.protect[id] {
			m.protect[id] = true
			protect = append(protect, id)
		}
	}
	for id := range m.protect {
		if !want[id] {
			delete(m.protect, id)
			unprotect = append(unprotect, id)
		}
	}
	return protect, unprotect
}

// dial connects to a peer and waits for its metadata check, within
// DialTimeout. The swarm's own dial backoff is bypassed: the manager's
// backoff decides when a peer is dialled again.
func (m *Manager) dial(d dialOrder) {
	defer m.wg.Done()
	ctx, cancel := context.WithTimeout(network.WithForceDirectDial(m.ctx, "peermgr"), m.cfg.DialTimeout)
	_, err := m.h.Connect(ctx, peer.AddrInfo{ID: d.id, Addrs: d.addrs})
	cancel()
	m.dialDone(d, err, time.Now())
	m.poke()
}

// dialOutcome is the metrics label of a dial's result.
func dialOutcome(err error) string {
	switch {
	case err == nil:
		return "successful"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, p2p.ErrClusterMismatch), errors.Is(err, p2p.ErrNoClusterID), errors.Is(err, p2p.ErrNoSharedShard),
		errors.Is(err, p2p.ErrNoMetadata), errors.Is(err, p2p.ErrMetadataTimeout), errors.Is(err, p2p.ErrMetadataFailed):
		return "rejected"
	}
	return "failed"
}

func (m *Manager) dialDone(d dialOrder, err error, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.dialing, d.id)
	if err != nil && m.ctx.Err() != nil {
		return // cancelled by Close: not the peer's fault
	}
	outcome := dialOutcome(err)
	m.met.dial(outcome, d.source)
	if err == nil {
		if st := m.static[d.id]; st != nil {
			st.fails = 0
		}
		m.log.Debug("dialled peer", "peer", d.id, "source", d.source)
		return
	}
	m.stats.DialFailures++
	if otherCluster(err) {
		m.banOtherCluster(d.id, err, now)
		return
	}
	if st := m.static[d.id]; st != nil {
		st.fails++
		st.next = now.Add(m.cfg.StaticBackoff.Delay(st.fails))
		if m.limiter.allow(d.id) {
			m.log.Warn("static peer unreachable", "peer", d.id, "err", err, "retry_in", m.cfg.StaticBackoff.Delay(st.fails))
		}
		return
	}
	m.store.failed(d.id, now)
	if r := m.store.get(d.id); r != nil {
		m.log.Debug("dial failed", "peer", d.id, "outcome", outcome, "failures", r.Failures, "retry_in", m.cfg.Backoff.Delay(r.Failures), "err", err)
	}
}

// save writes the peer store when it changed and either force is set or
// StoreInterval has passed since the last write.
func (m *Manager) save(now time.Time, force bool) error {
	if m.cfg.StorePath == "" {
		return nil
	}
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	m.mu.Lock()
	if !m.store.dirty || (!force && now.Sub(m.saved) < m.cfg.StoreInterval) {
		m.mu.Unlock()
		return nil
	}
	peers := m.store.snapshot()
	m.store.dirty = false
	m.saved = now
	m.mu.Unlock()
	data, err := encodeStore(peers)
	if err == nil {
		err = writeAtomic(m.cfg.fs, m.cfg.StorePath, data)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.store.dirty = true // try again next time
		m.stats.StoreWriteFailures++
		m.met.fault("write")
		return err
	}
	m.stats.StoreWrites++
	return nil
}

// logSummary logs the connection counts every SummaryInterval.
func (m *Manager) logSummary(now time.Time) {
	if now.Sub(m.summary) < m.cfg.SummaryInterval {
		return
	}
	m.summary = now
	st := m.Stats()
	m.log.Info("relay peer connections",
		"in", fmt.Sprintf("%d/%d", st.RelayIn, m.cfg.RelayPeers-m.cfg.OutRelayPeers),
		"out", fmt.Sprintf("%d/%d", st.RelayOut, m.cfg.OutRelayPeers),
		"connected", fmt.Sprintf("%d/%d", st.Connected, m.cfg.MaxPeers),
		"shards", st.ShardPeers, "known", st.Known, "banned", st.Banned, "dialing", st.Dialing)
}
