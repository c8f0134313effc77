package wakuenr

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/ethereum/go-ethereum/rlp"
)

// DecodeShardList never panics, accepts only values of the exact length
// with shards below 1024 and none twice, and what it accepts encodes back
// to the same shards.
func FuzzDecodeShardList(f *testing.F) {
	f.Add(mustHex(f, "0001 08 0000 0001 0002 0003 0004 0005 0006 0007"))
	f.Add(mustHex(f, "0010 02 0400 0001"))
	f.Add(mustHex(f, "0001 02 0001 0001"))
	f.Add(mustHex(f, "0001 00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeShardList(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(b) != 3+2*len(s.Indices) {
			t.Fatalf("accepted %d bytes for %d shards", len(b), len(s.Indices))
		}
		if err := s.check(); err != nil {
			t.Fatalf("accepted shards that are not valid: %v", err)
		}
		enc, err := EncodeShardList(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeShardList(enc)
		if err != nil || !back.Equal(s) {
			t.Fatalf("re-encoded %x decodes to %v, %v; want %v", enc, back, err, s)
		}
	})
}

// DecodeShardVector accepts exactly the 130-byte values and is the inverse
// of EncodeShardVector on them.
func FuzzDecodeShardVector(f *testing.F) {
	f.Add(EncodeShardVector(Shards{1, shardRange(0, 64)}))
	f.Add(EncodeShardVector(Shards{0xffff, []uint16{0, 1023}}))
	f.Add(make([]byte, 129))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeShardVector(b)
		if (err == nil) != (len(b) == shardVectorLen) {
			t.Fatalf("%d bytes: error %v", len(b), err)
		}
		if err != nil {
			return
		}
		if err := s.check(); err != nil {
			t.Fatal(err)
		}
		if enc := EncodeShardVector(s); !bytes.Equal(enc, b) {
			t.Fatalf("re-encoded %x, want %x", enc, b)
		}
	})
}

// DecodeMultiaddrs never panics, stays within its bound, and what it
// accepts encodes back to the same bytes.
func FuzzDecodeMultiaddrs(f *testing.F) {
	f.Add(mustHex(f, "002b36266e6f64652d30312e646f2d616d73332e77616b752e73616e64626f782e7374617475732e696d06765f002d36266e6f64652d30312e646f2d616d73332e77616b752e73616e64626f782e7374617475732e696d061f40de03"))
	f.Add([]byte{0x00, 0x00})
	f.Add([]byte{0x00, 0x03, 0x04, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		addrs, err := DecodeMultiaddrs(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(b) > maxMultiaddrsValue {
			t.Fatalf("accepted %d bytes", len(b))
		}
		enc, err := EncodeMultiaddrs(addrs)
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("re-encoded %x, %v; want %x", enc, err, b)
		}
	})
}

// fuzzKey signs the records FuzzDecodeRecord makes from unsigned content.
var fuzzKey, _ = gethcrypto.HexToECDSA("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8")

// A whole record: never a panic, and a record Decode accepts has a peer
// id of its key, valid shards, and distinct addresses without our /p2p
// part, which its text form reads back to. The input is either a signed
// record as discv5 hands it over (RLP), or, since mutations rarely keep a
// signature valid, an RLP list of key/value pairs that the test signs.
func FuzzDecodeRecord(f *testing.F) {
	for _, tc := range twnBootstrap {
		n, err := Parse(tc.enr)
		if err != nil {
			f.Fatal(err)
		}
		b, err := rlp.EncodeToBytes(n.Record())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		// The same entries as unsigned content.
		elems := n.Record().AppendElements(nil)[1:]
		content, err := rlp.EncodeToBytes(elems)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(content)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := fuzzRecord(b)
		if n == nil {
			return
		}
		p, err := Decode(n)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		want, err := PeerID(n.Pubkey())
		if err != nil || p.ID != want {
			t.Fatalf("peer id %s, want %s (%v)", p.ID, want, err)
		}
		if p.HasShards {
			if err := p.Shards.check(); err != nil {
				t.Fatal(err)
			}
		}
		for k, a := range p.Addrs {
			if len(a) == 0 {
				t.Fatalf("address %d is empty", k)
			}
			if slices.ContainsFunc(p.Addrs[:k], a.Equal) {
				t.Fatalf("address %v twice", a)
			}
			if _, err := stripPeer(a, p.ID); err != nil {
				t.Fatalf("address %v: %v", a, err)
			}
		}
		back, err := ParsePeer(Text(n))
		if err != nil || back.ID != p.ID || len(back.Addrs) != len(p.Addrs) {
			t.Fatalf("text form reads back as %v, %v", back.ID, err)
		}
	})
}

// fuzzRecord reads b as a signed record, or else as content to sign; nil
// when it is neither.
func fuzzRecord(b []byte) *enode.Node {
	var r enr.Record
	if err := rlp.DecodeBytes(b, &r); err == nil {
		if n, err := enode.New(enode.ValidSchemes, &r); err == nil {
			return n
		}
	}
	var elems []rlp.RawValue
	if err := rlp.DecodeBytes(b, &elems); err != nil || len(elems)%2 != 0 {
		return nil
	}
	var content enr.Record
	for k := 0; k < len(elems); k += 2 {
		var key string
		if err := rlp.DecodeBytes(elems[k], &key); err != nil {
			return nil
		}
		if key == "id" || key == "secp256k1" {
			continue // SignV4 sets them
		}
		content.Set(enr.WithEntry(key, elems[k+1]))
	}
	content.SetSeq(1)
	if err := enode.SignV4(&content, fuzzKey); err != nil {
		return nil // over the size limit
	}
	n, err := enode.New(enode.ValidSchemes, &content)
	if err != nil {
		return nil
	}
	return n
}
