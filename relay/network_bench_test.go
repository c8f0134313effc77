package relay

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rlnd/rlnd/relay/pubsub"
)

// BenchmarkNodeThroughput measures RLN-validated messages per second
// through one relay node, end to end: a peer floods it with proved
// messages over a libp2p stream; the node's gossipsub router, validation
// pipeline (batched Groth16 verification) and nullifier log accept them.
// Each iteration is a fresh node (its setup untimed) taking every message
// of the benchmark set once.
func BenchmarkNodeThroughput(b *testing.B) {
	f := loadFixture(b)
	items := loadBenchItems(b)
	for b.Loop() {
		b.StopTimer()
		v := f.validator(b, nil)
		h := newNetHost(b)
		r, err := New(h, Config{ClusterID: 1, Shards: []uint16{0}, Validator: v, SubBuffer: len(items) + 16})
		if err != nil {
			b.Fatal(err)
		}
		sub := r.Subscribe()
		ph := newNetHost(b)
		pub, err := pubsub.New(ph, pubsub.Config{Router: DefaultRouterConfig(), OutQueue: len(items) + 16})
		if err != nil {
			b.Fatal(err)
		}
		if err := pub.Join(testTopic); err != nil {
			b.Fatal(err)
		}
		linkHosts(b, ph, h)
		if !waitUntil(10*time.Second, func() bool { return len(pub.TopicPeers(testTopic)) == 1 }) {
			b.Fatal("publisher does not see the node's subscription")
		}
		b.StartTimer()
		for _, it := range items {
			if _, _, err := pub.Publish(testTopic, it.Data); err != nil {
				b.Fatal(err)
			}
		}
		for range items {
			select {
			case <-sub.C():
			case <-time.After(30 * time.Second):
				b.Fatalf("node accepted only part of the messages: %+v", r.PubSub().Stats())
			}
		}
		b.StopTimer()
		if st := r.PubSub().Stats(); st.Accepted != uint64(len(items)) {
			b.Fatalf("accepted %d of %d (%+v)", st.Accepted, len(items), st)
		}
		pub.Close()
		r.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(items)*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkTwentyNodeLatency publishes proved messages, one at a time from
// rotating nodes, in a 20-node loopback network (ring plus random chords)
// and measures publish-to-delivery latency at every other node and the
// duplicate receipts per message per node.
func BenchmarkTwentyNodeLatency(b *testing.B) {
	f := loadFixture(b)
	const nodes = 20
	ns := startRingNetwork(b, f, nodes)
	topic, _ := ns[0].r.TopicFor(netContent)
	for _, n := range ns {
		if !waitUntil(10*time.Second, func() bool { return len(n.r.PubSub().MeshPeers(topic)) >= 2 }) {
			b.Fatal("mesh did not form")
		}
	}
	arrivals := make([]chan time.Time, nodes)
	for i, n := range ns {
		n.sub.Cancel()
		arrivals[i] = make(chan time.Time, 1024)
		sub := n.r.Subscribe()
		go func() {
			for env := range sub.C() {
				if !env.Local {
					arrivals[i] <- env.Received
				}
			}
		}()
	}
	dupsBefore := uint64(0)
	for _, n := range ns {
		dupsBefore += n.r.PubSub().Stats().Duplicates
	}
	var lat []time.Duration
	sent := 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		mem, mid := i%testMembers, uint64(i/testMembers)%testLimit
		m := provenMessage(b, f, mem, mid, fmt.Sprintf("latency %d", i))
		from := i % nodes
		b.StartTimer()
		at := time.Now()
		if _, _, err := ns[from].r.Publish(topic, m); err != nil {
			b.Fatal(err)
		}
		for j := range nodes {
			if j == from {
				continue
			}
			select {
			case t := <-arrivals[j]:
				lat = append(lat, t.Sub(at))
			case <-time.After(10 * time.Second):
				b.Fatalf("message %d did not reach node %d", i, j)
			}
		}
		sent++
	}
	// Late duplicates arrive after the deliveries.
	time.Sleep(500 * time.Millisecond)
	var dups uint64
	for _, n := range ns {
		dups += n.r.PubSub().Stats().Duplicates
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(dups-dupsBefore)/float64(sent*(nodes-1)), "dups/msg/node")
}
