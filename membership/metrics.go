package membership

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// registerMetrics registers the manager's metrics on reg (nil: not
// registered): waku_rln_membership_synced_block, nwaku's gauge of the last
// chain block applied, and the root checks' counters, read at scrape time. A registry that holds the gauge
// already (another manager) keeps it: the first manager registered is the
// one reported.
func (g *GroupManager) registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	collectors := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "waku_rln_membership_synced_block", Help: "Last chain block applied to the membership tree.",
		}, func() float64 { return float64(g.SyncedBlock()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rlnd_membership_root_matches_total", Help: "Checks that found the local membership root equal to the registry's root().",
		}, func() float64 { return float64(g.rootMatches.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rlnd_membership_root_repairs_total", Help: "Times the local membership root differed from the registry's and the tree was repaired from its leaves.",
		}, func() float64 { return float64(g.repairs.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rlnd_membership_repaired_leaves_total", Help: "Leaves rewritten by membership tree repairs.",
		}, func() float64 { return float64(g.repairedLeaves.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rlnd_membership_undecoded_erasures_total", Help: "Erasures whose transaction did not say lazy or full (taken as lazy, then checked against root()).",
		}, func() float64 { return float64(g.undecodedErasures.Load()) }),
	}
	for _, c := range collectors {
		if _, err := promutil.Register(reg, c); err != nil {
			return fmt.Errorf("membership: register metrics: %w", err)
		}
	}
	return nil
}
