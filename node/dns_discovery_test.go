package node

import (
	"crypto/ecdsa"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/dnstest"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p/peermgr"
)

// Bounds of the DNS discovery tests. On loopback a tree is read and its
// nodes dialled in milliseconds; the bounds are for a loaded machine
// under -race.
const (
	// dnsConnectBound: a node connects to the nodes of a tree it read.
	dnsConnectBound = 20 * time.Second
	// dnsRecheck is the nodes' DNSRecheckInterval: how often they ask
	// for the trees' roots again (dnsdisc's default is 30 minutes).
	dnsRecheck = 200 * time.Millisecond
	// dnsQueryBound: a root query of the next round arrives.
	dnsQueryBound = 10 * time.Second
)

// enrNode is a node that runs discv5 (its ENR is what a tree lists) and
// nothing else of discovery: no bootstrap node, so no peer finds it but
// through the tree.
func enrNode(t *testing.T) (*Node, *enode.Node) {
	t.Helper()
	cfg := isolatedConfig(t, "")
	cfg.Discovery.Discv5 = true // on a free UDP port (discv5-udp-port 0)
	n := startPeer(t, cfg, Options{})
	text := n.ENR()
	if text == "" {
		t.Fatal("a node with discv5 on has no ENR")
	}
	rec, err := enode.Parse(enode.ValidSchemes, text)
	if err != nil {
		t.Fatalf("the node's ENR %q: %v", text, err)
	}
	return n, rec
}

func dnsKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// dnsConfig is a node whose only discovery is the tree at url, read from
// the DNS server at nameServer: no discv5, no bootstrap ENRs, no entry
// nodes, no static peers, no peer exchange.
func dnsConfig(t *testing.T, url, nameServer string) config.Config {
	t.Helper()
	cfg := isolatedConfig(t, "")
	cfg.Discovery = config.DiscoveryConfig{DNS: true, DNSURLs: []string{url}, DNSNameServer: nameServer}
	return cfg
}

// storeIDs are n's peer store records of source, and whether every record
// is of that source.
func storeIDs(n *Node, source string) (ids []peer.ID, allOfSource bool) {
	allOfSource = true
	for _, k := range n.Peers().Peers() {
		if k.Source != source {
			allOfSource = false
			continue
		}
		ids = append(ids, k.ID)
	}
	slices.Sort(ids)
	return ids, allOfSource
}

func sortedIDs(ns ...*Node) []peer.ID {
	var out []peer.ID
	for _, n := range ns {
		out = append(out, n.Host().ID())
	}
	slices.Sort(out)
	return out
}

// A node configured with only discovery.dns, dns-urls and dns-name-server
// reads a signed EIP-1459 tree (go-ethereum's MakeTree) listing the ENRs
// of three running nodes and connects to all three within
// dnsConnectBound. The tree is then published again with a fourth node
// (sequence 2): the node, following the tree every dnsRecheck, connects
// to it too. Its peer store holds exactly the tree's nodes, all from DNS.
func TestNodeDNSDiscovery(t *testing.T) {
	t.Parallel()
	const domain = "nodes.rlnd.test"
	srv := dnstest.Start(t)
	key := dnsKey(t)
	var listed []*Node
	var recs []*enode.Node
	for range 3 {
		n, rec := enrNode(t)
		listed, recs = append(listed, n), append(recs, rec)
	}
	tree := dnstest.MakeTree(t, key, domain, 1, recs)
	srv.SetTree(domain, tree.Records)

	began := time.Now()
	d := startPeer(t, dnsConfig(t, tree.URL, srv.Addr()), Options{DNSRecheckInterval: dnsRecheck})
	testnet.WaitFor(t, dnsConnectBound, "the DNS-configured node to connect to the tree's 3 nodes", func() bool {
		for _, n := range listed {
			if !admitted(d, n.Host().ID()) {
				return false
			}
		}
		return true
	})
	t.Logf("connected to the tree's 3 nodes %v after New was called", time.Since(began).Round(time.Millisecond))
	if ids, dnsOnly := storeIDs(d, peermgr.SourceDNS); !slices.Equal(ids, sortedIDs(listed...)) || !dnsOnly {
		t.Fatalf("peer store %v (DNS only: %v), want the tree's nodes %v", ids, dnsOnly, sortedIDs(listed...))
	}

	added, rec := enrNode(t)
	tree = dnstest.MakeTree(t, key, domain, 2, append(slices.Clone(recs), rec))
	srv.SetTree(domain, tree.Records)
	began = time.Now()
	testnet.WaitFor(t, dnsConnectBound, "the node to connect to the node added to the tree", func() bool { return admitted(d, added.Host().ID()) })
	t.Logf("connected to the added node %v after the tree update", time.Since(began).Round(time.Millisecond))
	all := append(slices.Clone(listed), added)
	if ids, dnsOnly := storeIDs(d, peermgr.SourceDNS); !slices.Equal(ids, sortedIDs(all...)) || !dnsOnly {
		t.Fatalf("peer store %v (DNS only: %v), want the tree's nodes %v", ids, dnsOnly, sortedIDs(all...))
	}
	if got := connectedPeers(d); !slices.Equal(got, sortedIDs(all...)) {
		t.Errorf("connected to %v, want the tree's nodes %v", got, sortedIDs(all...))
	}
	for _, n := range all {
		if !dialedOut(d, n.Host().ID()) {
			t.Errorf("the connection to %s is not one the DNS-configured node dialled", n.Host().ID())
		}
	}
}

// A tree signed by another key than the URL's: the node starts, logs a
// warning that the root is not signed by the URL's key, and takes no peer
// from the tree, neither at start nor in the rounds that follow (checked
// after two more root queries, so that at least one whole round of the
// background reads has been refused).
func TestNodeDNSTreeOfOtherKey(t *testing.T) {
	t.Parallel()
	const domain = "nodes.rlnd.test"
	srv := dnstest.Start(t)
	listed, rec := enrNode(t)
	wantURL := dnstest.MakeTree(t, dnsKey(t), domain, 1, []*enode.Node{rec}).URL
	srv.SetTree(domain, dnstest.MakeTree(t, dnsKey(t), domain, 1, []*enode.Node{rec}).Records)

	var logs testnet.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d := startPeer(t, dnsConfig(t, wantURL, srv.Addr()), Options{DNSRecheckInterval: dnsRecheck, Logger: log})
	if known := d.Peers().Peers(); len(known) != 0 {
		t.Fatalf("the node took %d peers from a tree of another key", len(known))
	}
	srv.DrainAsked()
	srv.WaitAsked(t, domain, dnsQueryBound)
	srv.WaitAsked(t, domain, dnsQueryBound)
	if known := d.Peers().Peers(); len(known) != 0 {
		t.Fatalf("the node took %d peers from a tree of another key in the background", len(known))
	}
	if got := connectedPeers(d); len(got) != 0 {
		t.Errorf("the node is connected to %v", got)
	}
	if !disconnected(listed, d.Host().ID()) {
		t.Error("the node in the tree has a connection to the DNS-configured node")
	}
	warned := false
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "not signed by the key of the URL") && strings.Contains(line, domain) {
			warned = true
			break
		}
	}
	if !warned {
		t.Errorf("no warning names the tree and its signature:\n%s", logs.String())
	}
}
