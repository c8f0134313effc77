package relay

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values of waku_rln_invalid_messages_total{type}, as nwaku's.
const (
	invalidTimestamp         = "invalid_timestamp"
	invalidTimestampMismatch = "timestamp_mismatch"
	invalidEpoch             = "invalid_epoch"
	invalidRoot              = "invalid_root"
	invalidProof             = "invalid_proof"
)

// ValidatorMetrics are the validator's Prometheus metrics. Names follow
// nwaku's waku_rln_* metrics (waku/waku_rln_relay/protocol_metrics.nim)
// where nwaku has a counterpart; the rest are rlnd_*. A nil
// *ValidatorMetrics records nothing.
type ValidatorMetrics struct {
	// nwaku's.
	messages     prometheus.Counter     // waku_rln_messages_total
	spam         prometheus.Counter     // waku_rln_spam_messages_total
	invalid      *prometheus.CounterVec // waku_rln_invalid_messages_total{type}
	validRoots   prometheus.Histogram   // waku_rln_valid_messages_total
	errs         *prometheus.CounterVec // waku_rln_errors_total{type}
	verifyTotal  prometheus.Counter     // waku_rln_proof_verification_total
	verifyTiming prometheus.Gauge       // waku_rln_proof_verification_duration_seconds

	// rlnd's.
	doubleSignals prometheus.Counter     // rlnd_rln_double_signals_total
	outcomes      *prometheus.CounterVec // rlnd_relay_validation_outcomes_total{result,reason}
	batchSize     prometheus.Histogram   // rlnd_rln_proof_batch_size
	batchDuration prometheus.Histogram   // rlnd_rln_proof_batch_duration_seconds
}

// NewValidatorMetrics creates the metrics and registers them with reg (nil:
// not registered). Registering with a registry that already holds them
// (another validator of the same node) reuses the registered ones.
func NewValidatorMetrics(reg prometheus.Registerer) (*ValidatorMetrics, error) {
	m := &ValidatorMetrics{
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waku_rln_messages_total",
			Help: "Messages checked by the RLN validator.",
		}),
		spam: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waku_rln_spam_messages_total",
			Help: "Messages with a valid proof whose nullifier was already seen in its epoch (duplicates and double signals).",
		}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waku_rln_invalid_messages_total",
			Help: "Messages refused by the RLN validator, by type.",
		}, []string{"type"}),
		validRoots: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "waku_rln_valid_messages_total",
			Help:    "Valid RLN messages by the age of their root in the window of roots (0: the current root).",
			Buckets: []float64{0, 1, 2, 5, 10, 20, 30, 40, 50},
		}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waku_rln_errors_total",
			Help: "Messages the RLN validator could not judge, by type.",
		}, []string{"type"}),
		verifyTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waku_rln_proof_verification_total",
			Help: "RLN proofs verified.",
		}),
		verifyTiming: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waku_rln_proof_verification_duration_seconds",
			Help: "Verification time per proof in the last batch of proofs.",
		}),
		doubleSignals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rlnd_rln_double_signals_total",
			Help: "Double signals caught (same nullifier, another share), each with the member's secret recovered.",
		}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rlnd_relay_validation_outcomes_total",
			Help: "Relay messages validated, by result and reason.",
		}, []string{"result", "reason"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "rlnd_rln_proof_batch_size",
			Help:    "Proofs per batched verification.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 8),
		}),
		batchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "rlnd_rln_proof_batch_duration_seconds",
			Help:    "Time of one batched proof verification.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
	}
	for _, t := range []string{invalidTimestamp, invalidTimestampMismatch, invalidEpoch, invalidRoot, invalidProof} {
		m.invalid.WithLabelValues(t)
	}
	if reg == nil {
		return m, nil
	}
	var err error
	register := func(c prometheus.Collector) prometheus.Collector {
		if err != nil {
			return c
		}
		e := reg.Register(c)
		if e == nil {
			return c
		}
		var are prometheus.AlreadyRegisteredError
		if errors.As(e, &are) {
			return are.ExistingCollector
		}
		err = fmt.Errorf("relay: register validator metrics: %w", e)
		return c
	}
	m.messages = register(m.messages).(prometheus.Counter)
	m.spam = register(m.spam).(prometheus.Counter)
	m.invalid = register(m.invalid).(*prometheus.CounterVec)
	m.validRoots = register(m.validRoots).(prometheus.Histogram)
	m.errs = register(m.errs).(*prometheus.CounterVec)
	m.verifyTotal = register(m.verifyTotal).(prometheus.Counter)
	m.verifyTiming = register(m.verifyTiming).(prometheus.Gauge)
	m.doubleSignals = register(m.doubleSignals).(prometheus.Counter)
	m.outcomes = register(m.outcomes).(*prometheus.CounterVec)
	m.batchSize = register(m.batchSize).(prometheus.Histogram)
	m.batchDuration = register(m.batchDuration).(prometheus.Histogram)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *ValidatorMetrics) rlnMessage() {
	if m != nil {
		m.messages.Inc()
	}
}

func (m *ValidatorMetrics) invalidMsg(kind string) {
	if m != nil {
		m.invalid.WithLabelValues(kind).Inc()
	}
}

func (m *ValidatorMetrics) valid(rootAge int) {
	if m != nil {
		m.validRoots.Observe(float64(rootAge))
	}
}

func (m *ValidatorMetrics) spamMsg(double bool) {
	if m == nil {
		return
	}
	m.spam.Inc()
	if double {
		m.doubleSignals.Inc()
	}
}

func (m *ValidatorMetrics) logFull() {
	if m != nil {
		m.errs.WithLabelValues(ReasonNullifierLogFull).Inc()
	}
}

func (m *ValidatorMetrics) verified(n int, d time.Duration) {
	if m == nil || n == 0 {
		return
	}
	m.verifyTotal.Add(float64(n))
	m.verifyTiming.Set(d.Seconds() / float64(n))
	m.batchSize.Observe(float64(n))
	m.batchDuration.Observe(d.Seconds())
}

func (m *ValidatorMetrics) outcome(o Outcome) {
	if m != nil {
		m.outcomes.WithLabelValues(o.Result.String(), o.Reason).Inc()
	}
}
