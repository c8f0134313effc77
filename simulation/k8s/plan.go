package k8s

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/p2p/wakuenr"
	"github.com/rlnd/rlnd/simulation"
)

// The traffic Job's bounds. Each message is one `rlnd relay publish`
// process, so a worker drives a few messages a second.
const (
	// workerRate is the most messages a second one worker publishes.
	workerRate = 5.0
	// maxWorkers bounds the Job's pods: with workerRate, 2000 msg/s.
	maxWorkers = 400
	// inFlight is the most publishes a worker has running at once.
	inFlight = 20
	// publishTimeout bounds one publish.
	publishTimeout = "10s"
	// contentTopic is the content topic of every message (the pubsub
	// topic, the shard, is given explicitly).
	contentTopic = "/rlnd-sim/1/traffic/proto"
	// minWarmup is the least time the workers wait, once every node they
	// publish through is healthy, before publishing: meshes form.
	minWarmup = time.Minute
	// healthTimeout bounds the workers' wait for healthy nodes (a large
	// run takes a while to schedule and start).
	healthTimeout = 30 * time.Minute
	// fetchTimeout bounds the init step's wait for bootstrap ENRs and
	// for the RLN registration.
	fetchTimeout = 15 * time.Minute
)

// maxBootstrap bounds the bootstrap pods: their keys are in the Secret,
// their addresses in every pod's environment, and every pod reads their
// ENRs at start.
const maxBootstrap = 64

// RLN on the dev chain.
const (
	// devAccounts is the most funded accounts `rlnd devchain` has; dev
	// account 0 deploys the registry, publishers pay with 1, 2, ...
	devAccounts = 1000
	// maxRateLimit is the registry's largest membership (messages per
	// epoch) on the dev chain.
	maxRateLimit = 600
	// devChainID and devContract are where `rlnd devchain` puts the
	// registry (the devnet preset's chain.chain-id and chain.contract).
	devChainID  = 1337
	devContract = "0xa1C51e71CFb1dBB016dF743FD5dc48D62Ebb917B"
)

// plan is everything derived from a scenario and the options before the
// objects are built.
type plan struct {
	s simulation.Scenario // validated, defaults filled in
	o Options             // defaults filled in

	boot, nodes int // bootstrap pods and node pods (boot + nodes = s.Nodes)
	publishers  int // pods the traffic goes through: node pods first, then bootstrap pods
	rln         bool

	bootKeys    [][]byte // node key of bootstrap pod i
	bootPeerIDs []string
	password    string // RLN keystores' password

	messages   int   // messages in all
	workers    int   // traffic Job pods (0: no traffic)
	intervalUS int64 // between one worker's messages
	stepUS     int64 // between the workers' first messages
	stride     int   // gcd(workers, publishers)
	warmup     time.Duration

	notes []string
}

func newPlan(s simulation.Scenario, o Options) (*plan, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &plan{s: s, o: o, rln: s.RLN.Enabled}
	if err := p.unsupported(); err != nil {
		return nil, err
	}
	p.note("The cluster's own network carries the traffic: the scenario's latency (%s) and bandwidth (upload %d, download %d bit/s, 0: unlimited) are not applied.",
		s.Network.Latency.Kind, s.Network.UploadBps, s.Network.DownloadBps)
	if s.Mode == simulation.ModeGossipsub {
		p.note("rlnd nodes send each other IDONTWANT (gossipsub v1.2): the cluster runs mode %s, not %s.", simulation.ModeIDontWant, simulation.ModeGossipsub)
	}
	p.note("rlnd's peer manager makes the connections: it dials until each shard has 6 relay peers and keeps at most p2p.max-connections = %d (twice topology.max_connections %d, at most 10000: half of them are for relay peers); topology.outbound (%d) is no setting of rlnd.",
		p.maxConnections(), s.Topology.MaxConnections, s.Topology.Outbound)

	if s.Topology.Bootstrap > maxBootstrap {
		return nil, fmt.Errorf("%w: topology.bootstrap %d: the manifests carry at most %d bootstrap nodes (their keys and addresses are in every pod's environment)",
			ErrUnsupported, s.Topology.Bootstrap, maxBootstrap)
	}
	p.boot = max(s.Topology.Bootstrap, 1)
	if s.Topology.Bootstrap == 0 {
		p.note("topology.bootstrap is 0 (every node knows every other): the cluster has 1 bootstrap node, the nodes find the others with discv5.")
	}
	p.nodes = s.Nodes - p.boot
	p.note("The bootstrap pods (%d) relay every shard (so that every node shares a shard with them); node pod o relays shards (o * %d + j) mod %d for j < %d, not shards chosen at random.",
		p.boot, s.ShardsPerNode, s.Shards, s.ShardsPerNode)

	p.publishers = s.Nodes
	if s.Traffic.Publishers > 0 {
		p.publishers = s.Traffic.Publishers
	}
	if p.rln {
		if err := p.planRLN(); err != nil {
			return nil, err
		}
	}
	if err := p.planTraffic(); err != nil {
		return nil, err
	}
	for i := range p.boot {
		key := bootstrapKey(s.Seed, i)
		k, err := crypto.ToECDSA(key)
		if err != nil {
			return nil, fmt.Errorf("k8s: bootstrap key %d: %w", i, err)
		}
		id, err := wakuenr.PeerID(&k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("k8s: bootstrap key %d: %w", i, err)
		}
		p.bootKeys = append(p.bootKeys, key)
		p.bootPeerIDs = append(p.bootPeerIDs, id.String())
	}
	p.note("The bootstrap nodes' keys are derived from the scenario's seed (%d) and are in the Secret: run this on a test cluster only.", s.Seed)
	return p, nil
}

func (p *plan) note(format string, a ...any) { p.notes = append(p.notes, fmt.Sprintf(format, a...)) }

// unsupported fails on what real nodes cannot do, or notes it with
// Options.Partial.
func (p *plan) unsupported() error {
	var missing []string
	if p.s.Mode == simulation.ModeFlooding {
		missing = append(missing, "mode flooding (rlnd nodes run gossipsub)")
	}
	for i, a := range p.s.Attacks {
		missing = append(missing, fmt.Sprintf("attacks[%d] (%s: real nodes refuse to publish spam or invalid proofs through their REST API, and their routers send no control floods)", i, a.Kind))
	}
	if p.s.Churn.LeavePerMinute > 0 || p.s.Churn.JoinPerMinute > 0 {
		missing = append(missing, "churn (pods are not stopped and started during the run)")
	}
	if len(missing) == 0 {
		return nil
	}
	if !p.o.Partial {
		return fmt.Errorf("%w: the scenario asks for %s; render with Options.Partial to leave them out", ErrUnsupported, joinAnd(missing))
	}
	for _, m := range missing {
		p.note("Left out: %s.", m)
	}
	return nil
}

// planRLN checks the publishers' memberships fit the dev chain.
func (p *plan) planRLN() error {
	s := p.s
	if s.Traffic.Publishers == 0 && p.publishers > devAccounts-1 {
		p.publishers = devAccounts - 1
		p.note("RLN: %d pods publish (the dev chain funds %d accounts, one of them the registry's deployer), not every node.", p.publishers, devAccounts)
	}
	if p.publishers > devAccounts-1 {
		return fmt.Errorf("%w: traffic.publishers %d with RLN: the dev chain funds %d accounts, want at most %d publishers", ErrUnsupported, p.publishers, devAccounts, devAccounts-1)
	}
	if s.RLN.UserMessageLimit > maxRateLimit {
		return fmt.Errorf("%w: rln.user_message_limit %d: the dev chain's registry takes memberships of 1 to %d messages per epoch", ErrUnsupported, s.RLN.UserMessageLimit, maxRateLimit)
	}
	// Publisher g sends every publishers-th message: at most this many
	// fall in one epoch.
	perEpoch := int(math.Floor(s.Traffic.Rate*s.RLN.EpochPeriod.Seconds()/float64(p.publishers))) + 1
	if s.Traffic.Rate > 0 && perEpoch > s.RLN.UserMessageLimit {
		return fmt.Errorf("%w: traffic.rate %v msg/s over %d publishers is up to %d messages per publisher per %s epoch, above rln.user_message_limit %d",
			ErrUnsupported, s.Traffic.Rate, p.publishers, perEpoch, s.RLN.EpochPeriod, s.RLN.UserMessageLimit)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "rlnd k8s keystore password %d", s.Seed))
	p.password = hex.EncodeToString(sum[:16])
	p.note("RLN: a dev chain (rlnd devchain) holds the registry; each publishing pod registers a membership of %d messages per %s epoch with dev account 1 + its index. rln.verify_cost does not apply: the nodes verify proofs for real.",
		s.RLN.UserMessageLimit, s.RLN.EpochPeriod)
	return nil
}

// planTraffic spreads the messages over the Job's workers.
func (p *plan) planTraffic() error {
	s := p.s
	p.messages = int(math.Round(s.Traffic.Rate * s.Duration.Seconds()))
	p.warmup = max(s.Warmup, minWarmup)
	if p.messages == 0 {
		p.note("No honest traffic (traffic.rate %v for %s): no traffic Job.", s.Traffic.Rate, s.Duration)
		return nil
	}
	w := int(math.Ceil(s.Traffic.Rate / workerRate))
	if w > maxWorkers {
		return fmt.Errorf("%w: traffic.rate %v msg/s: the traffic Job drives at most %v msg/s (%d workers of %v msg/s)",
			ErrUnsupported, s.Traffic.Rate, workerRate*maxWorkers, maxWorkers, workerRate)
	}
	p.workers = min(max(w, 1), p.messages)
	p.intervalUS = int64(math.Round(float64(p.workers) * 1e6 / s.Traffic.Rate))
	p.stepUS = int64(math.Round(1e6 / s.Traffic.Rate))
	p.stride = gcd(p.workers, p.publishers)
	p.note("Traffic: %d messages of %d bytes at %v msg/s through %d publishers, sent by the traffic Job's %d worker pod(s) after a warm-up of %s once the publishers are healthy (the scenario's warmup, at least %s); each message is one rlnd relay publish, so the rate drifts down by the time each takes to start.",
		p.messages, s.Traffic.MessageSize, s.Traffic.Rate, p.publishers, p.workers, p.warmup, minWarmup)
	perShard := make([]int, s.Shards)
	for i := range p.messages {
		perShard[p.shardOf(i)]++
	}
	if lo, hi := slices.Min(perShard), slices.Max(perShard); float64(hi-lo) > 0.1*float64(hi) {
		p.note("Message i goes through publisher i mod %d on one of its shards: the shards get %d to %d messages each, not the same share (plan.yaml's messages_per_shard).",
			p.publishers, lo, hi)
	}
	return nil
}

// shardOf is the shard message i is published on: what traffic.sh
// computes.
func (p *plan) shardOf(i int) int {
	g, round := i%p.publishers, i/p.publishers
	if g < p.nodes {
		return (g*p.s.ShardsPerNode + round%p.s.ShardsPerNode) % p.s.Shards
	}
	return round % p.s.Shards
}

// relayers counts the pods relaying each shard: what prepare.sh sets.
func (p *plan) relayers() []int {
	out := make([]int, p.s.Shards)
	for s := range out {
		out[s] = p.boot
	}
	// Node pod o relays (o*spn + j) mod shards: over o, the pattern
	// repeats every shards pods.
	spn, shards := p.s.ShardsPerNode, p.s.Shards
	for o := range min(p.nodes, shards) {
		reps := (p.nodes - o + shards - 1) / shards // pods o, o+shards, ... below p.nodes
		for j := range spn {
			out[(o*spn+j)%shards] += reps
		}
	}
	return out
}

// bootstrapKey is bootstrap pod i's node key: sha256 of a string naming
// the seed and i (and a counter, for the rare digest that is no key).
func bootstrapKey(seed uint64, i int) []byte {
	for n := 0; ; n++ {
		sum := sha256.Sum256(fmt.Appendf(nil, "rlnd k8s bootstrap node key %d/%d/%d", seed, i, n))
		if _, err := config.DecodeNodeKey(hex.EncodeToString(sum[:])); err == nil {
			return sum[:]
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	out := items[0]
	for _, it := range items[1 : len(items)-1] {
		out += ", " + it
	}
	return out + " and " + items[len(items)-1]
}
