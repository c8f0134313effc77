package membership

import (
	"context"
	"errors"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// gaugeValue reads an unlabelled gauge from reg.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// A manager is catching up until its first step reaches the safe head;
// reading history in several batches it logs progress lines (every batch
// here, the interval being shortened) with blocks done and to do, the head
// and the members, then "membership sync caught up" once. Its gauges give
// the head, the leaf slots used and the health.
func TestGroupManagerProgressAndHealth(t *testing.T) {
	t.Parallel()
	c := newFakeChain()
	c.addBlocks(newEventGen(5).blocks(40, 3, true))
	h := &lineHandler{want: -1, enough: make(chan struct{})}
	reg := prometheus.NewRegistry()
	cfg := testSyncConfig(t)
	cfg.Logger, cfg.Registerer = slog.New(h), reg
	cfg.PollInterval = time.Minute // no loop here: keep the stall limit out of reach
	g := newTestManager(t, c, cfg)
	g.status.every = time.Nanosecond
	if err := g.Healthy(); !errors.Is(err, ErrCatchingUp) {
		t.Fatalf("Healthy before any step = %v, want ErrCatchingUp", err)
	}
	if v := gaugeValue(t, reg, "rlnd_membership_sync_healthy"); v != 0 {
		t.Fatalf("rlnd_membership_sync_healthy = %v before any step, want 0", v)
	}
	syncOnce(t, g)
	if err := g.Healthy(); err != nil {
		t.Fatalf("Healthy after catching up = %v", err)
	}
	syncOnce(t, g) // nothing new: no second "caught up"
	log := h.text()
	if n := strings.Count(log, "membership sync caught up"); n != 1 {
		t.Fatalf("%d caught-up lines, want 1:\n%s", n, log)
	}
	if n := strings.Count(log, "membership sync progress"); n < 2 {
		t.Fatalf("%d progress lines over %d batches, want one a batch:\n%s", n, (c.head()+15)/16, log)
	}
	tree, _, err := c.reference(c.head())
	if err != nil {
		t.Fatal(err)
	}
	var inUse uint64
	for i := range tree.NextIndex() {
		if l, _ := tree.Leaf(i); !l.IsZero() {
			inUse++
		}
	}
	for _, want := range []string{"blocks_done=", "blocks_total=", "blocks_per_s=",
		"head=" + uitoa(c.head()), "members=" + uitoa(inUse), "registered=" + uitoa(tree.NextIndex())} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	for name, want := range map[string]float64{
		"rlnd_membership_sync_head_block":        float64(c.head()),
		"waku_rln_number_registered_memberships": float64(tree.NextIndex()),
		"waku_rln_membership_synced_block":       float64(c.head()),
		"rlnd_membership_sync_healthy":           1,
	} {
		if got := gaugeValue(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", problems, err)
	}
}

func uitoa(v uint64) string { return strconv.FormatUint(v, 10) }

// A loop stopped by a malformed log makes the manager unhealthy with
// ErrSyncStopped, wrapping why.
func TestGroupManagerHealthStopped(t *testing.T) {
	t.Parallel()
	c := newFakeChain()
	c.addBlock(newEventGen(1).register())
	c.addRawBlock(types.Log{Topics: []common.Hash{topicRegistered}, Data: make([]byte, 10)})
	reg := prometheus.NewRegistry()
	cfg := testSyncConfig(t)
	cfg.Registerer = reg
	g := newTestManager(t, c, cfg)
	steps := make(chan error, 16)
	g.afterStep = func(err error) { steps <- err }
	if err := g.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	select {
	case <-steps:
	case <-time.After(10 * time.Second):
		t.Fatal("no step within 10 s")
	}
	g.Stop()
	err := g.Healthy()
	if !errors.Is(err, ErrSyncStopped) || !errors.Is(err, ErrMalformedLog) {
		t.Fatalf("Healthy = %v, want ErrSyncStopped wrapping ErrMalformedLog", err)
	}
	if v := gaugeValue(t, reg, "rlnd_membership_sync_healthy"); v != 0 {
		t.Fatalf("rlnd_membership_sync_healthy = %v, want 0", v)
	}
}

// failingSource fails every call while failing is set.
type failingSource struct {
	ChainSource
	failing atomic.Bool
}

func (s *failingSource) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	if s.failing.Load() {
		return nil, errInjected
	}
	return s.ChainSource.HeaderByNumber(ctx, n)
}

func (s *failingSource) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if s.failing.Load() {
		return nil, errInjected
	}
	return s.ChainSource.FilterLogs(ctx, q)
}

// A running manager whose endpoint starts failing every call reports
// ErrSyncStalled once it has made no progress for StallLimit (10 poll
// intervals and the longest retry wait, 10 ms + 20 µs here), and is
// healthy again once the endpoint answers; the window stays trusted.
func TestGroupManagerHealthStalled(t *testing.T) {
	t.Parallel()
	c := newFakeChain()
	c.addBlocks(newEventGen(9).blocks(5, 2, false))
	src := &failingSource{ChainSource: c}
	g := newTestManager(t, src, testSyncConfig(t))
	if err := g.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	waitHealth(t, g, "the first catch-up", func(err error) bool { return err == nil })
	src.failing.Store(true)
	waitHealth(t, g, "ErrSyncStalled", func(err error) bool { return errors.Is(err, ErrSyncStalled) })
	// The relay keeps judging messages on a window this fresh (StaleLimit
	// is 10 minutes): a hiccup of the endpoint must not stop the relay.
	if err := g.WindowTrusted(); err != nil {
		t.Fatalf("WindowTrusted during a stall of %v: %v, want nil until %v", g.StallLimit(), err, g.StaleLimit())
	}
	src.failing.Store(false)
	waitHealth(t, g, "recovery", func(err error) bool { return err == nil })
}

// waitHealth waits up to 10 s for g.Healthy() to satisfy ok.
func waitHealth(t *testing.T, g *GroupManager, what string, ok func(error) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		err := g.Healthy()
		if ok(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting 10 s for %s: Healthy = %v", what, err)
		}
		<-tick.C
	}
}
