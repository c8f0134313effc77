package witness

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Test values are written as decimal strings or as expressions relative to
// p and the half modulus (p-1)/2, e.g. "p-1", "h+1", "2^253".
func val(tb testing.TB, s string) *big.Int {
	tb.Helper()
	p := fr.Modulus()
	h := new(big.Int).Rsh(p, 1)
	var base *big.Int
	rest := s
	switch {
	case len(s) > 0 && s[0] == 'p':
		base, rest = p, s[1:]
	case len(s) > 0 && s[0] == 'h':
		base, rest = h, s[1:]
	case len(s) > 2 && s[:2] == "2^":
		var e, k int64
		var sign byte
		n, _ := fmt.Sscanf(s, "2^%d%c%d", &e, &sign, &k)
		v := new(big.Int).Lsh(big.NewInt(1), uint(e))
		switch {
		case n == 3 && sign == '+':
			v.Add(v, big.NewInt(k))
		case n == 3 && sign == '-':
			v.Sub(v, big.NewInt(k))
		case n != 1 && n != 2:
			tb.Fatalf("bad value %q", s)
		}
		return v
	default:
		v, ok := new(big.Int).SetString(s, 10)
		if !ok {
			tb.Fatalf("bad value %q", s)
		}
		return v
	}
	v := new(big.Int).Set(base)
	if rest != "" {
		k, ok := new(big.Int).SetString(rest[1:], 10)
		if !ok || (rest[0] != '+' && rest[0] != '-') {
			tb.Fatalf("bad value %q", s)
		}
		if rest[0] == '+' {
			v.Add(v, k)
		} else {
			v.Sub(v, k)
		}
	}
	return v
}

// evalBoth evaluates one operation twice: at run time on inputs, and folded
// at load time on constants. Both must agree with the expectation.
func evalBoth(t *testing.T, op opcode, args ...*big.Int) [2]*big.Int {
	t.Helper()
	arity := op.arity()
	if len(args) != arity {
		t.Fatalf("%v takes %d operands, got %d", op, arity, len(args))
	}
	protoOp := func(base uint64) testNode {
		ops := []uint64{base, base + 1, base + 2}
		switch op {
		case opNeg, opID, opLnot, opBnot, opSqrt:
			return unoNode(uint64(op-opNeg), ops[0])
		case opTernCond:
			return tresNode(ops[0], ops[1], ops[2])
		}
		return duoNode(op, ops[0], ops[1])
	}

	var results [2]*big.Int
	// Run time: operands are inputs a, b, c.
	tg := testGraph{
		nodes:   []testNode{inputNode(0), inputNode(1), inputNode(2), inputNode(3), protoOp(1)},
		witness: []uint64{0, 4},
		inputs:  []testInput{{"a", 1, 1}, {"b", 2, 1}, {"c", 3, 1}},
	}
	in := map[string][]fr.Element{"a": {{}}, "b": {{}}, "c": {{}}}
	for i, name := range []string{"a", "b", "c"}[:arity] {
		in[name][0].SetBigInt(args[i])
	}
	g := tg.load(t)
	wantInstrs := 1
	if op == opID {
		wantInstrs = 0 // aliased to its operand
	}
	if len(g.prog) != wantInstrs {
		t.Fatalf("run-time graph compiled to %d instructions, want %d", len(g.prog), wantInstrs)
	}
	w, err := g.Calculate(in)
	if err != nil {
		t.Fatalf("Calculate: %v", err)
	}
	if !w[0].IsOne() {
		t.Fatalf("witness[0] = %v, want 1", w[0].String())
	}
	results[0] = w[1].BigInt(new(big.Int))

	// Load time: operands are constants (the original 254-bit values).
	tg = testGraph{nodes: []testNode{inputNode(0)}, witness: []uint64{0, uint64(1 + arity)}}
	for _, a := range args {
		tg.nodes = append(tg.nodes, constNode(a))
	}
	tg.nodes = append(tg.nodes, protoOp(1))
	g = tg.load(t)
	if len(g.prog) != 0 {
		t.Fatalf("constant graph compiled to %d instructions, want 0", len(g.prog))
	}
	w, err = g.Calculate(nil)
	if err != nil {
		t.Fatalf("Calculate: %v", err)
	}
	results[1] = w[1].BigInt(new(big.Int))
	return results
}

func TestOps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op   opcode
		args []string
		want string
	}{
		{opAdd, []string{"2", "3"}, "5"},
		{opAdd, []string{"p-1", "2"}, "1"},
		{opSub, []string{"1", "2"}, "p-1"},
		{opSub, []string{"0", "p-1"}, "1"},
		{opMul, []string{"6", "7"}, "42"},
		{opMul, []string{"p-1", "p-1"}, "1"},
		{opDiv, []string{"1", "2"}, "h+1"},
		{opDiv, []string{"42", "7"}, "6"},
		{opDiv, []string{"5", "0"}, "0"}, // division by zero yields 0
		{opDiv, []string{"0", "0"}, "0"},
		{opPow, []string{"2", "10"}, "1024"},
		{opPow, []string{"0", "0"}, "1"},
		{opPow, []string{"7", "0"}, "1"},
		{opPow, []string{"3", "p-1"}, "1"}, // Fermat
		{opPow, []string{"2", "p-2"}, "h+1"},
		{opPow, []string{"p-1", "3"}, "p-1"},
		{opIdiv, []string{"7", "2"}, "3"},
		{opIdiv, []string{"7", "0"}, "0"},
		{opIdiv, []string{"p-1", "2"}, "h"}, // integer, not field, division
		{opIdiv, []string{"p-1", "2^128+1"}, "64323764613183177041862057485226039388"},
		{opMod, []string{"7", "3"}, "1"},
		{opMod, []string{"7", "0"}, "0"},
		{opMod, []string{"p-1", "10"}, "6"},
		{opMod, []string{"p-1", "2^128+1"}, "329397240540064814811017442655213627300"},
		{opEq, []string{"5", "5"}, "1"},
		{opEq, []string{"5", "6"}, "0"},
		{opNeq, []string{"5", "6"}, "1"},
		{opNeq, []string{"p-1", "p-1"}, "0"},
		// Signed comparisons: values above h = (p-1)/2 are negative.
		{opLt, []string{"1", "2"}, "1"},
		{opLt, []string{"2", "1"}, "0"},
		{opLt, []string{"2", "2"}, "0"},
		{opLt, []string{"p-1", "0"}, "1"}, // -1 < 0
		{opLt, []string{"0", "p-1"}, "0"},
		{opLt, []string{"p-2", "p-1"}, "1"}, // -2 < -1
		{opLt, []string{"h", "h+1"}, "0"},   // largest positive vs most negative
		{opLt, []string{"h+1", "h"}, "1"},
		// Vectors from witnesscalc's field.rs test_bn254_lt.
		{opLt, []string{"16930493065419614647427644856262224012873027146445676318903972992475388670810", "944936681149208446651664254269745548490766851729442924617792859073125903783"}, "1"},
		{opLt, []string{"10944121435919637611123202872628637544274182200208017171849102093287904247808", "7096"}, "0"},
		{opGt, []string{"0", "p-1"}, "1"},
		{opGt, []string{"p-1", "0"}, "0"},
		{opGt, []string{"h", "h+1"}, "1"},
		{opGt, []string{"3", "3"}, "0"},
		{opLeq, []string{"3", "3"}, "1"},
		{opLeq, []string{"p-1", "1"}, "1"},
		{opLeq, []string{"1", "p-1"}, "0"},
		{opGeq, []string{"3", "3"}, "1"},
		{opGeq, []string{"p-1", "1"}, "0"},
		{opGeq, []string{"h", "h+1"}, "1"},
		{opLand, []string{"3", "5"}, "1"},
		{opLand, []string{"0", "5"}, "0"},
		{opLand, []string{"p-1", "0"}, "0"},
		{opLor, []string{"0", "5"}, "1"},
		{opLor, []string{"0", "0"}, "0"},
		// Shifts: the amount is signed, 254-bit results are reduced mod p.
		{opShl, []string{"1", "3"}, "8"},
		{opShl, []string{"1", "253"}, "2^253"},
		{opShl, []string{"1", "254"}, "0"},
		{opShl, []string{"1", "1000"}, "0"},
		{opShl, []string{"3", "253"}, "2^253"}, // bit 254 falls off
		{opShl, []string{"p-1", "1"}, "14828463434349501588600065238342573213779232634421927677532012371173334581248"}, // (2p-2) mod 2^254, reduced
		{opShl, []string{"2^252", "1"}, "2^253"},     // below p, kept
		{opShl, []string{"2^253+1", "0"}, "2^253+1"}, // identity shift
		{opShl, []string{"8", "p-1"}, "4"},           // shift by -1
		{opShl, []string{"1", "p-3"}, "0"},           // 1 >> 3
		{opShl, []string{"5", "2^64"}, "0"},          // amount beyond i64
		{opShl, []string{"5", "2^63-1"}, "0"},
		{opShl, []string{"5", "h"}, "0"},
		{opShl, []string{"5", "h+1"}, "0"}, // -(h) is beyond i64 too
		{opShr, []string{"256", "2"}, "64"},
		{opShr, []string{"2^253", "253"}, "1"},
		{opShr, []string{"p-1", "300"}, "0"},
		{opShr, []string{"p-1", "2^70"}, "0"},
		{opShr, []string{"1", "p-3"}, "8"},       // shift by -3 is a left shift
		{opShr, []string{"1", "p-253"}, "2^253"}, // 1 << 253
		{opShr, []string{"3", "p-253"}, "2^253"}, // 3 << 253, masked to 254 bits
		{opShr, []string{"p-1", "p-1"}, "14828463434349501588600065238342573213779232634421927677532012371173334581248"}, // (p-1) << 1
		{opShr, []string{"p-1", "0"}, "p-1"},
		{opBand, []string{"12", "10"}, "8"},
		{opBand, []string{"p-1", "p-1"}, "p-1"},
		{opBor, []string{"12", "10"}, "14"},
		{opBor, []string{"p-1", "1"}, "0"}, // (p-1)|1 == p, reduced
		{opBor, []string{"p-1", "2^253"}, "p-1"},
		{opBxor, []string{"12", "10"}, "6"},
		{opBxor, []string{"p-1", "1"}, "0"},
		{opBxor, []string{"p-1", "p-1"}, "0"},
		{opNeg, []string{"0"}, "0"},
		{opNeg, []string{"1"}, "p-1"},
		{opID, []string{"p-1"}, "p-1"},
		{opLnot, []string{"0"}, "1"},
		{opLnot, []string{"h"}, "0"},
		// Bnot flips 254 bits and reduces; vectors from witnesscalc's
		// field.rs test_bn254_bnot.
		{opBnot, []string{"0"}, "7059779437489773633646340506914701874769131765994106666166191815402473914366"},
		{opBnot, []string{"2147483647"}, "7059779437489773633646340506914701874769131765994106666166191815400326430719"},
		{opBnot, []string{"p-1"}, "7059779437489773633646340506914701874769131765994106666166191815402473914367"},
		{opBnot, []string{"7059779437489773633646340506914701874769131765994106666166191815402473914366"}, "0"},
		{opSqrt, []string{"0"}, "0"},
		{opSqrt, []string{"4"}, "2"},
		{opSqrt, []string{"9"}, "3"},
		{opSqrt, []string{"5"}, "0"}, // 5 generates the multiplicative group: not a square
		{opSqrt, []string{"p-4"}, "8815841940592487685082627943775890807874194266836837569430"},
		{opTernCond, []string{"0", "11", "22"}, "22"},
		{opTernCond, []string{"1", "11", "22"}, "11"},
		{opTernCond, []string{"p-1", "11", "22"}, "11"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v%v", tc.op, tc.args), func(t *testing.T) {
			t.Parallel()
			args := make([]*big.Int, len(tc.args))
			for i, a := range tc.args {
				args[i] = val(t, a)
			}
			want := val(t, tc.want)
			got := evalBoth(t, tc.op, args...)
			if got[0].Cmp(want) != 0 {
				t.Errorf("run time: got %v, want %v", got[0], want)
			}
			if got[1].Cmp(want) != 0 {
				t.Errorf("folded: got %v, want %v", got[1], want)
			}
		})
	}
}

// refEval is an independent math/big model of witnesscalc's Field<U254>
// semantics on canonical operands.
func refEval(op opcode, a, b, c *big.Int) *big.Int {
	p := fr.Modulus()
	h := new(big.Int).Rsh(p, 1)
	mask := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 254), big.NewInt(1))
	boolInt := func(v bool) *big.Int {
		if v {
			return big.NewInt(1)
		}
		return new(big.Int)
	}
	signed := func(v *big.Int) *big.Int {
		if v.Cmp(h) > 0 {
			return new(big.Int).Sub(v, p)
		}
		return v
	}
	shift := func(x *big.Int, amount *big.Int, left bool) *big.Int {
		s := signed(amount)
		if s.CmpAbs(big.NewInt(math.MaxInt64)) > 0 {
			return new(big.Int)
		}
		n := s.Int64()
		if n < 0 {
			left, n = !left, -n
		}
		if !left {
			return new(big.Int).Rsh(x, uint(n))
		}
		if n >= 254 {
			return new(big.Int) // every bit leaves the 254-bit integer
		}
		z := new(big.Int).Lsh(x, uint(n))
		return z.Mod(z.And(z, mask), p)
	}
	z := new(big.Int)
	switch op {
	case opMul:
		return z.Mod(z.Mul(a, b), p)
	case opDiv:
		if b.Sign() == 0 {
			return z
		}
		return z.Mod(z.Mul(a, new(big.Int).ModInverse(b, p)), p)
	case opAdd:
		return z.Mod(z.Add(a, b), p)
	case opSub:
		return z.Mod(z.Sub(a, b), p)
	case opPow:
		return z.Exp(a, b, p)
	case opIdiv:
		if b.Sign() == 0 {
			return z
		}
		return z.Quo(a, b)
	case opMod:
		if b.Sign() == 0 {
			return z
		}
		return z.Rem(a, b)
	case opEq:
		return boolInt(a.Cmp(b) == 0)
	case opNeq:
		return boolInt(a.Cmp(b) != 0)
	case opLt:
		return boolInt(signed(a).Cmp(signed(b)) < 0)
	case opGt:
		return boolInt(signed(a).Cmp(signed(b)) > 0)
	case opLeq:
		return boolInt(signed(a).Cmp(signed(b)) <= 0)
	case opGeq:
		return boolInt(signed(a).Cmp(signed(b)) >= 0)
	case opLand:
		return boolInt(a.Sign() != 0 && b.Sign() != 0)
	case opLor:
		return boolInt(a.Sign() != 0 || b.Sign() != 0)
	case opShl:
		return shift(a, b, true)
	case opShr:
		return shift(a, b, false)
	case opBor:
		return z.Mod(z.Or(a, b), p)
	case opBand:
		return z.And(a, b)
	case opBxor:
		return z.Mod(z.Xor(a, b), p)
	case opNeg:
		return z.Mod(z.Neg(a), p)
	case opID:
		return z.Set(a)
	case opLnot:
		return boolInt(a.Sign() == 0)
	case opBnot:
		return z.Mod(z.Xor(a, mask), p)
	case opSqrt:
		if z.ModSqrt(a, p) == nil {
			return new(big.Int)
		}
		if z.Cmp(h) > 0 {
			z.Sub(p, z)
		}
		return z
	case opTernCond:
		if a.Sign() != 0 {
			return z.Set(b)
		}
		return z.Set(c)
	}
	panic("unknown op")
}

func allOpcodes() []opcode {
	return []opcode{
		opMul, opDiv, opAdd, opSub, opPow, opIdiv, opMod, opEq, opNeq, opLt,
		opGt, opLeq, opGeq, opLand, opLor, opShl, opShr, opBor, opBand, opBxor,
		opNeg, opID, opLnot, opBnot, opSqrt, opTernCond,
	}
}

func edgeValues(t *testing.T) []*big.Int {
	strs := []string{
		"0", "1", "2", "3", "5", "7", "64", "253", "254", "255", "256",
		"2^32-1", "2^63-1", "2^63", "2^64-1", "2^64", "2^128+7", "2^252", "2^253", "2^253+1",
		"h-1", "h", "h+1", "h+2", "p-256", "p-254", "p-253", "p-64", "p-3", "p-2", "p-1",
	}
	vs := make([]*big.Int, 0, len(strs)+8)
	for _, s := range strs {
		vs = append(vs, val(t, s))
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		vs = append(vs, randField(r))
	}
	return vs
}

// TestOpsDifferential compares every operation, at run time and folded,
// against the math/big model over a grid of edge-case operands.
func TestOpsDifferential(t *testing.T) {
	t.Parallel()
	vals := edgeValues(t)
	third := big.NewInt(99)

	// Run time: one graph with every op applied to inputs a, b, c.
	tg := testGraph{
		nodes:   []testNode{inputNode(0), inputNode(1), inputNode(2), inputNode(3)},
		witness: []uint64{0},
		inputs:  []testInput{{"a", 1, 1}, {"b", 2, 1}, {"c", 3, 1}},
	}
	// Folded: constants for every value, then every op on every pair.
	ctg := testGraph{nodes: []testNode{inputNode(0)}, witness: []uint64{0}}
	for _, v := range vals {
		ctg.nodes = append(ctg.nodes, constNode(v))
	}
	ctg.nodes = append(ctg.nodes, constNode(third))
	thirdIdx := uint64(len(vals) + 1)
	for _, op := range allOpcodes() {
		node := func(a, b, c uint64) testNode {
			switch op.arity() {
			case 1:
				return unoNode(uint64(op-opNeg), a)
			case 3:
				return tresNode(a, b, c)
			}
			return duoNode(op, a, b)
		}
		tg.witness = append(tg.witness, uint64(len(tg.nodes)))
		tg.nodes = append(tg.nodes, node(1, 2, 3))
		for i := range vals {
			for j := range vals {
				ctg.witness = append(ctg.witness, uint64(len(ctg.nodes)))
				ctg.nodes = append(ctg.nodes, node(uint64(i+1), uint64(j+1), thirdIdx))
			}
		}
	}
	g, cg := tg.load(t), ctg.load(t)
	if len(cg.prog) != 0 {
		t.Fatalf("constant graph compiled to %d instructions, want 0", len(cg.prog))
	}
	cw, err := cg.Calculate(map[string][]fr.Element{})
	if err != nil {
		t.Fatal(err)
	}

	var got big.Int
	k := 1
	for _, op := range allOpcodes() {
		for _, a := range vals {
			for _, b := range vals {
				want := refEval(op, a, b, third)
				if cw[k].BigInt(&got).Cmp(want) != 0 {
					t.Errorf("folded %v(%v, %v) = %v, want %v", op, a, b, &got, want)
				}
				k++
			}
		}
	}
	for _, a := range vals {
		for _, b := range vals {
			in := map[string][]fr.Element{"a": {frFromBig(a)}, "b": {frFromBig(b)}, "c": {frFromBig(third)}}
			w, err := g.Calculate(in)
			if err != nil {
				t.Fatal(err)
			}
			for o, op := range allOpcodes() {
				want := refEval(op, a, b, third)
				if w[o+1].BigInt(&got).Cmp(want) != 0 {
					t.Errorf("run time %v(%v, %v) = %v, want %v", op, a, b, &got, want)
				}
			}
		}
	}
}

func TestU256DivMod(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	randBits := func(n int) u256 {
		var x u256
		for i := range x {
			x[i] = r.Uint64()
		}
		if n < 256 {
			x = x.shr(uint64(256 - n))
		}
		return x
	}
	for range 2000 {
		a := randBits(1 + r.IntN(254))
		b := randBits(1 + r.IntN(254))
		if b.isZero() {
			continue
		}
		q, rem := a.divMod(b)
		wq, wr := new(big.Int).QuoRem(u256ToBig(a), u256ToBig(b), new(big.Int))
		if u256ToBig(q).Cmp(wq) != 0 || u256ToBig(rem).Cmp(wr) != 0 {
			t.Fatalf("%v divMod %v = %v, %v; want %v, %v", u256ToBig(a), u256ToBig(b), u256ToBig(q), u256ToBig(rem), wq, wr)
		}
	}
}

func TestHalfModulus(t *testing.T) {
	t.Parallel()
	want := new(big.Int).Rsh(fr.Modulus(), 1)
	if got := u256ToBig(halfModulus()); got.Cmp(want) != 0 {
		t.Fatalf("halfModulus = %v, want %v", got, want)
	}
	if got := u256ToBig(modulus()); got.Cmp(fr.Modulus()) != 0 {
		t.Fatalf("modulus = %v, want %v", got, fr.Modulus())
	}
}
