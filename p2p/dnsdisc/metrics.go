package dnsdisc

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// Error types of waku_dnsdisc_errors.
const (
	errTypeTreeSync  = "tree_sync_failure" // nwaku's: a tree could not be read
	errTypeTooLarge  = "tree_too_large"    // a tree over the bounds, read only up to them
	errTypeStaleRoot = "stale_root"        // a root with a sequence number not above the one followed
)

// metrics are nwaku's two DNS discovery gauges (nwaku increments both, so
// they are gauges used as counters there too).
type metrics struct {
	discovered prometheus.Gauge
	errors     *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		discovered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waku_dnsdisc_discovered",
			Help: "Number of nodes discovered through DNS (nwaku's name): every node of a Resolve, and every node new or changed in a Feed.",
		}),
		errors: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "waku_dnsdisc_errors",
			Help: "Number of DNS discovery errors by type (nwaku's name): tree_sync_failure, tree_too_large, stale_root.",
		}, []string{"type"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.discovered, err = promutil.Register(reg, m.discovered); err != nil {
		return nil, fmt.Errorf("dnsdisc: register metrics: %w", err)
	}
	if m.errors, err = promutil.Register(reg, m.errors); err != nil {
		return nil, fmt.Errorf("dnsdisc: register metrics: %w", err)
	}
	return m, nil
}
