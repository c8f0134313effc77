package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/contracts/devchain"
	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/relay/pubsub"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// DevnetConfig configures RunDevnet.
type DevnetConfig struct {
	// Nodes is the number of relay nodes (default 6, at least 2).
	Nodes int
	// Duration is how long honest members publish (default 10 s).
	Duration time.Duration
	// Members is the number of honest publishing members (default 4).
	Members int
	// Interval is the time between honest publishes (default 200 ms).
	Interval time.Duration
	// Spam is how many over-rate messages the spammer sends, Invalid how
	// many messages with broken proofs the other hostile member sends
	// (default 3 each).
	Spam, Invalid int
	// ArtefactsDir holds the RLN ceremony artefacts ("" finds them).
	ArtefactsDir string
	// Progress receives a line per step; nil discards them.
	Progress io.Writer
	Logger   *slog.Logger
}

// DevnetReport is what a devnet run measured.
type DevnetReport struct {
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
	StoreOfflinePublished int     `json:"store_offline_published"`
	StoreRetrieved        int     `json:"store_retrieved"`
	FilterReceived        int     `json:"filter_received"`
	ChainID               uint64  `json:"chain_id"`
	Contract              string  `json:"contract"`
	Seconds               float64 `json:"seconds"`
}

// OK is the devnet's verdict: every valid message reached every node, and
// no spam or invalid message got past the first hop.
func (r *DevnetReport) OK() bool {
	return r.Published > 0 && r.Delivered == r.Expected &&
		r.LightpushAccepted > 0 && r.LightpushDelivered == r.LightpushAccepted && r.ProofsAttached == r.LightpushAccepted &&
		r.LightpushAccepted+r.LightpushRejected429 == r.LightpushSent &&
		r.StoreRetrieved == r.StoreOfflinePublished && r.FilterReceived == r.StoreOfflinePublished && r.SpamDelivered == 0 && r.InvalidDelivered == 0 &&
		r.RejectedBeyondFirstHop == 0 && (r.SpamPublished == 0 || r.DoubleSignalsDetected > 0 && r.SecretsRecovered)
}

type devMember struct {
	relay.Member
	epoch  uint64
	nextID uint64
}

// nextMessageID returns the member's next unused message id in the epoch
// of t, or false when it has used its whole rate.
func (m *devMember) nextMessageID(t time.Time, period time.Duration) (uint64, bool) {
	e := rln.Epoch(t, period)
	if e != m.epoch {
		m.epoch, m.nextID = e, 0
	}
	if m.nextID >= m.UserMessageLimit {
		return 0, false
	}
	m.nextID++
	return m.nextID - 1, true
}

type devRecorder struct {
	mu       sync.Mutex
	sent     map[wire.MessageHash]time.Time // valid messages
	hostile  map[wire.MessageHash]string    // "spam" or "invalid"
	got      []map[wire.MessageHash]int
	latency  []time.Duration
	badCount map[string]int
}

// RunDevnet starts the embedded chain, registers members, runs relay
// nodes on loopback, publishes valid, over-rate and invalid messages and
// reports what reached whom.
func RunDevnet(ctx context.Context, dc DevnetConfig) (*DevnetReport, error) {
	if dc.Nodes == 0 {
		dc.Nodes = 6
	}
	if dc.Nodes < 2 {
		return nil, fmt.Errorf("devnet: at least 2 nodes, not %d", dc.Nodes)
	}
	if dc.Duration <= 0 {
		dc.Duration = 10 * time.Second
	}
	if dc.Members <= 0 {
		dc.Members = 4
	}
	if dc.Interval <= 0 {
		dc.Interval = 200 * time.Millisecond
	}
	if dc.Spam == 0 {
		dc.Spam = 3
	}
	if dc.Invalid == 0 {
		dc.Invalid = 3
	}
	if dc.Logger == nil {
		dc.Logger = slog.New(slog.DiscardHandler)
	}
	say := func(format string, a ...any) {
		if dc.Progress != nil {
			fmt.Fprintf(dc.Progress, format+"\n", a...)
		}
	}
	start := time.Now()
	base, err := config.Preset("devnet")
	if err != nil {
		return nil, err
	}
	period := base.RLN.EpochPeriod
	dir := dc.ArtefactsDir
	if dir == "" {
		dir = artefacts.DefaultDir()
	}
	prover, err := rln.LoadProver(dir, rln.WakuRLNIdentifier)
	if err != nil {
		return nil, fmt.Errorf("devnet: RLN artefacts: %w", err)
	}
	verifier, err := prover.Verifier()
	if err != nil {
		return nil, err
	}

	// The chain and the members.
	chain, err := devchain.Start(devchain.Config{HTTP: "127.0.0.1:0", BlockTime: 500 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	defer chain.Close()
	reg, err := chain.DeployRegistry(ctx)
	if err != nil {
		return nil, err
	}
	say("dev chain %d at %s, registry %s", devchain.ChainID, chain.URL(), reg.Address.Hex())
	limit := uint64(base.RLN.UserMessageLimit)
	// Honest members, the spammer, the invalid sender, and the lightpush
	// service's two memberships.
	total := dc.Members + 4
	ids := make([]rln.Identity, total)
	commitments := make([]*big.Int, total)
	for i := range ids {
		if ids[i], err = rln.NewIdentity(rand.Reader); err != nil {
			return nil, err
		}
		c := ids[i].Commitment
		commitments[i] = c.BigInt(new(big.Int))
	}
	auth, err := chain.Transactor(0)
	if err != nil {
		return nil, err
	}
	auth.Context = ctx
	tx, err := reg.Contract.RegisterBatch(auth, commitments, uint32(limit))
	if err != nil {
		return nil, fmt.Errorf("devnet: register members: %w", err)
	}
	rcpt, err := chain.WaitMined(ctx, tx)
	if err != nil {
		return nil, err
	}
	members := make([]*devMember, total)
	for _, l := range rcpt.Logs {
		ev, err := reg.Contract.ParseMembershipRegistered(*l)
		if err != nil {
			continue
		}
		for i, c := range commitments {
			if c.Cmp(ev.IdCommitment) == 0 {
				members[i] = &devMember{Member: relay.Member{Identity: ids[i], Index: uint64(ev.Index), UserMessageLimit: limit}}
			}
		}
	}
	for i, m := range members {
		if m == nil {
			return nil, fmt.Errorf("devnet: member %d has no registration event", i)
		}
	}
	say("registered %d members (rate limit %d per %s epoch) in block %d", total, limit, period, rcpt.BlockNumber)

	// The relay nodes, each syncing the registry from the chain.
	nodes := make([]*Node, dc.Nodes)
	defer func() {
		for _, n := range nodes {
			if n != nil {
				n.Close()
			}
		}
	}()
	slotsDir, err := os.MkdirTemp("", "rlnd-devnet-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(slotsDir)
	// Node 2 is also a store node, node 3 a filter service node.
	storeAt, filterAt := 2%dc.Nodes, 3%dc.Nodes
	rec := &devRecorder{sent: map[wire.MessageHash]time.Time{}, hostile: map[wire.MessageHash]string{}, badCount: map[string]int{}}
	var evMu sync.Mutex
	var evidence []rln.Evidence
	for i := range nodes {
		cfg := base
		cfg.Chain.RPCURL = chain.URL()
		cfg.Chain.Contract = reg.Address.Hex()
		cfg.Chain.ChainID = devchain.ChainID
		cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"}
		cfg.Metrics.Enabled, cfg.REST.Enabled = false, false
		cfg.Store.Enabled = i == storeAt
		cfg.Store.DBPath = filepath.Join(slotsDir, "store.db")
		cfg.Filter.Enabled = i == filterAt
		n, err := New(ctx, Options{
			Config: &cfg, Verifier: verifier, Logger: dc.Logger.With("node", i),
			SyncConfig: membership.SyncConfig{StartBlock: reg.Block, PollInterval: 250 * time.Millisecond},
			OnEvidence: func(_ string, ev rln.Evidence) { evMu.Lock(); evidence = append(evidence, ev); evMu.Unlock() },
		})
		if err != nil {
			return nil, fmt.Errorf("devnet: node %d: %w", i, err)
		}
		nodes[i] = n
		rec.got = append(rec.got, map[wire.MessageHash]int{})
		sub := n.Relay().Subscribe()
		go rec.collect(i, sub)
	}
	link := func(a, b *p2p.Host) error {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := a.Connect(cctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Libp2p().Addrs()})
		return err
	}
	for i := range nodes {
		if err := link(nodes[i].Host(), nodes[(i+1)%dc.Nodes].Host()); err != nil {
			return nil, fmt.Errorf("devnet: link %d: %w", i, err)
		}
		if dc.Nodes > 4 {
			if err := link(nodes[i].Host(), nodes[(i+dc.Nodes/2)%dc.Nodes].Host()); err != nil {
				return nil, fmt.Errorf("devnet: link %d: %w", i, err)
			}
		}
	}
	topic, err := nodes[0].Relay().TopicFor(devnetContentTopic)
	if err != nil {
		return nil, err
	}

	// The hostile node: a Waku peer that relays without validating and
	// publishes whatever it likes, connected to two relay nodes.
	hostileHost, err := p2p.NewHost(p2p.HostConfig{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, ClusterID: base.Network.ClusterID,
		Shards: func() []uint32 { return []uint32{0, 1, 2, 3, 4, 5, 6, 7} }})
	if err != nil {
		return nil, err
	}
	defer hostileHost.Close()
	hostile, err := pubsub.New(hostileHost.Libp2p(), pubsub.Config{Router: relay.DefaultRouterConfig()})
	if err != nil {
		return nil, err
	}
	defer hostile.Close()
	if err := hostile.Join(topic); err != nil {
		return nil, err
	}
	victims := []int{0, dc.Nodes / 2}
	for _, v := range victims {
		if err := link(hostileHost, nodes[v].Host()); err != nil {
			return nil, err
		}
	}
	say("%d relay nodes up on loopback, linked in a ring%s; a hostile node is linked to nodes %v", dc.Nodes,
		map[bool]string{true: " with chords", false: ""}[dc.Nodes > 4], victims)

	// Wait for the meshes and for every node to have synced the members.
	chainRoot, err := reg.Contract.Root(nil)
	if err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 30*time.Second, func() bool {
		for _, n := range nodes {
			r := n.Group().Root()
			if r.BigInt(new(big.Int)).Cmp(chainRoot) != 0 || len(n.Relay().PubSub().MeshPeers(topic)) < 1 {
				return false
			}
		}
		return true
	}); err != nil {
		return nil, fmt.Errorf("devnet: nodes did not sync the registry and form meshes: %w", err)
	}
	say("every node synced the registry root and joined the mesh of %s", topic)

	rep := &DevnetReport{Nodes: dc.Nodes, Members: dc.Members, ChainID: devchain.ChainID, Contract: reg.Address.Hex()}
	group := nodes[0].Group()
	pp := relay.ProofParams{EpochPeriod: period, Signal: rln.SignalTimestamped}
	publish := func(mi int, payload string) error {
		m := members[mi]
		now := time.Now()
		mid, ok := m.nextMessageID(now, period)
		if !ok {
			return nil // rate used up this epoch: an honest member waits
		}
		msg := wire.NewMessage(devnetContentTopic, []byte(payload), now.UnixNano())
		if _, err := relay.AttachProof(prover, group, m.Member, pp, msg, mid); err != nil {
			return err
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		sentAt := time.Now() // latency counts from the publish, not the proving
		h, _, err := nodes[mi%dc.Nodes].Relay().Publish(topic, msg)
		if err != nil {
			return err
		}
		rec.sent[h] = sentAt
		rep.Published++
		return nil
	}
	sendHostile := func(kind string, msg *messagepb.WakuMessage) error {
		b, err := wire.EncodeMessage(msg)
		if err != nil {
			return err
		}
		rec.mu.Lock()
		rec.hostile[wire.Hash(topic, msg)] = kind
		rec.mu.Unlock()
		_, _, err = hostile.Publish(topic, b)
		return err
	}

	// The lightpush service on node 1 proves for light clients with its two
	// memberships; three light clients (no memberships) push through it,
	// one of them greedily, past its quota.
	svcNode := nodes[1%dc.Nodes]
	lpQuota := 4
	svc, err := lightpush.NewService(svcNode.Host().Libp2p(), lightpush.ServiceConfig{
		Relay: svcNode.Relay(), Prover: prover, Group: svcNode.Group(),
		Memberships: []relay.Member{members[dc.Members+2].Member, members[dc.Members+3].Member},
		EpochPeriod: period, Signal: rln.SignalTimestamped, SlotsPath: filepath.Join(slotsDir, "slots"), PerPeerQuota: lpQuota,
		// The light clients all come from 127.0.0.1, one prefix: no share
		// is kept for new clients, so the greedy one meets its own quota.
		ReservedShare: -1,
	})
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	var lightClients []*p2p.Host
	for range 3 {
		lc, err := p2p.NewHost(p2p.HostConfig{ClusterID: base.Network.ClusterID})
		if err != nil {
			return nil, err
		}
		defer lc.Close()
		if err := link(lc, svcNode.Host()); err != nil {
			return nil, fmt.Errorf("devnet: light client: %w", err)
		}
		lightClients = append(lightClients, lc)
	}
	lpSent := map[wire.MessageHash]bool{}
	lightpushOnce := func(k int) error {
		for c, lc := range lightClients {
			sends := 1
			if c == 0 {
				sends = 2 // the greedy client
			}
			for j := range sends {
				now := time.Now()
				msg := wire.NewMessage(devnetContentTopic, []byte(fmt.Sprintf("light client %d message %d/%d", c, k, j)), now.UnixNano())
				pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				r, err := lightpush.Push(pctx, lc.Libp2p(), svcNode.Host().ID(), topic, msg)
				cancel()
				if err != nil {
					return err
				}
				rep.LightpushSent++
				switch r.Status {
				case lightpush.StatusOK:
					rep.LightpushAccepted++
					rec.mu.Lock()
					lpSent[wire.Hash(topic, msg)] = true
					rec.mu.Unlock()
				case lightpush.StatusTooManyRequests:
					rep.LightpushRejected429++
				default:
					return fmt.Errorf("devnet: lightpush answered %d (%s)", r.Status, r.Description)
				}
			}
		}
		return nil
	}
	say("a lightpush service on node %d attaches proofs for 3 light clients (quota %d per epoch)", 1%dc.Nodes, lpQuota)

	// A filter client streams the content topic from node 3.
	fh, err := p2p.NewHost(p2p.HostConfig{ClusterID: base.Network.ClusterID})
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if err := link(fh, nodes[filterAt].Host()); err != nil {
		return nil, fmt.Errorf("devnet: filter client: %w", err)
	}
	fc := filter.NewClient(fh.Libp2p())
	defer fc.Close()
	fctx, fcancel := context.WithTimeout(ctx, 10*time.Second)
	err = fc.Subscribe(fctx, nodes[filterAt].Host().ID(), topic, []string{devnetContentTopic})
	fcancel()
	if err != nil {
		return nil, fmt.Errorf("devnet: filter subscribe: %w", err)
	}
	filtered := map[wire.MessageHash]bool{}
	var filterMu sync.Mutex
	go func() {
		for env := range fc.C() {
			filterMu.Lock()
			filtered[env.Hash] = true
			filterMu.Unlock()
		}
	}()
	say("a filter client subscribed at node %d; node %d archives for a store client that is offline", filterAt, storeAt)

	say("publishing for %s: %d honest members, one every %s", dc.Duration, dc.Members, dc.Interval)
	deadline := time.Now().Add(dc.Duration)
	spamAt := time.Now().Add(dc.Duration / 2)
	spamDone := false
	for i := 0; time.Now().Before(deadline); i++ {
		if err := publish(i%dc.Members, fmt.Sprintf("message %d from member %d", i, i%dc.Members)); err != nil {
			return nil, fmt.Errorf("devnet: publish: %w", err)
		}
		if i%5 == 0 && i/5 < 3 {
			if err := lightpushOnce(i / 5); err != nil {
				return nil, fmt.Errorf("devnet: lightpush: %w", err)
			}
		}
		if !spamDone && time.Now().After(spamAt) {
			spamDone = true
			// The spammer, through the hostile node: one message within
			// its rate (relayed like any other), then more with the same
			// message id and timestamp (so the same epoch): double signals.
			sp := members[dc.Members]
			now := time.Now()
			mid, _ := sp.nextMessageID(now, period)
			for k := range dc.Spam + 1 {
				payload, kind := fmt.Sprintf("spam %d", k), "spam"
				if k == 0 {
					payload, kind = "the spammer's message within its rate", "valid"
				}
				msg := wire.NewMessage(devnetContentTopic, []byte(payload), now.UnixNano())
				if _, err := relay.AttachProof(prover, group, sp.Member, pp, msg, mid); err != nil {
					return nil, err
				}
				if kind == "valid" {
					b, err := wire.EncodeMessage(msg)
					if err != nil {
						return nil, err
					}
					rec.mu.Lock()
					rec.sent[wire.Hash(topic, msg)] = time.Now()
					rep.Published++
					_, _, err = hostile.Publish(topic, b)
					rec.mu.Unlock()
					if err != nil {
						return nil, err
					}
					continue
				}
				if err := sendHostile(kind, msg); err != nil {
					return nil, err
				}
				rep.SpamPublished++
			}
			// The invalid sender: proofs with a tampered share.
			bad := members[dc.Members+1]
			for k := range dc.Invalid {
				now := time.Now()
				msg := wire.NewMessage(devnetContentTopic, []byte(fmt.Sprintf("invalid %d", k)), now.UnixNano())
				p, err := relay.AttachProof(prover, group, bad.Member, pp, msg, uint64(k)%limit)
				if err != nil {
					return nil, err
				}
				var one fr.Element
				one.SetOne()
				p.ShareY.Add(&p.ShareY, &one)
				msg.RateLimitProof = p.Marshal()
				if err := sendHostile("invalid", msg); err != nil {
					return nil, err
				}
				rep.InvalidPublished++
			}
			say("the spammer sent %d over-rate messages and the invalid sender %d broken proofs", dc.Spam, dc.Invalid)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(dc.Interval):
		}
	}
	rep.Expected = rep.Published * dc.Nodes
	lpDelivered := func() int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := 0
		for h := range lpSent {
			all := true
			for _, got := range rec.got {
				all = all && got[h] > 0
			}
			if all {
				n++
			}
		}
		return n
	}
	_ = waitFor(ctx, 15*time.Second, func() bool {
		return rec.delivered() >= rep.Expected && lpDelivered() >= rep.LightpushAccepted
	})
	rep.LightpushDelivered = lpDelivered()

	// Every valid message: relayed ones and light clients' ones.
	valid := map[wire.MessageHash]bool{}
	rec.mu.Lock()
	for h := range rec.sent {
		valid[h] = true
	}
	for h := range lpSent {
		valid[h] = true
	}
	rec.mu.Unlock()
	rep.StoreOfflinePublished = len(valid)
	_ = waitFor(ctx, 10*time.Second, func() bool {
		filterMu.Lock()
		defer filterMu.Unlock()
		n := 0
		for h := range valid {
			if filtered[h] {
				n++
			}
		}
		rep.FilterReceived = n
		return n == len(valid)
	})
	// The store client comes online now and pages through the archive.
	sh, err := p2p.NewHost(p2p.HostConfig{ClusterID: base.Network.ClusterID})
	if err != nil {
		return nil, err
	}
	defer sh.Close()
	if err := link(sh, nodes[storeAt].Host()); err != nil {
		return nil, fmt.Errorf("devnet: store client: %w", err)
	}
	_ = waitFor(ctx, 10*time.Second, func() bool {
		got, err := storeRetrieve(ctx, sh, nodes[storeAt].Host().ID(), topic)
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
	rep.ProofsAttached = svc.ProofsAttached()
	time.Sleep(time.Second) // let stragglers (duplicates, leaks) arrive before counting

	rec.mu.Lock()
	rep.Delivered = 0
	for _, got := range rec.got {
		for h := range rec.sent {
			if got[h] > 0 {
				rep.Delivered++
			}
		}
		for h, kind := range rec.hostile {
			if got[h] > 0 {
				if kind == "spam" {
					rep.SpamDelivered++
				} else {
					rep.InvalidDelivered++
				}
			}
		}
	}
	lat := slices.Clone(rec.latency)
	rec.mu.Unlock()
	rep.DeliveredRatio = float64(rep.Delivered) / float64(max(rep.Expected, 1))
	slices.Sort(lat)
	rep.P50LatencyMs = percentileMs(lat, 0.50)
	rep.P99LatencyMs = percentileMs(lat, 0.99)
	var dups uint64
	for i, n := range nodes {
		st := n.Relay().PubSub().Stats()
		dups += st.Duplicates
		if !slices.Contains(victims, i) {
			rep.RejectedBeyondFirstHop += int(st.Rejected)
		}
	}
	rep.DuplicatesPerMessage = float64(dups) / float64(max(rep.Published, 1))
	evMu.Lock()
	rep.DoubleSignalsDetected = len(evidence)
	rep.SecretsRecovered = len(evidence) > 0
	spammer := members[dc.Members].Identity.Secret
	for _, ev := range evidence {
		if !ev.Secret.Equal(&spammer) {
			rep.SecretsRecovered = false
		}
	}
	evMu.Unlock()
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

const devnetContentTopic = "/rlnd/1/devnet/proto"

func (r *devRecorder) collect(i int, sub *relay.Subscription) {
	for env := range sub.C() {
		r.mu.Lock()
		r.got[i][env.Hash]++
		if t, ok := r.sent[env.Hash]; ok && !env.Local {
			r.latency = append(r.latency, env.Received.Sub(t))
		}
		r.mu.Unlock()
	}
}

func (r *devRecorder) delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, got := range r.got {
		for h := range r.sent {
			if got[h] > 0 {
				n++
			}
		}
	}
	return n
}

// storeRetrieve pages through everything the store node has of the devnet
// content topic.
func storeRetrieve(ctx context.Context, h *p2p.Host, p peer.ID, topic string) (map[wire.MessageHash]bool, error) {
	got := map[wire.MessageHash]bool{}
	req := &storepb.StoreQueryRequest{PubsubTopic: &topic, ContentTopics: []string{devnetContentTopic}, PaginationForward: true}
	for {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := store.QueryPeer(qctx, h.Libp2p(), p, req)
		cancel()
		if err != nil {
			return nil, err
		}
		if store.StatusCode(resp.GetStatusCode()) != store.StatusOK {
			return nil, fmt.Errorf("store answered %d: %s", resp.GetStatusCode(), resp.GetStatusDesc())
		}
		for _, kv := range resp.Messages {
			var mh wire.MessageHash
			copy(mh[:], kv.MessageHash)
			got[mh] = true
		}
		if resp.PaginationCursor == nil {
			return got, nil
		}
		req.PaginationCursor, req.RequestId = resp.PaginationCursor, ""
	}
}

func percentileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
