package relay

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// Label values of waku_rln_invalid_messages_total_total{type}, as nwaku's.
const (
	invalidTimestamp         = "invalid_timestamp"
	invalidTimestampMismatch = "timestamp_mismatch"
	invalidEpoch             = "invalid_epoch"
	invalidRoot              = "invalid_root"
	invalidProof             = "invalid_proof"
)

// validatorMetrics are the validator's Prometheus metrics. Names follow
// nwaku's waku_rln_* metrics (waku/waku_rln_relay/protocol_metrics.nim)
// where nwaku has a counterpart; the rest are rlnd_*. nwaku declares its
// counters with names that end in _total already, and nim-metrics appends
// _total to every counter's samples: a scrape of nwaku reads
// waku_rln_messages_total_total, and that is what nwaku's dashboards query.
// The counters here carry those exposed names. A nil *validatorMetrics
// records nothing.
type validatorMetrics struct {
	// nwaku's.
	messages     prometheus.Counter     // waku_rln_messages_total_total
	spam         prometheus.Counter     // waku_rln_spam_messages_total_total
	invalid      *prometheus.CounterVec // waku_rln_invalid_messages_total_total{type}
	validRoots   prometheus.Histogram   // waku_rln_valid_messages_total (a histogram: no second _total)
	errs         *prometheus.CounterVec // waku_rln_errors_total_total{type}
	verifyTotal  prometheus.Counter     // waku_rln_proof_verification_total_total
	verifyTiming prometheus.Gauge       // waku_rln_proof_verification_duration_seconds

	// rlnd's.
	doubleSignals prometheus.Counter     // rlnd_rln_double_signals_total
	outcomes      *prometheus.CounterVec // rlnd_relay_validation_outcomes_total{result,reason}
	batchSize     prometheus.Histogram   // rlnd_rln_proof_batch_size
	batchDuration prometheus.Histogram   // rlnd_rln_proof_batch_duration_seconds
}

// newValidatorMetrics registers the validator's metrics on reg; nil
// registers and records nothing. A registry that holds them already
// (another validator of the same node) gives the registered ones.
func newValidatorMetrics(reg prometheus.Registerer) (*validatorMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &validatorMetrics{}
	var err error
	if m.messages, err = promutil.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "waku_rln_messages_total_total",
		Help: "Messages checked by the RLN validator.",
	})); err != nil {
		return nil, err
	}
	if m.spam, err = promutil.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "waku_rln_spam_messages_total_total",
		Help: "Messages with a valid proof whose nullifier was already seen in its epoch (duplicates and double signals).",
	})); err != nil {
		return nil, err
	}
	if m.invalid, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waku_rln_invalid_messages_total_total",
		Help: "Messages refused by the RLN validator, by type.",
	}, []string{"type"})); err != nil {
		return nil, err
	}
	if m.validRoots, err = promutil.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "waku_rln_valid_messages_total",
		Help:    "Valid RLN messages by the age of their root in the window of roots (0: the current root).",
		Buckets: []float64{0, 1, 2, 5, 10, 20, 30, 40, 50},
	})); err != nil {
		return nil, err
	}
	if m.errs, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waku_rln_errors_total_total",
		Help: "Messages the RLN validator could not judge, by type.",
	}, []string{"type"})); err != nil {
		return nil, err
	}
	if m.verifyTotal, err = promutil.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "waku_rln_proof_verification_total_total",
		Help: "RLN proofs verified.",
	})); err != nil {
		return nil, err
	}
	if m.verifyTiming, err = promutil.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "waku_rln_proof_verification_duration_seconds",
		Help: "Verification time per proof in the last batch of proofs.",
	})); err != nil {
		return nil, err
	}
	if m.doubleSignals, err = promutil.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rlnd_rln_double_signals_total",
		Help: "Double signals caught (same nullifier, another share), each with the member's secret recovered.",
	})); err != nil {
		return nil, err
	}
	if m.outcomes, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rlnd_relay_validation_outcomes_total",
		Help: "Relay messages validated, by result and reason.",
	}, []string{"result", "reason"})); err != nil {
		return nil, err
	}
	if m.batchSize, err = promutil.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "rlnd_rln_proof_batch_size",
		Help:    "Proofs per batched verification.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 8),
	})); err != nil {
		return nil, err
	}
	if m.batchDuration, err = promutil.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "rlnd_rln_proof_batch_duration_seconds",
		Help:    "Time of one batched proof verification.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
	})); err != nil {
		return nil, err
	}
	for _, t := range []string{invalidTimestamp, invalidTimestampMismatch, invalidEpoch, invalidRoot, invalidProof} {
		m.invalid.WithLabelValues(t)
	}
	return m, nil
}

func (m *validatorMetrics) rlnMessage() {
	if m != nil {
		m.messages.Inc()
	}
}

func (m *validatorMetrics) invalidMsg(kind string) {
	if m != nil {
		m.invalid.WithLabelValues(kind).Inc()
	}
}

func (m *validatorMetrics) valid(rootAge int) {
	if m != nil {
		m.validRoots.Observe(float64(rootAge))
	}
}

func (m *validatorMetrics) spamMsg(double bool) {
	if m == nil {
		return
	}
	m.spam.Inc()
	if double {
		m.doubleSignals.Inc()
	}
}

func (m *validatorMetrics) logFull() { m.unjudged(ReasonNullifierLogFull) }

// unjudged counts a message the validator could not judge, by reason.
func (m *validatorMetrics) unjudged(reason string) {
	if m != nil {
		m.errs.WithLabelValues(reason).Inc()
	}
}

func (m *validatorMetrics) verified(n int, d time.Duration) {
	if m == nil || n == 0 {
		return
	}
	m.verifyTotal.Add(float64(n))
	m.verifyTiming.Set(d.Seconds() / float64(n))
	m.batchSize.Observe(float64(n))
	m.batchDuration.Observe(d.Seconds())
}

func (m *validatorMetrics) outcome(o Outcome) {
	if m != nil {
		m.outcomes.WithLabelValues(o.Result.String(), o.Reason).Inc()
	}
}

// messageSizeBuckets are nwaku's buckets of waku_histogram_message_size,
// in kB (waku/node/waku_node.nim in its current sources).
var messageSizeBuckets = []float64{0, 1, 3, 5, 15, 50, 75, 100, 125, 150, 500, 700, 1000}

// registerSizes registers nwaku's message size histogram on reg (nil:
// none); a registry that has one already (another relay) shares it.
func registerSizes(reg prometheus.Registerer) (prometheus.Histogram, error) {
	if reg == nil {
		return nil, nil
	}
	h, err := promutil.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "waku_histogram_message_size", Help: "Payload size of the messages relayed to us, in kB.", Buckets: messageSizeBuckets,
	}))
	if err != nil {
		return nil, fmt.Errorf("relay: register metrics: %w", err)
	}
	return h, nil
}

// relayCollector reports the relay's counters at scrape time, under nwaku's
// names where nwaku has one (waku_node_messages_total,
// libp2p_gossipsub_peers_per_topic_mesh, and nim-libp2p's libp2p_pubsub_*
// that nwaku's dashboards read) and rlnd_* otherwise.
type relayCollector struct {
	r *Relay

	messages, mesh, topicPeers *prometheus.Desc
	gossip                     *prometheus.Desc
	delivered                  *prometheus.Desc
	// nim-libp2p's gauges of pubsub peers and subscribed topics, and its
	// counters of validation results (libp2p_pubsub_validation_*_total).
	pubsubPeers, topics    *prometheus.Desc
	valSuccess, valFailure *prometheus.Desc
	valIgnore              *prometheus.Desc
}

// registerCollector registers r's collector on reg (nil: not registered).
// A registry that holds one already (another relay) keeps it: the first
// relay registered is the one reported.
func registerCollector(reg prometheus.Registerer, r *Relay) error {
	if reg == nil {
		return nil
	}
	c := &relayCollector{
		r:           r,
		messages:    prometheus.NewDesc("waku_node_messages_total", "Messages relayed to the application, by type.", []string{"type"}, nil),
		mesh:        prometheus.NewDesc("libp2p_gossipsub_peers_per_topic_mesh", "Gossipsub mesh peers per topic.", []string{"topic"}, nil),
		topicPeers:  prometheus.NewDesc("libp2p_gossipsub_peers_per_topic_gossipsub", "Peers subscribed to each topic.", []string{"topic"}, nil),
		gossip:      prometheus.NewDesc("rlnd_gossipsub_events_total", "Gossipsub router events by kind.", []string{"kind"}, nil),
		delivered:   prometheus.NewDesc("rlnd_relay_subscriber_drops_total", "Deliveries dropped because a local subscriber was slow.", nil, nil),
		pubsubPeers: prometheus.NewDesc("libp2p_pubsub_peers", "Connected peers the gossipsub router relays with (peers that speak Waku relay).", nil, nil),
		topics:      prometheus.NewDesc("libp2p_pubsub_topics", "Pubsub topics (shards) the node is subscribed to.", nil, nil),
		valSuccess:  prometheus.NewDesc("libp2p_pubsub_validation_success_total", "Messages from peers the validator accepted (relayed on and delivered; the node's own are not validated by the router).", nil, nil),
		valFailure:  prometheus.NewDesc("libp2p_pubsub_validation_failure_total", "Messages the validator rejected (their sender penalised).", nil, nil),
		valIgnore:   prometheus.NewDesc("libp2p_pubsub_validation_ignore_total", "Messages the validator ignored (neither relayed nor penalised).", nil, nil),
	}
	if _, err := promutil.Register(reg, c); err != nil {
		return fmt.Errorf("relay: register metrics: %w", err)
	}
	return nil
}

func (c *relayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.messages, c.mesh, c.topicPeers, c.gossip, c.delivered,
		c.pubsubPeers, c.topics, c.valSuccess, c.valFailure, c.valIgnore} {
		ch <- d
	}
}

func (c *relayCollector) Collect(ch chan<- prometheus.Metric) {
	ps := c.r.PubSub()
	st := ps.Stats()
	ch <- prometheus.MustNewConstMetric(c.messages, prometheus.CounterValue, float64(st.Accepted), "relay")
	ch <- prometheus.MustNewConstMetric(c.pubsubPeers, prometheus.GaugeValue, float64(st.Peers))
	ch <- prometheus.MustNewConstMetric(c.topics, prometheus.GaugeValue, float64(len(c.r.Topics())))
	ch <- prometheus.MustNewConstMetric(c.valSuccess, prometheus.CounterValue, float64(st.Accepted))
	ch <- prometheus.MustNewConstMetric(c.valFailure, prometheus.CounterValue, float64(st.Rejected))
	ch <- prometheus.MustNewConstMetric(c.valIgnore, prometheus.CounterValue, float64(st.Ignored))
	for _, t := range c.r.Topics() {
		ch <- prometheus.MustNewConstMetric(c.mesh, prometheus.GaugeValue, float64(len(ps.MeshPeers(t))), t)
		ch <- prometheus.MustNewConstMetric(c.topicPeers, prometheus.GaugeValue, float64(len(ps.TopicPeers(t))), t)
	}
	for kind, v := range map[string]uint64{
		"received": st.MessagesReceived, "validated": st.MessagesValidated, "duplicate": st.Duplicates,
		"throttled": st.Throttled, "not_subscribed": st.NotSubscribed, "invalid_format": st.InvalidFormat,
		"accepted": st.Accepted, "rejected": st.Rejected, "ignored": st.Ignored, "published": st.Published,
		"forwarded": st.Forwarded, "graylisted_rpc": st.GraylistedRPCs, "ihave_ignored": st.IHaveIgnored,
		"iwant_served": st.IWantServed, "graft_refused": st.GraftsRefused, "broken_promise": st.BrokenPromises,
		"rpc_in": st.RPCsIn, "rpc_out": st.RPCsOut, "send_dropped": st.SendsDropped, "bad_frame": st.BadFrames,
		"validation_full": st.ValidationFull, "slow_frame": st.SlowFrames, "oversize_frame_out": st.OversizeOut,
		"px_dial": st.PXDials, "px_bad_record": st.PXBadRecords,
	} {
		ch <- prometheus.MustNewConstMetric(c.gossip, prometheus.CounterValue, float64(v), kind)
	}
	ch <- prometheus.MustNewConstMetric(c.delivered, prometheus.CounterValue, float64(c.r.Dropped()))
}
