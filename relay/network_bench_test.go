package relay

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rlnd/rlnd/internal/testnet"
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
		h := testnet.Host(b, netCluster)
		r, err := New(h.Libp2p(), Config{ClusterID: 1, Shards: []uint16{0}, Validator: v, SubBuffer: len(items) + 16})
		if err != nil {
			b.Fatal(err)
		}
		sub := r.Subscribe()
		ph := testnet.Host(b, netCluster)
		pub, err := pubsub.New(ph.Libp2p(), pubsub.Config{Router: DefaultRouterConfig(), OutQueue: len(items) + 16})
		if err != nil {
			b.Fatal(err)
		}
		if err := pub.Join(testTopic); err != nil {
			b.Fatal(err)
		}
		testnet.Connect(b, ph, h)
		testnet.WaitFor(b, 10*time.Second, "the publisher to see the node's subscription", func() bool { return len(pub.TopicPeers(testTopic)) == 1 })
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
	for i, n := range ns {
		testnet.WaitFor(b, 10*time.Second, fmt.Sprintf("mesh at node %d", i), func() bool { return len(n.r.PubSub().MeshPeers(topic)) >= 2 })
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
	// Late duplicates arrive after the deliveries. Deliberate: wall time
	// must pass for them to come; no event marks the last one.
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
