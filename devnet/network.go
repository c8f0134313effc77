package devnet

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/contracts/devchain"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
)

// lightpushQuota is the proofs per epoch the lightpush service gives one
// light client; the greedy client asks for more.
const lightpushQuota = 4

// Network is a running devnet: the dev chain with the registry and its
// members, the relay nodes linked on loopback, and the hostile node.
type Network struct {
	cfg      Config
	base     config.Config
	prover   *rln.Prover
	chain    *devchain.Chain
	registry devchain.Registry
	// members are the honest publishers [0, Members), then the spammer,
	// the invalid sender and the lightpush service's two memberships.
	members []*member
	nodes   []*node.Node
	hostile *hostileNode
	victims []int // the nodes the hostile node is linked to
	// discoveryMin and discoveryTime: see awaitDiscovery.
	discoveryMin  int
	discoveryTime time.Duration
	topic         string
	dir           string // slots file and store database
	rec           *recorder

	// Which node serves lightpush, archives for the store client and
	// serves filter.
	lightpushAt, storeAt, filterAt int

	closers []func() // run in reverse by Close
}

// The roles of the registered members after the honest ones.
func (n *Network) spammer() *member       { return n.members[n.cfg.Members] }
func (n *Network) invalidSender() *member { return n.members[n.cfg.Members+1] }
func (n *Network) lightpushMembers() []relay.Member {
	return []relay.Member{n.members[n.cfg.Members+2].Member, n.members[n.cfg.Members+3].Member}
}

// Start brings a devnet up: the chain, the registered members, the relay
// nodes and the hostile node, and returns once every node has synced the
// registry and joined the mesh. Close stops it.
func Start(ctx context.Context, c Config) (_ *Network, err error) {
	c, err = c.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Network{cfg: c, rec: newRecorder(c.Nodes), lightpushAt: 1 % c.Nodes, storeAt: 2 % c.Nodes, filterAt: 3 % c.Nodes}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if n.base, err = config.Preset("devnet"); err != nil {
		return nil, err
	}
	// The configured folder, else ../shared, else the cache (fetched into
	// on a machine's first run, with a line per file on Progress).
	loc, err := artefacts.Resolve(ctx, artefacts.Options{Dir: c.ArtefactsDir, Progress: c.Progress})
	if err != nil {
		return nil, fmt.Errorf("devnet: %w", err) // "artefacts: ..." says the rest
	}
	c.say("RLN artefacts from %s (%s)", loc.Dir, loc.Source)
	if n.prover, err = rln.LoadProver(loc.Dir, rln.WakuRLNIdentifier); err != nil {
		return nil, fmt.Errorf("devnet: RLN artefacts: %w", err)
	}
	if err := n.startChain(ctx); err != nil {
		return nil, err
	}
	if err := n.registerMembers(ctx); err != nil {
		return nil, err
	}
	if err := n.startNodes(ctx); err != nil {
		return nil, err
	}
	if n.hostile, err = newHostileNode(ctx, n); err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.hostile.close)
	c.say("%d relay nodes up on loopback, no static peers: nodes 1-%d were given node 0's ENR only; a hostile node is linked to nodes %v",
		c.Nodes, c.Nodes-1, n.victims)
	if err := n.awaitDiscovery(ctx); err != nil {
		return nil, err
	}
	c.say("discovery: every node connected to the other %d through discv5 in %.1f s (fewest peers per node: %d)",
		c.Nodes-1, n.discoveryTime.Seconds(), n.discoveryMin)
	if err := n.awaitSync(ctx); err != nil {
		return nil, err
	}
	c.say("every node synced the registry root and joined the mesh of %s", n.topic)
	return n, nil
}

// Close stops the actors, the nodes and the chain, waits for the
// recorder's goroutines and removes the devnet's files.
func (n *Network) Close() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		n.closers[i]()
	}
	n.closers = nil
	n.rec.wg.Wait()
}

func (n *Network) startChain(ctx context.Context) error {
	chain, err := devchain.Start(devchain.Config{HTTP: "127.0.0.1:0", BlockTime: 500 * time.Millisecond})
	if err != nil {
		return err
	}
	n.chain = chain
	n.closers = append(n.closers, func() { _ = chain.Close() })
	if n.registry, err = chain.DeployRegistry(ctx); err != nil {
		return err
	}
	n.cfg.say("dev chain %d at %s, registry %s", devchain.ChainID, chain.URL(), n.registry.Address.Hex())
	return nil
}

// registerMembers registers every member in batches and learns their tree
// indices from the registration events.
func (n *Network) registerMembers(ctx context.Context) error {
	limit := uint64(n.base.RLN.UserMessageLimit)
	total := n.cfg.Members + 4
	ids := make([]rln.Identity, total)
	commitments := make([]*big.Int, total)
	for i := range ids {
		var err error
		if ids[i], err = rln.NewIdentity(rand.Reader); err != nil {
			return err
		}
		c := ids[i].Commitment
		commitments[i] = c.BigInt(new(big.Int))
	}
	auth, err := n.chain.Transactor(0)
	if err != nil {
		return err
	}
	auth.Context = ctx
	// The registry pulls each member's deposit: allow it all at once.
	if err := n.chain.ApproveDeposits(ctx, 0, n.registry); err != nil {
		return err
	}
	// registerBatch is the dev registry's extra: up to devBatch members a
	// transaction (about 0.8M gas each under the 2^24 per-transaction cap).
	n.members = make([]*member, total)
	var last *types.Receipt
	for start := 0; start < total; start += devBatch {
		end := min(start+devBatch, total)
		tx, err := n.registry.Dev.RegisterBatch(auth, commitments[start:end], uint32(limit))
		if err != nil {
			return fmt.Errorf("devnet: register members %d..%d: %w", start, end-1, err)
		}
		if last, err = n.chain.WaitMined(ctx, tx); err != nil {
			return err
		}
		if last.Status != types.ReceiptStatusSuccessful {
			return fmt.Errorf("devnet: register members %d..%d: transaction %s failed", start, end-1, tx.Hash().Hex())
		}
		n.learnIndices(last, ids, commitments, limit)
	}
	for i, m := range n.members {
		if m == nil {
			return fmt.Errorf("devnet: member %d has no registration event", i)
		}
	}
	n.cfg.say("registered %d members (rate limit %d per %s epoch) by block %d", total, limit, n.base.RLN.EpochPeriod, last.BlockNumber)
	return nil
}

// devBatch is how many members one registerBatch registers.
const devBatch = 16

// learnIndices records the tree index of each member a receipt registered.
func (n *Network) learnIndices(rcpt *types.Receipt, ids []rln.Identity, commitments []*big.Int, limit uint64) {
	for _, l := range rcpt.Logs {
		ev, err := n.registry.Contract.ParseMembershipRegistered(*l)
		if err != nil {
			continue // not a registration
		}
		for i, c := range commitments {
			if c.Cmp(ev.IdCommitment) == 0 {
				n.members[i] = &member{Member: relay.Member{Identity: ids[i], Index: uint64(ev.Index), UserMessageLimit: limit}}
			}
		}
	}
}

// nodeConfig is node i's configuration: the devnet preset on loopback,
// following the dev chain, with its role's service on.
func (n *Network) nodeConfig(i int) config.Config {
	cfg := n.base
	cfg.Chain.RPCURL = n.chain.URL()
	cfg.Chain.Contract = n.registry.Address.Hex()
	cfg.Chain.ChainID = devchain.ChainID
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"}
	cfg.Metrics.Enabled, cfg.REST.Enabled = false, false
	cfg.Store.Enabled = i == n.storeAt
	cfg.Store.DBPath = filepath.Join(n.dir, "store.db")
	cfg.Filter.Enabled = i == n.filterAt
	if i == n.lightpushAt {
		cfg.Lightpush.Enabled = true
		cfg.Lightpush.SlotsFile = filepath.Join(n.dir, "slots")
		cfg.Lightpush.PerPeerQuota = lightpushQuota
		// The light clients all come from 127.0.0.1, one prefix: no share
		// is kept for new clients, so the greedy one meets its own quota.
		cfg.Lightpush.ReservedPercent = 0
	}
	return cfg
}

// discv5Ping is the devnet nodes' discv5 liveness check: with a handful
// of nodes, go-ethereum's 3 s would keep them apart for tens of seconds.
const discv5Ping = 200 * time.Millisecond

// startNodes builds every relay node with node.New, each syncing the
// registry from the chain; they find each other with discv5 from the
// first node's ENR.
func (n *Network) startNodes(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "rlnd-devnet-")
	if err != nil {
		return err
	}
	n.dir = dir
	n.closers = append(n.closers, func() { _ = os.RemoveAll(dir) })
	verifier, err := n.prover.Verifier()
	if err != nil {
		return err
	}
	n.nodes = make([]*node.Node, n.cfg.Nodes)
	for i := range n.nodes {
		cfg := n.nodeConfig(i)
		if i > 0 {
			// Every node but the first finds the others through discv5,
			// from the first node's record only: no static peers.
			cfg.Discovery.Discv5Bootstrap = []string{n.nodes[0].ENR()}
		}
		o := node.Options{
			Config: &cfg, Verifier: verifier, Logger: n.cfg.Logger.With("node", i),
			SyncConfig:         membership.SyncConfig{StartBlock: n.registry.Block, PollInterval: 250 * time.Millisecond},
			OnEvidence:         func(_ string, ev rln.Evidence) { n.rec.addEvidence(ev) },
			Discv5PingInterval: discv5Ping,
		}
		if i == n.lightpushAt {
			o.Prover, o.LightpushMemberships = n.prover, n.lightpushMembers()
		}
		nd, err := node.New(ctx, o)
		if err != nil {
			return fmt.Errorf("devnet: node %d: %w", i, err)
		}
		n.nodes[i] = nd
		n.closers = append(n.closers, func() { _ = nd.Close() })
		n.rec.follow(i, nd.Relay().Subscribe())
	}
	n.topic, err = n.nodes[0].Relay().TopicFor(ContentTopic)
	return err
}

// discoveryWait bounds how long the nodes may take to find each other.
const discoveryWait = 30 * time.Second

// awaitDiscovery waits until every relay node is connected to every
// other, found by discv5 (there are no static peers), and notes how long
// it took and the fewest peers a node had; a shortfall at the deadline
// is left in the report (which then fails), not an error.
func (n *Network) awaitDiscovery(ctx context.Context) error {
	start := time.Now()
	_ = waitFor(ctx, discoveryWait, func() bool {
		n.discoveryMin = len(n.nodes)
		for i, a := range n.nodes {
			connected := 0
			for j, b := range n.nodes {
				if i != j && a.Host().Libp2p().Network().Connectedness(b.Host().ID()) == network.Connected {
					connected++
				}
			}
			n.discoveryMin = min(n.discoveryMin, connected)
		}
		return n.discoveryMin == len(n.nodes)-1
	})
	n.discoveryTime = time.Since(start)
	return ctx.Err()
}

// awaitSync waits until every node has the registry's root and a mesh
// peer on the devnet topic.
func (n *Network) awaitSync(ctx context.Context) error {
	chainRoot, err := n.registry.Contract.Root(nil)
	if err != nil {
		return err
	}
	err = waitFor(ctx, 30*time.Second, func() bool {
		for _, nd := range n.nodes {
			r := nd.Group().Root()
			if r.BigInt(new(big.Int)).Cmp(chainRoot) != 0 || len(nd.Relay().PubSub().MeshPeers(n.topic)) < 1 {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("devnet: nodes did not sync the registry and form meshes: %w", err)
	}
	return nil
}

// newClientHost is a libp2p host of the devnet's cluster for a client,
// linked to node at; Close closes it.
func (n *Network) newClientHost(ctx context.Context, at int, what string) (*p2p.Host, error) {
	h, err := p2p.NewHost(p2p.HostConfig{ClusterID: n.base.Network.ClusterID})
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, func() { _ = h.Close() })
	if err := link(ctx, h, n.nodes[at].Host()); err != nil {
		return nil, fmt.Errorf("devnet: %s: %w", what, err)
	}
	return h, nil
}

// link connects a to b within 10 s.
func link(ctx context.Context, a, b *p2p.Host) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := a.Connect(cctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Libp2p().Addrs()})
	return err
}

// errTimedOut is what waitFor returns when its bound passes.
var errTimedOut = errors.New("timed out")

// waitFor polls cond every 50 ms until it holds, d passes (errTimedOut)
// or ctx ends.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s", errTimedOut, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
