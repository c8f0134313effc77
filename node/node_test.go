package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/pgtest"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire"
)

// A node without RLN starts, serves its metrics under nwaku's names and
// stops cleanly.
func TestNodeMetrics(t *testing.T) {
	cfg, err := config.Preset("devnet")
	cfg.REST.Enabled = false // tests that want REST listen on a free port
	if err != nil {
		t.Fatal(err)
	}
	cfg.RLN.Enabled = false
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Metrics.Enabled, cfg.Metrics.Address = true, "127.0.0.1:0"
	cfg.Filter.Enabled = true
	cfg.Store.Enabled, cfg.Store.DBPath = true, filepath.Join(t.TempDir(), "store.db")
	n, err := New(context.Background(), Options{Config: &cfg, Version: "v1.2.3-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	resp, err := http.Get("http://" + n.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"waku_node_messages_total", "libp2p_peers", "libp2p_gossipsub_peers_per_topic_mesh", "waku_rln_", "waku_filter_subscriptions", "waku_archive_messages", "go_goroutines",
		`waku_version{version="v1.2.3-test"} 1`, "waku_histogram_message_size_bucket", "waku_connected_peers", "waku_peer_store_size"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("metrics lack %s", name)
		}
	}
	if n.Filter() == nil || n.Archive() == nil {
		t.Fatal("filter.enabled or store.enabled did not start its service")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}

// RLN on without a chain is a clear error, not a node that accepts all.
func TestNodeNeedsChain(t *testing.T) {
	cfg, _ := config.Preset("devnet")
	cfg.REST.Enabled = false // tests that want REST listen on a free port
	cfg.Chain.RPCURL = ""
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Metrics.Enabled = false
	if _, err := New(context.Background(), Options{Config: &cfg}); err == nil || !strings.Contains(err.Error(), "rpc-url") {
		t.Fatalf("err %v", err)
	}
}

// Two store nodes share one PostgreSQL archive (store.db-url): a message
// relayed to both is stored once, and either serves it.
func TestNodesShareArchive(t *testing.T) {
	dbURL := pgtest.Schema(t)
	var nodes []*Node
	for i := range 2 {
		cfg, err := config.Preset("devnet")
		cfg.REST.Enabled = false // tests that want REST listen on a free port
		if err != nil {
			t.Fatal(err)
		}
		cfg.RLN.Enabled = false
		cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		cfg.Metrics.Enabled = false
		cfg.Store.Enabled, cfg.Store.DBURL, cfg.Store.DBPath = true, dbURL, ""
		if i == 1 {
			cfg.P2P.StaticPeers = []string{fmt.Sprintf("%s/p2p/%s", nodes[0].Addrs()[0], nodes[0].Host().Libp2p().ID())}
		}
		n, err := New(context.Background(), Options{Config: &cfg})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nodes = append(nodes, n)
	}
	topic, err := nodes[0].Relay().TopicFor("/app/1/shared/proto")
	if err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, 30*time.Second, "the nodes to connect", func() bool { return len(nodes[0].Relay().PubSub().TopicPeers(topic)) != 0 })
	m := wire.NewMessage("/app/1/shared/proto", []byte("stored once"), time.Now().UnixNano())
	hash, _, err := nodes[0].Relay().Publish(topic, m)
	if err != nil {
		t.Fatal(err)
	}
	// Both archivers have had it (node 1 received it by relay) and stored
	// it, each in a batch of its own.
	for i, n := range nodes {
		testnet.WaitFor(t, 30*time.Second, fmt.Sprintf("node %d's archiver to store the message", i), func() bool { return archiveInserts(t, n) >= 1 })
	}
	// Either serves it; the archive holds it once.
	for i, n := range nodes {
		p, err := n.Archive().Query(context.Background(), store.Query{Hashes: []wire.MessageHash{hash}})
		if err != nil || len(p.Messages) != 1 {
			t.Fatalf("node %d: the message is not in the archive (%d found, %v)", i, len(p.Messages), err)
		}
	}
	if c, err := nodes[1].Archive().Count(context.Background()); err != nil || c != 1 {
		t.Fatalf("Count = %d, %v; want 1", c, err)
	}
}

// archiveInserts is how many batches n's archiver has stored.
func archiveInserts(t *testing.T, n *Node) uint64 {
	t.Helper()
	mfs, err := n.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "waku_archive_insert_duration_seconds" && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}
