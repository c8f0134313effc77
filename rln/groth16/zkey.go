package groth16

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// ErrMalformedKey is wrapped by every zkey and verifying-key parse error.
var ErrMalformedKey = errors.New("malformed key")

// Coef is one non-zero entry of the A or B matrix of the R1CS.
type Coef struct {
	Matrix     uint8 // 0: A, 1: B
	Constraint uint32
	Signal     uint32
	Value      fr.Element
}

// ProvingKey is the content of a snarkjs Groth16 .zkey.
type ProvingKey struct {
	NVars      int // witness length, including the constant 1
	NPublic    int // public signals (outputs and public inputs)
	DomainSize int // power of two >= number of constraints + NPublic + 1

	Alpha1, Beta1, Delta1 bn254.G1Affine
	Beta2, Gamma2, Delta2 bn254.G2Affine

	IC []bn254.G1Affine // NPublic+1 points of the verifying key
	A  []bn254.G1Affine // NVars
	B1 []bn254.G1Affine // NVars
	B2 []bn254.G2Affine // NVars
	C  []bn254.G1Affine // NVars-NPublic-1: private signals only
	H  []bn254.G1Affine // DomainSize

	Coefs []Coef
}

// zkey section ids (snarkjs zkey format, binfile "zkey" version 1).
const (
	secHeader        = 1
	secGroth16Header = 2
	secIC            = 3
	secCoefs         = 4
	secPointsA       = 5
	secPointsB1      = 6
	secPointsB2      = 7
	secPointsC       = 8
	secPointsH       = 9
)

const (
	n8           = 32 // bytes per field element of BN254 (both fields)
	g1Size       = 2 * n8
	g2Size       = 4 * n8
	coefSize     = 12 + n8
	maxZKeyVars  = 1 << 26
	protoGroth16 = 1
)

func keyErr(format string, args ...any) error {
	return fmt.Errorf("%w: zkey: %s", ErrMalformedKey, fmt.Sprintf(format, args...))
}

// ParseZKey reads a snarkjs Groth16 .zkey for BN254. Every structural
// problem (bad magic, missing or short sections, other curves or protocols,
// non-canonical field elements, points off the curve) is an error.
func ParseZKey(b []byte) (*ProvingKey, error) {
	// The map is made here, not in splitZKey, so that it need not outlive
	// this frame.
	sections := make(zkeySections)
	if err := splitZKey(b, sections); err != nil {
		return nil, err
	}
	hdr, err := sections.need(secHeader, "header")
	if err != nil {
		return nil, err
	}
	if len(hdr) < 4 || binary.LittleEndian.Uint32(hdr) != protoGroth16 {
		return nil, keyErr("protocol is not Groth16")
	}

	pk := new(ProvingKey)
	g16, err := sections.need(secGroth16Header, "groth16 header")
	if err != nil {
		return nil, err
	}
	if err := pk.parseHeader(g16); err != nil {
		return nil, err
	}
	if err := pk.parsePoints(sections); err != nil {
		return nil, err
	}
	coefs, err := sections.need(secCoefs, "coefficients")
	if err != nil {
		return nil, err
	}
	if err := pk.parseCoefs(coefs); err != nil {
		return nil, err
	}
	return pk, nil
}

// zkeySections are the sections of a zkey file by type.
type zkeySections map[uint32][]byte

// splitZKey checks the file's magic and version and splits it into its
// sections, each of which must fit in the file and appear once, adding
// them to the empty map sections.
func splitZKey(b []byte, sections zkeySections) error {
	if len(b) < 12 || string(b[:4]) != "zkey" {
		return keyErr("not a zkey file (magic %q, want \"zkey\")", safePrefix(b, 4))
	}
	if v := binary.LittleEndian.Uint32(b[4:8]); v != 1 {
		return keyErr("version %d, want 1", v)
	}
	nSections := binary.LittleEndian.Uint32(b[8:12])
	p := 12
	for i := uint32(0); i < nSections; i++ {
		if len(b)-p < 12 {
			return keyErr("section %d header truncated at byte %d", i, p)
		}
		typ := binary.LittleEndian.Uint32(b[p:])
		size := binary.LittleEndian.Uint64(b[p+4:])
		p += 12
		if size > uint64(len(b)-p) {
			return keyErr("section %d (type %d) is %d bytes but only %d remain", i, typ, size, len(b)-p)
		}
		if _, dup := sections[typ]; dup {
			return keyErr("section type %d appears twice", typ)
		}
		sections[typ] = b[p : p+int(size)]
		p += int(size)
	}
	return nil
}

// need returns the section of type typ, or an error naming it as name when
// it is missing.
func (s zkeySections) need(typ uint32, name string) ([]byte, error) {
	data, ok := s[typ]
	if !ok {
		return nil, keyErr("missing section %d (%s)", typ, name)
	}
	return data, nil
}

// parsePoints reads the point sections (IC, A, B1, B2, C, H), each of
// which must hold exactly the number of points the groth16 header implies.
func (pk *ProvingKey) parsePoints(sections zkeySections) error {
	type pointSection struct {
		typ   uint32
		name  string
		count int
		g2    bool
		g1Dst *[]bn254.G1Affine
		g2Dst *[]bn254.G2Affine
	}
	for _, s := range []pointSection{
		{secIC, "IC", pk.NPublic + 1, false, &pk.IC, nil},
		{secPointsA, "points A", pk.NVars, false, &pk.A, nil},
		{secPointsB1, "points B1", pk.NVars, false, &pk.B1, nil},
		{secPointsB2, "points B2", pk.NVars, true, nil, &pk.B2},
		{secPointsC, "points C", pk.NVars - pk.NPublic - 1, false, &pk.C, nil},
		{secPointsH, "points H", pk.DomainSize, false, &pk.H, nil},
	} {
		data, err := sections.need(s.typ, s.name)
		if err != nil {
			return err
		}
		size := g1Size
		if s.g2 {
			size = g2Size
		}
		if len(data) != s.count*size {
			return keyErr("section %s is %d bytes, want %d (%d points)", s.name, len(data), s.count*size, s.count)
		}
		if s.g2 {
			if *s.g2Dst, err = readG2Points(data, s.count, s.name); err != nil {
				return err
			}
		} else {
			if *s.g1Dst, err = readG1Points(data, s.count, s.name); err != nil {
				return err
			}
		}
	}
	return nil
}

// readG1Points reads count G1 points from data, which holds exactly that
// many; name is the section's, for errors.
func readG1Points(data []byte, count int, name string) ([]bn254.G1Affine, error) {
	pts := make([]bn254.G1Affine, count)
	for i := range pts {
		if err := readG1(data[i*g1Size:], &pts[i]); err != nil {
			return nil, keyErr("%s[%d]: %v", name, i, err)
		}
	}
	return pts, nil
}

// readG2Points reads count G2 points from data, which holds exactly that
// many; name is the section's, for errors.
func readG2Points(data []byte, count int, name string) ([]bn254.G2Affine, error) {
	pts := make([]bn254.G2Affine, count)
	for i := range pts {
		if err := readG2(data[i*g2Size:], &pts[i]); err != nil {
			return nil, keyErr("%s[%d]: %v", name, i, err)
		}
	}
	return pts, nil
}

func safePrefix(b []byte, n int) []byte {
	if len(b) < n {
		return b
	}
	return b[:n]
}

func (pk *ProvingKey) parseHeader(h []byte) error {
	r := reader{b: h}
	n8q := r.u32()
	q := r.bytes(int(min(n8q, 64)))
	n8r := r.u32()
	rr := r.bytes(int(min(n8r, 64)))
	if r.err != nil {
		return keyErr("groth16 header truncated")
	}
	if n8q != n8 || new(big.Int).SetBytes(reverse(q)).Cmp(fp.Modulus()) != 0 {
		return keyErr("base field is not BN254's (n8q %d)", n8q)
	}
	if n8r != n8 || new(big.Int).SetBytes(reverse(rr)).Cmp(fr.Modulus()) != 0 {
		return keyErr("scalar field is not BN254's (n8r %d)", n8r)
	}
	nVars, nPublic, domain := r.u32(), r.u32(), r.u32()
	if r.err != nil {
		return keyErr("groth16 header truncated")
	}
	if nVars < 1 || nVars > maxZKeyVars || nPublic >= nVars {
		return keyErr("nVars %d, nPublic %d out of range", nVars, nPublic)
	}
	if domain == 0 || domain&(domain-1) != 0 || domain > 1<<27 {
		return keyErr("domain size %d is not a power of two up to 2^27", domain)
	}
	pk.NVars, pk.NPublic, pk.DomainSize = int(nVars), int(nPublic), int(domain)
	g1s := []*bn254.G1Affine{&pk.Alpha1, &pk.Beta1}
	for i, dst := range g1s {
		if err := readG1(r.bytes(g1Size), dst); err != nil || r.err != nil {
			return keyErr("header point %d: %v", i, errors.Join(err, r.err))
		}
	}
	for i, dst := range []*bn254.G2Affine{&pk.Beta2, &pk.Gamma2} {
		if err := readG2(r.bytes(g2Size), dst); err != nil || r.err != nil {
			return keyErr("header G2 point %d: %v", i, errors.Join(err, r.err))
		}
	}
	if err := readG1(r.bytes(g1Size), &pk.Delta1); err != nil || r.err != nil {
		return keyErr("delta1: %v", errors.Join(err, r.err))
	}
	if err := readG2(r.bytes(g2Size), &pk.Delta2); err != nil || r.err != nil {
		return keyErr("delta2: %v", errors.Join(err, r.err))
	}
	return nil
}

func (pk *ProvingKey) parseCoefs(b []byte) error {
	if len(b) < 4 {
		return keyErr("coefficients section truncated")
	}
	n := int(binary.LittleEndian.Uint32(b))
	b = b[4:]
	if len(b) != n*coefSize {
		return keyErr("coefficients section holds %d bytes, want %d for %d coefficients", len(b), n*coefSize, n)
	}
	pk.Coefs = make([]Coef, n)
	for i := range pk.Coefs {
		e := b[i*coefSize:]
		c := &pk.Coefs[i]
		m := binary.LittleEndian.Uint32(e)
		c.Constraint = binary.LittleEndian.Uint32(e[4:])
		c.Signal = binary.LittleEndian.Uint32(e[8:])
		if m > 1 {
			return keyErr("coefficient %d: matrix %d, want 0 (A) or 1 (B)", i, m)
		}
		c.Matrix = uint8(m)
		if int(c.Constraint) >= pk.DomainSize {
			return keyErr("coefficient %d: constraint %d outside the domain of %d", i, c.Constraint, pk.DomainSize)
		}
		if int(c.Signal) >= pk.NVars {
			return keyErr("coefficient %d: signal %d, only %d signals", i, c.Signal, pk.NVars)
		}
		// snarkjs stores coefficients in "double Montgomery" form (v*R^2):
		// loaded as raw limbs they read as v*R; a Montgomery product with
		// the raw limb 1 (the value R^-1) removes the extra factor.
		if err := rawFr(e[12:12+n8], &c.Value); err != nil {
			return keyErr("coefficient %d: %v", i, err)
		}
		c.Value.Mul(&c.Value, &rawOne)
	}
	return nil
}

// rawFr loads a 32-byte little-endian Montgomery-form scalar without
// conversion, rejecting values not below the modulus.
func rawFr(b []byte, z *fr.Element) error {
	for i := range 4 {
		z[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	if !smallerThanModulus(z[:], &frModulusLimbs) {
		return errors.New("scalar not below the field modulus")
	}
	return nil
}

// rawFp loads a 32-byte little-endian Montgomery-form base-field element.
func rawFp(b []byte, z *fp.Element) error {
	for i := range 4 {
		z[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	if !smallerThanModulus(z[:], &fpModulusLimbs) {
		return errors.New("coordinate not below the field modulus")
	}
	return nil
}

var (
	// rawOne has limbs (1, 0, 0, 0): in Montgomery form that is R^-1.
	rawOne         = fr.Element{1, 0, 0, 0}
	frModulusLimbs = limbsOf(fr.Modulus())
	fpModulusLimbs = limbsOf(fp.Modulus())
)

func limbsOf(m *big.Int) [4]uint64 {
	var out [4]uint64
	var buf [32]byte
	m.FillBytes(buf[:])
	for i := range 4 {
		out[i] = binary.BigEndian.Uint64(buf[24-8*i:])
	}
	return out
}

func smallerThanModulus(z []uint64, m *[4]uint64) bool {
	for i := 3; i >= 0; i-- {
		if z[i] != m[i] {
			return z[i] < m[i]
		}
	}
	return false
}

// readG1 reads an affine point (x, y) in Montgomery little-endian form;
// (0, 0) is the point at infinity.
func readG1(b []byte, p *bn254.G1Affine) error {
	if len(b) < g1Size {
		return errors.New("G1 point truncated")
	}
	if err := rawFp(b[:n8], &p.X); err != nil {
		return err
	}
	if err := rawFp(b[n8:g1Size], &p.Y); err != nil {
		return err
	}
	if p.X.IsZero() && p.Y.IsZero() {
		return nil
	}
	if !p.IsOnCurve() {
		return errors.New("G1 point not on the curve")
	}
	return nil
}

// readG2 reads an affine G2 point (x.c0, x.c1, y.c0, y.c1).
func readG2(b []byte, p *bn254.G2Affine) error {
	if len(b) < g2Size {
		return errors.New("G2 point truncated")
	}
	for i, dst := range []*fp.Element{&p.X.A0, &p.X.A1, &p.Y.A0, &p.Y.A1} {
		if err := rawFp(b[i*n8:(i+1)*n8], dst); err != nil {
			return err
		}
	}
	if p.X.IsZero() && p.Y.IsZero() {
		return nil
	}
	if !p.IsOnCurve() {
		return errors.New("G2 point not on the curve")
	}
	return nil
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

// reader is a bounds-checked little-endian cursor.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.err = errors.New("truncated")
		return make([]byte, max(n, 0))
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.bytes(4)) }
