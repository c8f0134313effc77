package store

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// metrics are the archive's and the store service's Prometheus metrics,
// one set for both: the archiver and the service of a node register them
// on one registry, and the second to register gets the first's; a nil
// *metrics records nothing. Names follow nwaku's waku_archive_* and
// waku_store_* where it has one; rlnd_* are ours.
type metrics struct {
	insertDuration prometheus.Histogram
	queryDuration  prometheus.Histogram
	queries        prometheus.Counter
	archiveErrors  *prometheus.CounterVec
	storeErrors    *prometheus.CounterVec
	droppedTotal   prometheus.Counter
	retainedTotal  prometheus.Counter
}

// newMetrics registers the metrics on reg, with gauges that read a's size
// (nil: not registered, nothing recorded).
func newMetrics(reg prometheus.Registerer, a Archive) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{}
	var err error
	latency := prometheus.ExponentialBuckets(0.0001, 2.5, 12)
	if m.insertDuration, err = promutil.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "waku_archive_insert_duration_seconds", Help: "Time to store one batch of messages.", Buckets: latency,
	})); err != nil {
		return nil, err
	}
	if m.queryDuration, err = promutil.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "waku_archive_query_duration_seconds", Help: "Time to answer one store query from the archive.", Buckets: latency,
	})); err != nil {
		return nil, err
	}
	if m.queries, err = promutil.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "waku_store_queries", Help: "Store queries received.",
	})); err != nil {
		return nil, err
	}
	if m.archiveErrors, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waku_archive_errors", Help: "Archive errors by type: insert_failure, invalid_message, retention_failure.",
	}, []string{"type"})); err != nil {
		return nil, err
	}
	if m.storeErrors, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waku_store_errors", Help: "Store queries answered with an error, by type: decode_rpc_failure, bad_request, store_failure.",
	}, []string{"type"})); err != nil {
		return nil, err
	}
	if m.droppedTotal, err = promutil.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rlnd_archive_dropped_total", Help: "Messages never stored: the archive kept failing and the pending bound was reached.",
	})); err != nil {
		return nil, err
	}
	if m.retainedTotal, err = promutil.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rlnd_archive_retention_deleted_total", Help: "Messages removed by retention.",
	})); err != nil {
		return nil, err
	}
	size := func(f func(ctx context.Context) (int64, error)) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n, err := f(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}
	}
	gauges := []prometheus.Collector{prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "waku_archive_messages", Help: "Messages in the archive.", ConstLabels: prometheus.Labels{"type": "stored"},
	}, size(func(ctx context.Context) (int64, error) { n, err := a.Count(ctx); return int64(n), err }))}
	if b, ok := a.(interface {
		Bytes(context.Context) (int64, error)
	}); ok {
		gauges = append(gauges, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rlnd_archive_bytes", Help: "Encoded size of the messages in the archive.",
		}, size(b.Bytes)))
	}
	for _, g := range gauges {
		if _, err := promutil.Register(reg, g); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) inserted(d time.Duration) {
	if m != nil {
		m.insertDuration.Observe(d.Seconds())
	}
}

func (m *metrics) queried(d time.Duration) {
	if m != nil {
		m.queries.Inc()
		m.queryDuration.Observe(d.Seconds())
	}
}

func (m *metrics) error(kind string) {
	if m != nil {
		m.archiveErrors.WithLabelValues(kind).Inc()
	}
}

func (m *metrics) queryError(kind string) {
	if m != nil {
		m.storeErrors.WithLabelValues(kind).Inc()
	}
}

func (m *metrics) dropped(n int) {
	if m != nil {
		m.droppedTotal.Add(float64(n))
	}
}

func (m *metrics) retained(n int) {
	if m != nil && n > 0 {
		m.retainedTotal.Add(float64(n))
	}
}
