package membership

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// waku_rln_membership_insertion_duration_seconds (nwaku's gauge) is 0 until
// a sync writes leaves, then the time the last batch of writes took; a
// batch of empty blocks leaves it as it was. HeadBlock is the chain head
// the sync saw.
func TestInsertionDurationMetric(t *testing.T) {
	t.Parallel()
	c := newFakeChain()
	c.addBlock() // a block with no registration
	reg := prometheus.NewRegistry()
	cfg := testSyncConfig(t)
	cfg.Registerer = reg
	g := newTestManager(t, c, cfg)
	syncOnce(t, g)
	if got := insertionGauge(t, reg); got != 0 {
		t.Fatalf("insertion duration %v before any leaf was written, want 0", got)
	}
	if g.HeadBlock() != c.head() {
		t.Fatalf("HeadBlock %d, want the chain head %d", g.HeadBlock(), c.head())
	}

	c.addBlocks(newEventGen(3).blocks(4, 3, false))
	syncOnce(t, g)
	first := insertionGauge(t, reg)
	if first <= 0 {
		t.Fatalf("insertion duration %v after registrations, want > 0", first)
	}
	if g.HeadBlock() != c.head() {
		t.Fatalf("HeadBlock %d, want the chain head %d", g.HeadBlock(), c.head())
	}

	c.addBlock()
	c.addBlock()
	syncOnce(t, g)
	if got := insertionGauge(t, reg); got != first {
		t.Fatalf("insertion duration %v after empty blocks, want the last batch's %v", got, first)
	}
}

// insertionGauge reads waku_rln_membership_insertion_duration_seconds,
// which must be a gauge with its help text.
func insertionGauge(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "waku_rln_membership_insertion_duration_seconds" {
			continue
		}
		if mf.GetType() != dto.MetricType_GAUGE || mf.GetHelp() == "" || len(mf.GetMetric()) != 1 {
			t.Fatalf("waku_rln_membership_insertion_duration_seconds: type %v, help %q, %d series; want one gauge with help", mf.GetType(), mf.GetHelp(), len(mf.GetMetric()))
		}
		return mf.GetMetric()[0].GetGauge().GetValue()
	}
	t.Fatal("no waku_rln_membership_insertion_duration_seconds")
	return 0
}
