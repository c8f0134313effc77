package node

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/internal/promutil"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/relay/pubsub"
	"github.com/rlnd/rlnd/store"
)

// Types of waku_node_errors. nwaku counts there the failures of its node's
// own operations (a filter subscription it asked for, a keep-alive ping, a
// database it could not open); these are rlnd's operations of that kind.
// Failures of what peers ask of the node are counted by each protocol
// (waku_store_errors, waku_filter_errors, waku_px_errors_total, ...), failed
// dials in waku_peers_dials_total.
const (
	// errPublish: a message of the node's own (Publish, the REST API's
	// relay publish) was not published for a reason of the node's: an
	// internal error, the prover busy, no proof slot left in the epoch, or
	// no relay peer took it. A message refused as malformed, too large,
	// invalid or on a shard the node does not relay is the caller's error,
	// not counted.
	errPublish = "publish_failure"
	// errPeerExchange: a round of asking discovery.peer-exchange-node for
	// peers failed (the dial, the request or the answer).
	errPeerExchange = "peer_exchange_failure"
	// errMembershipSync: the node turned unhealthy because the membership
	// sync stopped or stalled; counted once each time it turns so.
	errMembershipSync = "membership_sync_failure"
)

// nodeMetrics are the node's own metrics besides its components': nwaku's
// waku_node_errors and the time to import the keystore's memberships. A
// nil *nodeMetrics records nothing.
type nodeMetrics struct {
	errors *prometheus.GaugeVec // waku_node_errors{type}
	// credentials is waku_rln_membership_credentials_import_duration_seconds.
	credentials prometheus.Gauge
}

// newNodeMetrics registers the node's metrics on reg; a registry that holds
// them already (another node) gives the registered ones.
func newNodeMetrics(reg prometheus.Registerer) (*nodeMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &nodeMetrics{}
	var err error
	// A gauge, as nwaku declares it (declarePublicGauge), though it only
	// grows: its dashboards read it with increase() and as it is.
	if m.errors, err = promutil.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "waku_node_errors",
		Help: "Failed operations of the node's own, by type (it only grows): " +
			errPublish + " (a message of the node's own, from the REST API, not published: internal error, prover busy, out of proofs, no relay peers), " +
			errPeerExchange + " (asking discovery.peer-exchange-node for peers failed), " +
			errMembershipSync + " (the membership sync stopped or stalled: once each time the node turns unhealthy).",
	}, []string{"type"})); err != nil {
		return nil, fmt.Errorf("node: register metrics: %w", err)
	}
	for _, t := range []string{errPublish, errPeerExchange, errMembershipSync} {
		m.errors.WithLabelValues(t)
	}
	if m.credentials, err = promutil.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "waku_rln_membership_credentials_import_duration_seconds",
		Help: "Time the last import of RLN memberships from a keystore (rln.keystore, lightpush.keystore) took at start: reading the file and decrypting every credential, in seconds; 0 without a keystore.",
	})); err != nil {
		return nil, fmt.Errorf("node: register metrics: %w", err)
	}
	return m, nil
}

// nodeError counts a failed operation of type kind.
func (m *nodeMetrics) nodeError(kind string) {
	if m != nil {
		m.errors.WithLabelValues(kind).Inc()
	}
}

// published counts a publish of the node's own that failed for a reason of
// the node's (see errPublish).
func (m *nodeMetrics) published(code lightpush.StatusCode) {
	switch code {
	case lightpush.StatusInternal, lightpush.StatusUnavailable, lightpush.StatusOutOfProofs, lightpush.StatusNoPeers:
		m.nodeError(errPublish)
	}
}

// imported records how long importing a keystore's memberships took.
func (m *nodeMetrics) imported(d time.Duration) {
	if m != nil {
		m.credentials.Set(d.Seconds())
	}
}

// registerProofMetrics registers nwaku's gauges of the node's RLN proofs,
// read at scrape time from the services that prove: proof as a service
// (lightpush with memberships) and the node's own publisher
// (rln.keystore). Both prove through relay.MemberProver, as nwaku's node
// proves its own messages and lightpush clients' with its membership.
func (n *Node) registerProofMetrics() error {
	var services []*lightpush.Service
	for _, s := range []*lightpush.Service{n.lp, n.own} {
		if s != nil {
			services = append(services, s)
		}
	}
	if _, err := promutil.Register(n.registry, &proofCollector{services: services}); err != nil {
		return fmt.Errorf("node: register metrics: %w", err)
	}
	return nil
}

// proofCollector is nwaku's RLN proof gauges over the node's proving
// services.
type proofCollector struct {
	services []*lightpush.Service
}

var (
	proofDurationDesc = prometheus.NewDesc("waku_rln_proof_generation_duration_seconds",
		"Time the node's latest RLN proof took to generate (witness and proof), in seconds; 0 before any.", nil, nil)
	proofsTotalDesc = prometheus.NewDesc("waku_rln_total_generated_proofs",
		"RLN proofs the node generated since it started (for light clients and for its own messages).", nil, nil)
	proofsLeftDesc = prometheus.NewDesc("waku_rln_remaining_proofs_per_epoch",
		"RLN proofs the node's memberships can still make in the current epoch (their message slots left).", nil, nil)
)

func (c *proofCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- proofDurationDesc
	ch <- proofsTotalDesc
	ch <- proofsLeftDesc
}

func (c *proofCollector) Collect(ch chan<- prometheus.Metric) {
	var last lightpush.ProofTiming
	total, left := 0, 0
	for _, s := range c.services {
		if p, ok := s.LastProof(); ok && p.At.After(last.At) {
			last = p
		}
		total += s.ProofsAttached()
		left += s.SlotsLeft()
	}
	ch <- prometheus.MustNewConstMetric(proofDurationDesc, prometheus.GaugeValue, last.Took.Seconds())
	ch <- prometheus.MustNewConstMetric(proofsTotalDesc, prometheus.GaugeValue, float64(total))
	ch <- prometheus.MustNewConstMetric(proofsLeftDesc, prometheus.GaugeValue, float64(left))
}

// streamProtocols are the protocols waku_streams_peers is labelled with:
// the Waku protocols nwaku labels waku_connected_peers and
// waku_streams_peers with (its peer store's Waku codecs), and gossipsub's
// own ids, which rlnd's relay also serves (go-libp2p and js-libp2p peers,
// and other rlnd nodes, relay on /meshsub/1.2.0). Only these are counted,
// so a peer opening streams of made-up protocols cannot grow the label set.
var streamProtocols = []protocol.ID{
	pubsub.WakuRelayID,
	pubsub.Meshsub12ID,
	pubsub.Meshsub11ID,
	store.Protocol,
	"/vac/waku/store/2.0.0-beta4", // nwaku's legacy store; rlnd does not serve it
	lightpush.ProtocolV3,
	lightpush.ProtocolV2,
	filter.ProtocolSubscribe,
	filter.ProtocolPush,
	p2p.ProtocolPeerExchange,
	p2p.ProtocolMetadata,
}

// Direction label values, as nwaku prints nim-libp2p's Direction.
const (
	dirIn  = "In"
	dirOut = "Out"
)

var streamsDesc = prometheus.NewDesc("waku_streams_peers",
	"Open streams per direction (In: opened by the peer) and Waku protocol.", []string{"direction", "protocol"}, nil)

// streamsCollector is nwaku's waku_streams_peers, counted at scrape time
// from the host's connections.
type streamsCollector struct {
	h host.Host
}

func (c *streamsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- streamsDesc }

func (c *streamsCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[[2]string]int{}
	for _, conn := range c.h.Network().Conns() {
		for _, s := range conn.GetStreams() {
			dir := dirIn
			if s.Stat().Direction == network.DirOutbound {
				dir = dirOut
			}
			counts[[2]string{dir, string(s.Protocol())}]++
		}
	}
	for _, dir := range []string{dirIn, dirOut} {
		for _, p := range streamProtocols {
			ch <- prometheus.MustNewConstMetric(streamsDesc, prometheus.GaugeValue, float64(counts[[2]string{dir, string(p)}]), dir, string(p))
		}
	}
}

// registerLateMetrics registers the collectors that read the node's
// services, once they are all started: waku_streams_peers, and with RLN on
// the proof gauges.
func (n *Node) registerLateMetrics() error {
	if _, err := promutil.Register(n.registry, &streamsCollector{h: n.host.Libp2p()}); err != nil {
		return fmt.Errorf("node: register metrics: %w", err)
	}
	if n.cfg.RLN.Enabled {
		return n.registerProofMetrics()
	}
	return nil
}
