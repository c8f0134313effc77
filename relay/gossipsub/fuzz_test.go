package gossipsub

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// The fuzzed router joins fuzzTopicA and fuzzTopicB; fuzzTopicC is a topic
// it only publishes to (fanout). One-letter names let the fuzzer hit them.
const (
	fuzzTopicA = "a"
	fuzzTopicB = "b"
	fuzzTopicC = "c"
)

var fuzzPeers = []PeerID{"p0", "p1", "p2"}

// fuzzParams are small bounds, so that a short input reaches every limit:
// mesh degree, IHAVE and IDONTWANT caps, the validation queue, RPC
// splitting and the backoffs.
func fuzzParams() Params {
	p := DefaultParams()
	p.D, p.Dlo, p.Dhi, p.Dscore, p.Dout, p.Dlazy = 2, 1, 2, 1, 0, 1
	p.HistoryLength, p.HistoryGossip = 3, 2
	p.SeenTTL = 8 * time.Second
	p.FanoutTTL = 4 * time.Second
	p.PruneBackoff = 4 * time.Second
	p.UnsubscribeBackoff = 2 * time.Second
	p.GraftFloodThreshold = 2 * time.Second
	p.PrunePeers = 2
	p.MaxIHaveLength, p.MaxIHaveMessages = 6, 2
	p.GossipRetransmission = 2
	p.IWantFollowupTime = 2 * time.Second
	p.OpportunisticGraftTicks, p.OpportunisticGraftPeers = 4, 1
	p.IDontWantMinSize = 4
	p.MaxIDontWant = 3
	p.IDontWantTTL = 2 * time.Second
	p.MaxMessageSize, p.MaxRPCSize = 48, 160
	p.MaxPendingValidation = 3
	p.MaxPeerTopics = 4
	return p
}

// fuzzMsgID is the data's first four bytes: ids the fuzzer can guess, so
// that IWANT, IHAVE and IDONTWANT can name real messages.
func fuzzMsgID(m *gossipsubpb.Message) string {
	d := m.GetData()
	return string(d[:min(len(d), 4)])
}

// The input is a sequence of steps, each starting with an op byte:
//
//	op&3 in 0..2: an RPC from fuzzPeers[op&3]: a uvarint length and that
//	  many bytes of protobuf (skipped if undecodable); then the oldest
//	  (op>>4)&3 pending validations get verdict (op>>2)&3 (0 accept,
//	  1 reject, 2 ignore, 3 none).
//	op&3 == 3: (op>>2)&3 selects 0 a heartbeat, 1 a local publish (length
//	  and data follow; topic a, b or c by (op>>4)%3), 2 a peer's
//	  disconnection and reconnection (peer (op>>4)%3), 3 leaving topic b
//	  or joining it again.
const (
	fuzzVerdictAccept = iota
	fuzzVerdictReject
	fuzzVerdictIgnore
	fuzzVerdictNone
)

const (
	fuzzOpTick = iota
	fuzzOpPublish
	fuzzOpReconnect
	fuzzOpToggleB
)

// fuzzInput builds inputs for the seed corpus.
type fuzzInput []byte

func (in *fuzzInput) rpc(peer, verdict, n int, rpc *gossipsubpb.RPC) *fuzzInput {
	b, err := proto.Marshal(rpc)
	if err != nil {
		panic(err)
	}
	*in = append(*in, byte(peer|verdict<<2|n<<4))
	*in = binary.AppendUvarint(*in, uint64(len(b)))
	*in = append(*in, b...)
	return in
}

func (in *fuzzInput) raw(peer int, b []byte) *fuzzInput {
	*in = append(*in, byte(peer|fuzzVerdictNone<<2))
	*in = binary.AppendUvarint(*in, uint64(len(b)))
	*in = append(*in, b...)
	return in
}

func (in *fuzzInput) tick() *fuzzInput {
	*in = append(*in, byte(3|fuzzOpTick<<2))
	return in
}

func (in *fuzzInput) publish(topic int, data string) *fuzzInput {
	*in = append(*in, byte(3|fuzzOpPublish<<2|topic<<4))
	*in = binary.AppendUvarint(*in, uint64(len(data)))
	*in = append(*in, data...)
	return in
}

func (in *fuzzInput) op(op, arg int) *fuzzInput {
	*in = append(*in, byte(3|op<<2|arg<<4))
	return in
}

func fuzzSeeds() [][]byte {
	sub := func(topics ...string) *gossipsubpb.RPC {
		rpc := &gossipsubpb.RPC{}
		for _, t := range topics {
			rpc.Subscriptions = append(rpc.Subscriptions, subOpts(t, true))
		}
		return rpc
	}
	ctl := func(c *gossipsubpb.ControlMessage) *gossipsubpb.RPC { return &gossipsubpb.RPC{Control: c} }
	msg := func(topic, data string) *gossipsubpb.Message {
		return &gossipsubpb.Message{Topic: ptr(topic), Data: []byte(data)}
	}
	ids := func(ss ...string) [][]byte {
		var out [][]byte
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	var seeds []fuzzInput

	// Messages: accepted, rejected, ignored, duplicated, signed, oversized,
	// for a topic not joined; then heartbeats gossip and forward them.
	var s fuzzInput
	s.rpc(0, fuzzVerdictAccept, 1, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{msg(fuzzTopicA, "good message")}}).
		rpc(1, fuzzVerdictReject, 1, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{msg(fuzzTopicA, "bad! message")}}).
		rpc(2, fuzzVerdictNone, 0, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{msg(fuzzTopicB, "ign? message"), msg(fuzzTopicB, "ign? again"), msg(fuzzTopicA, "more"), msg(fuzzTopicA, "most")}}).
		rpc(0, fuzzVerdictIgnore, 3, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{msg(fuzzTopicA, "good message"), msg(fuzzTopicC, "elsewhere")}}).
		rpc(1, fuzzVerdictAccept, 0, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{{Topic: ptr(fuzzTopicA), Data: []byte("signed"), Seqno: []byte{1}, From: []byte("x")}}}).
		rpc(2, fuzzVerdictAccept, 0, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{msg(fuzzTopicA, string(make([]byte, 100)))}}).
		tick().tick().tick()
	seeds = append(seeds, s)

	// IHAVE for unknown and known ids, over the caps, then the IWANT
	// promise broken by a heartbeat; IWANT served up to the retransmission
	// limit.
	s = nil
	s.publish(0, "mine-1").publish(0, "mine-2").publish(2, "fan-1").
		rpc(0, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Ihave: []*gossipsubpb.ControlIHave{
			{TopicId: ptr(fuzzTopicA), MessageIds: ids("x1", "x2", "x3", "x4", "x5", "x6", "x7", "mine")},
			{TopicId: ptr(fuzzTopicC), MessageIds: ids("y1")},
		}})).
		rpc(0, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Ihave: []*gossipsubpb.ControlIHave{{TopicId: ptr(fuzzTopicA), MessageIds: ids("x8")}}})).
		rpc(0, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Ihave: []*gossipsubpb.ControlIHave{{TopicId: ptr(fuzzTopicA), MessageIds: ids("x9")}}})).
		rpc(1, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Iwant: []*gossipsubpb.ControlIWant{{MessageIds: ids("mine", "fan-", "zzzz")}}})).
		rpc(1, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Iwant: []*gossipsubpb.ControlIWant{{MessageIds: ids("mine", "mine")}}})).
		tick().tick().tick().
		rpc(0, fuzzVerdictAccept, 1, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{msg(fuzzTopicA, "x1")}}).
		tick()
	seeds = append(seeds, s)

	// GRAFT and PRUNE: graft into a full mesh, graft in backoff, right
	// after a PRUNE, for topics not joined; PRUNE with peer exchange and a
	// huge backoff.
	s = nil
	s.rpc(0, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Prune: []*gossipsubpb.ControlPrune{
		{TopicId: ptr(fuzzTopicA), Backoff: ptr(uint64(1))},
		{TopicId: ptr(fuzzTopicB), Backoff: ptr(uint64(math.MaxUint64)), Peers: []*gossipsubpb.PeerInfo{{PeerId: []byte("p1")}, {PeerId: []byte("p9")}, {}}},
		{TopicId: ptr("zz")},
	}})).
		rpc(0, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Graft: []*gossipsubpb.ControlGraft{{TopicId: ptr(fuzzTopicA)}, {TopicId: ptr(fuzzTopicB)}, {TopicId: ptr(fuzzTopicC)}, {}}})).
		rpc(1, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Graft: []*gossipsubpb.ControlGraft{{TopicId: ptr(fuzzTopicA)}, {TopicId: ptr(fuzzTopicA)}}})).
		rpc(2, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Graft: []*gossipsubpb.ControlGraft{{TopicId: ptr(fuzzTopicA)}}})).
		tick().tick().tick().tick().tick().
		rpc(0, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Graft: []*gossipsubpb.ControlGraft{{TopicId: ptr(fuzzTopicA)}}})).
		tick()
	seeds = append(seeds, s)

	// Subscriptions: over the per-peer cap, unsubscribing a mesh peer,
	// then a GRAFT without a subscription.
	s = nil
	s.rpc(2, fuzzVerdictNone, 0, sub("t1", "t2", "t3", "t4", "t5", fuzzTopicB)).
		rpc(1, fuzzVerdictNone, 0, &gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{subOpts(fuzzTopicA, false), subOpts(fuzzTopicA, false), subOpts(fuzzTopicB, true), {}}}).
		tick().
		rpc(1, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Graft: []*gossipsubpb.ControlGraft{{TopicId: ptr(fuzzTopicA)}}})).
		op(fuzzOpReconnect, 1).op(fuzzOpToggleB, 0).tick().op(fuzzOpToggleB, 0).tick()
	seeds = append(seeds, s)

	// IDONTWANT over the cap, then the message it names.
	s = nil
	s.rpc(0, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Idontwant: []*gossipsubpb.ControlIDontWant{{MessageIds: ids("big-", "d2", "d3", "d4", "d5")}}})).
		rpc(2, fuzzVerdictNone, 0, ctl(&gossipsubpb.ControlMessage{Idontwant: []*gossipsubpb.ControlIDontWant{{MessageIds: ids(strings.Repeat("long id ", 8))}}})).
		rpc(1, fuzzVerdictAccept, 1, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{msg(fuzzTopicA, "big-message")}}).
		publish(0, "big-other").tick().tick().tick()
	seeds = append(seeds, s)

	// The validation queue fills (three pending at most) and drains.
	s = nil
	for i := range 6 {
		s.rpc(i%3, fuzzVerdictNone, 0, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{msg(fuzzTopicA, fmt.Sprintf("q%03d", i))}})
	}
	s.rpc(0, fuzzVerdictAccept, 3, &gossipsubpb.RPC{}).tick()
	seeds = append(seeds, s)

	// Garbage: a truncated RPC, an invalid wire type, an empty RPC.
	s = nil
	s.raw(0, []byte{0x0a, 0x05, 0x08}).raw(1, []byte{0xff, 0xff, 0xff}).raw(2, nil).tick()
	seeds = append(seeds, s)

	out := make([][]byte, len(seeds))
	for i, s := range seeds {
		out[i] = s
	}
	return out
}

// fuzzHarness drives one router and checks its invariants after every step.
type fuzzHarness struct {
	t   *testing.T
	p   Params
	r   *Router
	now time.Time

	// pending are the validations asked for and not answered, oldest first.
	pending []string
	// valid holds the data of every message accepted or published, by id:
	// nothing else may be forwarded.
	valid map[string][]byte
	// accepted are the ids accepted since the last check.
	accepted map[string]bool
	// asked counts the ids requested with IWANT per peer this heartbeat.
	asked map[PeerID]int
	// opportunistic: the last heartbeat could graft over Dhi.
	ticked, opportunistic bool
	heartbeats            int
}

func newFuzzHarness(t *testing.T) *fuzzHarness {
	p := fuzzParams()
	r, err := New(Config{Params: p, Score: DefaultScoreParams(), Thresholds: DefaultThresholds(), MsgID: fuzzMsgID, Seed: FixedSeed(1)})
	if err != nil {
		t.Fatal(err)
	}
	h := &fuzzHarness{t: t, p: p, r: r, now: time.Unix(1_700_000_000, 0),
		valid: map[string][]byte{}, accepted: map[string]bool{}, asked: map[PeerID]int{}}
	h.r.Join(h.now, fuzzTopicA)
	h.r.Join(h.now, fuzzTopicB)
	for i := range fuzzPeers {
		h.addPeer(i)
	}
	h.check()
	// The peers subscribe to the topics; a heartbeat builds the meshes.
	for i, id := range fuzzPeers {
		rpc := &gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{subOpts(fuzzTopicA, true)}}
		if i != 2 {
			rpc.Subscriptions = append(rpc.Subscriptions, subOpts(fuzzTopicB, true))
		}
		h.r.HandleRPC(h.now, id, rpc)
	}
	h.check()
	h.tick()
	return h
}

// addPeer connects fuzzPeers[i]: a v1.2 outbound peer, a v1.1 inbound one
// and a Waku relay outbound one.
func (h *fuzzHarness) addPeer(i int) {
	protos := []Protocol{Meshsub12, Meshsub11, WakuRelay}
	h.r.AddPeer(h.now, fuzzPeers[i], protos[i], i != 1, fmt.Sprintf("10.0.0.%d", i))
}

func (h *fuzzHarness) tick() {
	h.now = h.now.Add(h.p.HeartbeatInterval)
	h.r.Tick(h.now)
	h.heartbeats++
	h.ticked = true
	h.opportunistic = h.heartbeats%h.p.OpportunisticGraftTicks == 0
	clear(h.asked)
	h.check()
}

func (h *fuzzHarness) resolve(verdict, n int) {
	if verdict == fuzzVerdictNone {
		return
	}
	res := []Result{Accept, Reject, Ignore}[verdict]
	for ; n > 0 && len(h.pending) > 0; n-- {
		id := h.pending[0]
		h.pending = h.pending[1:]
		if res == Accept {
			h.accepted[id] = true
		}
		h.r.ValidationResult(h.now, id, res)
	}
	h.check()
}

func (h *fuzzHarness) step(data []byte) []byte {
	op := data[0]
	data = data[1:]
	payload := func() []byte {
		n, k := binary.Uvarint(data)
		if k <= 0 {
			data = nil
			return nil
		}
		data = data[k:]
		n = min(n, uint64(len(data)))
		b := data[:n]
		data = data[n:]
		return b
	}
	if peer := int(op & 3); peer < len(fuzzPeers) {
		b := payload()
		rpc := &gossipsubpb.RPC{}
		if proto.Unmarshal(b, rpc) == nil {
			h.r.HandleRPC(h.now, fuzzPeers[peer], rpc)
			h.check()
		}
		h.resolve(int(op>>2)&3, int(op>>4)&3)
		return data
	}
	arg := int(op >> 4)
	switch int(op>>2) & 3 {
	case fuzzOpTick:
		h.tick()
	case fuzzOpPublish:
		b := payload()
		topic := []string{fuzzTopicA, fuzzTopicB, fuzzTopicC}[arg%3]
		// The router keeps the slice: give it its own copy.
		b = slices.Clone(b)
		if id, _, err := h.r.Publish(h.now, topic, b); err == nil {
			h.valid[id] = b
		}
		h.check()
	case fuzzOpReconnect:
		i := arg % len(fuzzPeers)
		h.r.RemovePeer(h.now, fuzzPeers[i])
		h.check()
		// A new connection starts new per-heartbeat counts.
		delete(h.asked, fuzzPeers[i])
		h.addPeer(i)
		h.check()
	case fuzzOpToggleB:
		if h.r.Joined(fuzzTopicB) {
			h.r.Leave(h.now, fuzzTopicB)
		} else {
			h.r.Join(h.now, fuzzTopicB)
		}
		h.check()
	}
	return data
}

// pieces counts the units splitRPC cannot divide: subscriptions, messages,
// control entries (an id list counts once, if it is at most one chunk).
func pieces(rpc *gossipsubpb.RPC) (n int, chunked bool) {
	c := rpc.GetControl()
	n = len(rpc.GetSubscriptions()) + len(rpc.GetPublish()) + len(c.GetGraft()) + len(c.GetPrune()) +
		len(c.GetIhave()) + len(c.GetIwant()) + len(c.GetIdontwant())
	chunked = true
	for _, x := range c.GetIhave() {
		chunked = chunked && len(x.MessageIds) <= idChunk
	}
	for _, x := range c.GetIwant() {
		chunked = chunked && len(x.MessageIds) <= idChunk
	}
	for _, x := range c.GetIdontwant() {
		chunked = chunked && len(x.MessageIds) <= idChunk
	}
	return n, chunked
}

// check takes the router's Ready and checks it and the router's state.
func (h *fuzzHarness) check() {
	t, r, p := h.t, h.r, h.p
	t.Helper()
	rd := r.Ready()
	connected := map[PeerID]bool{}
	for _, id := range r.Peers() {
		connected[id] = true
	}

	for _, v := range rd.Validations {
		m := v.Msg
		if slices.Contains(h.pending, v.ID) {
			t.Fatalf("message %q sent to validation twice", v.ID)
		}
		if v.ID != fuzzMsgID(m) || !r.Joined(m.GetTopic()) || len(m.GetData()) > p.MaxMessageSize ||
			m.From != nil || m.Seqno != nil || m.Signature != nil || m.Key != nil {
			t.Fatalf("validation of a message that should have been dropped: %q %v", v.ID, m)
		}
		h.pending = append(h.pending, v.ID)
	}
	if got := r.PendingValidations(); got != len(h.pending) || got > p.MaxPendingValidation {
		t.Fatalf("%d validations pending at the router, %d asked and unanswered, bound %d", got, len(h.pending), p.MaxPendingValidation)
	}

	for _, d := range rd.Deliveries {
		if d.Local {
			continue
		}
		if !h.accepted[d.ID] {
			t.Fatalf("delivery of %q, which was not accepted", d.ID)
		}
		h.valid[d.ID] = d.Msg.GetData()
	}
	clear(h.accepted)

	for _, px := range rd.PeerExchanges {
		if len(px.Peers) > p.PrunePeers {
			t.Fatalf("peer exchange of %d peers", len(px.Peers))
		}
	}

	for _, s := range rd.Sends {
		if !connected[s.To] {
			t.Fatalf("RPC to %s, which is not connected", s.To)
		}
		if size := proto.Size(s.RPC); size > p.MaxRPCSize {
			if n, chunked := pieces(s.RPC); n != 1 || !chunked {
				t.Fatalf("RPC of %d bytes over the %d-byte bound, made of %d pieces: %v", size, p.MaxRPCSize, n, s.RPC)
			}
		}
		for _, m := range s.RPC.GetPublish() {
			data, ok := h.valid[fuzzMsgID(m)]
			if !ok || string(data) != string(m.GetData()) {
				t.Fatalf("forwarded %q to %s without accepting or publishing it", m.GetData(), s.To)
			}
		}
		c := s.RPC.GetControl()
		for _, g := range c.GetGraft() {
			if !r.Joined(g.GetTopicId()) || !slices.Contains(r.TopicPeers(g.GetTopicId()), s.To) {
				t.Fatalf("GRAFT %q to %s: topic not joined or peer not subscribed", g.GetTopicId(), s.To)
			}
		}
		for _, iw := range c.GetIwant() {
			h.asked[s.To] += len(iw.MessageIds)
		}
		if h.asked[s.To] > p.MaxIHaveLength {
			t.Fatalf("asked %s for %d ids in a heartbeat, bound %d", s.To, h.asked[s.To], p.MaxIHaveLength)
		}
	}

	for _, topic := range []string{fuzzTopicA, fuzzTopicB, fuzzTopicC} {
		mesh := r.Mesh(topic)
		if !r.Joined(topic) && len(mesh) > 0 {
			t.Fatalf("mesh %v for topic %q, not joined", mesh, topic)
		}
		for _, id := range mesh {
			if !connected[id] {
				t.Fatalf("mesh of %q holds %s, not connected", topic, id)
			}
		}
		if h.ticked {
			bound := p.Dhi
			if h.opportunistic {
				bound += p.OpportunisticGraftPeers
			}
			if len(mesh) > bound {
				t.Fatalf("mesh of %q has %d peers after a heartbeat, bound %d", topic, len(mesh), bound)
			}
		}
	}
	h.ticked = false
	// Backoffs are kept for the topics the router has (or had) a mesh for;
	// a PRUNE for any other topic must not make it remember anything.
	for topic := range r.backoff {
		if topic != fuzzTopicA && topic != fuzzTopicB {
			t.Fatalf("backoff kept for topic %q, never joined", topic)
		}
	}
	// IDONTWANT: at most MaxIDontWant ids a heartbeat, kept for the TTL,
	// each by at most 32 bytes whatever its length.
	maxDontWant := p.MaxIDontWant * (int(p.IDontWantTTL/p.HeartbeatInterval) + 1)
	for id, ps := range r.peers {
		if len(ps.dontWant) > maxDontWant {
			t.Fatalf("%s: %d IDONTWANT ids kept, bound %d", id, len(ps.dontWant), maxDontWant)
		}
		for k := range ps.dontWant {
			if len(k) > 32 {
				t.Fatalf("%s: IDONTWANT id kept by a %d-byte key", id, len(k))
			}
		}
	}
	for _, id := range fuzzPeers {
		if s := r.Score(id, h.now); math.IsNaN(s) || math.IsInf(s, 0) {
			t.Fatalf("score of %s is %v", id, s)
		}
	}
}

// FuzzHandleRPC feeds a router with three peers arbitrary RPCs,
// validation results, heartbeats, publishes, reconnections and topic
// changes, and checks its invariants after each step.
func FuzzHandleRPC(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newFuzzHarness(t)
		for steps := 0; len(data) > 0 && steps < 1000; steps++ {
			data = h.step(data)
		}
		// Past every TTL, the router forgets what the input made it keep.
		for range 12 {
			h.resolve(fuzzVerdictIgnore, len(h.pending))
			h.tick()
		}
		if n := len(h.r.promises); n != 0 {
			t.Fatalf("%d IWANT promises outlived the follow-up time", n)
		}
		for id, ps := range h.r.peers {
			if len(ps.dontWant) != 0 {
				t.Fatalf("%s: %d IDONTWANT ids outlived their TTL", id, len(ps.dontWant))
			}
		}
		if n := h.r.SeenMessages(); n != 0 {
			t.Fatalf("%d ids outlived the seen TTL", n)
		}
		if n := h.r.CachedMessages(); n != 0 {
			t.Fatalf("%d messages outlived the cache history", n)
		}
	})
}
