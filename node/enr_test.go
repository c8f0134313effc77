package node

import (
	"context"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/p2p/wakuenr"
)

// The node's ENR says what peers need to find and use it: its peer id,
// the services it runs, its cluster and shards, its TCP address, and the
// websocket address (which js-waku dials) on the same IP; a node listening
// on every interface with nothing announced leaves its private IP out.
func TestNodeENR(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := func(listen []string, edit func(*config.Config)) *Node {
		cfg, err := config.Preset("devnet")
		cfg.REST.Enabled = false // tests that want REST listen on a free port
		if err != nil {
			t.Fatal(err)
		}
		cfg.RLN.Enabled = false
		cfg.Network.Shards = []int{1, 4}
		cfg.P2P.Listen = listen
		cfg.Metrics.Enabled = false
		if edit != nil {
			edit(&cfg)
		}
		nd, err := New(ctx, Options{Config: &cfg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = nd.Close() })
		return nd
	}

	nd := start([]string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"}, func(c *config.Config) {
		c.Filter.Enabled = true
	})
	p, err := wakuenr.ParsePeer(nd.ENR())
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != nd.Host().ID() {
		t.Errorf("ENR peer id %s, node %s", p.ID, nd.Host().ID())
	}
	if want := wakuenr.Relay | wakuenr.Filter; p.Capabilities != want {
		t.Errorf("waku2 %s, want %s", p.Capabilities, want)
	}
	if !p.HasShards || p.Shards.Cluster != 66 || p.Shards.String() != "66/1,4" {
		t.Errorf("shards %s (present %v), want 66/1,4", p.Shards, p.HasShards)
	}
	var tcp, ws bool
	for _, a := range p.Addrs {
		ip, err := manet.ToIP(a)
		if err != nil || !ip.IsLoopback() {
			t.Errorf("address %s is not on 127.0.0.1", a)
		}
		_, err = a.ValueForProtocol(ma.P_WS)
		ws = ws || err == nil
		tcp = tcp || err != nil
	}
	if !tcp || !ws {
		t.Errorf("addresses %v: want the TCP and the websocket one", p.Addrs)
	}
	if p.Node.UDP() == 0 {
		t.Error("no UDP port in the ENR")
	}

	// Every interface, nothing announced: no private or loopback IP.
	wild := start([]string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/tcp/0/ws"}, nil)
	q, err := wakuenr.ParsePeer(wild.ENR())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range q.Addrs {
		if ip, err := manet.ToIP(a); err == nil && (ip.IsPrivate() || ip.IsLoopback()) {
			t.Errorf("a node on 0.0.0.0 announces %s in its ENR", a)
		}
	}
}
