package groth16

import (
	"encoding/binary"
	"errors"
	"testing"
)

// tinyZKey builds a structurally complete zkey for a 1-signal key with
// points at infinity (all zeros) and the given coefficient count, so the
// fuzzer starts from inputs that reach every section's parser.
func tinyZKey() []byte {
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	section := func(typ uint32, data []byte) []byte {
		out := le32(typ)
		out = binary.LittleEndian.AppendUint64(out, uint64(len(data)))
		return append(out, data...)
	}
	q := limbsLE(fpModulusLimbs)
	r := limbsLE(frModulusLimbs)
	hdr := append(le32(32), q...)
	hdr = append(hdr, le32(32)...)
	hdr = append(hdr, r...)
	hdr = append(hdr, le32(2)...) // nVars
	hdr = append(hdr, le32(1)...) // nPublic
	hdr = append(hdr, le32(2)...) // domain
	hdr = append(hdr, make([]byte, 2*g1Size+2*g2Size+g1Size+g2Size)...)
	coefs := le32(1)
	coefs = append(coefs, le32(0)...)
	coefs = append(coefs, le32(1)...)
	coefs = append(coefs, le32(1)...)
	coefs = append(coefs, make([]byte, 32)...)
	out := []byte("zkey")
	out = append(out, le32(1)...)
	out = append(out, le32(9)...)
	out = append(out, section(secHeader, le32(1))...)
	out = append(out, section(secGroth16Header, hdr)...)
	out = append(out, section(secIC, make([]byte, 2*g1Size))...)
	out = append(out, section(secCoefs, coefs)...)
	out = append(out, section(secPointsA, make([]byte, 2*g1Size))...)
	out = append(out, section(secPointsB1, make([]byte, 2*g1Size))...)
	out = append(out, section(secPointsB2, make([]byte, 2*g2Size))...)
	out = append(out, section(secPointsC, nil)...)
	out = append(out, section(secPointsH, make([]byte, 2*g1Size))...)
	return out
}

func limbsLE(l [4]uint64) []byte {
	var out []byte
	for _, v := range l {
		out = binary.LittleEndian.AppendUint64(out, v)
	}
	return out
}

func TestTinyZKeyParses(t *testing.T) {
	t.Parallel()
	pk, err := ParseZKey(tinyZKey())
	if err != nil {
		t.Fatal(err)
	}
	if pk.NVars != 2 || len(pk.Coefs) != 1 || len(pk.C) != 0 {
		t.Fatalf("%+v", pk)
	}
}

// FuzzParseZKey: the zkey reader never panics and reports every failure as
// ErrMalformedKey.
func FuzzParseZKey(f *testing.F) {
	f.Add(tinyZKey())
	f.Add([]byte("zkey"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		pk, err := ParseZKey(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedKey) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		if len(pk.A) != pk.NVars || len(pk.H) != pk.DomainSize || len(pk.IC) != pk.NPublic+1 {
			t.Fatal("accepted a key with inconsistent sections")
		}
		for _, c := range pk.Coefs {
			if int(c.Signal) >= pk.NVars || int(c.Constraint) >= pk.DomainSize {
				t.Fatal("accepted a coefficient out of range")
			}
		}
	})
}

// FuzzParseVerificationKeyJSON: no panics, every failure is ErrMalformedKey.
func FuzzParseVerificationKeyJSON(f *testing.F) {
	f.Add([]byte(`{"protocol":"groth16","curve":"bn128","nPublic":0,"vk_alpha_1":["1","2","1"],` +
		`"vk_beta_2":[["1","0"],["1","0"],["0","0"]],"vk_gamma_2":[["0","0"],["0","0"],["1","0"]],` +
		`"vk_delta_2":[["0","0"],["0","0"],["0","0"]],"IC":[["1","2","1"]]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseVerificationKeyJSON(b); err != nil && !errors.Is(err, ErrMalformedKey) {
			t.Fatalf("error without sentinel: %v", err)
		}
	})
}
