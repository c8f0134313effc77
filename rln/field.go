package rln

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// ErrInvalidField is wrapped by every field element decoding error.
var ErrInvalidField = errors.New("invalid field element")

// FieldSize is the size of a field element on the wire.
const FieldSize = 32

// FrToLE encodes a field element as 32 bytes little-endian.
func FrToLE(e *fr.Element) [FieldSize]byte {
	be := e.Bytes()
	var out [FieldSize]byte
	for i := range FieldSize {
		out[i] = be[FieldSize-1-i]
	}
	return out
}

// FrFromLE decodes 32 little-endian bytes, rejecting other lengths and
// values not below the modulus.
func FrFromLE(b []byte) (fr.Element, error) {
	var e fr.Element
	if len(b) != FieldSize {
		return e, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidField, len(b), FieldSize)
	}
	var be [FieldSize]byte
	for i := range FieldSize {
		be[i] = b[FieldSize-1-i]
	}
	if err := e.SetBytesCanonical(be[:]); err != nil {
		return e, fmt.Errorf("%w: value is not below the field modulus", ErrInvalidField)
	}
	return e, nil
}

// frFromLEReduced reads little-endian bytes of any length as an integer
// reduced modulo r (for hashes mapped to the field).
func frFromLEReduced(b []byte) fr.Element {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	var e fr.Element
	e.SetBigInt(new(big.Int).SetBytes(be))
	return e
}

// FrFromDecimal parses a decimal field element (as JSON tools print them).
func FrFromDecimal(s string) (fr.Element, error) {
	var e fr.Element
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() < 0 || n.Cmp(fr.Modulus()) >= 0 {
		return e, fmt.Errorf("%w: %q is not a canonical decimal field element", ErrInvalidField, s)
	}
	e.SetBigInt(n)
	return e, nil
}
