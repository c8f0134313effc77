package peermgr

import (
	"net/netip"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// The policy is a pure function of what is connected, what is being
// dialled and what is known: plan returns the connections to close and the
// dials to start. The manager gathers its input from the host and carries
// out its output.

// livePeer is a connected peer that passed the metadata check.
type livePeer struct {
	id    peer.ID
	out   bool // we dialled it (one of its connections is outbound)
	since time.Time
	addr  ma.Multiaddr // the remote address of its first connection
	ip    netip.Addr
	agent string
	caps  Capabilities // from identify
	// shards are the ones it relays (metadata) among ours, sorted.
	shards []uint16
	static bool
	score  float64
	scored bool
}

// relay reports whether the peer counts as a relay peer: it speaks relay
// and relays one of our shards.
func (p *livePeer) relay() bool { return p.caps.Has(CapRelay) && len(p.shards) > 0 }

// intent is what a dial in flight is for.
type intent struct {
	relay  bool
	shards []uint16 // the candidate's known shards among ours
	slot   Capabilities
	static bool
}

// policy holds the numbers plan works with (Config after defaults).
type policy struct {
	maxPeers    int
	relayPeers  int // relay budget, inbound and outbound
	outRelay    int // outbound relay target
	shardTarget int
	shards      []uint16 // ours, sorted
	slots       []slot
	colocation  int // peers per IP; 0: no limit
	exempt      []netip.Prefix
	maxDials    int // in flight at once
}

type slot struct {
	cap Capabilities
	n   int
}

// dialOrder is a dial plan decided.
type dialOrder struct {
	id     peer.ID
	addrs  []ma.Multiaddr
	source string
	intent intent
}

// closeOrder is a connection plan decided to close.
type closeOrder struct {
	id     peer.ID
	reason string
}

// Reasons a peer is disconnected (the label of the pruned counter).
const (
	pruneColocation   = "colocation"
	pruneInbound      = "inbound_relay_over_target"
	pruneService      = "service_over_budget"
	pruneCap          = "over_max_peers"
	pruneGraylist     = "graylisted"
	pruneBanned       = "banned"
	pruneOtherCluster = "other_cluster"
)

// planInput is plan's view of the world.
type planInput struct {
	live    []*livePeer
	pending map[peer.ID]intent
	// candidates are the store records that may be dialled now (not
	// connected, not dialling, not banned, out of backoff, of our cluster
	// or of unknown cluster).
	candidates []*record
	// statics are the static peers due for a dial.
	statics []dialOrder
}

// planOutput is what plan decided.
type planOutput struct {
	closes []closeOrder
	dials  []dialOrder
	// protected are the peers the manager keeps whatever the connection
	// manager's trimming: static peers and those filling service slots.
	protected map[peer.ID]bool
}

// planner carries plan's running counts.
type planner struct {
	pol *policy
	in  planInput
	out planOutput

	live       []*livePeer // still connected (not closed by this plan)
	free       int         // dials that may still start
	shardCount map[uint16]int
	inRelay    int
	outRelay   int
	total      int
}

// plan decides one step.
func (pol *policy) plan(in planInput) planOutput {
	pl := &planner{pol: pol, in: in, out: planOutput{protected: map[peer.ID]bool{}}, shardCount: map[uint16]int{}}
	pl.live = slices.Clone(in.live)
	pl.colocation()
	pl.assignSlots()
	pl.count()
	pl.pruneInbound()
	pl.pruneService()
	pl.pruneTotal()
	pl.dial()
	return pl.out
}

// keep reports whether a peer is out of reach of pruning.
func (pl *planner) keep(p *livePeer) bool { return p.static || pl.out.protected[p.id] }

func (pl *planner) close(p *livePeer, reason string) {
	pl.out.closes = append(pl.out.closes, closeOrder{id: p.id, reason: reason})
	pl.live = slices.DeleteFunc(pl.live, func(q *livePeer) bool { return q == p })
}

// colocation closes the newest peers of an IP beyond the limit (nwaku's
// ip colocation limit): established peers are kept.
func (pl *planner) colocation() {
	if pl.pol.colocation <= 0 {
		return
	}
	byIP := map[netip.Addr][]*livePeer{}
	for _, p := range pl.live {
		if p.ip.IsValid() && !p.static && !exempt(pl.pol.exempt, p.ip) {
			byIP[p.ip] = append(byIP[p.ip], p)
		}
	}
	for _, ps := range byIP {
		if len(ps) <= pl.pol.colocation {
			continue
		}
		slices.SortFunc(ps, func(a, b *livePeer) int { return a.since.Compare(b.since) })
		for _, p := range ps[pl.pol.colocation:] {
			pl.close(p, pruneColocation)
		}
	}
}

// assignSlots picks the connected peers that fill the service slots:
// outbound ones first, then the longest connected.
func (pl *planner) assignSlots() {
	for _, p := range pl.live {
		if p.static {
			pl.out.protected[p.id] = true
		}
	}
	for _, s := range pl.pol.slots {
		var have []*livePeer
		for _, p := range pl.live {
			if p.caps.Has(s.cap) {
				have = append(have, p)
			}
		}
		slices.SortFunc(have, func(a, b *livePeer) int {
			if a.out != b.out {
				if a.out {
					return -1
				}
				return 1
			}
			return a.since.Compare(b.since)
		})
		for _, p := range have[:min(len(have), s.n)] {
			pl.out.protected[p.id] = true
		}
	}
}

func (pl *planner) count() {
	for _, p := range pl.live {
		pl.total++
		if !p.relay() {
			continue
		}
		if p.out {
			pl.outRelay++
		} else {
			pl.inRelay++
		}
		for _, s := range p.shards {
			pl.shardCount[s]++
		}
	}
	for _, it := range pl.in.pending {
		pl.total++
		if it.relay {
			pl.outRelay++
			for _, s := range it.shards {
				pl.shardCount[s]++
			}
		}
	}
}

func (pl *planner) uncount(p *livePeer) {
	pl.total--
	if !p.relay() {
		return
	}
	if p.out {
		pl.outRelay--
	} else {
		pl.inRelay--
	}
	for _, s := range p.shards {
		pl.shardCount[s]--
	}
}

// needed is the number of our shards the peer holds at or below target:
// closing it would leave them short.
func (pl *planner) needed(p *livePeer) int {
	n := 0
	for _, s := range p.shards {
		if pl.shardCount[s] <= pl.pol.shardTarget {
			n++
		}
	}
	return n
}

// lessUseful orders peers for pruning, least useful first: fewer shards
// that need it, fewer of our shards, not relay, inbound, lower gossipsub
// score, newer.
func (pl *planner) lessUseful(a, b *livePeer) bool {
	if na, nb := pl.needed(a), pl.needed(b); na != nb {
		return na < nb
	}
	if len(a.shards) != len(b.shards) {
		return len(a.shards) < len(b.shards)
	}
	if a.relay() != b.relay() {
		return !a.relay()
	}
	if a.out != b.out {
		return !a.out
	}
	if a.scored && b.scored && a.score != b.score {
		return a.score < b.score
	}
	return a.since.After(b.since)
}

// pruneLeast closes the least useful peer that match passes; false when
// there is none.
func (pl *planner) pruneLeast(match func(*livePeer) bool, reason string) bool {
	var worst *livePeer
	for _, p := range pl.live {
		if pl.keep(p) || !match(p) {
			continue
		}
		if worst == nil || pl.lessUseful(p, worst) {
			worst = p
		}
	}
	if worst == nil {
		return false
	}
	pl.uncount(worst)
	pl.close(worst, reason)
	return true
}

// pruneInbound keeps the inbound relay peers within the relay budget less
// the outbound target, so that inbound peers cannot take every slot.
func (pl *planner) pruneInbound() {
	limit := pl.pol.relayPeers - pl.pol.outRelay
	for pl.inRelay > limit && pl.pruneLeast(func(p *livePeer) bool { return p.relay() && !p.out }, pruneInbound) {
	}
}

// pruneService keeps the peers that are not relay peers (light clients,
// service peers) within what the relay budget leaves.
func (pl *planner) pruneService() {
	limit := pl.pol.maxPeers - pl.pol.relayPeers
	nonRelay := func() int {
		n := 0
		for _, p := range pl.live {
			if !p.relay() && !pl.keep(p) {
				n++
			}
		}
		return n
	}
	for n := nonRelay(); n > limit && pl.pruneLeast(func(p *livePeer) bool { return !p.relay() && !p.out }, pruneService); n-- {
	}
}

// pruneTotal keeps the connections within MaxPeers.
func (pl *planner) pruneTotal() {
	for pl.total > pl.pol.maxPeers && pl.pruneLeast(func(*livePeer) bool { return true }, pruneCap) {
	}
}

// ourShards are the candidate's known shards among ours.
func (pl *planner) ourShards(r *record) []uint16 {
	if !r.ClusterKnown {
		return nil
	}
	var out []uint16
	for _, s := range r.Shards {
		if _, ok := slices.BinarySearch(pl.pol.shards, s); ok {
			out = append(out, s)
		}
	}
	return out
}

// dial picks the dials to start: static peers, then service slots, then
// relay peers for the shards under target, then for the outbound target.
func (pl *planner) dial() {
	pl.free = pl.pol.maxDials - len(pl.in.pending)
	for _, d := range pl.in.statics {
		if pl.free <= 0 {
			return
		}
		pl.out.dials = append(pl.out.dials, d)
		pl.total++
		pl.free--
	}
	chosen := map[peer.ID]bool{}
	take := func(r *record, it intent) {
		chosen[r.ID] = true
		pl.out.dials = append(pl.out.dials, dialOrder{id: r.ID, addrs: slices.Clone(r.Addrs), source: r.Source, intent: it})
		pl.total++
		pl.free--
	}
	pl.dialSlots(chosen, take)
	if len(pl.pol.shards) > 0 {
		pl.dialRelay(chosen, take)
	}
}

func (pl *planner) dialSlots(chosen map[peer.ID]bool, take func(*record, intent)) {
	for _, s := range pl.pol.slots {
		have := 0
		for _, p := range pl.live {
			if p.caps.Has(s.cap) {
				have++
			}
		}
		for _, it := range pl.in.pending {
			if it.slot.Has(s.cap) {
				have++
			}
		}
		for have < s.n && pl.free > 0 && pl.total < pl.pol.maxPeers {
			best := pl.best(chosen, func(r *record) (bool, int) { return r.Caps.Has(s.cap), 0 })
			if best == nil {
				break
			}
			take(best, intent{slot: s.cap})
			have++
		}
	}
}

// relayCandidate reports whether a record may be a relay peer of ours:
// relay or unknown services, and our shards or unknown shards.
func (pl *planner) relayCandidate(r *record) bool {
	if r.Caps != 0 && !r.Caps.Has(CapRelay) {
		return false
	}
	return !r.ClusterKnown || len(pl.ourShards(r)) > 0
}

func (pl *planner) dialRelay(chosen map[peer.ID]bool, take func(*record, intent)) {
	deficit := func() (map[uint16]bool, int) {
		short, most := map[uint16]bool{}, 0
		for _, s := range pl.pol.shards {
			if d := pl.pol.shardTarget - pl.shardCount[s]; d > 0 {
				short[s] = true
				most = max(most, d)
			}
		}
		return short, most
	}
	room := func() bool {
		return pl.free > 0 && pl.total < pl.pol.maxPeers && pl.inRelay+pl.outRelay < pl.pol.relayPeers
	}
	start := func(r *record) {
		sh := pl.ourShards(r)
		take(r, intent{relay: true, shards: sh})
		pl.outRelay++
		for _, s := range sh {
			pl.shardCount[s]++
		}
	}
	// Shards under target: the candidate covering most of them; then, up
	// to the largest deficit, candidates of unknown shards.
	unknownDials := 0
	for room() {
		short, most := deficit()
		if len(short) == 0 {
			break
		}
		best := pl.best(chosen, func(r *record) (bool, int) {
			if !pl.relayCandidate(r) {
				return false, 0
			}
			gain := 0
			for _, s := range pl.ourShards(r) {
				if short[s] {
					gain++
				}
			}
			return gain > 0 || (!r.ClusterKnown && unknownDials < most), gain
		})
		if best == nil {
			break
		}
		if !best.ClusterKnown {
			unknownDials++
		}
		start(best)
	}
	// The outbound target: any relay candidate, those known to share our
	// shards first.
	for room() && pl.outRelay < pl.pol.outRelay {
		best := pl.best(chosen, func(r *record) (bool, int) {
			if !pl.relayCandidate(r) {
				return false, 0
			}
			return true, len(pl.ourShards(r))
		})
		if best == nil {
			break
		}
		start(best)
	}
}

// best is the candidate not yet chosen that ok admits with the highest
// gain; ties go to fewer failures, known services, then the most recently
// seen.
func (pl *planner) best(chosen map[peer.ID]bool, ok func(*record) (bool, int)) *record {
	var best *record
	bestGain := 0
	for _, r := range pl.in.candidates {
		if chosen[r.ID] {
			continue
		}
		admit, gain := ok(r)
		if !admit {
			continue
		}
		if best == nil || better(r, gain, best, bestGain) {
			best, bestGain = r, gain
		}
	}
	return best
}

func better(a *record, ga int, b *record, gb int) bool {
	if ga != gb {
		return ga > gb
	}
	if a.Failures != b.Failures {
		return a.Failures < b.Failures
	}
	if (a.Caps != 0) != (b.Caps != 0) {
		return a.Caps != 0
	}
	return a.LastSeen.After(b.LastSeen)
}
