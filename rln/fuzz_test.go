package rln

import (
	"bytes"
	"errors"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/rln/groth16"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// sampleRateLimitProof is a well-formed RateLimitProof (its proof points are
// the generators: valid points, not a valid proof).
func sampleRateLimitProof() []byte {
	_, _, g1, g2 := bn254.Generators()
	p := &RateLimitProof{Proof: groth16.Proof{A: g1, B: g2, C: g1}, Epoch: 2_833_333}
	p.MerkleRoot.SetUint64(7)
	p.ShareX.SetUint64(8)
	p.ShareY.SetUint64(9)
	p.Nullifier.SetUint64(10)
	p.RLNIdentifier, _ = Identifier(WakuRLNIdentifier)
	return p.Marshal()
}

// FuzzUnmarshalRateLimitProof: no panics; every error wraps the sentinel;
// what is accepted re-encodes to an equal message.
func FuzzUnmarshalRateLimitProof(f *testing.F) {
	good := sampleRateLimitProof()
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := UnmarshalRateLimitProof(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedRateLimitProof) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		var in, out messagepb.RateLimitProof
		if err := proto.Unmarshal(b, &in); err != nil {
			t.Fatal(err)
		}
		if err := proto.Unmarshal(p.Marshal(), &out); err != nil {
			t.Fatal(err)
		}
		in.ProtoReflect().SetUnknown(nil)
		if !proto.Equal(&in, &out) {
			t.Fatalf("accepted proof does not re-encode to the same fields")
		}
	})
}

// FuzzFrFromLE: only canonical 32-byte values decode, and they round-trip.
func FuzzFrFromLE(f *testing.F) {
	one := FrToLE(new(fr.Element).SetOne())
	f.Add(one[:])
	f.Add(bytes.Repeat([]byte{0xff}, 32))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := FrFromLE(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidField) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		if back := FrToLE(&e); !bytes.Equal(back[:], b) {
			t.Fatalf("non-canonical input accepted: %x -> %x", b, back)
		}
	})
}
