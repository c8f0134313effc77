package membership

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A manager given a registry reports the last block it applied as
// waku_rln_membership_synced_block; a clashing metric is an error.
func TestGroupManagerMetrics(t *testing.T) {
	t.Parallel()
	c := newFakeChain()
	c.addBlocks(newEventGen(7).blocks(12, 3, false))
	reg := prometheus.NewRegistry()
	cfg := testSyncConfig(t)
	cfg.Registerer = reg
	g := newTestManager(t, c, cfg)
	syncOnce(t, g)
	const want = `
# HELP waku_rln_membership_synced_block Last chain block applied to the membership tree.
# TYPE waku_rln_membership_synced_block gauge
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want+"waku_rln_membership_synced_block "+strconv.FormatUint(c.head(), 10)+"\n"), "waku_rln_membership_synced_block"); err != nil {
		t.Error(err)
	}

	clash := prometheus.NewRegistry()
	clash.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "waku_rln_membership_synced_block", Help: "clash"}))
	cfg.Registerer = clash
	if _, err := NewGroupManager(c, cfg); err == nil {
		t.Error("no error for a clashing metric")
	}
}
