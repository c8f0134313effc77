package simulation

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// peerManagerInterval is how long a node takes, at most, to notice it lost
// an outbound peer and dial another (the peer manager's run loop,
// p2p/peermgr.DefaultInterval).
const peerManagerInterval = 15 * time.Second

// conn is one end of a connection.
type conn struct {
	peer int32
	out  bool // this end dialled
}

// job is a node's CPU work: the verdict of a validation to hand to the
// router once the validation's time is spent.
type job struct {
	id  string
	res gossipsub.Result
}

// node is a simulated relay node: the real router and validator, its
// connections, its links' queues, its CPU queue and its byte counters.
// An attacker has no router: its behaviour is scripted (attacker).
type node struct {
	id     gossipsub.PeerID
	r      *gossipsub.Router
	v      *relay.Validator
	atk    *attacker
	shards []int
	conns  []conn
	// outbound counts the connections this node dialled.
	outbound int
	up       bool
	// dialing: a top-up of outbound peers is scheduled.
	dialing          bool
	joinedAt, leftAt int64
	// The uplink, downlink and CPU are each busy until these times.
	upFree, downFree, cpuFree int64
	jobs                      []job
	jobHead                   int
	// Bytes in and out from the end of the warmup.
	dataIn, dataOut, ctrlIn, ctrlOut int64
	// upPos is the node's place in sim.honestUp while it is up.
	upPos int
	// seq counts the events scheduled while handling this node's events.
	seq uint64
}

func (n *node) hasShard(s int) bool {
	for _, x := range n.shards {
		if x == s {
			return true
		}
	}
	return false
}

func (n *node) connected(j int32) bool {
	for _, c := range n.conns {
		if c.peer == j {
			return true
		}
	}
	return false
}

// peerIDPrefix makes simulated peer ids look like libp2p's ed25519 ones
// (an identity multihash of the public key's protobuf: 38 bytes), so that
// peer exchange lists weigh on the wire what real ones do.
const peerIDPrefix = "\x00\x24\x08\x01\x12\x20"

const peerIDLen = 38

// peerID is node idx's peer id: the prefix, 28 bytes derived from the
// seed and the index, and the index (big-endian) in the last 4 bytes.
func peerID(seed uint64, idx int) gossipsub.PeerID {
	b := make([]byte, peerIDLen)
	copy(b, peerIDPrefix)
	var h [32]byte
	for k := range 4 {
		binary.LittleEndian.PutUint64(h[8*k:], hash3(seed, streamPeerID, uint64(idx), uint64(k)))
	}
	copy(b[len(peerIDPrefix):peerIDLen-4], h[:])
	binary.BigEndian.PutUint32(b[peerIDLen-4:], uint32(idx))
	return gossipsub.PeerID(b)
}

// peerIndex is the node of a peer id, or -1 when it is none of ours.
func (sm *sim) peerIndex(id gossipsub.PeerID) int {
	if len(id) != peerIDLen || string(id[:len(peerIDPrefix)]) != peerIDPrefix {
		return -1
	}
	i := int(binary.BigEndian.Uint32([]byte(id[peerIDLen-4:])))
	if i >= len(sm.nodes) || sm.nodes[i].id != id {
		return -1
	}
	return i
}

// sendIndex is the node of a peer a router sends to: one it was given by
// connect, so only the index is read.
func (sm *sim) sendIndex(id gossipsub.PeerID) int {
	if len(id) != peerIDLen {
		return -1
	}
	i := int(binary.BigEndian.Uint32([]byte(id[peerIDLen-4:])))
	if i >= len(sm.nodes) {
		return -1
	}
	return i
}

// newNode adds a node (a relay node, or an attacker when atk is set) that
// is up from now, with its shards; a relay node joins its shards' topics.
func (sm *sim) newNode(w *worker, atk *attacker) (*node, error) {
	idx := len(sm.nodes)
	if idx >= maxSources {
		return nil, fmt.Errorf("%w: more than %d nodes over the run", ErrScenario, maxSources)
	}
	n := &node{id: peerID(sm.s.Seed, idx), atk: atk, up: true, joinedAt: w.now, upPos: -1}
	n.shards = sm.pickShards()
	sm.nodes = append(sm.nodes, n)
	for _, s := range n.shards {
		sm.shardMembers[s] = append(sm.shardMembers[s], int32(idx))
	}
	if atk != nil {
		atk.node = int32(idx)
		return n, nil
	}
	cfg := sm.router
	cfg.Seed = gossipsub.FixedSeed(hash3(sm.s.Seed, streamRouter, uint64(idx), 0))
	r, err := gossipsub.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("simulation: router of node %d: %w", idx, err)
	}
	// The validator reads the clock of the node's worker and counts its
	// verifications there.
	pw := sm.workers[sm.workerOf(int32(idx))]
	vc := relay.ValidatorConfig{Now: pw.nowTime}
	if sm.cache != nil {
		vc.RLN = true
		vc.Group = sm.group
		vc.Verifier = &pw.verifier
		vc.DecodeProof = sm.cache.decode
		vc.EpochPeriod = sm.s.RLN.EpochPeriod
	}
	v, err := relay.NewValidator(vc)
	if err != nil {
		return nil, fmt.Errorf("simulation: validator of node %d: %w", idx, err)
	}
	n.r, n.v = r, v
	for _, s := range n.shards {
		r.Join(w.nowTime(), sm.topics[s])
		sm.shardSubs[s]++
	}
	n.upPos = len(sm.honestUp)
	sm.honestUp = append(sm.honestUp, int32(idx))
	// The first heartbeat at a random phase of the interval.
	phase := int64(unit(hash3(sm.s.Seed, streamRouter, uint64(idx), 1)) * float64(sm.heartbeat))
	w.push(event{at: w.now + phase, kind: evTick, a: int32(idx)})
	return n, nil
}

// pickShards draws a node's shards.
func (sm *sim) pickShards() []int {
	k, total := sm.s.ShardsPerNode, sm.s.Shards
	if k == total {
		out := make([]int, total)
		for i := range out {
			out[i] = i
		}
		return out
	}
	return sm.shardRnd.Perm(total)[:k]
}

// dial connects node i as the peer manager does (p2p/peermgr's plan):
// it dials only relay peers sharing one of its shards; first for its
// shards with fewer peers than the shard target (gossipsub's D), then up
// to its outbound target; bootstrap nodes are the first it knows of, then
// peers learnt of at random. A peer at its connection cap refuses.
// Attempts are bounded, so a small or saturated network does not loop.
func (sm *sim) dial(w *worker, i int) {
	n := sm.nodes[i]
	t := &sm.s.Topology
	want := func() []int {
		if !n.up || len(n.conns) >= t.MaxConnections {
			return nil
		}
		if short := sm.shortShards(n); len(short) > 0 {
			return short
		}
		if n.outbound < t.Outbound {
			return n.shards
		}
		return nil
	}
	if b := min(t.Bootstrap, len(sm.nodes)); b > 0 {
		boot := func(j int) {
			if sh := want(); sh != nil && sm.nodes[j].sharesAny(sh) {
				sm.tryConnect(w, i, j)
			}
		}
		if b <= 64 {
			for _, j := range sm.topoRnd.Perm(b) {
				boot(j)
			}
		} else {
			for range 4 * t.Outbound {
				boot(sm.topoRnd.IntN(b))
			}
		}
	}
	for range 30 * t.Outbound {
		sh := want()
		if sh == nil {
			return
		}
		members := sm.shardMembers[sh[sm.topoRnd.IntN(len(sh))]]
		sm.tryConnect(w, i, int(members[sm.topoRnd.IntN(len(members))]))
	}
}

// shortShards are node n's shards with fewer peers than the shard target.
func (sm *sim) shortShards(n *node) []int {
	var short []int
	for _, s := range n.shards {
		c := 0
		for _, p := range n.conns {
			if sm.nodes[p.peer].hasShard(s) {
				c++
			}
		}
		if c < sm.shardTarget {
			short = append(short, s)
		}
	}
	return short
}

func (n *node) sharesAny(shards []int) bool {
	for _, s := range shards {
		if n.hasShard(s) {
			return true
		}
	}
	return false
}

// tryConnect connects i to j if j is up, not i, not already connected and
// below its cap.
func (sm *sim) tryConnect(w *worker, i, j int) {
	a, b := sm.nodes[i], sm.nodes[j]
	if i == j || !b.up || len(b.conns) >= sm.s.Topology.MaxConnections || a.connected(int32(j)) {
		return
	}
	sm.connect(w, i, j)
}

// connect opens a connection dialled by i to j: both routers take the
// other as a peer (and send it their subscriptions); an attacker announces
// its shards.
func (sm *sim) connect(w *worker, i, j int) {
	a, b := sm.nodes[i], sm.nodes[j]
	a.conns = append(a.conns, conn{peer: int32(j), out: true})
	a.outbound++
	b.conns = append(b.conns, conn{peer: int32(i)})
	now := w.nowTime()
	for _, x := range [2]struct {
		self, peer int
		out        bool
	}{{i, j, true}, {j, i, false}} {
		n, p := sm.nodes[x.self], sm.nodes[x.peer]
		if n.r != nil {
			// Every node has an address of its own, so the score's
			// colocation factor (more than 5 peers on one address)
			// never applies: the address is left out, which the router
			// takes as one it does not know (and saves a lookup in every
			// score it computes).
			n.r.AddPeer(now, p.id, sm.proto, x.out, "")
			sm.flush(w, x.self)
		} else {
			sm.attackerSubscribe(w, x.self, x.peer)
		}
	}
}

// disconnect drops j's end of its connection to i (i is leaving): j's
// router forgets i, and j's peer manager will dial another peer if i was
// one of its outbound peers.
func (sm *sim) disconnect(w *worker, j, i int) {
	n := sm.nodes[j]
	for k, c := range n.conns {
		if c.peer != int32(i) {
			continue
		}
		n.conns = append(n.conns[:k], n.conns[k+1:]...)
		if c.out {
			n.outbound--
		}
		break
	}
	if n.r != nil {
		n.r.RemovePeer(w.nowTime(), sm.nodes[i].id)
		sm.flush(w, j)
	}
	if !n.dialing && n.up && (n.outbound < sm.s.Topology.Outbound || len(sm.shortShards(n)) > 0) {
		n.dialing = true
		delay := int64(sm.topoRnd.Float64() * float64(peerManagerInterval))
		w.push(event{at: w.now + delay, kind: evDial, a: int32(j)})
	}
}

// flush carries out what node i's router wants done, until it wants
// nothing: deliveries are recorded, RPCs become transfers, messages go to
// the node's validator (whose verdicts, when due at once, produce more).
func (sm *sim) flush(w *worker, i int) {
	n := sm.nodes[i]
	for {
		rd := n.r.Ready()
		if rd.Empty() {
			return
		}
		// Deliveries first: a local publish's delivery tells the
		// message's pointer, which its sends are then counted by.
		for _, d := range rd.Deliveries {
			sm.delivered(w, i, d)
		}
		for _, s := range rd.Sends {
			if j := sm.sendIndex(s.To); j >= 0 {
				sm.send(w, i, j, s.RPC)
			}
		}
		for _, v := range rd.Validations {
			sm.validate(w, i, v)
		}
		// Peers offered in PRUNEs are dialled (a global event, a round
		// trip later, and not before the window ends).
		for _, px := range rd.PeerExchanges {
			for _, pi := range px.Peers {
				if j := sm.peerIndex(gossipsub.PeerID(pi.GetPeerId())); j >= 0 {
					at := max(w.now+2*int64(sm.lat.link(i, j)), w.horizon)
					w.push(event{at: at, kind: evPX, a: int32(i), b: int32(j)})
				}
			}
		}
	}
}

// validate runs the node's validator on a message now (the nullifier log
// records it in arrival order) and queues the verdict on the node's CPU,
// charged the verification time when a proof was checked.
func (sm *sim) validate(w *worker, i int, v gossipsub.Validation) {
	n := sm.nodes[i]
	o, cost := sm.runValidator(i, n, v.Msg.GetTopic(), v.Msg.GetData())
	if m := w.lookup(v.Msg); m != nil {
		if m.kind != kindHonest && o.Result == gossipsub.Accept {
			m.accepted.Store(true)
		}
		switch m.kind {
		case kindSpam:
			if o.Result == gossipsub.Reject {
				w.spam.Rejected++
			}
			if o.Reason == relay.ReasonSpam {
				w.spam.DoubleSigns++
			}
		case kindHonest:
			if o.Result != gossipsub.Accept {
				w.honestNotAccepted++
				sm.log.Debug("honest message not accepted", "node", i, "reason", o.Reason)
			}
		}
	}
	sm.runJob(w, i, job{id: v.ID, res: o.Result}, cost)
}

// runValidator validates a message with node i's validator and returns
// the outcome and the CPU time it is charged: the verification cost of
// each proof it had verified.
func (sm *sim) runValidator(i int, n *node, topic string, data []byte) (relay.Outcome, int64) {
	vc := &sm.workers[sm.workerOf(int32(i))].verifier
	calls := vc.calls
	o := n.v.Validate(topic, data)
	return o, sm.verifyCost * int64(vc.calls-calls)
}

// runJob queues a job on node i's CPU behind its earlier jobs; a job due
// now on an idle CPU runs at once.
func (sm *sim) runJob(w *worker, i int, j job, cost int64) {
	n := sm.nodes[i]
	done := max(w.now, n.cpuFree) + cost
	n.cpuFree = done
	if done == w.now && n.jobHead == len(n.jobs) {
		sm.doJob(w, i, j)
		return
	}
	n.jobs = append(n.jobs, j)
	w.push(event{at: done, kind: evCPU, a: int32(i)})
}

// cpuDone ends the job at the head of node i's CPU queue.
func (sm *sim) cpuDone(w *worker, i int) {
	n := sm.nodes[i]
	if !n.up || n.jobHead >= len(n.jobs) {
		return
	}
	j := n.jobs[n.jobHead]
	n.jobs[n.jobHead] = job{}
	n.jobHead++
	if n.jobHead == len(n.jobs) {
		n.jobs, n.jobHead = n.jobs[:0], 0
	}
	sm.doJob(w, i, j)
}

func (sm *sim) doJob(w *worker, i int, j job) {
	sm.nodes[i].r.ValidationResult(w.nowTime(), j.id, j.res)
	sm.flush(w, i)
}

// send puts an RPC from i to j on the network: it waits for i's uplink,
// is serialised at i's upload rate, travels the link's delay, then (in
// arrive) waits for j's downlink and is serialised at j's download rate.
// Its size is the bytes of its frame: the RPC's encoding and its varint
// length prefix.
func (sm *sim) send(w *worker, i, j int, rpc *gossipsubpb.RPC) {
	size := rpcWireSize(rpc)
	data := 0
	for _, m := range rpc.GetPublish() {
		es := 0
		if msg := w.lookup(m); msg != nil {
			es = msg.entrySize
			if msg.kind == kindHonest {
				w.honestDataSent += int64(len(m.GetData()))
			}
		} else {
			es = entrySize(m)
		}
		data += es
	}
	n := sm.nodes[i]
	if w.now >= sm.measureFrom {
		n.dataOut += int64(data)
		n.ctrlOut += int64(size - data)
	}
	txEnd := max(w.now, n.upFree) + serialisation(size, sm.s.Network.UploadBps)
	n.upFree = txEnd
	kind := evDeliver
	if sm.s.Network.DownloadBps > 0 {
		kind = evArrive
	}
	w.push(event{at: txEnd + int64(sm.lat.link(i, j)), kind: kind, a: int32(i), b: int32(j), rpc: rpc, size: int32(size), data: int32(data)})
	w.transfers++
}

// arrive queues a transfer on the receiver's downlink.
func (sm *sim) arrive(w *worker, e *event) {
	n := sm.nodes[e.b]
	if !n.up {
		return
	}
	end := max(w.now, n.downFree) + serialisation(int(e.size), sm.s.Network.DownloadBps)
	n.downFree = end
	d := *e
	d.kind, d.at = evDeliver, end
	w.push(d)
}

// deliver hands a transfer to its receiver, if the connection still
// stands: its router handles the RPC (an attacker drops it).
func (sm *sim) deliver(w *worker, e *event) {
	j, i := int(e.b), e.a
	n := sm.nodes[j]
	if !n.up || (sm.churned && !n.connected(i)) {
		return
	}
	if w.now >= sm.measureFrom {
		n.dataIn += int64(e.data)
		n.ctrlIn += int64(e.size - e.data)
	}
	for _, m := range e.rpc.GetPublish() {
		sm.receipt(w, j, int(i), m)
	}
	if n.r == nil {
		return
	}
	n.r.HandleRPC(w.nowTime(), sm.nodes[i].id, e.rpc)
	sm.flush(w, j)
}

// rpcWireSize is the bytes of an RPC's frame.
func rpcWireSize(rpc *gossipsubpb.RPC) int {
	n := protoSize(rpc)
	return n + varintLen(uint64(n))
}

// entrySize is the bytes of a message as a publish entry of an RPC (field
// 2: its tag, its length and its encoding).
func entrySize(m *gossipsubpb.Message) int {
	n := protoSize(m)
	return 1 + varintLen(uint64(n)) + n
}
