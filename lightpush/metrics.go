package lightpush

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// metrics are the service's Prometheus metrics; nil records nothing.
type metrics struct {
	responses *prometheus.CounterVec
	proofs    prometheus.Counter
	latency   prometheus.Histogram
	refusals  *prometheus.CounterVec
	slotFiles *prometheus.CounterVec
	refreshes prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Service) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{}
	var err error
	if m.responses, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waku_lightpush_v3_responses_total", Help: "Lightpush answers by status code (v2 answers counted by the code they stand for).",
	}, []string{"code"})); err != nil {
		return nil, err
	}
	if m.proofs, err = promutil.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rlnd_lightpush_proofs_generated_total", Help: "RLN proofs attached for light clients.",
	})); err != nil {
		return nil, err
	}
	if m.latency, err = promutil.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "rlnd_lightpush_proof_duration_seconds", Help: "Time to prove one light client's message.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 10),
	})); err != nil {
		return nil, err
	}
	if m.refusals, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rlnd_lightpush_proof_refusals_total", Help: "Requests for a proof that the service turned down, by reason.",
	}, []string{"reason"})); err != nil {
		return nil, err
	}
	if m.slotFiles, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rlnd_lightpush_slot_file_faults_total",
		Help: "Slot files found at start with a torn final record (cut) or damage (kept aside, open epochs blocked).",
	}, []string{"kind"})); err != nil {
		return nil, err
	}
	if m.refreshes, err = promutil.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rlnd_lightpush_path_refreshes_total",
		Help: "Memberships' cached proof parts brought up to date after the membership root changed, ahead of their next proof.",
	})); err != nil {
		return nil, err
	}
	previous := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "rlnd_lightpush_previous_root_proofs_total",
		Help: "Proofs made against a membership's previous root (still in the window) while its cached proof part was brought up to date.",
	}, func() float64 {
		if s.prover == nil {
			return 0
		}
		return float64(s.prover.StaleProofs())
	})
	if _, err := promutil.Register(reg, previous); err != nil {
		return nil, err
	}
	left := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rlnd_lightpush_slots_left", Help: "Proofs the service can still attach in the current epoch.",
	}, func() float64 { return float64(s.SlotsLeft()) })
	if _, err := promutil.Register(reg, left); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) refreshed() {
	if m != nil {
		m.refreshes.Inc()
	}
}

func (m *metrics) response(code StatusCode) {
	if m != nil {
		m.responses.WithLabelValues(strconv.Itoa(int(code))).Inc()
	}
}

func (m *metrics) proved(d time.Duration) {
	if m != nil {
		m.proofs.Inc()
		m.latency.Observe(d.Seconds())
	}
}

func (m *metrics) refused(reason string) {
	if m != nil {
		m.refusals.WithLabelValues(reason).Inc()
	}
}

func (m *metrics) slotFile(kind string) {
	if m != nil {
		m.slotFiles.WithLabelValues(kind).Inc()
	}
}

// ProofTiming is when a proof was made and how long it took.
type ProofTiming struct {
	At   time.Time     // when the proof was done
	Took time.Duration // time to prove (the prover's Attach: witness and proof)
}

// LastProof is the latest proof the service made (ok false before any):
// what nwaku reports as waku_rln_proof_generation_duration_seconds.
func (s *Service) LastProof() (ProofTiming, bool) {
	p := s.last.Load()
	if p == nil {
		return ProofTiming{}, false
	}
	return *p, true
}
