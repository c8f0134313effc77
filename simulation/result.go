package simulation

import "time"

// Result is what a run measured. Times are simulated unless named wall.
type Result struct {
	Scenario Scenario `json:"scenario"`
	// Messages are the honest messages published during Duration.
	Messages int `json:"messages"`
	// DeliveryRatio is the deliveries made over those expected (each
	// honest message to every node relaying its shard while it was up).
	DeliveryRatio float64 `json:"delivery_ratio"`
	// Latency is, over messages, the time to reach 50%, 95% and 100% of
	// the subscribers of its shard (p50 and p99 over messages of each).
	Latency LatencyStats `json:"latency"`
	// Bandwidth per node, in and out, data (publish entries) and control
	// (everything else: IHAVE, IWANT, GRAFT, PRUNE, IDONTWANT,
	// subscriptions, framing), in KB/s (1 KB = 1000 bytes) over Duration
	// and Drain.
	Bandwidth BandwidthStats `json:"bandwidth"`
	// Amplification is the bytes of message data sent in the network per
	// byte of message delivered (payload bytes sent / (payload bytes x
	// subscribers)).
	Amplification float64 `json:"amplification"`
	// DuplicatesPerMessage is, averaged over messages, the copies a node
	// received beyond the first.
	DuplicatesPerMessage float64 `json:"duplicates_per_message"`
	// Hops: the hop count at which each node first received a message
	// (p50, p99, max).
	Hops Percentiles `json:"hops"`
	// HopCounts is the histogram behind Hops: HopCounts[h] is the first
	// receipts of honest messages by a node h hops from the publisher
	// (empty without any).
	HopCounts []int64 `json:"hop_counts,omitempty"`
	// MeshDegrees is the distribution of mesh sizes at the end (degree ->
	// nodes), over every node's shards.
	MeshDegrees map[int]int `json:"mesh_degrees"`
	// Spam is what the attacks achieved.
	Spam SpamStats `json:"spam"`
	// DeliveryOverTime is the fraction of expected deliveries made by each
	// second of simulated time since Warmup ended (a point per second).
	DeliveryOverTime []float64 `json:"delivery_over_time"`
	// LatencyCDF is (seconds, fraction of deliveries within) points.
	LatencyCDF [][2]float64 `json:"latency_cdf"`
	// Sim is the simulator's own cost: not part of the result's JSON,
	// which the same seed reproduces byte for byte (it is reported apart).
	Sim SimStats `json:"-"`
}

// LatencyStats are the times to reach 50%, 95% and 100% of the
// subscribers, each as p50/p99 over messages, in milliseconds.
type LatencyStats struct {
	To50  Percentiles `json:"to_50"`
	To95  Percentiles `json:"to_95"`
	To100 Percentiles `json:"to_100"`
}

// Percentiles of a quantity.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// BandwidthStats are per-node rates in KB/s: the mean over nodes and the
// p50/p99.
type BandwidthStats struct {
	DataIn     Spread `json:"data_in"`
	DataOut    Spread `json:"data_out"`
	ControlIn  Spread `json:"control_in"`
	ControlOut Spread `json:"control_out"`
	// PerNode is each node's total in and out (KB/s), by node index, for
	// the bandwidth plot.
	PerNodeIn  []float64 `json:"per_node_in,omitempty"`
	PerNodeOut []float64 `json:"per_node_out,omitempty"`
}

// Spread is a quantity's mean and percentiles over nodes.
type Spread struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
}

// SpamStats are what hostile messages achieved: how many were sent, how
// many nodes delivered one (to the application), and the farthest hop a
// copy travelled.
//
// An over-rate member's message is spam when the network had already
// accepted a message with its nullifier (the same epoch and message id)
// when it was sent: only then can a node tell it is over the rate. When
// every earlier message with the nullifier was dropped before any node
// accepted it (typically because the member's peers had graylisted it
// for its spam, until their scores decayed), the message is the first use
// of its nullifier the network sees: within the rate, relayed like any
// valid message, and counted in FirstUses, not as spam.
type SpamStats struct {
	// Sent is the spam messages sent (over-rate and invalid-proof).
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	MaxHops   int `json:"max_hops"`
	// Rejected is validations of spam that rejected it; DoubleSigns those
	// that caught a double signal.
	Rejected    int `json:"rejected"`
	DoubleSigns int `json:"double_signals_detected"`
	// FirstUses is the over-rate members' messages past their limit whose
	// nullifier the network had not accepted yet (see above).
	FirstUses int `json:"first_uses"`
	// FloodRPCs is the control-flood RPCs sent, one to one peer each.
	FloodRPCs int `json:"flood_rpcs"`
}

// SimStats are the simulator's wall time, peak memory and events.
type SimStats struct {
	WallTime   time.Duration `json:"wall_time"`
	PeakRSSMiB float64       `json:"peak_rss_mib"`
	Events     uint64        `json:"events"`
}
