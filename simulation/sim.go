package simulation

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// cluster is the cluster id of the simulated network's shards.
const cluster = 1

// baseUnix is where virtual time starts (2027-01-15), moved back to an
// epoch boundary: runs are reproducible and their first epoch whole.
const baseUnix = 1_800_000_000

// maxWorkers bounds the goroutines a run's nodes are spread over.
const maxWorkers = 16

// sim is one run: the nodes, the event queues and the measurements.
//
// The nodes are spread over workers (node i on worker i mod W), each with
// its own queue of its nodes' events. A message between two nodes takes at
// least the smallest link delay of the latency model (the lookahead), so
// from the earliest pending event at T every worker can handle its
// events before T + lookahead in parallel: nothing another node does in
// that window can reach its nodes before the window ends. Events that
// touch several nodes or shared state (publishes, attacks, churn, dials)
// are global: handled alone, between windows. Each node's events happen
// in one order (event.before) whatever the number of workers, and the
// shared measurements are sums or are sorted at the end, so the result
// does not depend on the number of workers.
type sim struct {
	ctx context.Context
	s   Scenario
	o   Options
	log *slog.Logger

	base        time.Time
	end         int64 // virtual ns since base
	measureFrom int64
	heartbeat   int64
	lookahead   int64

	workers []*worker
	gw      *worker    // the context of global events
	gq      eventQueue // global events
	gseq    uint64

	router gossipsub.Config
	proto  gossipsub.Protocol
	topics []string

	nodes     []*node
	honestUp  []int32 // honest nodes up, in no particular order
	shardSubs []int   // honest nodes up on each shard
	// shardMembers are the nodes up on each shard, attackers too (the
	// candidates the peer manager dials).
	shardMembers [][]int32
	shardTarget  int
	attackers    []*attacker
	lat          *latencyModel

	// Random streams of global events.
	topoRnd, shardRnd, trafficRnd, payloadRnd, churnRnd, attackRnd *rand.Rand

	// RLN (cache nil: off).
	group      *membership.StaticGroup
	cache      *proofCache
	verifyCost int64
	proofs     int
	proveTime  time.Duration

	msgs     []*message // honest, by publish time
	spamMsgs []*message // attack messages sent, in order
	// byPtr finds a message by the pointer every router shares; written
	// only by global events.
	byPtr     map[*gossipsubpb.Message]*message
	nextPub   int
	freeFrom  int
	spamFree  int
	curPub    *message
	published int
	// churned: a node left; connections may have closed under transfers.
	churned bool
	// notAccepted counts validations that refused honest messages (none
	// in a sound run).
	notAccepted int
}

// worker runs its nodes' events, and counts what they measure.
type worker struct {
	sm  *sim
	id  int
	now int64
	// src is the node whose event is handled (-1: a global event).
	src     int32
	horizon int64
	q       eventQueue
	// out are events for other workers' nodes, and global events raised,
	// handed over at the end of the window.
	out    [][]event
	global []event
	events uint64

	// verifier counts the proofs its nodes' validators had verified.
	verifier countingVerifier
	// The last message lookup.
	lastGM  *gossipsubpb.Message
	lastMsg *message

	transfers         uint64
	honestDataSent    int64
	honestNotAccepted int
	hops              [hopUnknown]int64
	spam              SpamStats
	deliveries        []delivery
	dups, receivers   []int64 // by honest message
}

// delivery is an honest message delivered, us µs after its publish.
type delivery struct {
	msg int32
	us  uint32
}

// countingVerifier is a worker's view of the shared proof cache: it counts
// the verifications its nodes asked for, to charge them.
type countingVerifier struct {
	c     *proofCache
	calls uint64
}

func (v *countingVerifier) VerifyBatch(ps []*rln.RateLimitProof, xs []fr.Element) []error {
	v.calls += uint64(len(ps))
	return v.c.VerifyBatch(ps, xs)
}

func (w *worker) nowTime() time.Time { return w.sm.base.Add(time.Duration(w.now)) }

// lookup finds the run's message of a router's message pointer (nil: not
// one of the run's), remembering the last one: most lookups in a row are
// for one message.
func (w *worker) lookup(gm *gossipsubpb.Message) *message {
	if gm == w.lastGM {
		return w.lastMsg
	}
	m := w.sm.byPtr[gm]
	if m != nil {
		w.lastGM, w.lastMsg = gm, m
	}
	return m
}

// push schedules an event from the node (or global event) being handled:
// for a node of this worker into its queue, else into the hand-over.
func (w *worker) push(e event) {
	sm := w.sm
	if w.src >= 0 {
		n := sm.nodes[w.src]
		e.key = orderKey(w.src, n.seq)
		n.seq++
	} else {
		e.key = orderKey(-1, sm.gseq)
		sm.gseq++
	}
	if global(e.kind) {
		w.global = append(w.global, e)
		return
	}
	if d := sm.workerOf(target(&e)); d != w.id {
		w.out[d] = append(w.out[d], e)
		return
	}
	w.q.push(e)
}

// target is the node a local event is for.
func target(e *event) int32 {
	if e.kind == evArrive || e.kind == evDeliver {
		return e.b
	}
	return e.a
}

func (sm *sim) workerOf(node int32) int { return int(node) % len(sm.workers) }

// newSim builds a run of a validated scenario: its nodes, their
// connections and the messages (proved, RLN on).
func newSim(ctx context.Context, s Scenario, o Options) (*sim, error) {
	sm := &sim{ctx: ctx, s: s, o: o, log: o.Logger, byPtr: map[*gossipsubpb.Message]*message{}}
	if sm.log == nil {
		sm.log = slog.New(slog.DiscardHandler)
	}
	period := int64(relay.DefaultEpochPeriod / time.Second)
	if s.RLN.Enabled {
		period = int64(s.RLN.EpochPeriod / time.Second)
	}
	sm.base = time.Unix(baseUnix/period*period, 0)
	sm.measureFrom = int64(s.Warmup)
	sm.end = int64(s.Warmup + s.Duration + s.Drain)
	sm.topoRnd = newRand(s.Seed, streamTopology)
	sm.shardRnd = newRand(s.Seed, streamShards)
	sm.trafficRnd = newRand(s.Seed, streamTraffic)
	sm.payloadRnd = newRand(s.Seed, streamPayload)
	sm.churnRnd = newRand(s.Seed, streamChurn)
	sm.attackRnd = newRand(s.Seed, streamAttack)
	sm.lat = newLatencyModel(s.Network.Latency, s.Seed)
	sm.lookahead = int64(sm.lat.min())
	sm.router, sm.proto = routerConfig(&sm.s)
	// Every node would hash each copy it gets to find its id; a run's
	// messages have theirs already (the same function of the same bytes),
	// and the routers then share one string per id. byPtr is written only
	// between windows.
	msgID := sm.router.MsgID
	sm.router.MsgID = func(m *gossipsubpb.Message) string {
		if x := sm.byPtr[m]; x != nil {
			return x.id
		}
		return msgID(m)
	}
	sm.heartbeat = int64(sm.router.Params.HeartbeatInterval)
	for sh := range s.Shards {
		t, err := autoshard.NewPubsubTopic(cluster, sh)
		if err != nil {
			return nil, fmt.Errorf("simulation: shard %d: %w", sh, err)
		}
		sm.topics = append(sm.topics, t.String())
	}
	sm.shardSubs = make([]int, s.Shards)
	sm.shardMembers = make([][]int32, s.Shards)
	// The peer manager's shard target is gossipsub's D (peermgr's
	// DefaultShardTarget), whatever the mode.
	sm.shardTarget = relay.DefaultRouterConfig().Params.D

	attackerNodes := 0
	for _, a := range s.Attacks {
		attackerNodes += a.Nodes
	}
	if attackerNodes > s.Nodes-2 {
		return nil, fmt.Errorf("%w: attacks: %d attacking nodes among %d, want at most nodes-2 (two honest nodes at least)", ErrScenario, attackerNodes, s.Nodes)
	}
	for _, a := range s.Attacks {
		for k := range a.Nodes {
			sm.attackers = append(sm.attackers, &attacker{attack: a, times: attackTimes(&sm.s, a, k)})
		}
	}
	if s.RLN.Enabled {
		// The cache's presence turns RLN on in prepare and in the nodes.
		sm.cache = &proofCache{}
	}
	if err := sm.prepare(); err != nil {
		return nil, err
	}
	for k, m := range sm.msgs {
		m.index = int32(k)
	}

	nw := o.Workers
	if nw <= 0 {
		// Two a core: when one waits (for the garbage collector, which
		// takes a core at times, or with fewer events in its window) the
		// other keeps the core busy. At 10,000 nodes on two cores, four
		// workers ran in 7 minutes what two ran in 10.
		nw = min(2*runtime.GOMAXPROCS(0), maxWorkers)
		if s.Nodes < 200 {
			nw = 1
		}
	}
	if sm.lookahead <= 0 {
		// A link without delay: the nodes cannot run apart.
		if nw > 1 {
			sm.log.Warn("the latency model's smallest delay is 0: the nodes run on one worker (give the latency a min above 0 to run them in parallel)", "nodes", s.Nodes)
		}
		nw = 1
	}
	for i := range nw + 1 {
		w := &worker{sm: sm, id: i, src: -1, out: make([][]event, nw),
			dups: make([]int64, len(sm.msgs)), receivers: make([]int64, len(sm.msgs))}
		w.verifier.c = sm.cache
		if i < nw {
			sm.workers = append(sm.workers, w)
		} else {
			w.id = -1
			sm.gw = w
		}
	}

	// The honest nodes, then the attackers (the last indices, so
	// bootstrap nodes and named publishers are honest).
	w := sm.gw
	for range s.Nodes - attackerNodes {
		if _, err := sm.newNode(w, nil); err != nil {
			return nil, err
		}
	}
	for _, atk := range sm.attackers {
		if _, err := sm.newNode(w, atk); err != nil {
			return nil, err
		}
	}
	// Every node dials, in a random order, at the start.
	for _, i := range sm.topoRnd.Perm(len(sm.nodes)) {
		sm.dial(w, i)
	}
	if len(sm.msgs) > 0 {
		w.push(event{at: sm.msgs[0].at, kind: evPublish})
	}
	for k, atk := range sm.attackers {
		if len(atk.times) > 0 {
			w.push(event{at: atk.times[0], kind: evAttack, a: int32(k)})
		}
	}
	sm.scheduleChurn(w, evLeave, sm.measureFrom)
	sm.scheduleChurn(w, evJoin, sm.measureFrom)
	sm.handOver()
	return sm, nil
}

// routerConfig is the routers' configuration for the scenario's mode, and
// the protocol peers are taken on (IDONTWANT goes to peers on Waku
// relay's id, as nwaku sends it, and not to peers on meshsub 1.1).
func routerConfig(s *Scenario) (gossipsub.Config, gossipsub.Protocol) {
	cfg := relay.DefaultRouterConfig()
	switch s.Mode {
	case ModeFlooding:
		// Every peer of a topic in its mesh (no node has more peers than
		// its cap), no gossip.
		p := &cfg.Params
		d := s.Topology.MaxConnections
		p.D, p.Dlo, p.Dhi = d, d, d
		p.Dscore = min(p.Dscore, d)
		p.Dout = 0
		p.Dlazy = 0
		p.GossipFactor = 0
		return cfg, gossipsub.Meshsub11
	case ModeIDontWant:
		return cfg, gossipsub.WakuRelay
	default:
		return cfg, gossipsub.Meshsub11
	}
}

// scheduleChurn schedules the next leave or join after from (a Poisson
// process over Duration).
func (sm *sim) scheduleChurn(w *worker, kind uint8, from int64) {
	rate := sm.s.Churn.LeavePerMinute
	if kind == evJoin {
		rate = sm.s.Churn.JoinPerMinute
	}
	if rate <= 0 {
		return
	}
	gap := sm.churnRnd.ExpFloat64() / rate * float64(time.Minute)
	at := from + int64(gap)
	if at >= sm.measureFrom+int64(sm.s.Duration) {
		return
	}
	w.push(event{at: at, kind: kind})
}

// leave takes a random honest node down (never the last two).
func (sm *sim) leave(w *worker) {
	sm.scheduleChurn(w, evLeave, w.now)
	if len(sm.honestUp) <= 2 {
		return
	}
	j := int(sm.honestUp[sm.churnRnd.IntN(len(sm.honestUp))])
	n := sm.nodes[j]
	sm.churned = true
	sm.nodeLeft(j)
	n.up, n.leftAt = false, w.now
	last := sm.honestUp[len(sm.honestUp)-1]
	sm.honestUp[n.upPos] = last
	sm.nodes[last].upPos = n.upPos
	sm.honestUp = sm.honestUp[:len(sm.honestUp)-1]
	n.upPos = -1
	for _, s := range n.shards {
		sm.shardSubs[s]--
		members := sm.shardMembers[s]
		if k := slices.Index(members, int32(j)); k >= 0 {
			sm.shardMembers[s] = slices.Delete(members, k, k+1)
		}
	}
	conns := n.conns
	n.conns = nil
	for _, c := range conns {
		sm.disconnect(w, int(c.peer), j)
	}
	// What it held goes; its counters stay for the measurements.
	n.r, n.v, n.jobs = nil, nil, nil
}

// join brings a new honest node up; it dials like the first ones did.
func (sm *sim) join(w *worker) error {
	sm.scheduleChurn(w, evJoin, w.now)
	if _, err := sm.newNode(w, nil); err != nil {
		return err
	}
	sm.dial(w, len(sm.nodes)-1)
	return nil
}

// handOver moves the events of the window's hand-overs into the queues.
func (sm *sim) handOver() {
	for _, w := range append([]*worker{sm.gw}, sm.workers...) {
		for d, es := range w.out {
			for _, e := range es {
				sm.workers[d].q.push(e)
			}
			w.out[d] = es[:0]
		}
		for _, e := range w.global {
			sm.gq.push(e)
		}
		w.global = w.global[:0]
	}
}

// run handles the events up to the end of the run: global events alone,
// the others in parallel windows.
func (sm *sim) run() error {
	step := max(sm.end/100, 1)
	nextProgress := int64(0)
	observed := sm.o.Observe == nil
	var wg sync.WaitGroup
	errs := make([]error, len(sm.workers))
	for {
		if err := sm.ctx.Err(); err != nil {
			return err
		}
		tl := int64(math.MaxInt64)
		for _, w := range sm.workers {
			if w.q.Len() > 0 {
				tl = min(tl, w.q.peek().at)
			}
		}
		tg := int64(math.MaxInt64)
		if sm.gq.Len() > 0 {
			tg = sm.gq.peek().at
		}
		t := min(tl, tg)
		if !observed && t >= sm.measureFrom {
			sm.observeLinks(sm.o.Observe)
			observed = true
		}
		if t > sm.end {
			break
		}
		if sm.o.Progress != nil && t >= nextProgress {
			sm.o.Progress(time.Duration(t), time.Duration(sm.end), sm.events())
			nextProgress = (t/step + 1) * step
		}
		if tg <= tl {
			e := sm.gq.pop()
			for _, w := range sm.workers {
				w.now = e.at
			}
			sm.gw.now = e.at
			sm.gw.events++
			if err := sm.handleGlobal(&e); err != nil {
				return err
			}
			sm.handOver()
			continue
		}
		h := min(tg, sm.end+1)
		if sm.o.Progress != nil {
			h = min(h, nextProgress)
		}
		if len(sm.workers) > 1 {
			h = min(h, tl+sm.lookahead)
		}
		if len(sm.workers) == 1 {
			sm.workers[0].window(h)
		} else {
			for k, w := range sm.workers {
				wg.Go(func() {
					defer func() {
						if p := recover(); p != nil {
							errs[k] = fmt.Errorf("worker %d: %v", k, p)
						}
					}()
					w.window(h)
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					return err
				}
			}
		}
		sm.handOver()
	}
	if !observed {
		sm.observeLinks(sm.o.Observe)
	}
	for _, w := range sm.workers {
		w.now = sm.end
	}
	if sm.o.Progress != nil {
		sm.o.Progress(time.Duration(sm.end), time.Duration(sm.end), sm.events())
	}
	return nil
}

func (sm *sim) events() uint64 {
	n := sm.gw.events
	for _, w := range sm.workers {
		n += w.events
	}
	return n
}

// window handles the worker's events before h.
func (w *worker) window(h int64) {
	sm := w.sm
	w.horizon = h
	for w.q.Len() > 0 && w.q.peek().at < h {
		e := w.q.pop()
		w.now = e.at
		w.events++
		w.src = target(&e)
		switch e.kind {
		case evTick:
			n := sm.nodes[e.a]
			if !n.up {
				continue
			}
			n.r.Tick(w.nowTime())
			sm.flush(w, int(e.a))
			w.push(event{at: e.at + sm.heartbeat, kind: evTick, a: e.a})
		case evArrive:
			sm.arrive(w, &e)
		case evDeliver:
			sm.deliver(w, &e)
		case evCPU:
			sm.cpuDone(w, int(e.a))
		}
	}
	w.src = -1
}

// handleGlobal handles a global event.
func (sm *sim) handleGlobal(e *event) error {
	w := sm.gw
	switch e.kind {
	case evPublish:
		sm.nextPub = int(e.a) + 1
		sm.publish(w, int(e.a))
	case evPublishNow:
		sm.publishNow(w, int(e.a), int(e.b))
	case evAttack:
		sm.act(w, int(e.a))
	case evLeave:
		sm.leave(w)
	case evJoin:
		return sm.join(w)
	case evDial:
		n := sm.nodes[e.a]
		n.dialing = false
		sm.dial(w, int(e.a))
	case evPX:
		n := sm.nodes[e.a]
		if n.up && len(n.conns) < sm.s.Topology.MaxConnections {
			sm.tryConnect(w, int(e.a), int(e.b))
		}
	}
	return nil
}
