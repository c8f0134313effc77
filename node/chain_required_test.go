package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/dnstest"
	"github.com/rlnd/rlnd/p2p"
)

// failFastBound bounds New when the configuration lacks the chain
// endpoint: the check comes before any file, socket or key is touched, so
// it takes microseconds; the bound is for a loaded machine under -race.
const failFastBound = 2 * time.Second

// A preset with RLN on and no chain.rpc-url (twn's default; devnet's with
// the URL cleared) fails New at once, in one line that names
// chain.rpc-url, its flag --chain-rpc-url and the chain id the endpoint
// must serve. Nothing has started by then: the data directory is not
// created, the TCP listen address and the metrics address (held by the
// test: a listen would fail New with another error) and the discv5 UDP
// port (also held) are not tried, the DNS tree's name server is asked nothing, and the RLN
// artefacts (an empty folder here) are not loaded.
func TestNodeRLNWithoutChainRPCFailsFast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		preset string
		want   []string // besides the key and the flag
	}{
		{preset: "twn", want: []string{"chain 59141", "Linea Sepolia", "0xB9cd878C90E49F797B4431fBF4fb333108CB90e6"}},
		{preset: "devnet", want: []string{"chain 1337", "0xa1C51e71CFb1dBB016dF743FD5dc48D62Ebb917B"}},
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Preset(tt.preset)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Chain.RPCURL = ""
			if !cfg.RLN.Enabled {
				t.Fatalf("the %s preset has RLN off", tt.preset)
			}
			var lc net.ListenConfig
			tcp, err := lc.Listen(t.Context(), "tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer tcp.Close()
			metrics, err := lc.Listen(t.Context(), "tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer metrics.Close()
			udp, err := lc.ListenPacket(t.Context(), "udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer udp.Close()
			dns := dnstest.Start(t)
			dataDir := filepath.Join(t.TempDir(), "data")

			cfg.Node.DataDir = dataDir
			cfg.P2P.Listen = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", tcp.Addr().(*net.TCPAddr).Port)}
			cfg.Discovery.Discv5, cfg.Discovery.Discv5UDPPort = true, udp.LocalAddr().(*net.UDPAddr).Port
			cfg.Discovery.DNS, cfg.Discovery.DNSURLs, cfg.Discovery.DNSNameServer = true, []string{config.TWNDNSTree}, dns.Addr()
			cfg.RLN.ArtefactsDir = t.TempDir()
			cfg.Metrics.Enabled, cfg.Metrics.Address = true, metrics.Addr().String()

			began := time.Now()
			n, err := New(t.Context(), Options{Config: &cfg})
			took := time.Since(began)
			if err == nil {
				n.Close()
				t.Fatal("the node started without a chain endpoint")
			}
			if took > failFastBound {
				t.Errorf("New took %v to fail, want at most %v", took, failFastBound)
			}
			msg := err.Error()
			for _, want := range append([]string{"chain.rpc-url", "--chain-rpc-url"}, tt.want...) {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is more than one line", msg)
			}
			if errors.Is(err, p2p.ErrListen) || strings.Contains(msg, "metrics") || strings.Contains(msg, "artefact") || strings.Contains(msg, "verifying key") {
				t.Errorf("New went past the chain check: %v", err)
			}
			if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the data directory was created or touched (%v)", err)
			}
			if q := dns.Queries(); q != 0 {
				t.Errorf("the DNS server was asked %d queries", q)
			}
		})
	}
}
