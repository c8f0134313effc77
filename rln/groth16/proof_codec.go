package groth16

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
)

// ProofSize is the size of a compressed proof on the wire.
const ProofSize = 128

// ErrMalformedProof is wrapped by every proof decoding error.
var ErrMalformedProof = errors.New("malformed proof")

// arkworks' flags for compressed short-Weierstrass points, in the top bits
// of the last (most significant) byte of the little-endian x coordinate.
const (
	flagNegativeY = 0x80
	flagInfinity  = 0x40
	flagMask      = flagNegativeY | flagInfinity
)

// Encode writes the proof as arkworks compresses it (zerokit, nwaku): A (32
// bytes) | B (64 bytes: x.c0 | x.c1) | C (32 bytes), coordinates little-endian,
// flags in the top two bits of each point's last byte: 0x40 point at
// infinity, 0x80 when y is the larger of y and -y.
func (p *Proof) Encode() [ProofSize]byte {
	var out [ProofSize]byte
	putG1(out[0:32], &p.A)
	putG2(out[32:96], &p.B)
	putG1(out[96:128], &p.C)
	return out
}

// DecodeProof reads a compressed proof, checking that every coordinate is
// canonical, every point is on its curve, and B is in the prime-order
// subgroup of G2 (G1 has cofactor 1).
func DecodeProof(b []byte) (*Proof, error) {
	if len(b) != ProofSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrMalformedProof, len(b), ProofSize)
	}
	p := new(Proof)
	if err := getG1(b[0:32], &p.A); err != nil {
		return nil, fmt.Errorf("%w: A: %w", ErrMalformedProof, err)
	}
	if err := getG2(b[32:96], &p.B); err != nil {
		return nil, fmt.Errorf("%w: B: %w", ErrMalformedProof, err)
	}
	if err := getG1(b[96:128], &p.C); err != nil {
		return nil, fmt.Errorf("%w: C: %w", ErrMalformedProof, err)
	}
	return p, nil
}

// putFp writes a canonical little-endian coordinate.
func putFp(dst []byte, e *fp.Element) {
	be := e.Bytes()
	for i := range 32 {
		dst[i] = be[31-i]
	}
}

// getFp reads a little-endian coordinate (flags already cleared),
// rejecting values not below the modulus.
func getFp(src []byte, e *fp.Element) error {
	var be [32]byte
	for i := range 32 {
		be[i] = src[31-i]
	}
	if err := e.SetBytesCanonical(be[:]); err != nil {
		return errors.New("coordinate is not below the field modulus")
	}
	return nil
}

// negativeFp is arkworks' "y > -y" on canonical integers.
func negativeFp(y *fp.Element) bool { return y.LexicographicallyLargest() }

// negativeE2 compares y with -y as arkworks orders Fp2: c1 first, then c0.
func negativeE2(y *bn254.E2) bool {
	if !y.A1.IsZero() {
		return y.A1.LexicographicallyLargest()
	}
	return y.A0.LexicographicallyLargest()
}

func putG1(dst []byte, p *bn254.G1Affine) {
	if p.IsInfinity() {
		clear(dst)
		dst[31] = flagInfinity
		return
	}
	putFp(dst, &p.X)
	if negativeFp(&p.Y) {
		dst[31] |= flagNegativeY
	}
}

func getG1(src []byte, p *bn254.G1Affine) error {
	flags := src[31] & flagMask
	var x [32]byte
	copy(x[:], src)
	x[31] &^= flagMask
	if flags == flagMask {
		return errors.New("both flags set")
	}
	if flags == flagInfinity {
		if x != ([32]byte{}) {
			return errors.New("point at infinity with non-zero x")
		}
		p.X.SetZero()
		p.Y.SetZero()
		return nil
	}
	if err := getFp(x[:], &p.X); err != nil {
		return err
	}
	// y^2 = x^3 + 3
	var y2, three fp.Element
	three.SetUint64(3)
	y2.Square(&p.X).Mul(&y2, &p.X).Add(&y2, &three)
	if p.Y.Sqrt(&y2) == nil {
		return errors.New("x is not on the curve")
	}
	if negativeFp(&p.Y) != (flags == flagNegativeY) {
		p.Y.Neg(&p.Y)
	}
	return nil
}

func putG2(dst []byte, p *bn254.G2Affine) {
	if p.IsInfinity() {
		clear(dst)
		dst[63] = flagInfinity
		return
	}
	putFp(dst[0:32], &p.X.A0)
	putFp(dst[32:64], &p.X.A1)
	if negativeE2(&p.Y) {
		dst[63] |= flagNegativeY
	}
}

// twistB is b' = 3 / (9 + u), the twist's constant.
var twistB = func() bn254.E2 {
	var xi, b bn254.E2
	xi.A0.SetUint64(9)
	xi.A1.SetOne()
	b.A0.SetUint64(3)
	b.Div(&b, &xi)
	return b
}()

func getG2(src []byte, p *bn254.G2Affine) error {
	flags := src[63] & flagMask
	var x [64]byte
	copy(x[:], src)
	x[63] &^= flagMask
	if flags == flagMask {
		return errors.New("both flags set")
	}
	if flags == flagInfinity {
		if x != ([64]byte{}) {
			return errors.New("point at infinity with non-zero x")
		}
		p.X.SetZero()
		p.Y.SetZero()
		return nil
	}
	if err := getFp(x[0:32], &p.X.A0); err != nil {
		return err
	}
	if err := getFp(x[32:64], &p.X.A1); err != nil {
		return err
	}
	var y2 bn254.E2
	y2.Square(&p.X).Mul(&y2, &p.X).Add(&y2, &twistB)
	if y2.Legendre() == -1 {
		return errors.New("x is not on the curve")
	}
	p.Y.Sqrt(&y2)
	if negativeE2(&p.Y) != (flags == flagNegativeY) {
		p.Y.Neg(&p.Y)
	}
	if !p.IsOnCurve() {
		return errors.New("x is not on the curve")
	}
	if !p.IsInSubGroup() {
		return errors.New("point is not in the prime-order subgroup")
	}
	return nil
}

// snarkJSProof is snarkjs' JSON proof form.
type snarkJSProof struct {
	A        [3]string    `json:"pi_a"`
	B        [3][2]string `json:"pi_b"`
	C        [3]string    `json:"pi_c"`
	Protocol string       `json:"protocol"`
	Curve    string       `json:"curve"`
}

func dec(e *fp.Element) string { return e.BigInt(new(big.Int)).String() }

// MarshalSnarkJS renders the proof as snarkjs JSON (for `snarkjs groth16
// verify` and cross-checks).
func (p *Proof) MarshalSnarkJS() ([]byte, error) {
	if p.A.IsInfinity() || p.C.IsInfinity() || p.B.IsInfinity() {
		return nil, errors.New("groth16: proof has a point at infinity")
	}
	j := snarkJSProof{
		A:        [3]string{dec(&p.A.X), dec(&p.A.Y), "1"},
		B:        [3][2]string{{dec(&p.B.X.A0), dec(&p.B.X.A1)}, {dec(&p.B.Y.A0), dec(&p.B.Y.A1)}, {"1", "0"}},
		C:        [3]string{dec(&p.C.X), dec(&p.C.Y), "1"},
		Protocol: "groth16",
		Curve:    "bn128",
	}
	return json.Marshal(j)
}
