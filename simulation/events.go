package simulation

import "github.com/rlnd/rlnd/wire/pb/gossipsubpb"

// Event kinds.
const (
	// evTick is a node's heartbeat (a: node).
	evTick uint8 = iota
	// evArrive is an RPC reaching the receiver's downlink (a: from, b:
	// to); with unlimited download it is evDeliver directly.
	evArrive
	// evDeliver hands an RPC to the receiver (a: from, b: to).
	evDeliver
	// evCPU ends the job at the head of a node's CPU queue (a: node).
	evCPU
	// evPublish publishes honest message a.
	evPublish
	// evAttack is the next action of attacker a.
	evAttack
	// evLeave and evJoin are churn.
	evLeave
	evJoin
	// evDial is a node's peer manager topping up its outbound peers (a:
	// node).
	evDial
	// evPublishNow hands honest message b to node a's router, its own
	// validation done.
	evPublishNow
	// evPX is node a dialling node b, a peer a PRUNE offered.
	evPX
)

// global tells whether events of a kind are handled alone, between the
// windows the nodes run in parallel: they touch several nodes (churn,
// dials) or shared state (a publish registers its message).
func global(kind uint8) bool { return kind >= evPublish }

// event is one thing that happens at a virtual time; events of one time
// happen in the order of their source (the node whose event scheduled
// them, -1 for global events) and the source's count of events scheduled
// (seq): an order that does not depend on how nodes are spread over
// workers. It is a small value: the queues hold events, not closures.
type event struct {
	at int64 // virtual ns since the start
	// key is the source plus one in the top 22 bits and the source's
	// count in the other 42 (see orderKey).
	key  uint64
	rpc  *gossipsubpb.RPC
	a, b int32
	// size is the RPC's bytes on the wire, data the bytes of its publish
	// entries.
	size, data int32
	kind       uint8
}

// eventQueue is a 4-ary min-heap of events by (at, src, seq).
type eventQueue struct {
	h []event
}

func (e *event) before(o *event) bool {
	return e.at < o.at || (e.at == o.at && e.key < o.key)
}

// Bits of an event's order key: up to 4M sources (the scenario's million
// nodes and those that join) and 4e12 events from one source.
const (
	keySeqBits = 42
	maxSources = 1<<(64-keySeqBits) - 1
)

// orderKey orders the events of one time: by source (src -1 for global
// events first), then by the source's count.
func orderKey(src int32, seq uint64) uint64 {
	return uint64(src+1)<<keySeqBits | seq&(1<<keySeqBits-1)
}

func (q *eventQueue) Len() int { return len(q.h) }

func (q *eventQueue) push(e event) {
	q.h = append(q.h, e)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !q.h[i].before(&q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

// peek returns the earliest event; the queue must not be empty.
func (q *eventQueue) peek() *event { return &q.h[0] }

func (q *eventQueue) pop() event {
	top := q.h[0]
	n := len(q.h) - 1
	q.h[0] = q.h[n]
	q.h[n] = event{}
	q.h = q.h[:n]
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if q.h[k].before(&q.h[m]) {
				m = k
			}
		}
		if !q.h[m].before(&q.h[i]) {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top
}
