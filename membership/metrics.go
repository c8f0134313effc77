package membership

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// registerMetrics registers the manager's metrics on reg (nil: not
// registered), all gauges read at scrape time:
//   - waku_rln_membership_synced_block, nwaku's gauge of the last chain
//     block applied;
//   - waku_rln_number_registered_memberships, nwaku's gauge of the
//     memberships registered: the leaf slots used so far (one past the
//     highest index written, what zerokit's leaves_set() counts for nwaku
//     and the registry's nextFreeIndex once synced). It is read from the
//     tree, so it survives a restart with the checkpoint; an erased or
//     expired membership stays counted, a reused index is counted once;
//   - rlnd_membership_sync_head_block, the latest chain head the sync saw;
//   - rlnd_membership_sync_healthy, 1 while Healthy is nil, else 0.
//
// A registry that holds a gauge already (another manager) keeps it: the
// first manager registered is the one reported.
func (g *GroupManager) registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	gauges := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "waku_rln_membership_synced_block", Help: "Last chain block applied to the membership tree.",
		}, func() float64 { return float64(g.SyncedBlock()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "waku_rln_number_registered_memberships",
			Help: "Memberships registered: membership tree leaf slots used so far (the registry's nextFreeIndex once synced).",
		}, func() float64 { return float64(g.registered()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rlnd_membership_sync_head_block", Help: "Latest chain head block seen by the membership sync.",
		}, func() float64 { return float64(g.headBlock()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rlnd_membership_sync_healthy",
			Help: "1 while the membership sync follows the chain (caught up, not stalled, not stopped), else 0.",
		}, func() float64 {
			if g.Healthy() == nil {
				return 1
			}
			return 0
		}),
	}
	for _, c := range gauges {
		if _, err := promutil.Register(reg, c); err != nil {
			return fmt.Errorf("membership: register metrics: %w", err)
		}
	}
	return nil
}
