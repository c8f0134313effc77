package node

import (
	"context"
	"net"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
)

// isolatedConfig is quickConfig with every discovery source off: the node
// finds peers only through what a test configures.
func isolatedConfig(t *testing.T, dataDir string) config.Config {
	t.Helper()
	cfg := quickConfig(t, dataDir)
	cfg.Discovery = config.DiscoveryConfig{}
	return cfg
}

// startPeer starts a node and closes it when the test ends (Close may be
// called before; it is idempotent).
func startPeer(t *testing.T, cfg config.Config, o Options) *Node {
	t.Helper()
	o.Config = &cfg
	n, err := New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// fullAddr is the node's first listen address with its /p2p/<id>.
func fullAddr(t *testing.T, n *Node) string {
	t.Helper()
	addrs := n.Addrs()
	if len(addrs) == 0 {
		t.Fatal("the node has no address")
	}
	return addrs[0].String()
}

// admitted reports whether n is connected to p and has admitted it (the
// metadata check passed).
func admitted(n *Node, p peer.ID) bool {
	_, ok := n.Host().Peer(p)
	return ok && n.Host().Libp2p().Network().Connectedness(p) == network.Connected
}

// disconnected reports whether n has no connection to p.
func disconnected(n *Node, p peer.ID) bool {
	return n.Host().Libp2p().Network().Connectedness(p) != network.Connected
}

// connectedPeers are the peers n has a connection to, sorted.
func connectedPeers(n *Node) []peer.ID {
	ps := n.Host().Libp2p().Network().Peers()
	slices.Sort(ps)
	return ps
}

// dialedOut reports whether one of n's connections to p is one n dialled.
func dialedOut(n *Node, p peer.ID) bool {
	for _, c := range n.Host().Libp2p().Network().ConnsToPeer(p) {
		if c.Stat().Direction == network.DirOutbound {
			return true
		}
	}
	return false
}

// knownIDs are the peer ids of the records in n's peer store.
func knownIDs(n *Node) []peer.ID {
	var out []peer.ID
	for _, k := range n.Peers().Peers() {
		out = append(out, k.ID)
	}
	return out
}

// freeTCPPort is a loopback TCP port free when it returns (the system's
// pick, closed again), for a node that must listen on the same address
// across restarts.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}
