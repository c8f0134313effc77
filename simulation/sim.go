package simulation

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

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

// sim is one run: the event queue, the nodes and the measurements. It
// runs on one goroutine.
type sim struct {
	ctx context.Context
	s   Scenario
	o   Options
	log *slog.Logger

	base        time.Time
	now         int64 // virtual ns since base
	end         int64
	measureFrom int64
	heartbeat   int64
	q           eventQueue
	events      uint64
	transfers   uint64

	router gossipsub.Config
	proto  gossipsub.Protocol
	topics []string

	nodes     []*node
	honestUp  []int32 // honest nodes up, in no particular order
	shardSubs []int   // honest nodes up on each shard
	attackers []*attacker
	lat       *latencyModel

	topoRnd, shardRnd, trafficRnd, payloadRnd, churnRnd, attackRnd *rand.Rand

	// RLN (cache nil: off).
	verifier   *rln.Verifier
	group      *membership.StaticGroup
	cache      *proofCache
	verifyCost int64
	proofs     int
	proveTime  time.Duration

	msgs     []*message // honest, by publish time
	byPtr    map[*gossipsubpb.Message]*message
	nextPub  int
	freeFrom int
	curPub   *message

	published         int
	honestDataSent    int64
	honestNotAccepted int
	hops              [hopUnknown]int64
	spam              SpamStats
}

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
	sm.router, sm.proto = routerConfig(&sm.s)
	sm.heartbeat = int64(sm.router.Params.HeartbeatInterval)
	for sh := range s.Shards {
		t, err := autoshard.NewPubsubTopic(cluster, sh)
		if err != nil {
			return nil, fmt.Errorf("simulation: shard %d: %w", sh, err)
		}
		sm.topics = append(sm.topics, t.String())
	}
	sm.shardSubs = make([]int, s.Shards)

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

	// The honest nodes, then the attackers (the last indices, so
	// bootstrap nodes and named publishers are honest).
	for range s.Nodes - attackerNodes {
		if _, err := sm.newNode(nil); err != nil {
			return nil, err
		}
	}
	for _, atk := range sm.attackers {
		if _, err := sm.newNode(atk); err != nil {
			return nil, err
		}
	}
	// Every node dials, in a random order, at the start.
	for _, i := range sm.topoRnd.Perm(len(sm.nodes)) {
		sm.dial(i)
	}
	if len(sm.msgs) > 0 {
		sm.q.push(event{at: sm.msgs[0].at, kind: evPublish})
	}
	for k, atk := range sm.attackers {
		if len(atk.times) > 0 {
			sm.q.push(event{at: atk.times[0], kind: evAttack, a: int32(k)})
		}
	}
	sm.scheduleChurn(evLeave, sm.measureFrom)
	sm.scheduleChurn(evJoin, sm.measureFrom)
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

func (sm *sim) nowTime() time.Time { return sm.base.Add(time.Duration(sm.now)) }

// scheduleChurn schedules the next leave or join after from (a Poisson
// process over Duration).
func (sm *sim) scheduleChurn(kind uint8, from int64) {
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
	sm.q.push(event{at: at, kind: kind})
}

// leave takes a random honest node down (never the last two).
func (sm *sim) leave() {
	sm.scheduleChurn(evLeave, sm.now)
	if len(sm.honestUp) <= 2 {
		return
	}
	j := int(sm.honestUp[sm.churnRnd.IntN(len(sm.honestUp))])
	n := sm.nodes[j]
	sm.nodeLeft(j)
	n.up, n.leftAt = false, sm.now
	last := sm.honestUp[len(sm.honestUp)-1]
	sm.honestUp[n.upPos] = last
	sm.nodes[last].upPos = n.upPos
	sm.honestUp = sm.honestUp[:len(sm.honestUp)-1]
	n.upPos = -1
	for _, s := range n.shards {
		sm.shardSubs[s]--
	}
	conns := n.conns
	n.conns = nil
	for _, c := range conns {
		sm.disconnect(int(c.peer), j)
	}
	// What it held goes; its counters stay for the measurements.
	n.r, n.v, n.jobs = nil, nil, nil
}

// join brings a new honest node up; it dials like the first ones did.
func (sm *sim) join() error {
	sm.scheduleChurn(evJoin, sm.now)
	n, err := sm.newNode(nil)
	if err != nil {
		return err
	}
	sm.dial(len(sm.nodes) - 1)
	_ = n
	return nil
}

// run handles the events up to the end of the run.
func (sm *sim) run() error {
	step := max(sm.end/100, 1)
	nextProgress := int64(0)
	for sm.q.Len() > 0 && sm.q.peek().at <= sm.end {
		e := sm.q.pop()
		sm.now = e.at
		sm.events++
		if sm.events&0x3fff == 0 {
			if err := sm.ctx.Err(); err != nil {
				return err
			}
		}
		if sm.o.Progress != nil && sm.now >= nextProgress {
			sm.o.Progress(time.Duration(sm.now), time.Duration(sm.end), sm.events)
			nextProgress = (sm.now/step + 1) * step
		}
		switch e.kind {
		case evTick:
			n := sm.nodes[e.a]
			if !n.up {
				continue
			}
			n.r.Tick(sm.nowTime())
			sm.flush(int(e.a))
			e.at += sm.heartbeat
			sm.q.push(e)
		case evArrive:
			sm.arrive(&e)
		case evDeliver:
			sm.deliver(&e)
		case evCPU:
			sm.cpuDone(int(e.a))
		case evPublish:
			sm.nextPub = int(e.a) + 1
			sm.publish(int(e.a))
		case evAttack:
			sm.act(int(e.a))
		case evLeave:
			sm.leave()
		case evJoin:
			if err := sm.join(); err != nil {
				return err
			}
		case evDial:
			n := sm.nodes[e.a]
			n.dialing = false
			sm.dial(int(e.a))
		}
	}
	sm.now = sm.end
	if sm.o.Progress != nil {
		sm.o.Progress(time.Duration(sm.end), time.Duration(sm.end), sm.events)
	}
	return nil
}
