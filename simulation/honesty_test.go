//go:build !race

// The race detector is off for this file: it slows real nodes five to ten
// times (every memory access of the libp2p streams, the noise encryption,
// the router's event loops and the RLN verifications is instrumented), so
// their timing, and with it which copy of a message reaches a node first,
// would be the detector's and not rlnd's. `make net-test` runs it without
// -race; every other test of the package runs under it.

package simulation

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/membership"
	rlndnode "github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// Bounds of the real side's waits, stated for CI. Each is a deadline on
// an event, not a pause: the waits end as soon as what they wait for
// holds.
const (
	// linkBound: every link dialled and admitted (the metadata check).
	linkBound = 30 * time.Second
	// meshBound: every node has a mesh peer, then the mesh sizes stop
	// changing for meshSettle.
	meshBound  = 30 * time.Second
	meshSettle = 3 * time.Second
	// deliveryBound: after the last publish, every message at every node.
	deliveryBound = 15 * time.Second
	// dupSettle: the duplicate counters unchanged for a heartbeat after
	// the deliveries (late copies: IWANT replies at the next heartbeat).
	dupSettle = 5 * time.Second
)

// honestyScenario is the small preset made to stand for rlnd nodes on
// loopback (see TestSimulatorAgreesWithRealNodes for each choice);
// RLND_HONESTY_SEED picks another topology and traffic.
func honestyScenario(t *testing.T) Scenario {
	t.Helper()
	s, err := Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	s.Name = "honesty"
	s.Mode = ModeIDontWant
	s.Duration = 20 * time.Second
	s.Traffic.Rate = 3
	s.Network.Latency = Latency{Kind: "fixed", Fixed: time.Millisecond}
	s.RLN.VerifyCost = 600 * time.Microsecond
	if v := os.Getenv("RLND_HONESTY_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("RLND_HONESTY_SEED=%q: want an unsigned integer", v)
		}
		s.Seed = seed
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSimulatorAgreesWithRealNodes is issue 19's honesty check: one small
// scenario run in the simulator and on real rlnd nodes (node.New, libp2p
// over TCP on loopback, the real relay with RLN) agrees on delivery,
// duplicates per message and hop counts.
//
// The scenario is the small preset (30 nodes, one shard, RLN on, 1 KB
// messages, peer-manager topology of 4 outbound peers and 12 at most)
// with:
//   - mode gossipsub-idontwant: rlnd nodes offer /meshsub/1.2.0 first
//     (relay/pubsub), so two of them run gossipsub v1.2 and send
//     IDONTWANT for messages over 512 bytes, as the simulator's
//     IDONTWANT mode does;
//   - a fixed 1 ms link delay and a fixed 600 µs verification cost. In
//     the simulator, where every hop costs the same, hop counts do not
//     depend on either, and duplicates depend only on which is larger:
//     with the link faster than a verification, a node's IDONTWANT
//     (sent on receipt) reaches the peers that got the message when it
//     did before they forward it, and duplicates fall about fourfold
//     (1.03 a message for this scenario at 100 µs, 4.04 from 1 ms to
//     20 ms). On this testbed the link is the slower: a hop between two
//     of the 30 nodes crosses the sender's event loop and writer, noise,
//     yamux and the receiver's reader and event loop, goroutine
//     hand-offs that wait for one of two shared cores: a message takes
//     20 to 50 ms to reach all 30 nodes in three or four hops (the
//     table's "time to all nodes"; 5 to 7 ms in the simulator), against
//     0.6 ms of CPU for a verification (this machine's median when idle; the
//     simulator's own measurement swung from 0.57 to 0.89 ms with the
//     machine's load, and fixing it keeps the simulator's side the same
//     from run to run);
//   - 20 s of traffic at 3 messages a second (60 messages, 60 proofs),
//     after the preset's 10 s warmup, and its 5 s drain.
//
// The simulator's run records (Options.Observe) its topology when the
// warmup ended and who published what when. The real side builds as many
// nodes, with no chain (a static group of the publishing members) and no
// discovery (no discv5, DNS or peer exchange), links exactly those pairs
// (the same end dialling), waits for the meshes to settle, then has each
// message published by the same node at the same offset, with a real
// proof, and measures the same three quantities the simulator defines.
func TestSimulatorAgreesWithRealNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("30 real nodes and a simulation: not in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := honestyScenario(t)
	o := rlnOptions(t)
	var obs Observation
	o.Observe = &obs
	simStart := time.Now()
	res, err := Run(ctx, s, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("simulator: %d nodes, %d links, %d messages, seed %d, verification cost %v, %.1f s wall",
		s.Nodes, len(obs.Links), res.Messages, s.Seed, res.Scenario.RLN.VerifyCost, time.Since(simStart).Seconds())

	rn := startRealNetwork(ctx, t, s, &obs, o.Verifier)
	real := rn.run(ctx, t, s, &obs, o.Prover)

	sim := simFigures(res)
	rows := compareHonesty(sim, real)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-26s %12s %12s  %-34s %s\n", "measure", "simulator", "real", "tolerance", "verdict")
	failed := false
	for _, r := range rows {
		verdict := "ok"
		if !r.ok {
			verdict, failed = "DISAGREE", true
		}
		fmt.Fprintf(&b, "%-26s %12s %12s  %-34s %s\n", r.name, r.sim, r.real, r.tolerance, verdict)
	}
	note := func(name, sv, rv, why string) {
		fmt.Fprintf(&b, "%-26s %12s %12s  %s\n", name, sv, rv, why)
	}
	note("path hop histogram", fmtHist(sim.pathHops), fmtHist(real.pathHops), "(reported)")
	note("hop histogram", fmtHist(sim.hops), fmtHist(real.hops), "(reported)")
	note("hops max", strconv.Itoa(len(sim.hops)-1), strconv.Itoa(len(real.hops)-1), "(reported: see the tolerances)")
	note("receipts overtaken", "0", strconv.FormatFloat(real.overtaken, 'f', 3, 64), "(reported: share of first copies off the shortest path)")
	note("mean mesh degree", strconv.FormatFloat(sim.meshMean, 'f', 2, 64), strconv.FormatFloat(real.meshMean, 'f', 2, 64), "(reported)")
	note("time to all nodes p50", strconv.FormatFloat(sim.to100, 'f', 1, 64)+" ms", strconv.FormatFloat(real.to100, 'f', 1, 64)+" ms", "(reported: the testbed shares two cores)")
	note("duplicates/message p50", "-", strconv.FormatFloat(real.dupP50, 'f', 2, 64), "(reported)")
	t.Log(b.String())
	if failed {
		t.Fatal("the simulator and the real nodes disagree beyond the stated tolerances (table above)")
	}
}

// figures are what both sides measure.
type figures struct {
	messages int
	delivery float64
	// dups is the mean over messages of the copies a node received beyond
	// its first, over the nodes that received it (the publisher counted);
	// dupP50 the median over messages (real side only).
	dups, dupP50 float64
	// hops are the first receipts by the hops their copy travelled;
	// pathHops by the hops of the shortest forwarding path (the
	// publisher to all its peers, the others to their mesh peers): what
	// the hop would be if every hop took the same time. In the simulator,
	// where every hop does, they are one histogram.
	hops, pathHops []int64
	// overtaken is the share of first receipts whose copy came along a
	// longer path than the shortest.
	overtaken float64
	meshMean  float64
	// to100 is the median over messages of the time to reach every node,
	// in ms.
	to100 float64
}

func simFigures(r *Result) figures {
	f := figures{messages: r.Messages, delivery: r.DeliveryRatio, dups: r.DuplicatesPerMessage,
		hops: r.HopCounts, pathHops: r.HopCounts, to100: r.Latency.To100.P50}
	n, sum := 0, 0
	for d, c := range r.MeshDegrees {
		n += c
		sum += d * c
	}
	if n > 0 {
		f.meshMean = float64(sum) / float64(n)
	}
	return f
}

// histMean is a hop histogram's mean.
func histMean(h []int64) float64 {
	var n, sum int64
	for k, c := range h {
		n += c
		sum += int64(k) * c
	}
	if n == 0 {
		return math.NaN()
	}
	return float64(sum) / float64(n)
}

// histRank is a hop histogram's nearest-rank percentile p (as the
// simulator's Hops).
func histRank(h []int64, p float64) int {
	var n int64
	for _, c := range h {
		n += c
	}
	k := max(int64(math.Ceil(p*float64(n))), 1)
	acc := int64(0)
	for v, c := range h {
		acc += c
		if acc >= k {
			return v
		}
	}
	return len(h) - 1
}

func fmtHist(h []int64) string {
	parts := make([]string, len(h))
	for k, c := range h {
		parts[k] = strconv.FormatInt(c, 10)
	}
	return strings.Join(parts, "/")
}

// row is one line of the comparison.
type row struct {
	name, sim, real, tolerance string
	ok                         bool
}

// The tolerances, and why (the figures quoted are from 18 runs on the
// project's 2-core machine, under the load of other builds: 11 with seed
// 1, one each with seeds 2 to 8; the first 11 measured the verification
// cost instead of fixing it, which changed no figure compared here).
//
// Delivery: an honest network on loopback loses nothing in either; any
// loss is a fault, so both must be 1 within half a percent.
//
// Duplicates per message: mostly the meshes' sizes (each node forwards
// to its mesh peers but the one it got the message from), which both
// sides draw with the same router code from the same links but other
// random choices (mean mesh degree 6.4 to 7.1 real, 6.5 to 7.1
// simulated), and the timing of the races between peers that got a
// message at once. The real figure ran 3.5% below to 11.4% above the
// simulator's, following the ratio of the mesh degrees plus about 5%.
// 20% holds that with room for load; a wrong forwarding model is off
// by more (flooding gives 5.68 here, IDONTWANT with a link faster than
// a verification 1.03, against 4.0 to 4.5 real).
//
// Hops along the shortest forwarding path: what the meshes make of the
// links, if every hop took the same time. Mean within pathMeanTol (the
// meshes' randomness moved it by 0.019 at most), the median equal, the
// farthest within one hop.
//
// Hops as travelled: the real nodes' hops take unequal times, most of
// it waiting for a core, so a copy along a longer path sometimes arrives
// first, which with equal hops cannot happen: 9% to 15% of the real
// first receipts were such (the table's "receipts overtaken"), each
// about one hop longer, and the real mean ran 0.09 to 0.18 above the
// simulator's. The simulator gives every node its own CPU, as a real
// deployment does, and does not model this testbed's scheduling: the
// mean is compared within hopsMeanAbs, the median equal, p99 within one
// hop. The farthest hop is reported, not compared: a handful of
// overtaken receipts among some 1,700 set it (4 to 6 real, 3 simulated).
const (
	deliveryTol = 0.005
	dupsTol     = 0.20
	pathMeanTol = 0.05
	hopsMeanAbs = 0.3
)

func compareHonesty(sim, real figures) []row {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	itoa := strconv.Itoa
	var rows []row
	rows = append(rows, row{"messages", itoa(sim.messages), itoa(real.messages), "equal", sim.messages == real.messages})
	rows = append(rows, row{"delivery ratio", f(sim.delivery), f(real.delivery), "both >= 0.995",
		sim.delivery >= 1-deliveryTol && real.delivery >= 1-deliveryTol})
	dr := math.Abs(real.dups-sim.dups) / max(sim.dups, 1e-9)
	rows = append(rows, row{"duplicates/message", f(sim.dups), f(real.dups), fmt.Sprintf("within %.0f%% (is %.1f%%)", dupsTol*100, dr*100), dr <= dupsTol})

	sm, rm := histMean(sim.pathHops), histMean(real.pathHops)
	rows = append(rows, row{"path hops mean", f(sm), f(rm), fmt.Sprintf("within %.2f (is %.3f)", pathMeanTol, math.Abs(rm-sm)), math.Abs(rm-sm) <= pathMeanTol})
	sp, rp := histRank(sim.pathHops, 0.5), histRank(real.pathHops, 0.5)
	rows = append(rows, row{"path hops p50", itoa(sp), itoa(rp), "equal", sp == rp})
	sx, rx := len(sim.pathHops)-1, len(real.pathHops)-1
	rows = append(rows, row{"path hops max", itoa(sx), itoa(rx), "within 1", sx > 0 && rx > 0 && abs(sx-rx) <= 1})

	sm, rm = histMean(sim.hops), histMean(real.hops)
	rows = append(rows, row{"hops mean", f(sm), f(rm), fmt.Sprintf("within %.2f (is %.3f)", hopsMeanAbs, math.Abs(rm-sm)), math.Abs(rm-sm) <= hopsMeanAbs})
	sp, rp = histRank(sim.hops, 0.5), histRank(real.hops, 0.5)
	rows = append(rows, row{"hops p50", itoa(sp), itoa(rp), "equal", sp == rp})
	sp, rp = histRank(sim.hops, 0.99), histRank(real.hops, 0.99)
	rows = append(rows, row{"hops p99", itoa(sp), itoa(rp), "within 1", abs(sp-rp) <= 1})
	return rows
}

func abs(x int) int { return max(x, -x) }

// realNetwork is the scenario's nodes as real rlnd nodes on loopback.
type realNetwork struct {
	nodes []*rlndnode.Node
	index map[peer.ID]int
	topic string
	group *membership.StaticGroup
	// members publish: message k is member k/limit's message id k%limit.
	members []relay.Member
}

// startRealNetwork builds the nodes, links them as obs.Links says and
// waits until their meshes settled; the nodes close with the test.
func startRealNetwork(ctx context.Context, t *testing.T, s Scenario, obs *Observation, v *rln.Verifier) *realNetwork {
	t.Helper()
	rn := &realNetwork{index: map[peer.ID]int{}}
	limit := uint64(s.RLN.UserMessageLimit)
	count := len(obs.Origins)
	leaves := make([]fr.Element, 0, count/int(limit)+1)
	for i := range count/int(limit) + 1 {
		id := rln.IdentityFromSeed(fmt.Appendf(nil, "rlnd honesty %d member %d", s.Seed, i))
		rn.members = append(rn.members, relay.Member{Identity: id, Index: uint64(i), UserMessageLimit: limit})
		leaves = append(leaves, id.RateCommitment(limit))
	}
	var err error
	if rn.group, err = membership.NewStaticGroup(leaves, 0); err != nil {
		t.Fatal(err)
	}
	if s.Shards != 1 {
		t.Fatalf("the real side runs one shard, the scenario has %d", s.Shards)
	}
	for i := range s.Nodes {
		cfg, err := config.Preset("devnet")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Network.NumShards, cfg.Network.Shards = 1, []int{0}
		cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		// No discovery of any kind: the links are the simulator's.
		cfg.Discovery = config.DiscoveryConfig{}
		cfg.Metrics.Enabled, cfg.REST.Enabled = false, false
		cfg.RLN.EpochPeriod = s.RLN.EpochPeriod
		cfg.RLN.UserMessageLimit = s.RLN.UserMessageLimit
		// The caps stay the devnet's (150 connections, a relay budget of
		// 75, 50 of them inbound): far above the scenario's 12, so the
		// peer manager never prunes a link; it has no candidates to dial.
		nd, err := rlndnode.New(ctx, rlndnode.Options{Config: &cfg, Group: rn.group, Verifier: v})
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(func() { _ = nd.Close() })
		rn.nodes = append(rn.nodes, nd)
		rn.index[nd.Host().ID()] = i
	}
	topic, err := autoshard.NewPubsubTopic(int(rn.nodes[0].Host().ClusterID()), 0)
	if err != nil {
		t.Fatal(err)
	}
	rn.topic = topic.String()

	start := time.Now()
	if err := rn.link(ctx, obs); err != nil {
		t.Fatal(err)
	}
	linked := time.Since(start)
	if err := rn.awaitMeshes(ctx); err != nil {
		t.Fatal(err)
	}
	if bad := rn.checkLinks(obs); len(bad) > 0 {
		t.Fatalf("after the warmup the real links are not the simulator's: %s", strings.Join(bad, "; "))
	}
	t.Logf("real: %d nodes, %d links dialled in %.1f s, meshes settled %.1f s later",
		len(rn.nodes), len(obs.Links), linked.Seconds(), (time.Since(start) - linked).Seconds())
	return rn
}

// link dials every link from its dialling end, a few at a time, each
// waiting for the metadata check, within linkBound.
func (rn *realNetwork) link(ctx context.Context, obs *Observation) error {
	lctx, cancel := context.WithTimeout(ctx, linkBound)
	defer cancel()
	errs := make([]error, len(obs.Links))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for k, l := range obs.Links {
		from, to := obs.Dialers[k], l[0]+l[1]-obs.Dialers[k]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			h := rn.nodes[to].Host()
			if _, err := rn.nodes[from].Host().Connect(lctx, peer.AddrInfo{ID: h.ID(), Addrs: h.Libp2p().Addrs()}); err != nil {
				errs[k] = fmt.Errorf("link %d: node %d dials node %d: %w", k, from, to, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// awaitMeshes waits until every node has a mesh peer on the topic, then
// until no node's mesh size changed for meshSettle (a few heartbeats),
// within meshBound.
func (rn *realNetwork) awaitMeshes(ctx context.Context) error {
	mctx, cancel := context.WithTimeout(ctx, meshBound)
	defer cancel()
	sizes := func() []int {
		out := make([]int, len(rn.nodes))
		for i, nd := range rn.nodes {
			out[i] = len(nd.Relay().PubSub().MeshPeers(rn.topic))
		}
		return out
	}
	var last []int
	var since time.Time
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		now := sizes()
		if slices.Contains(now, 0) || !slices.Equal(now, last) {
			last, since = now, time.Now()
		} else if time.Since(since) >= meshSettle {
			return nil
		}
		select {
		case <-mctx.Done():
			return fmt.Errorf("meshes did not settle within %v (mesh sizes %v): %w", meshBound, last, mctx.Err())
		case <-tick.C:
		}
	}
}

// checkLinks lists where the nodes' connections differ from obs.Links.
func (rn *realNetwork) checkLinks(obs *Observation) []string {
	want := make([]map[int]bool, len(rn.nodes))
	for i := range want {
		want[i] = map[int]bool{}
	}
	for _, l := range obs.Links {
		want[l[0]][l[1]], want[l[1]][l[0]] = true, true
	}
	var bad []string
	for i, nd := range rn.nodes {
		netw := nd.Host().Libp2p().Network()
		for j := range want[i] {
			if netw.Connectedness(rn.nodes[j].Host().ID()) != network.Connected {
				bad = append(bad, fmt.Sprintf("nodes %d and %d are no longer connected", i, j))
			}
		}
		for _, p := range netw.Peers() {
			if j, ok := rn.index[p]; !ok || !want[i][j] {
				bad = append(bad, fmt.Sprintf("node %d has a connection of its own to %s", i, p))
			}
		}
	}
	return bad
}

// meshes are the nodes' meshes on the topic, as node indices.
func (rn *realNetwork) meshes() [][]int {
	out := make([][]int, len(rn.nodes))
	for i, nd := range rn.nodes {
		for _, p := range nd.Relay().PubSub().MeshPeers(rn.topic) {
			if j, ok := rn.index[p]; ok {
				out[i] = append(out[i], j)
			}
		}
		slices.Sort(out[i])
	}
	return out
}

// receipt is a message delivered to a node by the relay.
type receipt struct {
	hash wire.MessageHash
	from peer.ID
	at   time.Time
}

// traffic is what the real nodes did with the observed traffic.
type traffic struct {
	hashes    []wire.MessageHash
	published []bool
	sentAt    []time.Time // Publish called (the publisher validates, then sends)
	// marks[k] is the nodes' duplicates counted before message k was
	// published; the last one after the drain.
	marks []uint64
	got   [][]receipt // by node
	// meshes are the meshes when the traffic started; changed counts the
	// nodes whose mesh was another after the drain.
	meshes  [][]int
	changed int
}

// run publishes the observed traffic and measures it.
func (rn *realNetwork) run(ctx context.Context, t *testing.T, s Scenario, obs *Observation, prover *rln.Prover) figures {
	t.Helper()
	msgs, lag := rn.prove(ctx, t, s, obs, prover)
	n := len(rn.nodes)
	tr := &traffic{hashes: make([]wire.MessageHash, len(msgs)), published: make([]bool, len(msgs)),
		sentAt: make([]time.Time, len(msgs)), marks: make([]uint64, len(msgs)+1), got: make([][]receipt, n)}

	// Every node's deliveries, each recorded by a goroutine the test
	// stops (Cancel closes the channel) and waits for.
	var mu sync.Mutex
	var wg sync.WaitGroup
	subs := make([]*relay.Subscription, n)
	for i, nd := range rn.nodes {
		subs[i] = nd.Relay().Subscribe()
		wg.Go(func() {
			for env := range subs[i].C() {
				if env.Local {
					continue
				}
				mu.Lock()
				tr.got[i] = append(tr.got[i], receipt{env.Hash, env.From, env.Received})
				mu.Unlock()
			}
		})
	}
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			for _, sub := range subs {
				sub.Cancel()
			}
			wg.Wait()
		})
	}
	defer stop()
	dupTotal := func() uint64 {
		var total uint64
		for _, nd := range rn.nodes {
			total += nd.Relay().PubSub().Stats().Duplicates
		}
		return total
	}

	// The traffic: message k from node Origins[k] at Offsets[k] after
	// the start (the pacing of the scenario's traffic; nothing waits on
	// it). The duplicates counted before each publish close the previous
	// message's count.
	tr.meshes = rn.meshes()
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for k, m := range msgs {
		if m == nil {
			continue
		}
		timer.Reset(time.Until(start.Add(obs.Offsets[k])))
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-timer.C:
		}
		tr.marks[k] = dupTotal()
		tr.sentAt[k] = time.Now()
		h, _, err := rn.nodes[obs.Origins[k]].Relay().Publish(rn.topic, m)
		if err != nil {
			t.Fatalf("message %d from node %d: %v", k, obs.Origins[k], err)
		}
		tr.hashes[k], tr.published[k] = h, true
	}
	late := time.Since(start.Add(obs.Offsets[len(obs.Offsets)-1]))

	// Drain: every message at every node, then the duplicate counters
	// still for a heartbeat.
	expected := 0
	for k := range msgs {
		if tr.published[k] {
			expected += n - 1
		}
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		c := 0
		for _, rs := range tr.got {
			c += len(rs)
		}
		return c
	}
	if err := waitFor(ctx, deliveryBound, func() bool { return count() >= expected }); err != nil {
		t.Logf("real: not every message reached every node within %v of the last publish (%d of %d deliveries)", deliveryBound, count(), expected)
	}
	prev, since := dupTotal(), time.Now()
	_ = waitFor(ctx, dupSettle, func() bool {
		if d := dupTotal(); d != prev {
			prev, since = d, time.Now()
		}
		return time.Since(since) >= time.Second
	})
	tr.marks[len(msgs)] = prev
	stop() // the receipts are complete: no recorder writes them any more
	if bad := rn.checkLinks(obs); len(bad) > 0 {
		t.Fatalf("during the traffic the real links changed: %s", strings.Join(bad, "; "))
	}
	for i, m := range rn.meshes() {
		if !slices.Equal(m, tr.meshes[i]) {
			tr.changed++
		}
	}
	t.Logf("real: %d messages proved before the traffic (timestamps %.1f s behind their publish), the last published %.0f ms late; %d of %d meshes changed during the traffic",
		len(msgs), lag.Seconds(), float64(late.Milliseconds()), tr.changed, n)
	return rn.measure(t, obs, tr)
}

// prove makes every message's WakuMessage with a real proof before the
// traffic starts: a 1 KB payload whose timestamp is the time it is due
// counted from now (so the proving time is how far behind its publish
// each timestamp is, well within the validators' 20 s gap). Message k is
// member k/limit's message id k%limit: no (epoch, member, message id)
// is used twice.
func (rn *realNetwork) prove(ctx context.Context, t *testing.T, s Scenario, obs *Observation, prover *rln.Prover) ([]*messagepb.WakuMessage, time.Duration) {
	t.Helper()
	t0 := time.Now()
	msgs := make([]*messagepb.WakuMessage, len(obs.Origins))
	limit := uint64(s.RLN.UserMessageLimit)
	pp := relay.ProofParams{EpochPeriod: s.RLN.EpochPeriod, Signal: rln.SignalTimestamped}
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for k := range msgs {
		if obs.Origins[k] < 0 {
			continue
		}
		payload := make([]byte, s.Traffic.MessageSize)
		if _, err := rand.Read(payload); err != nil {
			t.Fatal(err)
		}
		m := wire.NewMessage(contentTopic, payload, t0.Add(obs.Offsets[k]).UnixNano())
		msgs[k] = m
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[k] = ctx.Err()
				return
			}
			mem := rn.members[uint64(k)/limit]
			if _, err := relay.AttachProof(prover, rn.group, mem, pp, m, uint64(k)%limit); err != nil {
				errs[k] = fmt.Errorf("prove message %d: %w", k, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	lag := time.Since(t0)
	if lag > 10*time.Second {
		t.Fatalf("proving %d messages took %v: their timestamps would be too far behind", len(msgs), lag)
	}
	return msgs, lag
}

// measure computes the figures from the receipts: delivery over the
// published messages and the nodes but their publisher; duplicates per
// message from the counters' deltas between publishes; hop counts from
// each receipt's sender (the publisher at hop 0, a node one hop beyond
// the node its first copy came from); and each receipt's shortest
// forwarding path (the publisher sends to every peer, the others to
// their mesh peers), the hop count it would have had if every hop took
// the same time.
func (rn *realNetwork) measure(t *testing.T, obs *Observation, tr *traffic) figures {
	t.Helper()
	n := len(rn.nodes)
	links := make([][]int, n)
	for _, l := range obs.Links {
		links[l[0]] = append(links[l[0]], l[1])
		links[l[1]] = append(links[l[1]], l[0])
	}
	byHash := map[wire.MessageHash]int{}
	for k, h := range tr.hashes {
		if tr.published[k] {
			byHash[h] = k
		}
	}
	// from[k][i] is the node message k first came to node i from (-2:
	// not received, -1: the publisher itself); at[k][i] when.
	from := make([][]int, len(tr.hashes))
	at := make([][]time.Time, len(tr.hashes))
	for k := range from {
		from[k] = make([]int, n)
		at[k] = make([]time.Time, n)
		for i := range from[k] {
			from[k][i] = -2
		}
		if tr.published[k] {
			from[k][obs.Origins[k]] = -1
		}
	}
	var f figures
	delivered, expected := 0, 0
	for i, rs := range tr.got {
		for _, r := range rs {
			k, ok := byHash[r.hash]
			if !ok || from[k][i] != -2 {
				continue
			}
			j, ok := rn.index[r.from]
			if !ok {
				t.Fatalf("node %d got message %d from %s, none of the network's nodes", i, k, r.from)
			}
			from[k][i], at[k][i] = j, r.at
			delivered++
		}
	}
	add := func(h *[]int64, v int) {
		for len(*h) <= v {
			*h = append(*h, 0)
		}
		(*h)[v]++
	}
	var rates, to100 []float64
	receipts, overtaken := 0, 0
	for k := range tr.hashes {
		if !tr.published[k] {
			continue
		}
		f.messages++
		expected += n - 1
		hop := make([]int, n)
		for i := range hop {
			hop[i] = -1
		}
		var hopOf func(i, depth int) int
		hopOf = func(i, depth int) int {
			switch {
			case from[k][i] == -1:
				return 0
			case from[k][i] < 0 || depth > n:
				return -1
			case hop[i] >= 0:
				return hop[i]
			}
			if h := hopOf(from[k][i], depth+1); h >= 0 {
				hop[i] = h + 1
			}
			return hop[i]
		}
		path := forwardingPaths(obs.Origins[k], links, tr.meshes)
		receivers := 1
		last := time.Duration(0)
		for i := range n {
			if from[k][i] < 0 {
				continue
			}
			receivers++
			last = max(last, at[k][i].Sub(tr.sentAt[k]))
			h := hopOf(i, 0)
			if h <= 0 {
				continue
			}
			add(&f.hops, h)
			receipts++
			if path[i] > 0 {
				add(&f.pathHops, path[i])
				if h > path[i] {
					overtaken++
				}
			}
		}
		if receivers == n {
			to100 = append(to100, float64(last.Microseconds())/1000)
		}
		next := k + 1
		for next < len(tr.hashes) && !tr.published[next] {
			next++
		}
		rates = append(rates, float64(tr.marks[next]-tr.marks[k])/float64(receivers))
	}
	if expected > 0 {
		f.delivery = float64(delivered) / float64(expected)
	}
	if len(rates) > 0 {
		sum := 0.0
		for _, r := range rates {
			sum += r
		}
		f.dups = sum / float64(len(rates))
		f.dupP50 = percentiles(rates).P50
	}
	if receipts > 0 {
		f.overtaken = float64(overtaken) / float64(receipts)
	}
	f.to100 = percentiles(to100).P50
	mesh := 0
	for _, m := range tr.meshes {
		mesh += len(m)
	}
	f.meshMean = float64(mesh) / float64(n)
	return f
}

// forwardingPaths are the hops of the shortest path from the publisher o
// to each node (-1: none) where the publisher sends to every peer (flood
// publishing) and every other node to its mesh peers.
func forwardingPaths(o int, links, meshes [][]int) []int {
	d := make([]int, len(links))
	for i := range d {
		d[i] = -1
	}
	d[o] = 0
	var queue []int
	for _, j := range links[o] {
		d[j] = 1
		queue = append(queue, j)
	}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		for _, y := range meshes[x] {
			if d[y] < 0 {
				d[y] = d[x] + 1
				queue = append(queue, y)
			}
		}
	}
	return d
}

// waitFor polls cond every 50 ms until it holds, d passes or ctx ends.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-wctx.Done():
			return fmt.Errorf("not within %v: %w", d, wctx.Err())
		case <-tick.C:
		}
	}
	return nil
}
