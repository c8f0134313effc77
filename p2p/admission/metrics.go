package admission

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// metrics of one gate: its labelled children of the shared vectors.
type metrics struct {
	refusedVec             *prometheus.CounterVec
	protocol               string
	idle, active, refusing prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, protocol string) (*metrics, error) {
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rlnd_admission_refused_total",
		Help: "Request streams refused or cut by admission, by protocol and reason: idle_timeout, idle_evicted_peer, idle_evicted_prefix, idle_evicted_total, busy_peer, busy_prefix, busy_total, overload, request_deadline, and the protocols' own (busy_pages: store).",
	}, []string{"protocol", "reason"})
	streams := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rlnd_admission_streams",
		Help: "Request streams by protocol and state: idle (request not started), active (admitted, in progress), refusing (being answered busy).",
	}, []string{"protocol", "state"})
	if reg != nil {
		var err error
		if refused, err = promutil.Register(reg, refused); err != nil {
			return nil, err
		}
		if streams, err = promutil.Register(reg, streams); err != nil {
			return nil, err
		}
	}
	return &metrics{
		refusedVec: refused, protocol: protocol,
		idle:     streams.WithLabelValues(protocol, "idle"),
		active:   streams.WithLabelValues(protocol, "active"),
		refusing: streams.WithLabelValues(protocol, "refusing"),
	}, nil
}

func (m *metrics) refused(reason string) { m.refusedVec.WithLabelValues(m.protocol, reason).Inc() }

func (m *metrics) set(s Stats) {
	m.idle.Set(float64(s.Idle))
	m.active.Set(float64(s.Active))
	m.refusing.Set(float64(s.Refusing))
}
