// Package dnsdisc finds nodes through EIP-1459 DNS trees (enrtree:// URLs),
// as nwaku's --dns-discovery-url does: The Waku Network publishes its
// nodes at
//
//	enrtree://AOGYWMBYOUIMOENHXCHILPKY3ZRFEULMFI4DOM442QSZ73TT2A7VI@test.waku.nodes.status.im
//
// It builds on go-ethereum's p2p/dnsdisc client, which walks a tree and
// checks it: the root's signature against the URL's key, every entry's
// hash against its name, every node record's signature (identity scheme
// v4). Around it, this package
//   - validates the URLs up front, with errors that say what is wrong;
//   - asks the DNS server set in the config (NameServer) or the system's;
//   - verifies the root itself first, for errors callers can branch on
//     (ErrNoRoot, ErrBadSignature, ErrInvalidTree), and refuses a root
//     whose sequence number does not increase (ErrStaleRoot);
//   - follows the links between trees, breadth first, at most MaxTrees
//     trees in all (go-ethereum's SyncTree reads one tree);
//   - bounds the work a hostile DNS server or tree can cause: each query
//     within Timeout (go-ethereum's per-query timeout, applied here too),
//     the Client's queries at RateLimit per second in all (go-ethereum's
//     limiter is per go-ethereum client, and a client is made for each
//     read of a tree so that a read can be cancelled and bounded), each
//     entry within MaxEntrySize and each name within MaxRecordsPerName
//     records (go-ethereum has no such bound; node records are bounded to
//     300 bytes by go-ethereum's enr package), and each tree to a budget of
//     2*(MaxNodesPerTree+MaxTrees)+2 entries, enough for any tree of
//     MaxNodesPerTree nodes and MaxTrees links whose branches have two or
//     more children: a larger tree is read up to the budget and at most
//     MaxNodesPerTree of its nodes are taken (go-ethereum's SyncTree has no
//     bound);
//   - in a Feed, reads a tree again only when its root record changed, and
//     asks the server only for the entries that changed (entries are named
//     by their hash).
//
// Resolve reads the trees once; a Feed follows them, and yields each node
// when it first appears and again when its record changes.
package dnsdisc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strings"

	gethlog "github.com/ethereum/go-ethereum/log"
	gethdns "github.com/ethereum/go-ethereum/p2p/dnsdisc"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"golang.org/x/time/rate"
)

// Client reads EIP-1459 trees. It is safe for concurrent use, and holds
// no goroutine of its own.
type Client struct {
	cfg      Config
	urls     []URL
	log      *slog.Logger
	gethLog  gethlog.Logger
	resolver *net.Resolver
	limiter  *rate.Limiter
	metrics  *metrics
}

// New checks cfg (errors wrap ErrInvalidURL or ErrInvalidConfig) and
// returns a Client for its trees.
func New(cfg Config) (*Client, error) {
	if len(cfg.URLs) == 0 {
		return nil, fmt.Errorf("%w: no URL, expected at least one %s<base32 public key>@<domain>", ErrInvalidConfig, Scheme)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	urls := make([]URL, 0, len(cfg.URLs))
	seen := make(map[string]bool)
	for i, s := range cfg.URLs {
		u, err := ParseURL(s)
		if err != nil {
			return nil, fmt.Errorf("URL %d: %w", i+1, err)
		}
		if seen[u.String()] {
			continue
		}
		seen[u.String()] = true
		urls = append(urls, u)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Client{
		cfg:      cfg,
		urls:     urls,
		log:      cfg.Logger,
		gethLog:  gethlog.NewLogger(cfg.Logger.Handler()),
		resolver: newResolver(cfg.NameServer),
		limiter:  rate.NewLimiter(rate.Limit(cfg.RateLimit), 10),
		metrics:  m,
	}, nil
}

// URLs are the configured trees, parsed, duplicates left out.
func (c *Client) URLs() []URL { return slices.Clone(c.urls) }

// Resolve reads the configured trees and the trees they link to (at most
// MaxTrees in all) and returns their nodes, each once (the record with the
// highest sequence number when trees disagree), sorted by node ID. When a
// tree cannot be read, the error names its URL and why; the nodes of the
// trees that could be read are returned with it. ctx bounds the whole
// call, Config.Timeout each query.
func (c *Client) Resolve(ctx context.Context) ([]*enode.Node, error) {
	reached, err := c.round(ctx, make(map[string]*treeState))
	nodes := unionNodes(reached)
	c.metrics.discovered.Add(float64(len(nodes)))
	return nodes, err
}

// treeState is what is known of one tree.
type treeState struct {
	url     URL
	synced  bool // a root has been taken
	rootTXT string
	seq     uint64
	nodes   []*enode.Node // sorted by ID, at most MaxNodesPerTree
	links   []URL
	cache   map[string]string // entries of the last read, by label
}

// round reads the trees reached from the configured URLs through links,
// breadth first, at most MaxTrees, each with its state in states (keyed
// by canonical URL; a new state for a tree not there). It returns the
// states reached in that order, and the errors of the trees that could
// not be read, joined. A tree that could
// not be read keeps the nodes and links of its last read.
func (c *Client) round(ctx context.Context, states map[string]*treeState) (reached []*treeState, err error) {
	var errs []error
	seen := make(map[string]bool)
	queue := slices.Clone(c.urls)
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		key := u.String()
		if seen[key] {
			continue
		}
		if len(reached) == c.cfg.MaxTrees {
			c.log.Warn("dnsdisc: more trees linked than MaxTrees, not reading this one", "url", key, "max_trees", c.cfg.MaxTrees)
			continue
		}
		seen[key] = true
		st := states[key]
		if st == nil {
			st = &treeState{url: u}
			states[key] = st
		}
		reached = append(reached, st)
		if _, err := c.syncTree(ctx, st); err != nil {
			if ctx.Err() != nil {
				return reached, errors.Join(append(errs, fmt.Errorf("dnsdisc: tree %s: %w", key, ctx.Err()))...)
			}
			if errors.Is(err, ErrStaleRoot) {
				c.metrics.errors.WithLabelValues(errTypeStaleRoot).Inc()
			} else {
				c.metrics.errors.WithLabelValues(errTypeTreeSync).Inc()
			}
			err = fmt.Errorf("dnsdisc: tree %s: %w", key, err)
			c.log.Warn("dnsdisc: reading a tree failed", "url", key, "err", err)
			errs = append(errs, err)
		}
		queue = append(queue, st.links...)
	}
	return reached, errors.Join(errs...)
}

// syncTree reads the tree of st when its root record changed, and reports
// whether st took a new root.
func (c *Client) syncTree(ctx context.Context, st *treeState) (bool, error) {
	rootTXT, err := c.lookupRoot(ctx, st.url)
	if err != nil {
		return false, err
	}
	if st.synced && rootTXT == st.rootTXT {
		return false, nil
	}
	r, err := parseRoot(rootTXT)
	if err != nil {
		return false, fmt.Errorf("%w: root record at %s: %w", ErrInvalidTree, st.url.Domain, err)
	}
	if !r.verify(st.url.PublicKey) {
		return false, fmt.Errorf("%w: the root record at %s (seq %d) is not signed by the key of the URL", ErrBadSignature, st.url.Domain, r.seq)
	}
	if st.synced && r.seq <= st.seq {
		return false, fmt.Errorf("%w: the root record at %s has seq %d, the tree followed has seq %d", ErrStaleRoot, st.url.Domain, r.seq, st.seq)
	}

	s := &session{
		c: c, ctx: ctx, domain: st.url.Domain, rootTXT: rootTXT,
		budget: 2*(c.cfg.MaxNodesPerTree+c.cfg.MaxTrees) + 2,
		prev:   st.cache, next: make(map[string]string),
	}
	gc := gethdns.NewClient(gethdns.Config{
		Timeout:   c.cfg.Timeout,
		RateLimit: math.Inf(1), // the session's queries go through c.limiter
		Resolver:  s,
		Logger:    c.gethLog,
	})
	var nodes []*enode.Node
	var links []string
	tree, err := gc.SyncTree(st.url.String())
	switch {
	case err == nil:
		nodes, links = tree.Nodes(), tree.Links()
	case ctx.Err() != nil:
		return false, ctx.Err()
	case errors.Is(err, errBudget):
		nodes, links = s.harvest()
		c.metrics.errors.WithLabelValues(errTypeTooLarge).Inc()
		c.log.Warn("dnsdisc: tree larger than the bounds, read up to them", "url", st.url.String(), "entries", s.budget, "nodes", len(nodes), "links", len(links))
	case errors.Is(err, ErrTimeout), errors.Is(err, ErrLookup), errors.Is(err, ErrInvalidTree):
		return false, err
	default:
		// go-ethereum's own checks: a malformed branch, node record or
		// link, an entry of the wrong kind in a subtree.
		return false, fmt.Errorf("%w: %w", ErrInvalidTree, err)
	}

	nodes = newestByID(nodes)
	if len(nodes) > c.cfg.MaxNodesPerTree {
		c.metrics.errors.WithLabelValues(errTypeTooLarge).Inc()
		c.log.Warn("dnsdisc: tree has more nodes than MaxNodesPerTree, taking the first by ID", "url", st.url.String(), "nodes", len(nodes), "max_nodes", c.cfg.MaxNodesPerTree)
		nodes = nodes[:c.cfg.MaxNodesPerTree]
	}
	st.links = st.links[:0]
	slices.Sort(links)
	for _, l := range links {
		u, err := ParseURL(l)
		if err != nil {
			c.log.Warn("dnsdisc: tree links to an invalid URL, ignored", "url", st.url.String(), "err", err)
			continue
		}
		if len(st.links) == c.cfg.MaxTrees {
			c.log.Warn("dnsdisc: tree has more links than MaxTrees, ignoring the rest", "url", st.url.String(), "max_trees", c.cfg.MaxTrees)
			break
		}
		st.links = append(st.links, u)
	}
	st.synced, st.rootTXT, st.seq, st.nodes, st.cache = true, rootTXT, r.seq, nodes, s.next
	c.log.Debug("dnsdisc: read tree", "url", st.url.String(), "seq", r.seq, "nodes", len(nodes), "links", len(st.links))
	return true, nil
}

// harvest returns the node records and links among the entries read
// before the budget ran out (see session for why they belong to the tree).
func (s *session) harvest() ([]*enode.Node, []string) {
	var nodes []*enode.Node
	var links []string
	for _, txt := range s.next {
		switch {
		case strings.HasPrefix(txt, enrPrefix):
			n, err := enode.Parse(enode.ValidSchemes, txt)
			if err != nil {
				s.c.log.Debug("dnsdisc: invalid node record in a partly read tree, ignored", "domain", s.domain, "err", err)
				continue
			}
			nodes = append(nodes, n)
		case strings.HasPrefix(txt, Scheme):
			links = append(links, txt)
		}
	}
	return nodes, links
}

// newestByID keeps one record per node, the one with the highest
// sequence number, sorted by node ID.
func newestByID(nodes []*enode.Node) []*enode.Node {
	byID := make(map[enode.ID]*enode.Node, len(nodes))
	for _, n := range nodes {
		if old, ok := byID[n.ID()]; !ok || n.Seq() > old.Seq() {
			byID[n.ID()] = n
		}
	}
	out := make([]*enode.Node, 0, len(byID))
	for _, n := range byID {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *enode.Node) int { return bytes.Compare(a.ID().Bytes(), b.ID().Bytes()) })
	return out
}

// unionNodes is every node of the trees, once.
func unionNodes(trees []*treeState) []*enode.Node {
	var all []*enode.Node
	for _, st := range trees {
		all = append(all, st.nodes...)
	}
	return newestByID(all)
}
