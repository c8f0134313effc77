package p2p

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// registerMetrics registers the host's metrics on reg (nil: not
// registered): libp2p_peers, nwaku's gauge of connected peers, read at
// scrape time. (The metadata responder's admission metrics are its gate's.)
// A registry that holds the gauge already (another host) keeps it: the
// first host registered is the one reported.
func (h *Host) registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	peers := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "libp2p_peers", Help: "Connected libp2p peers.",
	}, func() float64 { return float64(len(h.h.Network().Peers())) })
	if _, err := promutil.Register(reg, peers); err != nil {
		return fmt.Errorf("p2p: register metrics: %w", err)
	}
	return nil
}
