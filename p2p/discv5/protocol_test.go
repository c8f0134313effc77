package discv5

import (
	"crypto/aes"
	"crypto/cipher"
	"net"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"

	"github.com/rlnd/rlnd/p2p/wakuenr"
)

// The protocol id is really on the wire: a service's first packet to a
// bootnode carries it in its masked header (discv5 wire spec: the static
// header, masked with AES-CTR keyed by the destination's node id, starts
// with the 6-byte protocol id).
func TestProtocolIDOnTheWire(t *testing.T) {
	t.Parallel()
	for _, id := range []string{ProtocolID, "discv5"} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			// A bootnode record pointing at a plain UDP socket of ours.
			sock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer sock.Close()
			bootKey := newKey(t)
			var r enr.Record
			r.Set(enr.IPv4(net.IPv4(127, 0, 0, 1).To4()))
			r.Set(enr.UDP(sock.LocalAddr().(*net.UDPAddr).Port))
			if err := enode.SignV4(&r, bootKey); err != nil {
				t.Fatal(err)
			}
			boot, err := enode.New(enode.ValidSchemes, &r)
			if err != nil {
				t.Fatal(err)
			}
			svc := newService(t, spec{caps: wakuenr.Relay}, []*enode.Node{boot}, func(c *Config) {
				if id != ProtocolID {
					c.ProtocolID = id
				}
			})
			if err := svc.Start(); err != nil {
				t.Fatal(err)
			}
			// The table's first refresh asks the bootnode; 10 s bound it.
			if err := sock.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1280)
			n, _, err := sock.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("no packet within 10 s: %v", err)
			}
			if n < 16+6 {
				t.Fatalf("packet of %d bytes", n)
			}
			destID := boot.ID()
			block, err := aes.NewCipher(destID[:16])
			if err != nil {
				t.Fatal(err)
			}
			head := make([]byte, 6)
			cipher.NewCTR(block, buf[:16]).XORKeyStream(head, buf[16:22])
			if string(head) != id {
				t.Errorf("protocol id on the wire %q, want %q", head, id)
			}
		})
	}
}

// Nodes of different protocol ids do not talk: a "discv5" node's ping to
// a "d5waku" node goes unanswered, while a "d5waku" node's is answered.
func TestProtocolIDSeparatesNetworks(t *testing.T) {
	t.Parallel()
	waku := startService(t, spec{caps: wakuenr.Relay}, nil, nil)
	tests := []struct {
		protocol string
		answered bool
	}{
		{ProtocolID, true},
		{"discv5", false},
	}
	for _, tc := range tests {
		t.Run(tc.protocol, func(t *testing.T) {
			t.Parallel()
			other := startService(t, spec{caps: wakuenr.Relay}, nil, func(c *Config) { c.ProtocolID = tc.protocol })
			udp, err := other.transport()
			if err != nil {
				t.Fatal(err)
			}
			// Ping waits at most go-ethereum's response timeout (700 ms).
			_, err = udp.Ping(waku.Self())
			if answered := err == nil; answered != tc.answered {
				t.Errorf("ping from a %q node to a %q node: %v; want answered %v", tc.protocol, ProtocolID, err, tc.answered)
			}
		})
	}
}
