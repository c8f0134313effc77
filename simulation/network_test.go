package simulation

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// pair is two nodes on one link of fixed delay, with the given upload and
// download rates.
func pair(up, down int64) Scenario {
	return Scenario{
		Name: "pair", Seed: 1, Nodes: 2, Duration: 3 * time.Second, Warmup: 2 * time.Second, Drain: time.Second,
		Topology: Topology{Outbound: 1, MaxConnections: 2},
		Network:  Network{Latency: Latency{Kind: "fixed", Fixed: 40 * time.Millisecond}, UploadBps: up, DownloadBps: down},
		Traffic:  Traffic{Rate: 1, MessageSize: 1000},
	}
}

func newTestSim(t *testing.T, s Scenario) *sim {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	sm, err := newSim(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sm
}

// TestLinkAccounting: an RPC on a link weighs its frame's bytes (the
// encoding and its varint prefix), its publish entries counted as data;
// it is serialised at the sender's upload rate behind what is already on
// the uplink, travels the link's delay, then is serialised at the
// receiver's download rate.
func TestLinkAccounting(t *testing.T) {
	t.Parallel()
	const up, down = 1_000_000, 4_000_000
	sm := newTestSim(t, pair(up, down))
	topic := sm.topics[0]
	m := &gossipsubpb.Message{Data: make([]byte, 1000), Topic: &topic}
	rpc := &gossipsubpb.RPC{
		Publish: []*gossipsubpb.Message{m},
		Control: &gossipsubpb.ControlMessage{Ihave: []*gossipsubpb.ControlIHave{{TopicId: &topic, MessageIds: [][]byte{make([]byte, 32)}}}},
	}
	body, err := proto.Marshal(rpc)
	if err != nil {
		t.Fatal(err)
	}
	frame := len(wire.AppendFrame(nil, body))
	dataOnly, err := proto.Marshal(&gossipsubpb.RPC{Publish: []*gossipsubpb.Message{m}})
	if err != nil {
		t.Fatal(err)
	}
	w := sm.gw
	const t0 = int64(time.Hour)
	w.now = t0
	from := sm.nodes[0]
	before := from.dataOut + from.ctrlOut
	sm.send(w, 0, 1, rpc)
	sm.send(w, 0, 1, rpc) // queues behind the first on the uplink
	out := w.out[sm.workerOf(1)]
	if len(out) != 2 {
		t.Fatalf("%d transfers, want 2", len(out))
	}
	ser := func(bytes int, bps int64) int64 { return int64(math.Ceil(float64(bytes) * 8 / float64(bps) * 1e9)) }
	lat := int64(40 * time.Millisecond)
	for k, e := range out {
		if int(e.size) != frame || int(e.data) != len(dataOnly) {
			t.Fatalf("transfer %d: %d bytes, %d of data; want the frame's %d, the entry's %d", k, e.size, e.data, frame, len(dataOnly))
		}
		if want := t0 + int64(k+1)*ser(frame, up) + lat; e.at != want {
			t.Fatalf("transfer %d arrives at %d, want %d (serialised behind %d, then the delay)", k, e.at-t0, want-t0, k)
		}
	}
	if got := from.dataOut + from.ctrlOut - before; got != int64(2*frame) || from.dataOut < int64(2*len(dataOnly)) {
		t.Fatalf("sender counted %d bytes out, want %d", got, 2*frame)
	}
	// The receiver's downlink: the first is done after its
	// serialisation; the second arrives while the downlink is idle again
	// (download is faster than upload), so it is not delayed further.
	// A worker of node 1 with an empty queue, to read what arrive queues.
	rw := &worker{sm: sm, id: sm.workerOf(1), out: make([][]event, len(sm.workers))}
	for k, e := range out {
		rw.now = e.at
		rw.src = 1
		sm.arrive(rw, &e)
		d := rw.q.pop()
		if d.kind != evDeliver || d.at != e.at+ser(frame, down) {
			t.Fatalf("transfer %d handed over at %d, want %d", k, d.at-e.at, ser(frame, down))
		}
	}
}

// TestEndToEndTime: on one link, a message reaches the other node after
// the upload serialisation, the delay and the download serialisation of
// its RPC, and one hop.
func TestEndToEndTime(t *testing.T) {
	t.Parallel()
	for _, bw := range []int64{0, 1_000_000} {
		s := pair(bw, bw)
		sm := newTestSim(t, s)
		if err := sm.run(); err != nil {
			t.Fatal(err)
		}
		res := sm.result()
		if res.Messages != 3 || res.DeliveryRatio != 1 {
			t.Fatalf("%d messages, ratio %v", res.Messages, res.DeliveryRatio)
		}
		m := sm.msgs[0]
		size := rpcWireSize(&gossipsubpb.RPC{Publish: []*gossipsubpb.Message{m.gm}})
		want := float64(40*time.Millisecond+2*time.Duration(serialisation(size, bw))) / 1e6
		// Delivery times are kept in µs.
		t.Logf("bandwidth %d: %v ms, want %v", bw, res.Latency.To100.Max, want)
		if got := res.Latency.To100.Max; math.Abs(got-want) > 0.001 {
			t.Fatalf("bandwidth %d: reached the other node in %v ms, want %v", bw, got, want)
		}
		if res.Hops.Max != 1 || res.DuplicatesPerMessage != 0 {
			t.Fatalf("hops %+v, duplicates %v: want one hop, none", res.Hops, res.DuplicatesPerMessage)
		}
		if res.Amplification != 1 {
			t.Fatalf("amplification %v on one link, want 1", res.Amplification)
		}
	}
}

// TestLatencyModels: each model's delays are deterministic, symmetric
// where the model is, within its bounds and of the asked distribution.
func TestLatencyModels(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	cases := []struct {
		name string
		l    Latency
		lo   time.Duration
		hi   time.Duration
		mean time.Duration
		sd   time.Duration // 0: not checked
	}{
		{"fixed", Latency{Kind: "fixed", Fixed: 25 * ms}, 25 * ms, 25 * ms, 25 * ms, 0},
		{"uniform", Latency{Kind: "uniform", Min: 10 * ms, Max: 90 * ms}, 10 * ms, 90 * ms, 50 * ms, 0},
		{"normal", Latency{Kind: "normal", Mean: 80 * ms, StdDev: 20 * ms, Min: 5 * ms}, 5 * ms, time.Second, 80 * ms, 20 * ms},
		{"regions", Latency{Kind: "regions", Regions: []Region{{"eu", 3}, {"us", 1}},
			Matrix: [][]time.Duration{{10 * ms, 80 * ms}, {80 * ms, 20 * ms}}, Jitter: 4 * ms},
			10 * ms, 84 * ms, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := c.l
			if err := l.validate(); err != nil {
				t.Fatal(err)
			}
			m, again, other := newLatencyModel(l, 1), newLatencyModel(l, 1), newLatencyModel(l, 2)
			if m.min() != c.lo {
				t.Fatalf("lower bound %v, want %v", m.min(), c.lo)
			}
			const n = 4000
			var sum, sq float64
			differs := false
			for i := range n {
				a, b := i, (i*7919+1)%n
				d := m.link(a, b)
				if d < c.lo || d > c.hi {
					t.Fatalf("link %d-%d: %v outside [%v, %v]", a, b, d, c.lo, c.hi)
				}
				if d != again.link(a, b) {
					t.Fatal("the same seed gave another delay")
				}
				if d != other.link(a, b) {
					differs = true
				}
				if l.Kind != "regions" && d != m.link(b, a) {
					t.Fatalf("link %d-%d: %v one way, %v the other", a, b, d, m.link(b, a))
				}
				sum += float64(d)
				sq += float64(d) * float64(d)
			}
			if l.Kind != "fixed" && !differs {
				t.Fatal("another seed gave the same delays")
			}
			mean := sum / n
			if c.mean > 0 && math.Abs(mean-float64(c.mean)) > 0.05*float64(c.mean) {
				t.Fatalf("mean %v, want %v within 5%%", time.Duration(mean), c.mean)
			}
			if c.sd > 0 {
				sd := math.Sqrt(sq/n - mean*mean)
				if math.Abs(sd-float64(c.sd)) > 0.1*float64(c.sd) {
					t.Fatalf("standard deviation %v, want %v within 10%%", time.Duration(sd), c.sd)
				}
			}
			if l.Kind == "regions" {
				eu := 0
				for i := range n {
					if m.region(i) == 0 {
						eu++
					}
				}
				if share := float64(eu) / n; math.Abs(share-0.75) > 0.03 {
					t.Fatalf("%.3f of the nodes in the region of weight 3 of 4, want 0.75", share)
				}
				for i := range 200 {
					a, b := i, i+1
					base := l.Matrix[m.region(a)][m.region(b)]
					if d := m.link(a, b); d < base || d >= base+l.Jitter {
						t.Fatalf("link %d-%d: %v, want %v plus jitter below %v", a, b, d, base, l.Jitter)
					}
				}
			}
		})
	}
}

// TestEventOrder: events come out by time, then source, then the
// source's count, whether they were pushed near (in the ring of buckets)
// or far (in the heap beyond it), before or after the queue was peeked,
// and in the bucket being taken from.
func TestEventOrder(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(1, 2))
	var q eventQueue
	var ref []event // what is queued, for the expected order
	seq := uint64(0)
	now := int64(0)
	add := func(at int64) {
		e := event{at: at, key: orderKey(int32(rnd.IntN(5))-1, seq)}
		seq++
		q.push(e)
		ref = append(ref, e)
	}
	spans := []int64{1000, int64(time.Millisecond), int64(time.Second), int64(10 * time.Second)}
	for range 40000 {
		if rnd.IntN(3) > 0 || q.Len() == 0 {
			add(now + rnd.Int64N(spans[rnd.IntN(len(spans))]))
			continue
		}
		if rnd.IntN(2) == 0 {
			q.peek()
		}
		e := q.pop()
		k := 0
		for i := range ref {
			if ref[i].before(&ref[k]) {
				k = i
			}
		}
		if e != ref[k] {
			t.Fatalf("popped %+v, want %+v", e, ref[k])
		}
		ref = append(ref[:k], ref[k+1:]...)
		now = e.at
		if q.Len() != len(ref) {
			t.Fatalf("%d queued, want %d", q.Len(), len(ref))
		}
	}
	for q.Len() > 0 {
		e := q.pop()
		if e.at < now {
			t.Fatalf("%+v came out after time %d", e, now)
		}
		now = e.at
	}
}
