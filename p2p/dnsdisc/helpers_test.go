package dnsdisc

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	ma "github.com/multiformats/go-multiaddr"
)

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// urlOf is the enrtree URL of key and domain.
func urlOf(key *ecdsa.PrivateKey, domain string) string {
	return Scheme + b32.EncodeToString(crypto.CompressPubkey(&key.PublicKey)) + "@" + domain
}

// wakuNode is a signed node record as a Waku node publishes it: address,
// ports, waku2 (relay, store, filter, lightpush) and rs (cluster 1, shards
// 0 to 7); odd ones also carry a multiaddrs entry (a websocket address),
// which takes their text form past 255 characters.
func wakuNode(t testing.TB, i int, seq uint64) *enode.Node {
	t.Helper()
	return wakuNodeKey(t, newKey(t), i, seq)
}

func wakuNodeKey(t testing.TB, key *ecdsa.PrivateKey, i int, seq uint64) *enode.Node {
	t.Helper()
	var r enr.Record
	r.SetSeq(seq)
	r.Set(enr.IPv4Addr(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})))
	r.Set(enr.TCP(60000))
	r.Set(enr.UDP(9000))
	r.Set(enr.WithEntry("waku2", []byte{0x0f}))
	rs := []byte{0, 1, 8}
	for shard := range 8 {
		rs = binary.BigEndian.AppendUint16(rs, uint16(shard))
	}
	r.Set(enr.WithEntry("rs", rs))
	if i%2 == 1 {
		addr, err := ma.NewMultiaddr("/dns4/node-" + strconv.Itoa(i) + ".example.org/tcp/8000/wss")
		if err != nil {
			t.Fatal(err)
		}
		b := binary.BigEndian.AppendUint16(nil, uint16(len(addr.Bytes())))
		r.Set(enr.WithEntry("multiaddrs", append(b, addr.Bytes()...)))
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

func wakuNodes(t testing.TB, from, count int) []*enode.Node {
	t.Helper()
	out := make([]*enode.Node, count)
	for i := range out {
		out[i] = wakuNode(t, from+i, 1)
	}
	return out
}

// signRoot is a root record over e, l and seq, signed by key.
func signRoot(t testing.TB, key *ecdsa.PrivateKey, e, l string, seq uint64) string {
	t.Helper()
	r := root{eroot: e, lroot: l, seq: seq}
	sig, err := crypto.Sign(crypto.Keccak256([]byte(r.signedText())), key)
	if err != nil {
		t.Fatal(err)
	}
	return r.signedText() + " sig=" + b64(sig)
}

// label is the name of entry txt in its tree.
func label(txt string) string {
	return b32.EncodeToString(crypto.Keccak256([]byte(txt))[:16])
}

// sameNodes reports how got differs from want (by ID and record), or "".
func sameNodes(got, want []*enode.Node) string {
	byID := make(map[enode.ID]*enode.Node)
	for _, n := range want {
		byID[n.ID()] = n
	}
	if len(got) != len(want) {
		return fmt.Sprintf("got %d nodes, want %d", len(got), len(want))
	}
	for _, n := range got {
		w, ok := byID[n.ID()]
		if !ok {
			return fmt.Sprintf("got node %s, not among those wanted", n.ID().TerminalString())
		}
		if n.String() != w.String() {
			return fmt.Sprintf("node %s: got record %s, want %s", n.ID().TerminalString(), n.String(), w.String())
		}
	}
	return ""
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
