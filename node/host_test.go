package node

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
)

// freePorts returns n TCP ports free on 127.0.0.1 a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out
}

// p2p.ports-shift moves the libp2p and metrics ports of a node.
func TestNodePortsShift(t *testing.T) {
	t.Parallel()
	const shift = 7
	ports := freePorts(t, 3)
	cfg := quickConfig(t, "")
	cfg.P2P.PortsShift = shift
	cfg.P2P.Listen = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ports[0]-shift), fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/ws", ports[1]-shift)}
	cfg.Metrics.Enabled, cfg.Metrics.Address = true, fmt.Sprintf("127.0.0.1:%d", ports[2]-shift)
	n, err := New(t.Context(), Options{Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var got []string
	for _, a := range n.Addrs() {
		got = append(got, a.String())
	}
	for _, want := range []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/", ports[0]), fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/ws/p2p/", ports[1])} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("listening on %q, want %s...", got, want)
		}
	}
	if got, want := n.MetricsAddr().String(), fmt.Sprintf("127.0.0.1:%d", ports[2]); got != want {
		t.Errorf("metrics on %s, want %s", got, want)
	}
}

// A static peer that is this node, by its peer id or its address, is
// skipped with a warning and never dialed.
func TestNodeStaticPeerSelf(t *testing.T) {
	t.Parallel()
	const key = "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	self := idOfHexKey(t, key)
	other := idOfHexKey(t, strings.Repeat("12", 32))
	port := freePorts(t, 1)[0]
	cfg := quickConfig(t, "")
	cfg.P2P.NodeKey = key
	cfg.P2P.Listen = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)}
	cfg.P2P.StaticPeers = []string{
		"/ip4/192.0.2.1/tcp/60000/p2p/" + self.String(),
		fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, other),
	}
	var logs testnet.Buffer
	n, err := New(t.Context(), Options{Config: &cfg, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, s := range cfg.P2P.StaticPeers {
		if !strings.Contains(logs.String(), "a static peer is this node") || !strings.Contains(logs.String(), s) {
			t.Errorf("no warning for static peer %s:\n%s", s, logs.String())
		}
	}
	n.Close() // waits for the static peer goroutines: there must be none
	if strings.Contains(logs.String(), "static peer unreachable") {
		t.Errorf("the node dialed itself:\n%s", logs.String())
	}
}

// The announced addresses follow p2p.dns4-domain-name and
// p2p.ext-multiaddr; p2p.nat=any is run as none with a warning saying so;
// a missing secure websocket certificate fails the start naming the file.
func TestNodeAnnouncedAddrs(t *testing.T) {
	t.Parallel()
	cfg := quickConfig(t, "")
	cfg.P2P.DNS4DomainName = "node.example.org"
	cfg.P2P.ExtMultiaddr = []string{"/ip6/2001:db8::7/tcp/60000"}
	cfg.P2P.NAT = config.NATAny
	var logs testnet.Buffer
	n, err := New(t.Context(), Options{Config: &cfg, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	port, err := n.Addrs()[0].ValueForProtocol(ma.P_TCP)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range n.Host().AdvertisedAddrs() {
		got = append(got, a.String())
	}
	slices.Sort(got)
	if want := []string{"/dns4/node.example.org/tcp/" + port, "/ip6/2001:db8::7/tcp/60000"}; !slices.Equal(got, want) {
		t.Errorf("announced %q, want %q", got, want)
	}
	if !strings.Contains(logs.String(), "rlnd does no UPnP or NAT-PMP port mapping") {
		t.Errorf("no warning about p2p.nat=any:\n%s", logs.String())
	}

	missing := filepath.Join(t.TempDir(), "cert.pem")
	cfg = quickConfig(t, "")
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0/ws"}
	cfg.P2P.WebsocketSecureSupport, cfg.P2P.WebsocketSecureCertPath, cfg.P2P.WebsocketSecureKeyPath = true, missing, missing+".key"
	if n, err := New(t.Context(), Options{Config: &cfg}); err == nil {
		n.Close()
		t.Fatal("the node started without its certificate")
	} else if !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "p2p.websocket-secure-cert-path") {
		t.Errorf("error %q does not name the certificate file and its key", err)
	}
}
