package simulation

import (
	"encoding/binary"
	"time"

	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// floodIDs is the message ids an IHAVE or IWANT flood carries in one RPC
// (MaxIHaveLength is 5000: a flood of 500 fake ids an RPC makes a peer ask
// for them until its per-heartbeat bounds stop it).
const floodIDs = 500

// recentIDs is how many of the latest honest messages an IWANT flood asks
// for.
const recentIDs = 32

// attacker is a scripted hostile node: no router, it connects like any
// node, announces its shards, and sends what its attack makes: messages
// over its rate or with invalid proofs (to every peer of the message's
// shard), or floods of IHAVE, IWANT or GRAFT RPCs (to every peer). It
// relays nothing.
type attacker struct {
	attack Attack
	node   int32
	// times are its messages' (or flood RPCs') times; msgs its prepared
	// messages (first: the first's place among the run's messages).
	times  []int64
	msgs   []*message
	first  int
	member int
	next   int
	fake   [][]byte
	// keys are an over-rate member's messages' (epoch, message id), and
	// uses its messages by key, in order.
	keys [][2]uint64
	uses map[[2]uint64][]int
}

// acceptedBefore tells whether some node accepted an earlier message of
// over-rate attacker atk with the nullifier of its message k.
func (atk *attacker) acceptedBefore(k int) bool {
	for _, u := range atk.uses[atk.keys[k]] {
		if u >= k {
			return false
		}
		if atk.msgs[u].accepted.Load() {
			return true
		}
	}
	return false
}

// attackTimes spreads an attack's actions evenly at its rate over its
// window of Duration, the k-th attacker of the attack shifted by k/nodes
// of an interval.
func attackTimes(s *Scenario, a Attack, k int) []int64 {
	from := int64(s.Warmup) + int64(a.Start)
	to := int64(s.Warmup) + int64(s.Duration)
	if a.Stop > 0 {
		to = min(to, int64(s.Warmup)+int64(a.Stop))
	}
	step := float64(time.Second) / a.Rate
	shift := step * float64(k) / float64(a.Nodes)
	var out []int64
	for i := 0; ; i++ {
		at := from + int64(shift+float64(i)*step)
		if at >= to {
			return out
		}
		out = append(out, at)
	}
}

// attackerSubscribe announces attacker a's shards to peer p.
func (sm *sim) attackerSubscribe(w *worker, a, p int) {
	n := sm.nodes[a]
	rpc := &gossipsubpb.RPC{}
	for _, s := range n.shards {
		sub := true
		rpc.Subscriptions = append(rpc.Subscriptions, &gossipsubpb.SubOpts{Subscribe: &sub, Topicid: &sm.topics[s]})
	}
	sm.send(w, a, p, rpc)
}

// act is attacker k's next action.
func (sm *sim) act(w *worker, k int) {
	atk := sm.attackers[k]
	i := int(atk.node)
	n := sm.nodes[i]
	step := atk.next
	atk.next++
	if atk.next < len(atk.times) {
		w.push(event{at: atk.times[atk.next], kind: evAttack, a: int32(k)})
	}
	switch atk.attack.Kind {
	case AttackControlFlood:
		rpc := sm.floodRPC(atk, n)
		for _, c := range n.conns {
			sm.send(w, i, int(c.peer), rpc)
			w.spam.FloodRPCs++
		}
	default:
		m := atk.msgs[step]
		if m.kind == kindSpam && atk.attack.Kind == AttackOverRate && !atk.acceptedBefore(step) {
			// Past the member's limit, but no node accepted an earlier
			// message with its nullifier: to the network, a first use.
			m.kind = kindAttackValid
			w.spam.FirstUses++
		}
		// An over-rate member publishes on one shard, where its double
		// signals can be seen; invalid proofs go anywhere.
		m.shard = n.shards[0]
		if atk.attack.Kind == AttackInvalidProof {
			m.shard = n.shards[sm.attackRnd.IntN(len(n.shards))]
		}
		m.origin = int32(i)
		m.gm = &gossipsubpb.Message{Data: m.data, Topic: &sm.topics[m.shard]}
		m.entrySize = entrySize(m.gm)
		sm.byPtr[m.gm] = m
		if m.kind == kindSpam {
			sm.freeStates(w.now)
			m.hop = make([]uint8, len(sm.nodes))
			m.hop[i] = 1 // hop 0
			sm.spamMsgs = append(sm.spamMsgs, m)
			w.spam.Sent++
		}
		rpc := &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{m.gm}}
		for _, c := range n.conns {
			if sm.nodes[c.peer].hasShard(m.shard) {
				sm.send(w, i, int(c.peer), rpc)
			}
		}
	}
}

// floodRPC is a control flood's RPC (shared by every peer it goes to).
func (sm *sim) floodRPC(atk *attacker, n *node) *gossipsubpb.RPC {
	c := &gossipsubpb.ControlMessage{}
	switch atk.attack.Control {
	case "ihave":
		if atk.fake == nil {
			// Ids of no message: peers ask for them and wait in vain.
			for range floodIDs {
				id := make([]byte, 32)
				for w := 0; w < 32; w += 8 {
					binary.LittleEndian.PutUint64(id[w:], sm.attackRnd.Uint64())
				}
				atk.fake = append(atk.fake, id)
			}
		}
		for _, s := range n.shards {
			c.Ihave = append(c.Ihave, &gossipsubpb.ControlIHave{TopicId: &sm.topics[s], MessageIds: atk.fake})
		}
	case "iwant":
		// The latest honest messages, again and again.
		var ids [][]byte
		for k := sm.nextPub - 1; k >= 0 && len(ids) < recentIDs; k-- {
			if sm.msgs[k].published {
				ids = append(ids, []byte(sm.msgs[k].id))
			}
		}
		if len(ids) > 0 {
			c.Iwant = []*gossipsubpb.ControlIWant{{MessageIds: ids}}
		}
	case "graft":
		for _, s := range n.shards {
			c.Graft = append(c.Graft, &gossipsubpb.ControlGraft{TopicId: &sm.topics[s]})
		}
	}
	return &gossipsubpb.RPC{Control: c}
}
