package gossipsub

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

const topic = "/waku/2/rs/1/0"

func ptr[T any](v T) *T { return &v }

func TestParamsValidate(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mut := range []func(*Params){
		func(p *Params) { p.Dlo = 7 },
		func(p *Params) { p.Dout = 4 },
		func(p *Params) { p.HistoryGossip = 7 },
		func(p *Params) { p.MaxRPCSize = 10 },
		func(p *Params) { p.GossipFactor = 2 },
	} {
		p := DefaultParams()
		mut(&p)
		if _, err := New(Config{Params: p, MsgID: testMsgID}); err == nil {
			t.Errorf("params %+v accepted", p)
		}
	}
}

// Routers draw their own seeds unless given one.
func TestSeed(t *testing.T) {
	t.Parallel()
	cfg := Config{Params: DefaultParams(), MsgID: testMsgID}
	seeds := map[uint64]bool{}
	for range 4 {
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		seeds[r.Seed()] = true
	}
	if len(seeds) != 4 {
		t.Errorf("four routers with the zero Seed drew %d different seeds", len(seeds))
	}
	for _, v := range []uint64{0, 1, 1 << 63} {
		cfg.Seed = FixedSeed(v)
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if r.Seed() != v {
			t.Errorf("FixedSeed(%d): router seeded with %d", v, r.Seed())
		}
	}
}

// Twenty routers on a random graph build meshes within [Dlo, Dhi] and
// every message reaches every node exactly once.
func TestMeshDeliversToAll(t *testing.T) {
	n := newTestNet(t, 20, 1, nil)
	n.randomTopology(4, 7)
	n.joinAll(topic)
	n.tick(3)
	for _, id := range n.ids {
		m := len(n.routers[id].Mesh(topic))
		if m < min(DefaultParams().Dlo, len(n.routers[id].TopicPeers(topic))) || m > DefaultParams().Dhi {
			t.Errorf("%s: mesh of %d", id, m)
		}
	}
	var ids []string
	for i := range 30 {
		from := n.ids[i%len(n.ids)]
		ids = append(ids, n.publish(from, topic, []byte(fmt.Sprintf("message %d", i))))
		n.tick(1)
	}
	for i, mid := range ids {
		from := n.ids[i%len(n.ids)]
		for _, id := range n.ids {
			want := 1
			if id == from {
				want = 0
			}
			if got := n.delivered[id][mid]; got != want {
				t.Fatalf("message %d at %s: delivered %d times, want %d", i, id, got, want)
			}
		}
	}
}

// The same seeds give the same RPCs in the same order.
func TestDeterministic(t *testing.T) {
	run := func() []sent {
		n := newTestNet(t, 10, 3, nil)
		n.randomTopology(3, 5)
		n.joinAll(topic)
		n.tick(2)
		n.publish(n.ids[0], topic, []byte("hello"))
		n.tick(2)
		return n.sends
	}
	a, b := run(), run()
	if len(a) != len(b) {
		t.Fatalf("%d vs %d sends", len(a), len(b))
	}
	for i := range a {
		if a[i].from != b[i].from || a[i].to != b[i].to || !proto.Equal(a[i].rpc, b[i].rpc) {
			t.Fatalf("send %d differs", i)
		}
	}
}

// A peer that sends messages the validator rejects is penalised, pruned
// from the mesh at the next heartbeat, and its messages stop at us.
func TestRejectedMessagesPrunePeer(t *testing.T) {
	n := newTestNet(t, 8, 2, nil)
	for _, a := range n.ids {
		for _, b := range n.ids {
			if a < b {
				n.connect(a, b)
			}
		}
	}
	n.joinAll(topic)
	n.tick(2)
	spammer := n.ids[0]
	n.validate = func(at PeerID, v Validation) Result {
		if bytes.HasPrefix(v.Msg.Data, []byte("spam")) {
			return Reject
		}
		return Accept
	}
	for i := range 3 {
		id := n.publish(spammer, topic, []byte(fmt.Sprintf("spam %d", i)))
		for _, other := range n.ids[1:] {
			if n.delivered[other][id] != 0 {
				t.Fatalf("spam delivered at %s", other)
			}
		}
		// Nobody forwarded it: only the spammer's own copies travelled.
		if n.copies[id] != len(n.ids)-1 {
			t.Fatalf("spam copies %d, want %d (first hop only)", n.copies[id], len(n.ids)-1)
		}
	}
	n.tick(1)
	for _, other := range n.ids[1:] {
		r := n.routers[other]
		if s := r.Score(spammer, n.now); s >= n.routers[other].th.Gossip {
			t.Errorf("%s scores the spammer %v", other, s)
		}
		for _, m := range r.Mesh(topic) {
			if m == spammer {
				t.Errorf("%s keeps the spammer in its mesh", other)
			}
		}
	}
	// Honest traffic still flows.
	id := n.publish(n.ids[1], topic, []byte("honest"))
	for _, other := range n.ids[2:] {
		if n.delivered[other][id] != 1 {
			t.Fatalf("honest message not delivered at %s", other)
		}
	}
	// Past the graylist threshold, the spammer's RPCs are dropped whole.
	r := n.routers[n.ids[1]]
	for i := 0; r.Score(spammer, n.now) >= DefaultThresholds().Graylist; i++ {
		n.publish(spammer, topic, []byte(fmt.Sprintf("spam more %d", i)))
	}
	before := r.Stats().GraylistedRPCs
	n.publish(spammer, topic, []byte("spam after graylist"))
	if r.Stats().GraylistedRPCs != before+1 {
		t.Fatal("graylisted peer's RPC was processed")
	}
}

// StrictNoSign: a message with author fields is invalid and penalised.
func TestStrictNoSign(t *testing.T) {
	n := newTestNet(t, 2, 1, nil)
	n.connect(n.ids[0], n.ids[1])
	n.joinAll(topic)
	r := n.routers[n.ids[1]]
	n.inject(n.ids[0], n.ids[1], &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{{Data: []byte("x"), Topic: ptr(topic), Seqno: []byte{1}}}})
	if rd := r.Ready(); len(rd.Validations) != 0 {
		t.Fatal("signed message sent to validation")
	}
	if r.Stats().InvalidFormat != 1 || r.Score(n.ids[0], n.now) >= 0 {
		t.Fatalf("stats %+v score %v", r.Stats(), r.Score(n.ids[0], n.now))
	}
}

// A GRAFT during backoff is refused with a PRUNE and a behaviour penalty.
func TestGraftInBackoff(t *testing.T) {
	n := newTestNet(t, 2, 1, nil)
	a, b := n.ids[0], n.ids[1]
	n.connect(a, b)
	n.joinAll(topic)
	n.tick(1)
	if got := n.routers[b].Mesh(topic); len(got) != 1 {
		t.Fatalf("mesh %v", got)
	}
	n.inject(a, b, &gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Prune: []*gossipsubpb.ControlPrune{{TopicId: ptr(topic), Backoff: ptr(uint64(60))}}}})
	n.routers[b].Ready()
	// b backs off from a now; a grafting b right away is a violation.
	n.inject(a, b, &gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Graft: []*gossipsubpb.ControlGraft{{TopicId: ptr(topic)}}}})
	rd := n.routers[b].Ready()
	if len(rd.Sends) != 1 || len(rd.Sends[0].RPC.GetControl().GetPrune()) != 1 {
		t.Fatalf("no PRUNE in answer: %v", rd.Sends)
	}
	if len(n.routers[b].Mesh(topic)) != 0 {
		t.Fatal("grafted during backoff")
	}
	if s := n.routers[b].Score(a, n.now); s >= 0 {
		t.Fatalf("score %v after GRAFT in backoff", s)
	}
	// The mesh does not regraft a while the backoff runs.
	n.tick(5)
	if len(n.routers[b].Mesh(topic)) != 0 {
		t.Fatal("regrafted during backoff")
	}
}

func TestIHaveIWantAndPromises(t *testing.T) {
	n := newTestNet(t, 2, 1, nil)
	a, b := n.ids[0], n.ids[1]
	n.connect(a, b)
	n.joinAll(topic)
	rb := n.routers[b]
	// a advertises three ids; b asks for all of them.
	ids := [][]byte{[]byte("id-1"), []byte("id-2"), []byte("id-3")}
	n.inject(a, b, &gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Ihave: []*gossipsubpb.ControlIHave{{TopicId: ptr(topic), MessageIds: ids}}}})
	rd := rb.Ready()
	if len(rd.Sends) != 1 || len(rd.Sends[0].RPC.GetControl().GetIwant()) != 1 {
		t.Fatalf("no IWANT: %v", rd.Sends)
	}
	if got := len(rd.Sends[0].RPC.Control.Iwant[0].MessageIds); got != 3 {
		t.Fatalf("asked for %d ids", got)
	}
	// a never delivers: after the follow-up time the promise is broken.
	n.now = n.now.Add(4 * time.Second)
	rb.Tick(n.now)
	rb.Ready()
	if rb.Stats().BrokenPromises != 1 || rb.Score(a, n.now) >= 0 {
		t.Fatalf("broken promises %d, score %v", rb.Stats().BrokenPromises, rb.Score(a, n.now))
	}

	// IWANT is served from the cache, at most GossipRetransmission times.
	mid := n.publish(b, topic, []byte("cached"))
	for i := range DefaultParams().GossipRetransmission + 2 {
		n.clearSends()
		n.routers[b].HandleRPC(n.now, a, &gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Iwant: []*gossipsubpb.ControlIWant{{MessageIds: [][]byte{[]byte(mid)}}}}})
		rd := rb.Ready()
		got := 0
		for _, s := range rd.Sends {
			got += len(s.RPC.Publish)
		}
		want := 0
		if i < DefaultParams().GossipRetransmission {
			want = 1
		}
		if got != want {
			t.Fatalf("IWANT %d served %d messages, want %d", i, got, want)
		}
	}
}

// IHAVE floods are bounded: at most MaxIHaveMessages IHAVEs and
// MaxIHaveLength ids are taken from a peer per heartbeat.
func TestIHaveFloodBounded(t *testing.T) {
	n := newTestNet(t, 2, 1, nil)
	a, b := n.ids[0], n.ids[1]
	n.connect(a, b)
	n.joinAll(topic)
	rb := n.routers[b]
	asked := 0
	for i := range 50 {
		ih := &gossipsubpb.ControlIHave{TopicId: ptr(topic)}
		for j := range 2000 {
			ih.MessageIds = append(ih.MessageIds, []byte(fmt.Sprintf("%d-%d", i, j)))
		}
		rb.HandleRPC(n.now, a, &gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Ihave: []*gossipsubpb.ControlIHave{ih}}})
		for _, s := range rb.Ready().Sends {
			for _, iw := range s.RPC.GetControl().GetIwant() {
				asked += len(iw.MessageIds)
			}
		}
	}
	if asked != DefaultParams().MaxIHaveLength {
		t.Fatalf("asked for %d ids in one heartbeat, want %d", asked, DefaultParams().MaxIHaveLength)
	}
	if len(rb.promises) > DefaultParams().MaxIHaveMessages {
		t.Fatalf("%d promises", len(rb.promises))
	}
}

// IDONTWANT: large messages are announced to v1.2 mesh peers, and a peer's
// IDONTWANT stops us sending it that message.
func TestIDontWant(t *testing.T) {
	n := newTestNet(t, 3, 1, nil)
	a, b, c := n.ids[0], n.ids[1], n.ids[2]
	n.connect(a, b)
	n.connect(b, c)
	n.joinAll(topic)
	n.tick(1)
	big := bytes.Repeat([]byte{7}, 1024)
	mid := testMsgID(&gossipsubpb.Message{Data: big})
	// c tells b it already has the message.
	n.inject(c, b, &gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Idontwant: []*gossipsubpb.ControlIDontWant{{MessageIds: [][]byte{[]byte(mid)}}}}})
	n.clearSends()
	n.inject(a, b, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{{Data: big, Topic: ptr(topic)}}})
	n.pump()
	for _, rpc := range n.sendsTo(b, c) {
		if len(rpc.Publish) > 0 {
			t.Fatal("message sent despite IDONTWANT")
		}
	}
	sawIDontWant := false
	for _, rpc := range n.sendsTo(b, c) {
		for _, d := range rpc.GetControl().GetIdontwant() {
			sawIDontWant = sawIDontWant || bytes.Equal(d.MessageIds[0], []byte(mid))
		}
	}
	if !sawIDontWant {
		t.Fatal("b did not announce IDONTWANT for a large message")
	}
	if n.delivered[b][mid] != 1 {
		t.Fatal("message not delivered at b")
	}
}

// The validation queue is bounded: past MaxPendingValidation messages are
// dropped unseen, and a later copy is validated once there is room.
func TestValidationBackPressure(t *testing.T) {
	n := newTestNet(t, 2, 1, func(p *Params) { p.MaxPendingValidation = 2 })
	a, b := n.ids[0], n.ids[1]
	n.connect(a, b)
	n.joinAll(topic)
	rb := n.routers[b]
	rb.Ready()
	msg := func(s string) *gossipsubpb.Message { return &gossipsubpb.Message{Data: []byte(s), Topic: ptr(topic)} }
	rb.HandleRPC(n.now, a, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{msg("1"), msg("2"), msg("3")}})
	rd := rb.Ready()
	if len(rd.Validations) != 2 || rb.Stats().Throttled != 1 {
		t.Fatalf("%d validations, stats %+v", len(rd.Validations), rb.Stats())
	}
	for _, v := range rd.Validations {
		rb.ValidationResult(n.now, v.ID, Accept)
	}
	rb.HandleRPC(n.now, a, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{msg("3")}})
	if rd := rb.Ready(); len(rd.Validations) != 1 || string(rd.Validations[0].Msg.Data) != "3" {
		t.Fatal("throttled message not validated on resend")
	}
}

// An inbound GRAFT beyond Dhi is refused with PX; the heartbeat trims an
// oversubscribed mesh to D keeping Dout outbound peers.
func TestMeshBounds(t *testing.T) {
	n := newTestNet(t, 16, 1, nil)
	hub := n.ids[0]
	for _, id := range n.ids[1:] {
		n.connect(id, hub) // all inbound at the hub
	}
	n.joinAll(topic)
	n.tick(1)
	rh := n.routers[hub]
	if m := len(rh.Mesh(topic)); m > DefaultParams().Dhi {
		t.Fatalf("hub mesh %d > Dhi", m)
	}
	if rh.Stats().GraftsRefused == 0 {
		t.Fatal("no GRAFT refused")
	}
	// Outbound peers: the hub dials three more nodes; after heartbeats the
	// mesh holds at least Dout outbound peers.
	for _, id := range n.ids[1:4] {
		n.disconnect(id, hub)
		n.connect(hub, id)
	}
	n.pump()
	n.tick(62) // past the prune backoff
	out := 0
	for _, id := range rh.Mesh(topic) {
		if rh.peers[id].outbound {
			out++
		}
	}
	if m := len(rh.Mesh(topic)); m < DefaultParams().Dlo || m > DefaultParams().Dhi || out < DefaultParams().Dout {
		t.Fatalf("mesh %d with %d outbound", m, out)
	}
}

// PX from a well-scoring peer is passed to the driver; from others not.
func TestPeerExchange(t *testing.T) {
	n := newTestNet(t, 2, 1, nil)
	a, b := n.ids[0], n.ids[1]
	n.connect(a, b)
	n.joinAll(topic)
	rb := n.routers[b]
	prune := &gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Prune: []*gossipsubpb.ControlPrune{{
		TopicId: ptr(topic), Peers: []*gossipsubpb.PeerInfo{{PeerId: []byte("x")}}}}}}
	rb.HandleRPC(n.now, a, prune)
	if len(rb.Ready().PeerExchanges) != 0 {
		t.Fatal("PX taken from a peer below the accept threshold")
	}
	rb.sc.topic(a, topic).firstDeliveries = 200
	rb.HandleRPC(n.now, a, prune)
	if px := rb.Ready().PeerExchanges; len(px) != 1 || string(px[0].Peers[0].PeerId) != "x" {
		t.Fatalf("PX %v", px)
	}
}

// A peer's negative score survives reconnection for RetainScore.
func TestScoreRetained(t *testing.T) {
	n := newTestNet(t, 2, 1, nil)
	a, b := n.ids[0], n.ids[1]
	n.connect(a, b)
	n.joinAll(topic)
	rb := n.routers[b]
	n.inject(a, b, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{{Data: []byte("x"), Topic: ptr(topic), From: []byte("me")}}})
	s := rb.Score(a, n.now)
	n.disconnect(a, b)
	n.connect(a, b)
	if got := rb.Score(a, n.now); got != s || s >= 0 {
		t.Fatalf("score %v after reconnect, was %v", got, s)
	}
	// Decay brings it back to zero in time.
	n.tick(int((5 * time.Minute) / time.Second))
	if got := rb.Score(a, n.now); got < 0 {
		t.Fatalf("score %v did not decay", got)
	}
}

func TestSplitRPC(t *testing.T) {
	rpc := &gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{}}
	for i := range 3 {
		rpc.Publish = append(rpc.Publish, &gossipsubpb.Message{Data: bytes.Repeat([]byte{byte(i)}, 60_000), Topic: ptr(topic)})
	}
	ih := &gossipsubpb.ControlIHave{TopicId: ptr(topic)}
	for i := range 5000 {
		ih.MessageIds = append(ih.MessageIds, bytes.Repeat([]byte{byte(i)}, 32))
	}
	rpc.Control.Ihave = []*gossipsubpb.ControlIHave{ih}
	rpc.Control.Graft = []*gossipsubpb.ControlGraft{{TopicId: ptr(topic)}}
	max := 150 * 1024
	parts := splitRPC(rpc, max)
	var msgs, ids, grafts int
	for _, p := range parts {
		if s := proto.Size(p); s > max {
			t.Fatalf("part of %d bytes", s)
		}
		msgs += len(p.Publish)
		for _, x := range p.GetControl().GetIhave() {
			ids += len(x.MessageIds)
		}
		grafts += len(p.GetControl().GetGraft())
	}
	if msgs != 3 || ids != 5000 || grafts != 1 || len(parts) < 3 {
		t.Fatalf("%d parts: %d msgs %d ids %d grafts", len(parts), msgs, ids, grafts)
	}
	small := &gossipsubpb.RPC{Publish: rpc.Publish[:1]}
	if got := splitRPC(small, max); len(got) != 1 || !reflect.DeepEqual(got[0], small) {
		t.Fatal("small RPC split")
	}
}

// Flood publishing skips peers below the publish threshold.
func TestFloodPublishThreshold(t *testing.T) {
	n := newTestNet(t, 3, 1, nil)
	a, b, c := n.ids[0], n.ids[1], n.ids[2]
	n.connect(a, b)
	n.connect(a, c)
	n.joinAll(topic)
	n.routers[a].sc.penalty(c, 20) // -10 * 400 = -4000 < publish threshold
	_, sentTo, err := n.routers[a].Publish(n.now, topic, []byte("x"))
	if err != nil || sentTo != 1 {
		t.Fatalf("sent to %d peers (%v)", sentTo, err)
	}
	if _, _, err := n.routers[a].Publish(n.now, topic, []byte("x")); err != ErrDuplicate {
		t.Fatalf("republish: %v", err)
	}
}

// A GRAFT from a peer not subscribed to the topic is ignored, topic names
// over MaxTopicLength are not remembered, and an unsubscribe takes a peer
// out of the mesh.
func TestSubscriptionRules(t *testing.T) {
	n := newTestNet(t, 2, 1, nil)
	a, b := n.ids[0], n.ids[1]
	n.connect(a, b)
	n.routers[b].Join(n.now, topic)
	rb := n.routers[b]
	rb.Ready()
	graft := &gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Graft: []*gossipsubpb.ControlGraft{{TopicId: ptr(topic)}}}}
	rb.HandleRPC(n.now, a, graft)
	if len(rb.Mesh(topic)) != 0 {
		t.Fatal("GRAFT from an unsubscribed peer accepted")
	}
	long := string(bytes.Repeat([]byte{'t'}, MaxTopicLength+1))
	rb.HandleRPC(n.now, a, &gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{subOpts(long, true), subOpts(topic, true)}})
	if len(rb.TopicPeers(long)) != 0 || len(rb.TopicPeers(topic)) != 1 {
		t.Fatalf("topic peers: long %v, topic %v", rb.TopicPeers(long), rb.TopicPeers(topic))
	}
	rb.HandleRPC(n.now, a, graft)
	if len(rb.Mesh(topic)) != 1 {
		t.Fatal("GRAFT from a subscribed peer refused")
	}
	rb.HandleRPC(n.now, a, &gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{subOpts(topic, false)}})
	if len(rb.Mesh(topic)) != 0 {
		t.Fatal("unsubscribed peer still in the mesh")
	}
}
