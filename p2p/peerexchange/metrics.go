package peerexchange

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// Outcomes of a request (the result label of rlnd_px_requests_total).
const (
	ResultServed            = "served"              // answered 200 with records
	ResultBadRequest        = "bad_request"         // unreadable, malformed or oversized request: 400
	ResultRateLimitedPeer   = "rate_limited_peer"   // the peer's bucket was empty: 429
	ResultRateLimitedPrefix = "rate_limited_prefix" // the address prefix's bucket was empty: 429
	ResultRateLimitedTotal  = "rate_limited_total"  // the total bucket was empty: 503
	ResultBusyPeer          = "busy_peer"           // admission: the peer's requests in progress: 429
	ResultBusyPrefix        = "busy_prefix"         // admission: the prefix's requests in progress: 429
	ResultBusyTotal         = "busy_total"          // admission: all requests in progress: 503
)

// Error types of waku_px_errors_total (nwaku's counter waku_px_errors,
// which nim-metrics exposes as waku_px_errors_total; its type label there
// is the exception text, here one of these).
const (
	errDecodeRPC = "decode_rpc_failure" // nwaku's name
	errWrite     = "write_failure"      // the answer could not be written
)

// metrics are the server's; nil records nothing.
type metrics struct {
	sent     prometheus.Counter
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{}
	var err error
	if m.sent, err = promutil.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "waku_px_peers_sent_total", Help: "Peer ENRs sent to peer-exchange requesters.",
	})); err != nil {
		return nil, err
	}
	if m.requests, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rlnd_px_requests_total",
		Help: "Peer-exchange requests by result: served, bad_request, rate_limited_peer, rate_limited_prefix, rate_limited_total, busy_peer, busy_prefix, busy_total (streams cut before a request are in rlnd_admission_refused_total).",
	}, []string{"result"})); err != nil {
		return nil, err
	}
	if m.errors, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waku_px_errors_total", Help: "Peer-exchange server errors by type: decode_rpc_failure, write_failure.",
	}, []string{"type"})); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) request(result string) {
	if m != nil {
		m.requests.WithLabelValues(result).Inc()
	}
}

func (m *metrics) peersSent(n int) {
	if m != nil {
		m.sent.Add(float64(n))
	}
}

func (m *metrics) error(kind string) {
	if m != nil {
		m.errors.WithLabelValues(kind).Inc()
	}
}
