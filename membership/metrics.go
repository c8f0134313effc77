package membership

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// registerMetrics registers the manager's metrics on reg (nil: not
// registered): waku_rln_membership_synced_block, nwaku's gauge of the last
// chain block applied, read at scrape time. A registry that holds the gauge
// already (another manager) keeps it: the first manager registered is the
// one reported.
func (g *GroupManager) registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	synced := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "waku_rln_membership_synced_block", Help: "Last chain block applied to the membership tree.",
	}, func() float64 { return float64(g.SyncedBlock()) })
	if _, err := promutil.Register(reg, synced); err != nil {
		return fmt.Errorf("membership: register metrics: %w", err)
	}
	return nil
}
