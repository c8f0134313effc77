package peerexchange

import (
	"crypto/ecdsa"
	"net"
	"sync"
	"testing"
	"time"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/rlnd/rlnd/p2p"
)

// waitBound bounds every wait of these tests on loopback.
const waitBound = 10 * time.Second

// cluster is the Waku cluster of the test hosts.
const cluster = 66

// record is a signed v4 ENR as a Waku node's carries them, with an IPv4
// address, a TCP port and a waku2 entry (relay and lightpush), signed with
// a new key.
func record(t testing.TB, seq uint64, ip string, tcp int) (*enode.Node, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return recordWithKey(t, key, seq, ip, tcp), key
}

func recordWithKey(t testing.TB, key *ecdsa.PrivateKey, seq uint64, ip string, tcp int, extra ...enr.Entry) *enode.Node {
	t.Helper()
	var r enr.Record
	r.SetSeq(seq)
	r.Set(enr.IPv4(net.ParseIP(ip)))
	r.Set(enr.TCP(tcp))
	r.Set(enr.WithEntry("waku2", []byte{0b1001}))
	for _, e := range extra {
		r.Set(e)
	}
	if err := enode.SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	n, err := enode.New(enode.ValidSchemes, &r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fullRecord is a signed record of exactly MaxRecordSize bytes: a record
// padded with an opaque entry.
func fullRecord(t testing.TB) *enode.Node {
	t.Helper()
	key, err := ethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for pad := MaxRecordSize; pad >= 0; pad-- {
		var r enr.Record
		r.Set(enr.IPv4(net.ParseIP("127.0.0.1")))
		r.Set(enr.TCP(60000))
		r.Set(enr.WithEntry("waku2", []byte{0b1001}))
		r.Set(enr.WithEntry("pad", make([]byte, pad)))
		if enode.SignV4(&r, key) != nil {
			continue // too large
		}
		n, err := enode.New(enode.ValidSchemes, &r)
		if err != nil {
			t.Fatal(err)
		}
		if len(rawOf(t, n)) == MaxRecordSize {
			return n
		}
	}
	t.Fatal("no padding makes a record of exactly MaxRecordSize")
	return nil
}

func rawOf(t testing.TB, n *enode.Node) []byte {
	t.Helper()
	b, err := rlp.EncodeToBytes(n.Record())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// nodeKey is h's libp2p key (secp256k1) as an Ethereum key, to sign h's
// ENR.
func nodeKey(t testing.TB, h *p2p.Host) *ecdsa.PrivateKey {
	t.Helper()
	sk := h.Libp2p().Peerstore().PrivKey(h.ID())
	if sk == nil {
		t.Fatal("no private key for the host")
	}
	raw, err := sk.Raw()
	if err != nil {
		t.Fatal(err)
	}
	key, err := ethcrypto.ToECDSA(raw)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
