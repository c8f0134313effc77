package discv5

import (
	"fmt"
	"sync"

	"github.com/ethereum/go-ethereum/p2p/discover"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// metrics of a service; all are no-ops without a Registerer.
//
//   - waku_discv5_discovered: candidates yielded by the feeds (nwaku's
//     name; nwaku counts the peers its random walks pass to its peer
//     manager);
//   - waku_discv5_errors{type="malformed"}: records with a malformed Waku
//     entry (nwaku's name, for records it cannot turn into peers);
//   - rlnd_discv5_filtered_total{reason}: nodes not yielded, by Reason*;
//   - rlnd_discv5_table_nodes: nodes in the discovery table.
type metrics struct {
	discovered prometheus.Counter
	errors     *prometheus.CounterVec
	filteredBy *prometheus.CounterVec

	mu  sync.Mutex
	udp *discover.UDPv5 // read by the table gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		discovered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waku_discv5_discovered", Help: "Peers found by discv5 random walks that fit this node (cluster, shards, capabilities).",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waku_discv5_errors", Help: "Discovered records that could not be read as Waku peers, by type.",
		}, []string{"type"}),
		filteredBy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rlnd_discv5_filtered_total", Help: "Discovered nodes not passed on, by reason.",
		}, []string{"reason"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.discovered, err = promutil.Register(reg, m.discovered); err != nil {
		return nil, fmt.Errorf("discv5: register metrics: %w", err)
	}
	if m.errors, err = promutil.Register(reg, m.errors); err != nil {
		return nil, fmt.Errorf("discv5: register metrics: %w", err)
	}
	if m.filteredBy, err = promutil.Register(reg, m.filteredBy); err != nil {
		return nil, fmt.Errorf("discv5: register metrics: %w", err)
	}
	table := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rlnd_discv5_table_nodes", Help: "Nodes in the discv5 table (of the first service registered).",
	}, m.tableNodes)
	if _, err := promutil.Register(reg, table); err != nil {
		return nil, fmt.Errorf("discv5: register metrics: %w", err)
	}
	return m, nil
}

func (m *metrics) filtered(reason string) {
	m.filteredBy.WithLabelValues(reason).Inc()
	if reason == ReasonMalformed {
		m.errors.WithLabelValues(reason).Inc()
	}
}

func (m *metrics) track(udp *discover.UDPv5) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.udp = udp
}

func (m *metrics) untrack() { m.track(nil) }

func (m *metrics) tableNodes() float64 {
	m.mu.Lock()
	udp := m.udp
	m.mu.Unlock()
	if udp == nil {
		return 0
	}
	return float64(len(udp.AllNodes()))
}
