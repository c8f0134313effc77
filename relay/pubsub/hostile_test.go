package pubsub

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"github.com/rlnd/rlnd/internal/hostile"
	"github.com/rlnd/rlnd/internal/testnet"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// Hostile peers: three honest nodes in a line (0 - 1 - 2) and an attacker
// connected to the middle one, the target, which it floods with crafted
// frames on /meshsub/1.2.0. Each test checks that honest messages published
// during the attack still reach every honest node (node 0's must cross the
// target to reach node 2), that the target's counters show the attack was
// handled, and that the target's memory stays bounded: the heap grows by
// less than heapBound while the attack sends several times that.

// heapBound bounds the heap growth an attack may cause (live heap after a
// GC, measured while the state the attack left is still held).
const heapBound = 16 << 20

// badMarker starts the data of messages the honest validator rejects (a
// bad RLN proof, in rlnd).
const badMarker = "BAD"

type hostileNet struct {
	t      *testing.T
	hosts  []host.Host // honest; hosts[1] is the target
	pss    []*PubSub
	target *PubSub
	atk    *attacker

	mu  sync.Mutex
	got []map[string]int // per honest node: data received from peers

	published []string // honest messages published, with their publisher
	from      []int
}

// newHostileNet builds the network; params adjusts the routers' parameters
// and edits the honest nodes' configs.
func newHostileNet(t *testing.T, params func(*gossipsub.Params), edits ...func(*Config)) *hostileNet {
	n := &hostileNet{t: t}
	for i := range 3 {
		h := newHost(t)
		cfg := routerConfig(uint64(i) + 1)
		if params != nil {
			params(&cfg.Params)
		}
		pcfg := Config{Router: cfg, Validator: &rejectPrefix{prefix: badMarker}}
		for _, edit := range edits {
			edit(&pcfg)
		}
		ps, err := New(h, pcfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ps.Close() })
		n.hosts, n.pss = append(n.hosts, h), append(n.pss, ps)
		n.got = append(n.got, map[string]int{})
	}
	n.target = n.pss[1]
	n.atk = newAttacker(t)
	connect(t, n.hosts[0], n.hosts[1])
	connect(t, n.hosts[2], n.hosts[1])
	connect(t, n.atk.h, n.hosts[1])
	// Subscribe once every router knows its peers, so that the
	// subscriptions are announced to them.
	for i, want := range []int{1, 3, 1} {
		testnet.WaitFor(t, 10*time.Second, fmt.Sprintf("node %d's peers", i), func() bool { return n.pss[i].Stats().Peers == want })
	}
	for i, ps := range n.pss {
		s, err := ps.Subscribe(topic)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for m := range s.C() {
				if !m.Local {
					n.mu.Lock()
					n.got[i][string(m.Data)]++
					n.mu.Unlock()
				}
			}
		}()
	}
	// Logged if the meshes do not form in time.
	defer func() {
		if t.Failed() {
			for i, ps := range n.pss {
				t.Logf("node %d %s: mesh %v, topic peers %v", i, n.hosts[i].ID(), ps.MeshPeers(topic), ps.TopicPeers(topic))
			}
		}
	}()
	testnet.WaitFor(t, 10*time.Second, "honest meshes", func() bool {
		return len(n.pss[0].MeshPeers(topic)) == 1 && len(n.pss[2].MeshPeers(topic)) == 1 &&
			len(n.pss[1].MeshPeers(topic)) >= 2 && len(n.pss[1].TopicPeers(topic)) >= 2
	})
	return n
}

// publish publishes an honest message from node i.
func (n *hostileNet) publish(i int, data string) error {
	if _, _, err := n.pss[i].Publish(topic, []byte(data)); err != nil {
		return fmt.Errorf("node %d publish: %w", i, err)
	}
	n.mu.Lock()
	n.published = append(n.published, data)
	n.from = append(n.from, i)
	n.mu.Unlock()
	return nil
}

// honestTraffic publishes from the ends of the line every 20ms until the
// returned function is called (or the test ends).
func (n *hostileNet) honestTraffic(name string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if err := n.publish(2*(i%2), fmt.Sprintf("honest %s %d", name, i)); err != nil {
				n.t.Error(err)
				return
			}
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { close(done); wg.Wait() }) }
	n.t.Cleanup(stop)
	return stop
}

// checkHonestDelivery waits until every honest message published so far
// reached the other honest nodes, exactly once each.
func (n *hostileNet) checkHonestDelivery() {
	n.t.Helper()
	n.mu.Lock()
	published, from := append([]string(nil), n.published...), append([]int(nil), n.from...)
	n.mu.Unlock()
	if len(published) == 0 {
		n.t.Fatal("no honest message published")
	}
	testnet.WaitFor(n.t, 10*time.Second, fmt.Sprintf("%d honest messages delivered", len(published)), func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		for k, data := range published {
			for i := range n.got {
				if i != from[k] && n.got[i][data] == 0 {
					return false
				}
			}
		}
		return true
	})
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, data := range published {
		for i := range n.got {
			if c := n.got[i][data]; i != from[k] && c != 1 {
				n.t.Fatalf("node %d got %q %d times", i, data, c)
			}
		}
	}
}

// checkHeap fails if the heap grew by heapBound or more since before.
func checkHeap(t *testing.T, what string, before uint64, sent int64) {
	t.Helper()
	after := hostile.HeapAfterGC()
	growth := int64(after) - int64(before)
	t.Logf("%s: sent %.1f MiB, heap %.1f -> %.1f MiB (growth %.1f MiB, bound %d MiB)",
		what, float64(sent)/(1<<20), float64(before)/(1<<20), float64(after)/(1<<20), float64(growth)/(1<<20), heapBound>>20)
	if growth >= heapBound {
		t.Fatalf("%s: heap grew by %.1f MiB", what, float64(growth)/(1<<20))
	}
}

// attacker is a libp2p host speaking the raw gossipsub wire. It accepts the
// target's stream and tallies what it is sent.
type attacker struct {
	t *testing.T
	h host.Host

	prunes, iwantIDs atomic.Int64
	mu               sync.Mutex
	msgs             map[string]int // data of messages received, with counts
}

func newAttacker(t *testing.T) *attacker {
	// No resource limits of its own: the attacker opens hundreds of streams.
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay(),
		libp2p.ResourceManager(&network.NullResourceManager{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	a := &attacker{t: t, h: h, msgs: map[string]int{}}
	a.h.SetStreamHandler(Meshsub12ID, func(s network.Stream) {
		br := bufio.NewReaderSize(s, 64<<10)
		for {
			b, err := wire.ReadFrame(br, 1<<24)
			if err != nil {
				_ = s.Reset()
				return
			}
			rpc := &gossipsubpb.RPC{}
			if err := proto.Unmarshal(b, rpc); err != nil {
				continue
			}
			a.prunes.Add(int64(len(rpc.GetControl().GetPrune())))
			for _, iw := range rpc.GetControl().GetIwant() {
				a.iwantIDs.Add(int64(len(iw.MessageIds)))
			}
			a.mu.Lock()
			for _, m := range rpc.Publish {
				a.msgs[string(m.Data)]++
			}
			a.mu.Unlock()
		}
	})
	return a
}

// atkStream is a stream from the attacker to the target.
type atkStream struct {
	t      *testing.T
	s      network.Stream
	bw     *bufio.Writer
	buf    []byte
	frames uint64
	bytes  int64
}

func (a *attacker) open(to host.Host) *atkStream {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := a.h.NewStream(ctx, to.ID(), Meshsub12ID)
	if err != nil {
		a.t.Fatal(err)
	}
	return &atkStream{t: a.t, s: s, bw: bufio.NewWriterSize(s, 256<<10)}
}

// send writes one RPC frame; the target must not have closed the stream.
func (w *atkStream) send(rpc *gossipsubpb.RPC) {
	w.t.Helper()
	b, err := proto.MarshalOptions{}.MarshalAppend(w.buf[:0], rpc)
	if err != nil {
		w.t.Fatal(err)
	}
	w.buf = b
	w.raw(binary.AppendUvarint(nil, uint64(len(b))))
	w.raw(b)
	w.frames++
}

func (w *atkStream) raw(b []byte) {
	w.t.Helper()
	if _, err := w.bw.Write(b); err != nil {
		w.t.Fatalf("attacker write: %v", err)
	}
	w.bytes += int64(len(b))
}

func (w *atkStream) flush() {
	w.t.Helper()
	if err := w.bw.Flush(); err != nil {
		w.t.Fatalf("attacker flush: %v", err)
	}
}

// finish ends the stream and waits until the target has handled every
// frame: its reader queues each RPC to the event loop before reading the
// next frame, and closes the stream at the end; the Stats call then goes
// through the loop after the last RPC.
func (w *atkStream) finish(target *PubSub) gossipsub.Stats {
	w.t.Helper()
	w.flush()
	if err := w.s.CloseWrite(); err != nil {
		w.t.Fatal(err)
	}
	_ = w.s.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.Copy(io.Discard, w.s); err != nil {
		w.t.Fatalf("waiting for the target to read the stream: %v", err)
	}
	return target.Stats().Stats
}

// ids returns n distinct ids of size bytes, unique to prefix.
func ids(prefix string, n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		id := fmt.Appendf(make([]byte, 0, size), "%s-%d-", prefix, i)
		for len(id) < size {
			id = append(id, 'x')
		}
		out[i] = id[:size]
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// Malformed and oversized frames, each on its own stream: garbage that is
// not protobuf, length varints that overflow, lengths over the bound (up to
// a terabyte: the body must not be allocated), a truncated varint and a
// truncated body, and a valid frame followed by garbage. Every bad frame is
// counted and resets its stream; nothing is kept.
func TestHostileMalformedFrames(t *testing.T) {
	n := newHostileNet(t, nil)
	before, goroutines := hostile.HeapAfterGC(), runtime.NumGoroutine()
	stop := n.honestTraffic("malformed")
	garbage := append([]byte{0x0f}, strings.Repeat("\xff", 150<<10)...) // field 1, wire type 7: invalid
	var bad uint64
	var sent, declared int64
	const rounds = 60
	for i := range rounds {
		for kind := range 6 {
			w := n.atk.open(n.hosts[1])
			switch kind {
			case 0: // valid length, invalid protobuf
				w.raw(binary.AppendUvarint(nil, uint64(len(garbage))))
				w.raw(garbage)
				bad++
			case 1: // a length varint of eleven bytes
				w.raw([]byte(strings.Repeat("\xff", 10) + "\x01"))
				bad++
			case 2: // a terabyte announced
				w.raw(binary.AppendUvarint(nil, 1<<40))
				w.raw([]byte("tiny"))
				declared += 1 << 40
				bad++
			case 3: // one byte over the bound
				w.raw(binary.AppendUvarint(nil, uint64(n.target.maxFrame()+1)))
				w.raw(make([]byte, 1024))
				declared += int64(n.target.maxFrame() + 1)
				bad++
			case 4: // a truncated varint, or a truncated body: the stream ends
				if i%2 == 0 {
					w.raw([]byte{0x80, 0x80})
				} else {
					w.raw(binary.AppendUvarint(nil, 1000))
					w.raw(make([]byte, 10))
				}
			case 5: // a valid RPC, then garbage
				w.send(&gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{{Subscribe: ptr(true), Topicid: ptr(fmt.Sprintf("valid-%d", i))}}})
				w.raw([]byte{4, 0x0f, 1, 2, 3})
				bad++
			}
			_ = w.bw.Flush() // the target may have reset the stream already
			_ = w.s.Close()
			sent += w.bytes
		}
	}
	testnet.WaitFor(t, 10*time.Second, "bad frames counted", func() bool { return n.target.Stats().BadFrames >= bad })
	st := n.target.Stats()
	stop()
	if st.BadFrames != bad {
		t.Fatalf("bad frames %d, want %d", st.BadFrames, bad)
	}
	// The valid RPCs ahead of the garbage were handled.
	for i := range rounds {
		if got := n.target.TopicPeers(fmt.Sprintf("valid-%d", i)); len(got) != 1 || got[0] != n.atk.h.ID() {
			t.Fatalf("topic valid-%d has peers %v", i, got)
		}
	}
	n.checkHonestDelivery()
	t.Logf("%d streams, %d bad frames, %.0f GiB announced by oversized lengths", rounds*6, st.BadFrames, float64(declared)/(1<<30))
	checkHeap(t, "malformed frames", before, sent)
	// The streams are gone: no reader goroutine is left behind.
	testnet.WaitFor(t, 10*time.Second, "stream goroutines to end", func() bool { return runtime.NumGoroutine() < goroutines+50 })
	if st := n.target.Stats(); st.Peers != 3 {
		t.Fatalf("target has %d peers", st.Peers)
	}
}

// IHAVE flood: a thousand IHAVEs advertising 250k unknown ids. The
// target takes MaxIHaveMessages IHAVEs and asks for MaxIHaveLength ids per
// heartbeat, and the attacker's broken promises push its score below the
// gossip threshold, after which its IHAVEs are ignored outright (and below
// the graylist threshold if the flood lasts).
func TestHostileIHaveFlood(t *testing.T) {
	n := newHostileNet(t, nil)
	before, st0 := hostile.HeapAfterGC(), n.target.Stats().Stats
	stop := n.honestTraffic("ihave")
	start := time.Now()
	w := n.atk.open(n.hosts[1])
	const frames, perFrame, idSize = 1000, 250, 256
	for i := range frames {
		w.send(&gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Ihave: []*gossipsubpb.ControlIHave{
			{TopicId: ptr(topic), MessageIds: ids(fmt.Sprintf("ihave-%d", i), perFrame, idSize)},
		}}})
	}
	st := w.finish(n.target)
	stop()
	heartbeats := int64(time.Since(start)/(100*time.Millisecond)) + 2
	p := gossipsub.DefaultParams()
	ignored, graylisted := st.IHaveIgnored-st0.IHaveIgnored, st.GraylistedRPCs-st0.GraylistedRPCs
	// The IHAVEs the target took are at most MaxIHaveMessages a heartbeat
	// (signed: a slow run spans more heartbeats than there are frames to
	// take, and the bound then holds by itself).
	if taken := int64(frames) - int64(ignored+graylisted); taken > heartbeats*int64(p.MaxIHaveMessages) {
		t.Fatalf("%d IHAVEs ignored and %d graylisted of %d, in %d heartbeats", ignored, graylisted, frames, heartbeats)
	}
	testnet.WaitFor(t, 10*time.Second, "promises broken", func() bool { return n.target.Stats().BrokenPromises > 0 })
	if asked := n.atk.iwantIDs.Load(); asked > heartbeats*int64(p.MaxIHaveLength) {
		t.Fatalf("target asked for %d ids in at most %d heartbeats", asked, heartbeats)
	}
	t.Logf("%d heartbeats: ignored %d IHAVEs, graylisted %d, asked for %d ids, %d broken promises, attacker score %.0f",
		heartbeats, ignored, graylisted, n.atk.iwantIDs.Load(), n.target.Stats().BrokenPromises, n.target.Score(n.atk.h.ID()))
	n.checkHonestDelivery()
	checkHeap(t, "IHAVE flood", before, w.bytes)
}

// IWANT flood: a thousand IWANTs for the target's cached messages and for
// 250k unknown ids. Each cached message is served GossipRetransmission times to
// the attacker, whatever it asks.
func TestHostileIWantFlood(t *testing.T) {
	// A one-second heartbeat keeps messages in the cache for six seconds.
	n := newHostileNet(t, func(p *gossipsub.Params) { p.HeartbeatInterval = time.Second })
	const known, size = 10, 60 << 10
	var knownIDs [][]byte
	for i := range known {
		data := fmt.Sprintf("cached %d %s", i, strings.Repeat("c", size))
		if err := n.publish(0, data); err != nil {
			t.Fatal(err)
		}
		knownIDs = append(knownIDs, []byte(wire.GossipMessageID([]byte(data))))
	}
	n.checkHonestDelivery() // the target has them
	before, served := hostile.HeapAfterGC(), n.target.Stats().IWantServed
	stop := n.honestTraffic("iwant")
	w := n.atk.open(n.hosts[1])
	const frames = 1000
	for i := range frames {
		want := append(ids(fmt.Sprintf("iwant-%d", i), 250, 256), knownIDs...)
		w.send(&gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Iwant: []*gossipsubpb.ControlIWant{{MessageIds: want}}}})
	}
	st := w.finish(n.target)
	stop()
	retrans := gossipsub.DefaultParams().GossipRetransmission
	if got := st.IWantServed - served; got != uint64(known*retrans) {
		t.Fatalf("served %d messages, want %d", got, known*retrans)
	}
	testnet.WaitFor(t, 10*time.Second, "attacker to receive the served messages", func() bool {
		n.atk.mu.Lock()
		defer n.atk.mu.Unlock()
		total := 0
		for _, c := range n.atk.msgs {
			total += c
		}
		return total == known*retrans
	})
	n.atk.mu.Lock()
	for data, c := range n.atk.msgs {
		if c > retrans {
			t.Errorf("message %.10q served %d times", data, c)
		}
	}
	n.atk.mu.Unlock()
	t.Logf("served %d messages for %d IWANTs; unbounded serving would have sent %d MiB",
		st.IWantServed-served, frames, frames*known*size>>20)
	n.checkHonestDelivery()
	checkHeap(t, "IWANT flood", before, w.bytes)
}

// GRAFT flood: GRAFTs for 65k made-up topics (ignored, and
// nothing remembered), then PRUNE and GRAFT again at once, repeatedly: each
// GRAFT in backoff is refused with a PRUNE and a penalty, until the
// attacker is graylisted and its RPCs dropped whole.
func TestHostileGraftFlood(t *testing.T) {
	n := newHostileNet(t, nil)
	before, st0 := hostile.HeapAfterGC(), n.target.Stats().Stats
	stop := n.honestTraffic("graft")
	w := n.atk.open(n.hosts[1])
	const frames, perFrame = 650, 100
	for i := range frames {
		c := &gossipsubpb.ControlMessage{}
		for _, name := range ids(fmt.Sprintf("/made/up/%d", i), perFrame, 1024) {
			c.Graft = append(c.Graft, &gossipsubpb.ControlGraft{TopicId: ptr(string(name))})
		}
		w.send(&gossipsubpb.RPC{Control: c})
	}
	st := w.finish(n.target)
	if refused, score := st.GraftsRefused-st0.GraftsRefused, n.target.Score(n.atk.h.ID()); refused != 0 || score < 0 {
		t.Fatalf("GRAFTs for unknown topics: %d refused, attacker score %v", refused, score)
	}
	checkHeap(t, "GRAFT flood, unknown topics", before, w.bytes)
	sent := w.bytes

	// Subscribe, then PRUNE and GRAFT back at once, over and over (a GRAFT
	// is handled before the PRUNE of its RPC).
	w = n.atk.open(n.hosts[1])
	w.send(&gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{{Subscribe: ptr(true), Topicid: ptr(topic)}}})
	const rounds = 500
	for range rounds {
		w.send(&gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{
			Prune: []*gossipsubpb.ControlPrune{{TopicId: ptr(topic)}},
			Graft: []*gossipsubpb.ControlGraft{{TopicId: ptr(topic)}, {TopicId: ptr(topic)}},
		}})
	}
	st = w.finish(n.target)
	stop()
	score := n.target.Score(n.atk.h.ID())
	refused, graylisted := st.GraftsRefused-st0.GraftsRefused, st.GraylistedRPCs-st0.GraylistedRPCs
	// The penalties took the score below the graylist threshold (and RPCs
	// were dropped); a score decay since may have lifted it a little.
	if refused == 0 || graylisted == 0 || score >= gossipsub.DefaultThresholds().Gossip {
		t.Fatalf("GRAFTs refused %d, graylisted RPCs %d, attacker score %v", refused, graylisted, score)
	}
	if handled := rounds + 1 - graylisted; refused > 2*handled {
		t.Fatalf("%d GRAFTs refused in %d RPCs handled", refused, handled)
	}
	for _, p := range n.target.MeshPeers(topic) {
		if p == n.atk.h.ID() {
			t.Fatal("attacker in the target's mesh")
		}
	}
	testnet.WaitFor(t, 10*time.Second, "PRUNEs sent back", func() bool { return n.atk.prunes.Load() > 0 })
	t.Logf("GRAFTs refused %d, PRUNEs received by the attacker %d, graylisted RPCs %d, attacker score %.0f",
		refused, n.atk.prunes.Load(), graylisted, score)
	n.checkHonestDelivery()
	checkHeap(t, "GRAFT flood", before, sent+w.bytes)
}

// IDONTWANT flood: 650 ids of 100 KiB. The target takes
// MaxIDontWant ids per heartbeat from a peer and keeps them for
// IDontWantTTL; what it keeps of each id must not grow with the id.
func TestHostileIDontWantFlood(t *testing.T) {
	n := newHostileNet(t, nil)
	before := hostile.HeapAfterGC()
	stop := n.honestTraffic("idontwant")
	w := n.atk.open(n.hosts[1])
	const frames, perFrame, idSize = 650, 1, 100 << 10
	for i := range frames {
		w.send(&gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Idontwant: []*gossipsubpb.ControlIDontWant{
			{MessageIds: ids(fmt.Sprintf("dontwant-%d", i), perFrame, idSize)},
		}}})
	}
	w.finish(n.target)
	stop()
	n.checkHonestDelivery()
	checkHeap(t, "IDONTWANT flood", before, w.bytes)
}

// PRUNE flood for 65k made-up topics with the longest backoff: the target must
// not remember a backoff for topics it has no mesh for.
func TestHostilePruneFlood(t *testing.T) {
	n := newHostileNet(t, nil)
	before := hostile.HeapAfterGC()
	stop := n.honestTraffic("prune")
	w := n.atk.open(n.hosts[1])
	const frames, perFrame = 650, 100
	for i := range frames {
		c := &gossipsubpb.ControlMessage{}
		for _, name := range ids(fmt.Sprintf("/pruned/%d", i), perFrame, 1024) {
			c.Prune = append(c.Prune, &gossipsubpb.ControlPrune{TopicId: ptr(string(name)), Backoff: ptr(uint64(86400))})
		}
		w.send(&gossipsubpb.RPC{Control: c})
	}
	w.finish(n.target)
	stop()
	n.checkHonestDelivery()
	checkHeap(t, "PRUNE flood", before, w.bytes)
}

// Subscription flood: 16k topics with 4 KiB names, over MaxTopicLength,
// none of which is remembered; then 1,100 topics with short names, of which
// the target remembers MaxPeerTopics for the peer and no more.
func TestHostileSubscriptionFlood(t *testing.T) {
	n := newHostileNet(t, nil)
	before := hostile.HeapAfterGC()
	stop := n.honestTraffic("subscribe")
	w := n.atk.open(n.hosts[1])
	const frames, perFrame, nameSize = 650, 25, 4096
	name := func(i, j, size int) string { return string(ids(fmt.Sprintf("/flood/%d/%d", i, j), 1, size)[0]) }
	for i := range frames {
		rpc := &gossipsubpb.RPC{}
		for j := range perFrame {
			rpc.Subscriptions = append(rpc.Subscriptions, &gossipsubpb.SubOpts{Subscribe: ptr(true), Topicid: ptr(name(i, j, nameSize))})
		}
		// Unsubscribing from topics never subscribed is a no-op.
		rpc.Subscriptions = append(rpc.Subscriptions, &gossipsubpb.SubOpts{Subscribe: ptr(false), Topicid: ptr(name(i+1000, 0, nameSize))})
		w.send(rpc)
	}
	const short, shortFrames = 200, 44
	for i := range shortFrames {
		rpc := &gossipsubpb.RPC{}
		for j := range perFrame {
			rpc.Subscriptions = append(rpc.Subscriptions, &gossipsubpb.SubOpts{Subscribe: ptr(true), Topicid: ptr(name(i, j, short))})
		}
		w.send(rpc)
	}
	w.finish(n.target)
	stop()
	if long := n.target.TopicPeers(name(0, 0, nameSize)); len(long) != 0 {
		t.Fatalf("a %d-byte topic name was remembered", nameSize)
	}
	maxTopics := gossipsub.DefaultParams().MaxPeerTopics
	first, edge, last := n.target.TopicPeers(name(0, 0, short)), n.target.TopicPeers(name(maxTopics/perFrame, maxTopics%perFrame, short)), n.target.TopicPeers(name(shortFrames-1, perFrame-1, short))
	if len(first) != 1 || first[0] != n.atk.h.ID() || len(edge) != 0 || len(last) != 0 {
		t.Fatalf("topic 0's peers %v, topic %d's %v, the last topic's %v", first, maxTopics, edge, last)
	}
	n.checkHonestDelivery()
	checkHeap(t, "subscription flood", before, w.bytes)
}

// Invalid messages at a high rate (bad proofs: the validator rejects the
// marker) until the attacker is graylisted; its RPCs are then dropped
// unread, valid messages included, which never reach honest nodes.
func TestHostileInvalidMessages(t *testing.T) {
	n := newHostileNet(t, nil)
	before, st0 := hostile.HeapAfterGC(), n.target.Stats().Stats
	stop := n.honestTraffic("invalid")
	const perFrame, size = 5, 8 << 10
	pad := strings.Repeat("p", size)
	frame := func(w *atkStream, prefix string, i int) {
		rpc := &gossipsubpb.RPC{}
		for j := range perFrame {
			rpc.Publish = append(rpc.Publish, &gossipsubpb.Message{Topic: ptr(topic), Data: fmt.Appendf(nil, "%s %d %d %s", prefix, i, j, pad)})
		}
		w.send(rpc)
	}
	graylist := gossipsub.DefaultThresholds().Graylist
	var sent int64
	batches := 0
	for ; n.target.Score(n.atk.h.ID()) >= graylist; batches++ {
		if batches == 20 {
			t.Fatalf("not graylisted after %d invalid messages: score %v", batches*100*perFrame, n.target.Score(n.atk.h.ID()))
		}
		w := n.atk.open(n.hosts[1])
		for i := range 100 {
			frame(w, badMarker, batches*100+i)
		}
		w.finish(n.target)
		sent += w.bytes
	}
	// Let the validations under way finish.
	testnet.WaitFor(t, 10*time.Second, "validations to finish", func() bool { return n.target.Stats().Pending == 0 })
	st := n.target.Stats().Stats
	if st.Rejected == st0.Rejected {
		t.Fatal("no message rejected")
	}
	t.Logf("graylisted after %d invalid messages: validated %d, rejected %d, throttled %d, score %.0f",
		batches*100*perFrame, st.MessagesValidated-st0.MessagesValidated, st.Rejected-st0.Rejected, st.Throttled-st0.Throttled, n.target.Score(n.atk.h.ID()))

	// Graylisted: whatever it sends now is dropped whole, valid messages
	// included.
	const frames = 1500
	w := n.atk.open(n.hosts[1])
	for i := range frames {
		prefix := badMarker
		if i%2 == 0 {
			prefix = "valid but graylisted"
		}
		frame(w, prefix, i)
	}
	st1 := w.finish(n.target)
	sent += w.bytes
	stop()
	if got := st1.GraylistedRPCs - st.GraylistedRPCs; got != frames {
		t.Fatalf("%d RPCs graylisted, want %d", got, frames)
	}
	n.checkHonestDelivery()
	n.mu.Lock()
	for i, got := range n.got {
		for data := range got {
			if !strings.HasPrefix(data, "honest ") {
				t.Errorf("node %d delivered %.20q", i, data)
			}
		}
	}
	n.mu.Unlock()
	t.Logf("graylisted RPCs %d, attacker score %.0f", st1.GraylistedRPCs-st0.GraylistedRPCs, n.target.Score(n.atk.h.ID()))
	checkHeap(t, "invalid messages", before, sent)
}
