package rln

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/rln/groth16"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// ErrMalformedRateLimitProof is wrapped by every RateLimitProof decoding error.
var ErrMalformedRateLimitProof = errors.New("malformed rate limit proof")

// RateLimitProof is the RLN proof a Waku message carries (WakuMessage field 21).
type RateLimitProof struct {
	Proof         groth16.Proof
	MerkleRoot    fr.Element
	Epoch         uint64
	ShareX        fr.Element // x: the signal hash
	ShareY        fr.Element // y = secret + a1 x
	Nullifier     fr.Element
	RLNIdentifier [FieldSize]byte
}

// Marshal encodes the proof as the RateLimitProof protobuf.
func (p *RateLimitProof) Marshal() []byte {
	enc := p.Proof.Encode()
	root, x, y, n := FrToLE(&p.MerkleRoot), FrToLE(&p.ShareX), FrToLE(&p.ShareY), FrToLE(&p.Nullifier)
	epoch := EpochBytes(p.Epoch)
	b, err := proto.Marshal(&messagepb.RateLimitProof{
		Proof:         enc[:],
		MerkleRoot:    root[:],
		Epoch:         epoch[:],
		ShareX:        x[:],
		ShareY:        y[:],
		Nullifier:     n[:],
		RlnIdentifier: append([]byte(nil), p.RLNIdentifier[:]...),
	})
	if err != nil {
		// Only bytes fields: marshalling cannot fail.
		panic(fmt.Sprintf("rln: marshal RateLimitProof: %v", err))
	}
	return b
}

// UnmarshalRateLimitProof decodes and checks a RateLimitProof: a 128-byte
// proof of valid points, 32-byte canonical field elements, an epoch that
// fits 64 bits.
func UnmarshalRateLimitProof(b []byte) (*RateLimitProof, error) {
	var pb messagepb.RateLimitProof
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedRateLimitProof, err)
	}
	p := new(RateLimitProof)
	proof, err := groth16.DecodeProof(pb.GetProof())
	if err != nil {
		return nil, fmt.Errorf("%w: proof: %w", ErrMalformedRateLimitProof, err)
	}
	p.Proof = *proof
	for _, f := range []struct {
		name string
		src  []byte
		dst  *fr.Element
	}{
		{"merkle_root", pb.GetMerkleRoot(), &p.MerkleRoot},
		{"share_x", pb.GetShareX(), &p.ShareX},
		{"share_y", pb.GetShareY(), &p.ShareY},
		{"nullifier", pb.GetNullifier(), &p.Nullifier},
	} {
		if *f.dst, err = FrFromLE(f.src); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformedRateLimitProof, f.name, err)
		}
	}
	epoch, ok := EpochFromBytes(pb.GetEpoch())
	if !ok {
		return nil, fmt.Errorf("%w: epoch must be 32 bytes holding a little-endian uint64, got %d bytes", ErrMalformedRateLimitProof, len(pb.GetEpoch()))
	}
	p.Epoch = epoch
	if len(pb.GetRlnIdentifier()) != FieldSize {
		return nil, fmt.Errorf("%w: rln_identifier is %d bytes, want %d", ErrMalformedRateLimitProof, len(pb.GetRlnIdentifier()), FieldSize)
	}
	if _, err := FrFromLE(pb.GetRlnIdentifier()); err != nil {
		return nil, fmt.Errorf("%w: rln_identifier: %w", ErrMalformedRateLimitProof, err)
	}
	copy(p.RLNIdentifier[:], pb.GetRlnIdentifier())
	return p, nil
}
