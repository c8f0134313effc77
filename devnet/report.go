package devnet

import (
	"context"
	"slices"
	"time"

	"github.com/rlnd/rlnd/contracts/devchain"
)

// Report is what a devnet run measured.
type Report struct {
	Nodes                 int     `json:"nodes"`
	Members               int     `json:"members"`
	Published             int     `json:"published"`
	Expected              int     `json:"expected_deliveries"`
	Delivered             int     `json:"delivered"`
	DeliveredRatio        float64 `json:"delivered_ratio"`
	P50LatencyMs          float64 `json:"p50_latency_ms"`
	P99LatencyMs          float64 `json:"p99_latency_ms"`
	DuplicatesPerMessage  float64 `json:"duplicates_per_message"`
	SpamPublished         int     `json:"spam_published"`
	SpamDelivered         int     `json:"spam_delivered"`
	InvalidPublished      int     `json:"invalid_published"`
	InvalidDelivered      int     `json:"invalid_delivered"`
	DoubleSignalsDetected int     `json:"double_signals_detected"`
	SecretsRecovered      bool    `json:"secrets_recovered"`
	// RejectedBeyondFirstHop counts rejections at nodes the hostile node
	// is not connected to: nonzero means hostile traffic got past its
	// first hop.
	RejectedBeyondFirstHop int `json:"rejected_beyond_first_hop"`
	// Light clients without memberships publishing through a lightpush
	// service node that attaches proofs from its own memberships.
	LightpushSent        int `json:"lightpush_sent"`
	LightpushAccepted    int `json:"lightpush_accepted"`
	LightpushDelivered   int `json:"lightpush_delivered"`
	LightpushRejected429 int `json:"lightpush_rejected_429"`
	ProofsAttached       int `json:"proofs_attached"`
	// A store client offline while messages were published retrieves
	// them afterwards; a filter client streams them live.
	StoreOfflinePublished int `json:"store_offline_published"`
	StoreRetrieved        int `json:"store_retrieved"`
	FilterReceived        int `json:"filter_received"`
	// Discovery: the fewest other relay nodes any node was connected to
	// once discv5 (from node 0's record only) had run, and how long that
	// took from the last node's start.
	DiscoveryPeersMin int     `json:"discovery_peers_min"`
	DiscoverySeconds  float64 `json:"discovery_seconds"`
	ChainID           uint64  `json:"chain_id"`
	Contract          string  `json:"contract"`
	Seconds           float64 `json:"seconds"`
}

// OK is the devnet's verdict: every node found every other by discovery,
// every valid message reached every node, and no spam or invalid message
// got past the first hop.
func (r *Report) OK() bool {
	return r.Published > 0 && r.Delivered == r.Expected && r.DiscoveryPeersMin == r.Nodes-1 &&
		r.LightpushAccepted > 0 && r.LightpushDelivered == r.LightpushAccepted && r.ProofsAttached == r.LightpushAccepted &&
		r.LightpushAccepted+r.LightpushRejected429 == r.LightpushSent &&
		r.StoreRetrieved == r.StoreOfflinePublished && r.FilterReceived == r.StoreOfflinePublished && r.SpamDelivered == 0 && r.InvalidDelivered == 0 &&
		r.RejectedBeyondFirstHop == 0 && (r.SpamPublished == 0 || r.DoubleSignalsDetected > 0 && r.SecretsRecovered)
}

// Bounds on the waits after publishing; a wait that runs out leaves the
// shortfall in the report, which then fails OK.
const (
	deliveryWait = 15 * time.Second
	filterWait   = 10 * time.Second
	storeWait    = 10 * time.Second
)

// settle starts the report from what was sent, waits for the relayed
// messages to reach every node and for the filter client to have every
// valid one, and records how far they got.
func (r *recorder) settle(ctx context.Context, n *Network) *Report {
	r.mu.Lock()
	rep := &Report{
		Nodes: n.cfg.Nodes, Members: n.cfg.Members, ChainID: devchain.ChainID, Contract: n.registry.Address.Hex(),
		Published: len(r.sent), SpamPublished: r.spamSent, InvalidPublished: r.invalidSent,
		LightpushSent: r.lpSent, LightpushAccepted: r.lpAccepted, LightpushRejected429: r.lp429,
		DiscoveryPeersMin: n.discoveryMin, DiscoverySeconds: n.discoveryTime.Seconds(),
	}
	r.mu.Unlock()
	rep.Expected = rep.Published * n.cfg.Nodes
	_ = waitFor(ctx, deliveryWait, func() bool {
		return r.delivered() >= rep.Expected && r.lightpushDelivered() >= rep.LightpushAccepted
	})
	rep.LightpushDelivered = r.lightpushDelivered()
	valid := r.valid()
	rep.StoreOfflinePublished = len(valid)
	_ = waitFor(ctx, filterWait, func() bool {
		rep.FilterReceived = r.filteredOf(valid)
		return rep.FilterReceived == len(valid)
	})
	return rep
}

// retrieveFromStore brings the store client online now and has it page
// through the archive until it holds every valid message or storeWait
// passes.
func (n *Network) retrieveFromStore(ctx context.Context, rep *Report) error {
	h, err := n.newClientHost(ctx, n.storeAt, "store client")
	if err != nil {
		return err
	}
	valid := n.rec.valid()
	_ = waitFor(ctx, storeWait, func() bool {
		got, err := n.storeRetrieve(ctx, h, n.nodes[n.storeAt].Host().ID())
		if err != nil {
			return false
		}
		rep.StoreRetrieved = 0
		for h := range valid {
			if got[h] {
				rep.StoreRetrieved++
			}
		}
		return rep.StoreRetrieved == len(valid)
	})
	return nil
}

// tally counts deliveries, hostile messages that got through, latency,
// duplicates and the double-signalling evidence.
func (r *recorder) tally(rep *Report, n *Network) {
	r.mu.Lock()
	rep.Delivered = 0
	for _, got := range r.got {
		for h := range r.sent {
			if got[h] > 0 {
				rep.Delivered++
			}
		}
		for h, kind := range r.hostile {
			if got[h] > 0 {
				if kind == kindSpam {
					rep.SpamDelivered++
				} else {
					rep.InvalidDelivered++
				}
			}
		}
	}
	rep.DoubleSignalsDetected = len(r.evidence)
	rep.SecretsRecovered = len(r.evidence) > 0
	spammer := n.spammer().Identity.Secret
	for _, ev := range r.evidence {
		if !ev.Secret.Equal(&spammer) {
			rep.SecretsRecovered = false
		}
	}
	r.mu.Unlock()
	rep.DeliveredRatio = float64(rep.Delivered) / float64(max(rep.Expected, 1))
	lat := r.latencies()
	rep.P50LatencyMs = percentileMs(lat, 0.50)
	rep.P99LatencyMs = percentileMs(lat, 0.99)
	var dups uint64
	for i, nd := range n.nodes {
		st := nd.Relay().PubSub().Stats()
		dups += st.Duplicates
		if !slices.Contains(n.victims, i) {
			rep.RejectedBeyondFirstHop += int(st.Rejected)
		}
	}
	rep.DuplicatesPerMessage = float64(dups) / float64(max(rep.Published, 1))
}

// percentileMs is the q-quantile of sorted, in milliseconds.
func percentileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}
