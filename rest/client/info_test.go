package client_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/rest/client"
)

// nodeHealth is the part of /health's body the tests read.
type nodeHealth struct {
	NodeHealth      string              `json:"nodeHealth"`
	Reason          string              `json:"reason"`
	ProtocolsHealth []map[string]string `json:"protocolsHealth"`
}

// Health, DebugInfo and Version of a ready node; Peers and AddPeers with
// good and bad input; the admin API off answers 404.
func TestClientInfo(t *testing.T) {
	t.Parallel()
	a, ca := startNode(t, nil)
	b, _ := startNode(t, nil)
	_, noAdmin := startNode(t, func(c *config.Config, _ *node.Options) { c.REST.Admin = false })

	ready, raw, err := ca.Health(ctx(t))
	var h nodeHealth
	if err == nil {
		err = json.Unmarshal(raw, &h)
	}
	if err != nil || !ready || h.NodeHealth != node.StatusReady || len(h.ProtocolsHealth) != 1 || h.ProtocolsHealth[0][node.ComponentRelay] != node.StatusReady {
		t.Fatalf("Health = %v %s %v, want ready with the relay ready", ready, raw, err)
	}

	info, err := ca.DebugInfo(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.ENRUri != a.ENR() || len(info.ListenAddresses) == 0 || !strings.HasSuffix(info.ListenAddresses[0], "/p2p/"+a.Host().ID().String()) {
		t.Fatalf("DebugInfo = %+v, want the node's ENR (%q) and its addresses with /p2p/%s", info, a.ENR(), a.Host().ID())
	}

	if v, err := ca.Version(ctx(t)); err != nil || v != "v0.0.0-test" {
		t.Fatalf("Version = %q %v, want v0.0.0-test", v, err)
	}

	// AddPeers: b's address connects; Peers then lists b, connected.
	bAddr := b.Addrs()[0].String()
	if !strings.Contains(bAddr, "/p2p/") {
		bAddr += "/p2p/" + b.Host().ID().String()
	}
	if err := ca.AddPeers(ctx(t), bAddr); err != nil {
		t.Fatalf("AddPeers(%s): %v", bAddr, err)
	}
	var found api.Peer
	testnet.WaitFor(t, 10*time.Second, "b listed as connected by a's Peers", func() bool {
		peers, err := ca.Peers(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(peers, func(p api.Peer) bool { return strings.HasSuffix(p.Multiaddr, b.Host().ID().String()) })
		if i < 0 {
			return false
		}
		found = peers[i]
		return found.Connected == api.Connected
	})
	if len(found.Protocols) == 0 {
		t.Fatalf("peer %+v lists no protocols", found)
	}

	bad := []struct {
		name   string
		addrs  []string
		status int
		part   string
	}{
		{"not a multiaddr", []string{"/ip4/127.0.0.1/tcp/nope"}, http.StatusBadRequest, "is not a multiaddr"},
		{"no peer id", []string{"/ip4/127.0.0.1/tcp/1"}, http.StatusBadRequest, "has no /p2p/<peer id>"},
		{"itself", []string{a.Addrs()[0].String() + "/p2p/" + a.Host().ID().String()}, http.StatusBadRequest, "this node"},
	}
	for _, tt := range bad {
		wantStatus(t, ca.AddPeers(ctx(t), tt.addrs...), tt.status, tt.part)
	}
	for _, addrs := range [][]string{nil, {" "}} {
		if err := ca.AddPeers(ctx(t), addrs...); !errors.Is(err, client.ErrInvalidArgument) {
			t.Fatalf("AddPeers(%q) = %v, want ErrInvalidArgument", addrs, err)
		}
	}

	_, err = noAdmin.Peers(ctx(t))
	wantStatus(t, err, http.StatusNotFound, "Not Found")
	wantStatus(t, noAdmin.AddPeers(ctx(t), bAddr), http.StatusNotFound, "Not Found")
}

// unhealthyGroup is a static group that reports a failed sync, as a
// membership.GroupManager whose sync stopped does.
type unhealthyGroup struct {
	membership.Group
	mu  sync.Mutex
	err error
}

func (g *unhealthyGroup) Healthy() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

func (g *unhealthyGroup) WindowTrusted() error { return nil }

// A node that is not ready answers /health with 503 and its health as
// JSON: Health returns that body (saying why) with ready false and no
// error.
func TestClientHealthNotReady(t *testing.T) {
	t.Parallel()
	static, err := membership.NewStaticGroup([]fr.Element{fr.NewElement(7)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	g := &unhealthyGroup{Group: static, err: errors.New("sync stopped: a malformed log at block 12")}
	_, c := startNode(t, func(cfg *config.Config, o *node.Options) {
		cfg.RLN.Enabled = true
		o.Group = g
	})
	ready, raw, err := c.Health(ctx(t))
	if err != nil || ready {
		t.Fatalf("Health = %v %s %v, want not ready and no error", ready, raw, err)
	}
	var h nodeHealth
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("body %s: %v", raw, err)
	}
	if h.NodeHealth != node.StatusUnhealthy || !strings.Contains(h.Reason, "malformed log at block 12") || len(h.ProtocolsHealth) != 2 ||
		h.ProtocolsHealth[1][node.ComponentRLNRelay] != node.StatusNotReady {
		t.Fatalf("body %s, want Unhealthy naming the failed sync, with Rln Relay Not Ready", raw)
	}

	// Recovered: ready again, the same method, 200.
	g.mu.Lock()
	g.err = nil
	g.mu.Unlock()
	ready, raw, err = c.Health(ctx(t))
	if err != nil || !ready || !strings.Contains(string(raw), `"nodeHealth":"Ready"`) {
		t.Fatalf("Health after recovery = %v %s %v, want ready", ready, raw, err)
	}
}
