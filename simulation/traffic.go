package simulation

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// msgKind says what a message is for the measurements.
type msgKind uint8

const (
	// kindHonest: honest traffic, measured.
	kindHonest msgKind = iota
	// kindSpam: an over-rate message (a double signal) or one with an
	// invalid proof: it should stop at the first hop.
	kindSpam
	// kindAttackValid: an over-rate attacker's messages within its rate,
	// valid and relayed like any, not measured.
	kindAttackValid
)

// stateTTL is how long after its publish a message's per-node state is
// kept (receipts, hops, deliveries): the router's seen cache's time to
// live, after which a copy would be a new message to it anyway.
const stateTTL = 2 * time.Minute

// hopUnknown is the hop recorded for a copy from a peer whose own hop is
// not known (it joined after the publish).
const hopUnknown = 0x7f

// message is a message of the run, made before it starts.
type message struct {
	kind msgKind
	// at is when it is published (virtual ns), and its timestamp.
	at   int64
	data []byte // the encoded WakuMessage
	id   string // its gossipsub id
	// entrySize is its bytes as a publish entry.
	entrySize int
	shard     int
	origin    int32
	published bool
	// accepted: an attacker's message some node accepted (set by the
	// workers, read between windows).
	accepted atomic.Bool
	gm       *gossipsubpb.Message
	// index is its place in sim.msgs (honest messages).
	index int32
	// hop is, for each node that existed at the publish, the hop of its
	// first copy plus one (0: none yet), and dlv whether it delivered it,
	// kept for stateTTL. Each node's entry is written only by its worker.
	hop []uint8
	dlv []bool
	// expected is the nodes that should deliver it (subscribers up at the
	// publish, less those that left before they got it); times are the
	// deliveries, µs after at, in order (gathered at the end).
	expected  int32
	times     []uint32
	dups      int64
	receivers int64
}

func protoSize(m proto.Message) int { return proto.Size(m) }

// newWakuMessage makes the WakuMessage of a payload of size bytes drawn
// from the payload stream, its first 8 bytes the message's serial (so no
// two messages of a run are equal).
func (sm *sim) newWakuMessage(serial uint64, size int, at int64) *messagepb.WakuMessage {
	payload := make([]byte, size)
	for k := 0; k < size; k += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], sm.payloadRnd.Uint64())
		copy(payload[k:], w[:])
	}
	var s [8]byte
	binary.LittleEndian.PutUint64(s[:], serial)
	copy(payload, s[:])
	return wire.NewMessage(contentTopic, payload, sm.base.Add(time.Duration(at)).UnixNano())
}

// finishMessage encodes a prepared WakuMessage into the run's message.
func finishMessage(kind msgKind, at int64, m *messagepb.WakuMessage) (*message, error) {
	data, err := wire.EncodeMessage(m)
	if err != nil {
		return nil, fmt.Errorf("simulation: encode message: %w", err)
	}
	return &message{kind: kind, at: at, data: data, id: wire.GossipMessageID(data), origin: -1}, nil
}

// pending is a message made before the run, proved later.
type pending struct {
	kind msgKind
	at   int64
	wm   *messagepb.WakuMessage
	dst  **message
}

// prepare makes every message of the run: the honest traffic (evenly
// spaced at the scenario's rate over Duration) and the attackers'
// messages, and proves them (RLN on), each honest message with a fresh
// (epoch, message id) of one of the members that publish it.
func (sm *sim) prepare() error {
	s := &sm.s
	var all []pending
	serial := uint64(0)
	start := int64(s.Warmup)
	if s.Traffic.Rate > 0 {
		count := int(math.Floor(s.Traffic.Rate * s.Duration.Seconds()))
		if count > math.MaxInt32 {
			return fmt.Errorf("%w: traffic: %d messages, at most %d", ErrScenario, count, math.MaxInt32)
		}
		sm.msgs = make([]*message, count)
		for k := range count {
			at := start + int64(float64(k)*float64(time.Second)/s.Traffic.Rate)
			all = append(all, pending{kind: kindHonest, at: at, wm: sm.newWakuMessage(serial, s.Traffic.MessageSize, at), dst: &sm.msgs[k]})
			serial++
		}
	}
	for _, atk := range sm.attackers {
		a := atk.attack
		if a.Kind == AttackControlFlood {
			continue
		}
		atk.msgs = make([]*message, len(atk.times))
		atk.first = len(all)
		for k, at := range atk.times {
			all = append(all, pending{kind: kindSpam, at: at, wm: sm.newWakuMessage(serial, s.Traffic.MessageSize, at), dst: &atk.msgs[k]})
			serial++
		}
	}
	if sm.cache == nil {
		for _, p := range all {
			m, err := finishMessage(p.kind, p.at, p.wm)
			if err != nil {
				return err
			}
			*p.dst = m
		}
		return nil
	}
	return sm.prove(all)
}

// prove attaches the proofs: honest messages take the members in turn
// within each epoch (member j/limit, message id j%limit for the epoch's
// j-th message); an over-rate attacker has a member of its own and
// reuses its message ids past its limit (double signals); invalid-proof
// messages get forged proofs.
func (sm *sim) prove(all []pending) error {
	s := &sm.s
	limit := uint64(s.RLN.UserMessageLimit)
	period := s.RLN.EpochPeriod
	epochOf := func(at int64) uint64 { return rln.Epoch(sm.base.Add(time.Duration(at)), period) }
	perEpoch := map[uint64]uint64{}
	honest := 0
	var order []uint64 // epochs, to size the group
	for _, p := range all {
		if p.kind == kindHonest {
			e := epochOf(p.at)
			if perEpoch[e] == 0 {
				order = append(order, e)
			}
			perEpoch[e]++
		}
	}
	for _, e := range order {
		honest = max(honest, int((perEpoch[e]+limit-1)/limit))
	}
	overRate := 0
	for _, atk := range sm.attackers {
		if atk.attack.Kind == AttackOverRate {
			atk.member = honest + overRate
			overRate++
		}
	}
	members := max(honest+overRate, 1)
	pv, err := newProver(members, limit, s.Seed)
	if err != nil {
		return err
	}
	sm.group = pv.group

	// Honest messages and over-rate ones are proved; forged ones need a
	// real proof's points (the first proved message, or one made for it).
	used := map[uint64]uint64{}
	var forged []pending
	for _, p := range all {
		e := epochOf(p.at)
		switch p.kind {
		case kindHonest:
			j := used[e]
			used[e]++
			pv.add(int(j/limit), j%limit, e, p.wm)
		}
	}
	for _, atk := range sm.attackers {
		switch atk.attack.Kind {
		case AttackOverRate:
			count := map[uint64]uint64{}
			atk.uses = map[[2]uint64][]int{}
			atk.keys = make([][2]uint64, len(atk.times))
			for k := range atk.times {
				p := &all[atk.first+k]
				e := epochOf(p.at)
				j := count[e]
				count[e]++
				if j < limit {
					p.kind = kindAttackValid
				}
				key := [2]uint64{e, j % limit}
				atk.keys[k] = key
				atk.uses[key] = append(atk.uses[key], k)
				pv.add(atk.member, j%limit, e, p.wm)
			}
		case AttackInvalidProof:
			for k := range atk.times {
				forged = append(forged, all[atk.first+k])
			}
		}
	}
	var template *messagepb.WakuMessage
	if len(forged) > 0 && len(pv.jobs) == 0 {
		template = sm.newWakuMessage(math.MaxUint64, 1, int64(s.Warmup))
		pv.add(0, 0, epochOf(int64(s.Warmup)), template)
	}
	if len(pv.jobs) > MaxProofs {
		return fmt.Errorf("%w: the run needs %d RLN proofs (honest messages and over-rate ones), at most %d: lower traffic.rate x duration or the attack rates", ErrScenario, len(pv.jobs), MaxProofs)
	}
	keys, err := loadKeys(sm.ctx, sm.o, len(pv.jobs) > 0)
	if err != nil {
		return err
	}
	pv.keys = keys
	sm.cache = newProofCache(keys.verifier)
	t0 := time.Now()
	if err := pv.run(sm.ctx); err != nil {
		return err
	}
	sm.proveTime = time.Since(t0)
	sm.proofs = len(pv.jobs)
	sm.log.Info("RLN proofs made", "proofs", len(pv.jobs), "members", members, "wall", sm.proveTime)
	if template == nil && len(pv.jobs) > 0 {
		template = pv.jobs[0].msg
	}
	if len(forged) > 0 {
		tb := template.GetRateLimitProof()
		for _, p := range forged {
			b, err := forgedProof(tb, pv.group.Root(), epochOf(p.at), p.wm, sm.attackRnd)
			if err != nil {
				return err
			}
			p.wm.RateLimitProof = b
		}
	}
	for _, p := range all {
		m, err := finishMessage(p.kind, p.at, p.wm)
		if err != nil {
			return err
		}
		*p.dst = m
	}
	if s.RLN.VerifyCost == 0 {
		var valid [][]byte
		for _, j := range pv.jobs {
			b, err := wire.EncodeMessage(j.msg)
			if err != nil {
				return err
			}
			valid = append(valid, b)
			if len(valid) == 6 {
				break
			}
		}
		c, err := measureVerifyCost(keys.verifier, valid)
		if err != nil {
			return err
		}
		s.RLN.VerifyCost = c
		sm.log.Info("RLN verification cost measured", "cost", c)
	}
	sm.verifyCost = int64(s.RLN.VerifyCost)
	return nil
}

// publish is honest message k's time: a publisher up and relaying a
// shard is picked (among the scenario's publishers, if it names them),
// validates its own message (charged on its CPU, behind what it was
// doing), then publishes it (evPublishNow).
func (sm *sim) publish(w *worker, k int) {
	m := sm.msgs[k]
	sm.freeStates(w.now)
	p := sm.pickPublisher()
	if k+1 < len(sm.msgs) {
		w.push(event{at: sm.msgs[k+1].at, kind: evPublish, a: int32(k + 1)})
	}
	if p < 0 {
		sm.log.Warn("no publisher up: message not published", "message", k)
		return
	}
	n := sm.nodes[p]
	m.shard = n.shards[sm.trafficRnd.IntN(len(n.shards))]
	m.origin = int32(p)
	var cost int64
	if sm.cache != nil {
		var o relay.Outcome
		o, cost = sm.runValidator(p, n, sm.topics[m.shard], m.data)
		if o.Result != gossipsub.Accept {
			w.honestNotAccepted++
			sm.log.Warn("honest message refused by its publisher", "message", k, "reason", o.Reason)
		}
	}
	done := max(w.now, n.cpuFree) + cost
	n.cpuFree = done
	w.push(event{at: done, kind: evPublishNow, a: int32(p), b: int32(k)})
}

// pickPublisher picks an up honest node to publish: one of the first
// Publishers nodes when set, else any.
func (sm *sim) pickPublisher() int {
	if len(sm.honestUp) == 0 {
		return -1
	}
	if np := sm.s.Traffic.Publishers; np > 0 {
		for range 64 {
			i := sm.trafficRnd.IntN(np)
			if sm.nodes[i].up && sm.nodes[i].r != nil {
				return i
			}
		}
	}
	return int(sm.honestUp[sm.trafficRnd.IntN(len(sm.honestUp))])
}

// publishNow hands honest message k to node p's router.
func (sm *sim) publishNow(w *worker, p, k int) {
	m := sm.msgs[k]
	n := sm.nodes[p]
	if !n.up {
		sm.log.Warn("publisher left before publishing", "message", k)
		return
	}
	m.hop = make([]uint8, len(sm.nodes))
	m.dlv = make([]bool, len(sm.nodes))
	m.hop[p] = 1 // hop 0
	m.expected = int32(sm.shardSubs[m.shard] - 1)
	sm.curPub = m
	_, _, err := n.r.Publish(w.nowTime(), sm.topics[m.shard], m.data)
	if err != nil {
		sm.log.Warn("publish failed", "message", k, "err", err)
		m.hop, m.dlv = nil, nil
		sm.curPub = nil
		return
	}
	sm.flush(w, p)
	sm.curPub = nil
	m.published = true
	w.receivers[k]++
	sm.published++
}

// freeStates drops the per-node state of messages published more than
// stateTTL ago.
func (sm *sim) freeStates(now int64) {
	for sm.freeFrom < len(sm.msgs) && sm.msgs[sm.freeFrom].at+int64(stateTTL) < now {
		m := sm.msgs[sm.freeFrom]
		m.hop, m.dlv = nil, nil
		sm.freeFrom++
	}
	for sm.spamFree < len(sm.spamMsgs) && sm.spamMsgs[sm.spamFree].at+int64(stateTTL) < now {
		sm.spamMsgs[sm.spamFree].hop = nil
		sm.spamFree++
	}
}

// delivered records a router's delivery.
func (sm *sim) delivered(w *worker, i int, d gossipsub.Delivery) {
	if d.Local {
		if m := sm.curPub; m != nil && d.ID == m.id {
			m.gm = d.Msg
			m.entrySize = entrySize(d.Msg)
			sm.byPtr[d.Msg] = m
		}
		return
	}
	m := w.lookup(d.Msg)
	if m == nil {
		return
	}
	switch m.kind {
	case kindSpam:
		w.spam.Delivered++
	case kindHonest:
		if m.dlv == nil || i >= len(m.dlv) || int32(i) == m.origin || m.dlv[i] {
			return
		}
		m.dlv[i] = true
		w.deliveries = append(w.deliveries, delivery{msg: m.index, us: uint32((w.now - m.at) / int64(time.Microsecond))})
	}
}

// receipt records a copy of message gm reaching node j from node i: the
// hop it travelled and whether j had it already. The sender's hop was
// written when it got its first copy, before it sent this one (so in an
// earlier window).
func (sm *sim) receipt(w *worker, j, i int, gm *gossipsubpb.Message) {
	m := w.lookup(gm)
	if m == nil || m.hop == nil || j >= len(m.hop) || sm.nodes[j].r == nil {
		return
	}
	enc := uint8(hopUnknown)
	if i < len(m.hop) {
		if se := m.hop[i]; se != 0 && se < hopUnknown-1 {
			enc = se + 1
		}
	}
	first := m.hop[j] == 0
	if first {
		m.hop[j] = enc
	}
	switch m.kind {
	case kindSpam:
		if enc != hopUnknown {
			w.spam.MaxHops = max(w.spam.MaxHops, int(enc-1))
		}
	case kindHonest:
		if !first {
			w.dups[m.index]++
			return
		}
		w.receivers[m.index]++
		if enc != hopUnknown {
			w.hops[enc-1]++
		}
	}
}

// nodeLeft updates the messages a leaving node j was expected to deliver
// and has not.
func (sm *sim) nodeLeft(j int) {
	n := sm.nodes[j]
	for _, m := range sm.msgs[sm.freeFrom:] {
		if !m.published || m.dlv == nil || j >= len(m.dlv) || int32(j) == m.origin {
			continue
		}
		if !m.dlv[j] && n.hasShard(m.shard) {
			m.expected--
		}
	}
}
