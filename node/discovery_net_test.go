//go:build !race

// The race detector is off for this file: go-ethereum v1.17.10's discv5
// table has a data race of its own (p2p/discover: Table.loadSeedNodes on
// the refresh goroutine writes revalidationList.nextTime, which
// tableRevalidation.run reads on the table's loop; go-ethereum issue
// #31460, open, no fixed release on the module proxy), which 40 nodes on
// two cores under the detector's slowdown reliably hit. `make test` runs
// this file without -race (make net-test); every other discv5 test runs
// under it.

package node

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/p2p/peermgr"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/wire"
)

// Bounds of TestFortyNodesFromOneENR, stated for CI: the network finds
// its peers within discoveryBound of the last node's start, and every
// message reaches every node within deliveryBound of its publication.
const (
	fortyNodes     = 40
	discoveryBound = 60 * time.Second
	deliveryBound  = 30 * time.Second
	// meshD is gossipsub's D, the relay peers a node needs on each shard.
	meshD = 6
)

// TestFortyNodesFromOneENR: 40 nodes on loopback, with no static peers,
// where every node but the first is given only the first node's ENR. Each
// ends up with at least D relay peers on each of its two shards, all found
// by discv5 (nothing else could have told them of each other), and a
// message published on each shard by several nodes afterwards reaches
// every node. RLN is off (relay without RLN, as a test network may run):
// the test is about discovery and the mesh it builds.
func TestFortyNodesFromOneENR(t *testing.T) {
	if testing.Short() {
		t.Skip("40 nodes: not in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	shards := []int{2, 5}
	nodes := make([]*Node, fortyNodes)
	for i := range nodes {
		cfg, err := config.Preset("devnet")
		if err != nil {
			t.Fatal(err)
		}
		cfg.RLN.Enabled = false
		cfg.Network.Shards = shards
		cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		cfg.Metrics.Enabled, cfg.REST.Enabled = false, false
		cfg.Discovery.Discv5UDPPort = 0
		if i > 0 {
			cfg.Discovery.Discv5Bootstrap = []string{nodes[0].ENR()}
		}
		nd, err := New(ctx, Options{Config: &cfg, Discv5PingInterval: 200 * time.Millisecond})
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		nodes[i] = nd
		t.Cleanup(func() { _ = nd.Close() })
	}
	started := time.Now()

	// Every node: at least D admitted relay peers on each of its shards.
	dctx, dcancel := context.WithTimeout(ctx, discoveryBound)
	defer dcancel()
	waitUntil(dctx, t, fmt.Sprintf("every node to hold %d relay peers on each of shards %v", meshD, shards), func() bool {
		for _, nd := range nodes {
			st := nd.Peers().Stats()
			for _, s := range shards {
				if st.ShardPeers[uint16(s)] < meshD {
					return false
				}
			}
		}
		return true
	})
	found := time.Since(started)
	fewest := len(nodes)
	for _, nd := range nodes {
		fewest = min(fewest, len(nd.Host().Libp2p().Network().Peers()))
		for _, kp := range nd.Peers().Peers() {
			if kp.Source != peermgr.SourceDiscv5 {
				t.Errorf("node %s knows peer %s from %q: every peer should come from discv5", nd.Host().ID(), kp.ID, kp.Source)
			}
		}
	}
	t.Logf("%d nodes: every node has >= %d relay peers on shards %v after %.1f s (fewest connected peers: %d)",
		len(nodes), meshD, shards, found.Seconds(), fewest)

	// Meshes form at the next heartbeats; then messages from five nodes
	// on each shard must reach all 40.
	hctx, hcancel := context.WithTimeout(ctx, deliveryBound)
	defer hcancel()
	topics := make([]string, len(shards))
	contents := make([]string, len(shards))
	for k, s := range shards {
		contents[k], topics[k] = contentTopicOn(t, nodes[0].Relay(), s)
	}
	waitUntil(hctx, t, "every node to have mesh peers on its shards", func() bool {
		for _, nd := range nodes {
			for _, topic := range topics {
				if len(nd.Relay().PubSub().MeshPeers(topic)) == 0 {
					return false
				}
			}
		}
		return true
	})
	rec := newDeliveries(nodes)
	defer rec.stop()
	var want []wire.MessageHash
	for k, topic := range topics {
		for _, from := range []int{0, 7, 19, 28, 39} {
			m := wire.NewMessage(contents[k], fmt.Appendf(nil, "from node %d on %s", from, topic), time.Now().UnixNano())
			h, _, err := nodes[from].Relay().Publish(topic, m)
			if err != nil {
				t.Fatalf("node %d publishes on %s: %v", from, topic, err)
			}
			want = append(want, h)
		}
	}
	waitUntil(hctx, t, fmt.Sprintf("%d messages to reach all %d nodes", len(want), len(nodes)), func() bool {
		return rec.all(want)
	})
}

// contentTopicOn returns a content topic that autosharding puts on shard
// s, and its pubsub topic.
func contentTopicOn(t *testing.T, r *relay.Relay, s int) (string, string) {
	t.Helper()
	want := fmt.Sprintf("/waku/2/rs/%d/%d", 66, s)
	for i := range 10000 {
		ct := fmt.Sprintf("/rlnd-%d/1/discovery/proto", i) // autosharding hashes the application and version
		topic, err := r.TopicFor(ct)
		if err != nil {
			t.Fatal(err)
		}
		if topic == want {
			return ct, topic
		}
	}
	t.Fatalf("no content topic found for shard %d", s)
	return "", ""
}

// deliveries records which message hashes each node received.
type deliveries struct {
	mu   sync.Mutex
	got  []map[wire.MessageHash]bool
	subs []*relay.Subscription
	wg   sync.WaitGroup
}

func newDeliveries(nodes []*Node) *deliveries {
	d := &deliveries{got: make([]map[wire.MessageHash]bool, len(nodes))}
	for i, nd := range nodes {
		d.got[i] = map[wire.MessageHash]bool{}
		sub := nd.Relay().Subscribe()
		d.subs = append(d.subs, sub)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for env := range sub.C() {
				d.mu.Lock()
				d.got[i][env.Hash] = true
				d.mu.Unlock()
			}
		}()
	}
	return d
}

// all reports whether every node received every one of want.
func (d *deliveries) all(want []wire.MessageHash) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, got := range d.got {
		for _, h := range want {
			if !got[h] {
				return false
			}
		}
	}
	return true
}

func (d *deliveries) stop() {
	for _, s := range d.subs {
		s.Cancel()
	}
	d.wg.Wait()
}
