package filter

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// metrics are the service's Prometheus metrics; nil records nothing. Names
// follow nwaku's waku_filter_* where it has one (waku_filter_v2/
// protocol_metrics.nim), as a scrape of nwaku shows them: nwaku declares
// waku_filter_requests and waku_filter_errors as gauges, so they carry no
// _total (its dashboards read them so); the code label and the push
// counter are ours.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	pushes   *prometheus.CounterVec
	refusals *prometheus.CounterVec
	removals *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, s *Service) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{}
	var err error
	if m.requests, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waku_filter_requests", Help: "Filter-subscribe requests by type and answer status code.",
	}, []string{"type", "code"})); err != nil {
		return nil, err
	}
	if m.duration, err = promutil.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "waku_filter_request_duration_seconds", Help: "Time to handle a filter-subscribe request.",
		Buckets: prometheus.ExponentialBuckets(0.00001, 4, 10),
	}, []string{"type"})); err != nil {
		return nil, err
	}
	if m.errors, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waku_filter_errors", Help: "Filter errors by type.",
	}, []string{"type"})); err != nil {
		return nil, err
	}
	if m.pushes, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rlnd_filter_pushes_total", Help: "Messages for subscribers by result: ok (pushed), failed (the push failed), dropped (the subscriber's queue was full).",
	}, []string{"result"})); err != nil {
		return nil, err
	}
	if m.refusals, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rlnd_filter_refused_total", Help: "Subscriptions refused by the limit they were over: max_peers (503), max_peers_per_prefix (429: the subscriber's /24 or /56 has its share), max_criteria_per_peer (503).",
	}, []string{"reason"})); err != nil {
		return nil, err
	}
	if m.removals, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rlnd_filter_removed_total", Help: "Subscribers removed, by reason: unsubscribed, expired (no ping within the expiry), unreachable (pushes kept failing with no connection left), push_failures (pushes kept failing while connected).",
	}, []string{"reason"})); err != nil {
		return nil, err
	}
	for _, g := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "waku_filter_subscriptions", Help: "Peers with a filter subscription.",
		}, func() float64 { return float64(s.Peers()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rlnd_filter_criteria", Help: "Filter criteria (pubsub topic, content topic) of all subscribers.",
		}, func() float64 { return float64(s.Criteria()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rlnd_filter_queued_bytes", Help: "Framed bytes waiting in the subscribers' push queues.",
		}, func() float64 { return float64(s.QueuedBytes()) }),
	} {
		if _, err := promutil.Register(reg, g); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) request(kind string, code StatusCode, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(kind, strconv.Itoa(int(code))).Inc()
	if d > 0 {
		m.duration.WithLabelValues(kind).Observe(d.Seconds())
	}
}

func (m *metrics) error(kind string) {
	if m != nil {
		m.errors.WithLabelValues(kind).Inc()
	}
}

func (m *metrics) push(result string) {
	if m != nil {
		m.pushes.WithLabelValues(result).Inc()
		if result == "failed" {
			m.errors.WithLabelValues("push_failure").Inc()
		}
	}
}

func (m *metrics) refused(reason string) {
	if m != nil {
		m.refusals.WithLabelValues(reason).Inc()
	}
}

func (m *metrics) removed(reason string) {
	if m != nil {
		m.removals.WithLabelValues(reason).Inc()
	}
}
