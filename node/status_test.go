package node

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
)

// With log.status-interval a node logs a "status" line at info every
// interval with its figures: peers, the mesh of each shard, messages
// relayed, the membership sync (block, head, how far behind, ready), the
// store's, filter's and lightpush's. The membership metrics follow the
// registry. A sync that stops turns the node unhealthy once: counted once
// in waku_node_errors{type="membership_sync_failure"} however long it lasts,
// and the status lines say sync_ready=false.
func TestNodeStatusLineAndSyncMetrics(t *testing.T) {
	t.Parallel()
	f := newChainFixture(t, 0)
	f.register(t, 2)
	cfg := f.config(t, t.TempDir())
	cfg.Log.StatusInterval = time.Second
	cfg.Filter.Enabled = true
	cfg.Store.Enabled, cfg.Store.DBPath = true, filepath.Join(t.TempDir(), "store.db")
	cfg.Lightpush.Enabled = true
	var logs testnet.Buffer
	src := &recordingSource{}
	n, err := New(t.Context(), Options{Config: cfg,
		SyncConfig: membership.SyncConfig{PollInterval: 20 * time.Millisecond},
		WrapChain: func(c membership.ChainSource) membership.ChainSource {
			src.ChainSource = c
			return src
		},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })

	m := scrapeMetrics(t, n)
	m.checkTypes(t, map[string]string{
		"waku_rln_number_registered_memberships":         "gauge",
		"waku_rln_membership_insertion_duration_seconds": "gauge",
		"waku_rln_membership_synced_block":               "gauge",
		"waku_node_errors":                               "gauge",
	})
	if got := m.value(t, "waku_rln_number_registered_memberships"); got != 2 {
		t.Errorf("waku_rln_number_registered_memberships = %v, want the 2 registered", got)
	}
	if got := m.value(t, "waku_rln_membership_insertion_duration_seconds"); got <= 0 {
		t.Errorf("waku_rln_membership_insertion_duration_seconds = %v after inserting 2 members, want > 0", got)
	}
	f.register(t, 1)
	testnet.WaitFor(t, 10*time.Second, "the third membership in waku_rln_number_registered_memberships", func() bool {
		return scrapeMetrics(t, n).value(t, "waku_rln_number_registered_memberships") == 3
	})

	// A line with every figure, the sync caught up.
	var line map[string]string
	testnet.WaitFor(t, 10*time.Second, "a status line with the sync caught up", func() bool {
		lines := statusLines(logs.String())
		if len(lines) == 0 {
			return false
		}
		line = lines[len(lines)-1]
		return line["sync_ready"] == "true" && line["sync_behind"] == "0" && line["sync_block"] == strconv.FormatUint(n.gm.SyncedBlock(), 10)
	})
	want := []string{"level", "peers", "peers_in", "peers_out", "relay_peers", "msgs", "msgs_per_s",
		"sync_block", "sync_head", "sync_behind", "sync_ready", "store_messages", "filter_subscribers",
		"filter_criteria", "lightpush_proofs", "lightpush_slots_left"}
	for _, s := range cfg.ShardList() {
		want = append(want, fmt.Sprintf("mesh.%d", s))
	}
	for _, k := range want {
		if _, ok := line[k]; !ok {
			t.Errorf("status line %v has no %s", line, k)
		}
	}
	if line["level"] != "INFO" || line["peers"] != "0" || line["msgs"] != "0" || line["store_messages"] != "0" || line["filter_subscribers"] != "0" {
		t.Errorf("status line %v: want INFO, no peers, no message relayed or stored, no filter subscriber", line)
	}

	// The sync stops: unhealthy once.
	src.poisoned.Store(true)
	f.chain.Commit()
	testnet.WaitFor(t, 30*time.Second, "the failed sync in waku_node_errors", func() bool {
		return scrapeMetrics(t, n).value(t, `waku_node_errors{type="membership_sync_failure"}`) == 1
	})
	seen := len(statusLines(logs.String()))
	testnet.WaitFor(t, 10*time.Second, "two more status lines, saying the sync is not ready", func() bool {
		lines := statusLines(logs.String())
		return len(lines) >= seen+2 && lines[len(lines)-1]["sync_ready"] == "false"
	})
	if got := scrapeMetrics(t, n).value(t, `waku_node_errors{type="membership_sync_failure"}`); got != 1 {
		t.Errorf(`waku_node_errors{type="membership_sync_failure"} = %v while the node stays unhealthy, want 1`, got)
	}
}
