// Package simulation runs rlnd's relay core (the I/O-free gossipsub router
// and Waku relay's validation with the RLN proof check, nullifier log and
// double-signal detection) for thousands of nodes in one process under
// virtual time: a discrete-event simulator with a network model (latency,
// bandwidth with serialisation and queueing, wire sizes of the real RPC
// bytes, churn), the topology the peer manager builds, and real RLN proofs
// made before the run. The same seed gives the same result.
//
// A Scenario says what to run (scenario files are YAML, see Load); Run
// returns a Result (JSON, CSV, plots: see report.go).
//
// How a run works. Every node has the real gossipsub router
// (relay/gossipsub, Waku's parameters, seeded from the scenario's seed and
// the node) and the real relay.Validator (form, timestamp, RLN proof,
// nullifier log, double-signal detection); attackers are scripted nodes
// without a router. Events (heartbeats at a random phase per node, RPCs
// reaching a downlink or a node, validations ending, publishes, attacks,
// churn) are small values in queues ordered by virtual time; no goroutine
// per node. After each event the node's router Ready is carried out:
// RPCs become transfers whose size is the frame the libp2p driver writes
// (the RPC's encoding and its varint length), queued on the sender's
// uplink (serialised at its upload rate), delayed by the link's latency
// (drawn once per link from the model), queued on the receiver's
// downlink; messages go to the node's validator, whose verdict comes back
// after the node's CPU spent the RLN verification time on each proof
// checked (one CPU a node: validations queue). Proofs are real: made
// before the run (each honest message with a fresh epoch and message id
// of a member of a static group), decoded and verified once each by the
// real verifier and shared by the nodes (the node is still charged the
// verification). Virtual time starts at a fixed instant on an epoch
// boundary.
//
// Nodes are spread over a few workers that run in parallel windows as
// long as the latency model's smallest delay: within one, nothing a node
// does can reach another. Events touching several nodes (publishes,
// attacks, churn, dials) run alone between windows. The order of each
// node's events and every measurement are independent of the number of
// workers, so the same seed gives byte-identical JSON (see Run for the
// one exception, a measured verification cost).
package simulation

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrScenario wraps what is wrong with a scenario.
var ErrScenario = errors.New("simulation: bad scenario")

// Router modes: how nodes forward messages.
const (
	// ModeGossipsub is gossipsub v1.1 as Waku relay runs it (no IDONTWANT).
	ModeGossipsub = "gossipsub"
	// ModeIDontWant is gossipsub v1.2: IDONTWANT to mesh peers.
	ModeIDontWant = "gossipsub-idontwant"
	// ModeFlooding forwards every message to every peer of the topic (the
	// router with a mesh as large as the peers and no gossip).
	ModeFlooding = "flooding"
)

// Scenario is one simulated run.
type Scenario struct {
	// Name names the run in reports.
	Name string `yaml:"name" json:"name"`
	// Seed seeds every random choice (topology, latencies, routers,
	// traffic); the same seed gives byte-identical results.
	Seed uint64 `yaml:"seed" json:"seed"`
	// Nodes is the number of relay nodes at the start.
	Nodes int `yaml:"nodes" json:"nodes"`
	// Duration is the simulated time traffic is published for; Warmup
	// runs before it (meshes form), Drain after it (messages in flight
	// arrive). Measurements cover Duration and Drain.
	Duration time.Duration `yaml:"duration" json:"duration"`
	Warmup   time.Duration `yaml:"warmup" json:"warmup"`
	Drain    time.Duration `yaml:"drain" json:"drain"`
	// Mode is ModeGossipsub, ModeIDontWant or ModeFlooding.
	Mode string `yaml:"mode" json:"mode"`
	// Shards is the cluster's shard count; each node relays
	// ShardsPerNode of them (chosen at random), and messages are spread
	// over all shards.
	Shards        int `yaml:"shards" json:"shards"`
	ShardsPerNode int `yaml:"shards_per_node" json:"shards_per_node"`

	Topology Topology `yaml:"topology" json:"topology"`
	Network  Network  `yaml:"network" json:"network"`
	Traffic  Traffic  `yaml:"traffic" json:"traffic"`
	RLN      RLN      `yaml:"rln" json:"rln"`
	// Attacks are the hostile behaviours in the run (none: an honest run).
	Attacks []Attack `yaml:"attacks" json:"attacks,omitempty"`
	Churn   Churn    `yaml:"churn" json:"churn"`
}

// Topology is how nodes connect, the way the peer manager connects them:
// every node dials Outbound peers picked at random among those it learnt
// of (bootstrap nodes first), and accepts inbound connections up to
// MaxConnections; a node over its cap refuses.
type Topology struct {
	// Bootstrap nodes are the first every node knows (0: none: every node
	// knows every other, as after discovery).
	Bootstrap int `yaml:"bootstrap" json:"bootstrap"`
	// Outbound is how many peers each node dials (the peer manager's
	// outbound relay target).
	Outbound int `yaml:"outbound" json:"outbound"`
	// MaxConnections caps a node's connections (p2p.max-connections'
	// relay share).
	MaxConnections int `yaml:"max_connections" json:"max_connections"`
}

// Network is the network model.
type Network struct {
	// Latency is the one-way delay of each link.
	Latency Latency `yaml:"latency" json:"latency"`
	// Upload and Download are each node's bandwidth in bits per second
	// (0: unlimited); a message is serialised at the sender's upload rate
	// and the receiver's download rate, queueing behind what is already
	// on the link.
	UploadBps   int64 `yaml:"upload_bps" json:"upload_bps"`
	DownloadBps int64 `yaml:"download_bps" json:"download_bps"`
}

// Latency models the one-way delay of a link: a fixed value, a
// distribution, or a matrix of regions (each node placed in a region by
// weight, the delay between two nodes that of their regions, with jitter).
type Latency struct {
	// Kind is "fixed", "uniform", "normal" or "regions".
	Kind string `yaml:"kind" json:"kind"`
	// Fixed is the delay (kind fixed).
	Fixed time.Duration `yaml:"fixed" json:"fixed,omitempty"`
	// Min and Max bound a uniform delay; Mean and StdDev a normal one
	// (truncated at Min, which defaults to 0). The smallest delay any link
	// can have is the window the nodes run in parallel for: at 0 they all
	// run on one worker.
	Min    time.Duration `yaml:"min" json:"min,omitempty"`
	Max    time.Duration `yaml:"max" json:"max,omitempty"`
	Mean   time.Duration `yaml:"mean" json:"mean,omitempty"`
	StdDev time.Duration `yaml:"stddev" json:"stddev,omitempty"`
	// Regions and Matrix (kind regions): Matrix[i][j] is the delay from
	// region i to region j; Jitter is added uniformly in [0, Jitter).
	Regions []Region          `yaml:"regions" json:"regions,omitempty"`
	Matrix  [][]time.Duration `yaml:"matrix" json:"matrix,omitempty"`
	Jitter  time.Duration     `yaml:"jitter" json:"jitter,omitempty"`
}

// Region is a place nodes are in, with the share of nodes placed there.
type Region struct {
	Name   string  `yaml:"name" json:"name"`
	Weight float64 `yaml:"weight" json:"weight"`
}

// Traffic is what honest members publish.
type Traffic struct {
	// Rate is the messages published per second in the whole network.
	Rate float64 `yaml:"rate" json:"rate"`
	// MessageSize is each message's payload in bytes.
	MessageSize int `yaml:"message_size" json:"message_size"`
	// Publishers is how many nodes publish (each message from one at
	// random; 0: every node may).
	Publishers int `yaml:"publishers" json:"publishers"`
}

// RLN is the proof model.
type RLN struct {
	// Enabled attaches a real proof to every message (made before the run
	// and shared) and has every node validate it with the real verifier
	// path, results cached per proof.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// VerifyCost is the CPU time a node is charged per proof it verifies
	// (0: measured on this machine before the run).
	VerifyCost time.Duration `yaml:"verify_cost" json:"verify_cost,omitempty"`
	// UserMessageLimit is each member's rate per epoch; EpochPeriod the
	// epoch's length.
	UserMessageLimit int           `yaml:"user_message_limit" json:"user_message_limit"`
	EpochPeriod      time.Duration `yaml:"epoch_period" json:"epoch_period"`
}

// Attack kinds.
const (
	// AttackOverRate: members publish more than their rate (double
	// signals).
	AttackOverRate = "over-rate"
	// AttackInvalidProof: messages with invalid proofs.
	AttackInvalidProof = "invalid-proof"
	// AttackControlFlood: floods of IHAVE, IWANT or GRAFT.
	AttackControlFlood = "control-flood"
)

// Attack is one hostile behaviour.
type Attack struct {
	// Kind is one of the Attack* kinds.
	Kind string `yaml:"kind" json:"kind"`
	// Nodes is how many nodes attack.
	Nodes int `yaml:"nodes" json:"nodes"`
	// Rate is each attacker's messages (or control messages) per second.
	Rate float64 `yaml:"rate" json:"rate"`
	// Control is the control message flooded (control-flood): "ihave",
	// "iwant" or "graft".
	Control string `yaml:"control" json:"control,omitempty"`
	// Start and Stop bound the attack within Duration (Stop 0: to the end).
	Start time.Duration `yaml:"start" json:"start,omitempty"`
	Stop  time.Duration `yaml:"stop" json:"stop,omitempty"`
}

// Churn is nodes leaving and joining during the run.
type Churn struct {
	// LeavePerMinute and JoinPerMinute are rates over the whole network.
	LeavePerMinute float64 `yaml:"leave_per_minute" json:"leave_per_minute"`
	JoinPerMinute  float64 `yaml:"join_per_minute" json:"join_per_minute"`
}

// Validate checks a scenario and fills in defaults; each problem names its
// field and what is allowed.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrScenario, field, fmt.Sprintf(format, a...)))
	}
	if s.Nodes < 2 || s.Nodes > 1_000_000 {
		bad("nodes", "%d, want 2 to 1000000", s.Nodes)
	}
	if s.Duration <= 0 {
		bad("duration", "%v, want > 0", s.Duration)
	}
	if s.Warmup < 0 || s.Drain < 0 {
		bad("warmup/drain", "want >= 0")
	}
	switch s.Mode {
	case "":
		s.Mode = ModeGossipsub
	case ModeGossipsub, ModeIDontWant, ModeFlooding:
	default:
		bad("mode", "%q, want %s, %s or %s", s.Mode, ModeGossipsub, ModeIDontWant, ModeFlooding)
	}
	if s.Shards == 0 {
		s.Shards = 1
	}
	if s.ShardsPerNode == 0 {
		s.ShardsPerNode = s.Shards
	}
	if s.Shards < 1 || s.Shards > 1024 {
		bad("shards", "%d, want 1 to 1024", s.Shards)
	}
	if s.ShardsPerNode < 1 || s.ShardsPerNode > s.Shards {
		bad("shards_per_node", "%d, want 1 to shards (%d)", s.ShardsPerNode, s.Shards)
	}
	t := &s.Topology
	if t.Outbound == 0 {
		t.Outbound = 8
	}
	if t.MaxConnections == 0 {
		t.MaxConnections = 50
	}
	if t.Outbound < 1 || t.Outbound >= t.MaxConnections {
		bad("topology.outbound", "%d, want 1 to max_connections-1 (%d)", t.Outbound, t.MaxConnections-1)
	}
	if t.Bootstrap < 0 || t.Bootstrap > s.Nodes {
		bad("topology.bootstrap", "%d, want 0 to nodes", t.Bootstrap)
	}
	if s.Network.UploadBps < 0 || s.Network.DownloadBps < 0 {
		bad("network.upload_bps/download_bps", "want >= 0 (0: unlimited)")
	}
	if err := s.Network.Latency.validate(); err != nil {
		bad("network.latency", "%v", err)
	}
	if !(s.Traffic.Rate >= 0 && s.Traffic.Rate <= 100_000) { // NaN too
		bad("traffic.rate", "%v, want 0 to 100000 messages/s", s.Traffic.Rate)
	}
	if s.Traffic.MessageSize < 1 || s.Traffic.MessageSize > 150*1024 {
		bad("traffic.message_size", "%d, want 1 to 153600 bytes", s.Traffic.MessageSize)
	}
	if s.Traffic.Publishers < 0 || s.Traffic.Publishers > s.Nodes {
		bad("traffic.publishers", "%d, want 0 to nodes", s.Traffic.Publishers)
	}
	if s.RLN.Enabled {
		if s.RLN.UserMessageLimit == 0 {
			s.RLN.UserMessageLimit = 100
		}
		if s.RLN.EpochPeriod == 0 {
			s.RLN.EpochPeriod = 10 * time.Minute
		}
		if s.RLN.EpochPeriod < time.Second || s.RLN.EpochPeriod%time.Second != 0 {
			bad("rln.epoch_period", "%v, want whole seconds >= 1s", s.RLN.EpochPeriod)
		}
		if s.RLN.UserMessageLimit < 1 || s.RLN.UserMessageLimit > 65535 {
			bad("rln.user_message_limit", "%d, want 1 to 65535", s.RLN.UserMessageLimit)
		}
	}
	for i, a := range s.Attacks {
		field := fmt.Sprintf("attacks[%d]", i)
		switch a.Kind {
		case AttackOverRate, AttackInvalidProof:
		case AttackControlFlood:
			if a.Control != "ihave" && a.Control != "iwant" && a.Control != "graft" {
				bad(field+".control", "%q, want ihave, iwant or graft", a.Control)
			}
		default:
			bad(field+".kind", "%q, want %s, %s or %s", a.Kind, AttackOverRate, AttackInvalidProof, AttackControlFlood)
		}
		if a.Nodes < 1 || a.Nodes > s.Nodes {
			bad(field+".nodes", "%d, want 1 to nodes", a.Nodes)
		}
		if !(a.Rate > 0 && a.Rate <= 100_000) { // NaN too
			bad(field+".rate", "%v, want above 0, at most 100000 a second", a.Rate)
		}
		if a.Kind != AttackControlFlood && !s.RLN.Enabled {
			bad(field, "%s needs rln.enabled", a.Kind)
		}
	}
	for _, r := range []struct {
		field string
		v     float64
	}{{"churn.leave_per_minute", s.Churn.LeavePerMinute}, {"churn.join_per_minute", s.Churn.JoinPerMinute}} {
		if !(r.v >= 0 && r.v <= 1e6) { // NaN too
			bad(r.field, "%v, want 0 to 1000000", r.v)
		}
	}
	return errors.Join(errs...)
}

func (l *Latency) validate() error {
	switch l.Kind {
	case "", "fixed":
		l.Kind = "fixed"
		if l.Fixed < 0 {
			return fmt.Errorf("fixed %v, want >= 0", l.Fixed)
		}
	case "uniform":
		if l.Min < 0 || l.Max < l.Min {
			return fmt.Errorf("uniform [%v, %v], want 0 <= min <= max", l.Min, l.Max)
		}
	case "normal":
		if l.Mean <= 0 || l.StdDev < 0 || l.Min < 0 {
			return fmt.Errorf("normal mean %v stddev %v, want mean > 0, stddev >= 0", l.Mean, l.StdDev)
		}
	case "regions":
		if len(l.Regions) == 0 || len(l.Matrix) != len(l.Regions) {
			return fmt.Errorf("%d regions and a %d-row matrix, want one row per region", len(l.Regions), len(l.Matrix))
		}
		for i, row := range l.Matrix {
			if len(row) != len(l.Regions) {
				return fmt.Errorf("matrix row %d has %d delays, want %d", i, len(row), len(l.Regions))
			}
			for _, d := range row {
				if d < 0 {
					return fmt.Errorf("matrix row %d has a negative delay", i)
				}
			}
		}
		for _, r := range l.Regions {
			if !(r.Weight > 0) || math.IsInf(r.Weight, 0) { // NaN too
				return fmt.Errorf("region %q has weight %v, want a finite number above 0", r.Name, r.Weight)
			}
		}
		if l.Jitter < 0 {
			return fmt.Errorf("jitter %v, want >= 0", l.Jitter)
		}
	default:
		return fmt.Errorf("kind %q, want fixed, uniform, normal or regions", l.Kind)
	}
	return nil
}
