package membership

import (
	"fmt"
	"time"

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
//   - waku_rln_membership_insertion_duration_seconds, nwaku's gauge of the
//     time the last insertion into the tree took: here the leaf writes of
//     the last sync batch that wrote any (registrations and full erasures,
//     as nwaku's batch inserts and removes);
//   - rlnd_membership_sync_head_block, the latest chain head the sync saw;
//   - rlnd_membership_sync_healthy, 1 while Healthy is nil, else 0;
//   - the root checks' counters: rlnd_membership_root_matches_total,
//     rlnd_membership_root_repairs_total, rlnd_membership_repaired_leaves_total
//     and rlnd_membership_undecoded_erasures_total.
//
// A registry that holds a gauge already (another manager) keeps it: the
// first manager registered is the one reported.
func (g *GroupManager) registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	collectors := []prometheus.Collector{
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
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "waku_rln_membership_insertion_duration_seconds",
			Help: "Time the last batch of membership tree leaf writes took (registrations and full erasures of one sync batch), in seconds; 0 before any.",
		}, func() float64 { return time.Duration(g.insertion.Load()).Seconds() }),
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

// HeadBlock is the latest chain head block the sync saw (0 before any):
// with SyncedBlock, how far behind the chain the tree is.
func (g *GroupManager) HeadBlock() uint64 { return g.headBlock() }
