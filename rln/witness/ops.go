package witness

import (
	"encoding/binary"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// opcode identifies an operation. The binary operations use the numbering of
// the protobuf DuoOp enum; unary and ternary operations follow.
type opcode uint8

const (
	opMul opcode = iota
	opDiv
	opAdd
	opSub
	opPow
	opIdiv
	opMod
	opEq
	opNeq
	opLt
	opGt
	opLeq
	opGeq
	opLand
	opLor
	opShl
	opShr
	opBor
	opBand
	opBxor
	opNeg
	opID
	opLnot
	opBnot
	opSqrt
	opTernCond

	numDuoOps = int(opBxor) + 1
)

// unoOpcode maps the protobuf UnoOp enum to opcodes.
func unoOpcode(v uint64) (opcode, bool) {
	switch v {
	case 0:
		return opNeg, true
	case 1:
		return opID, true
	case 2:
		return opLnot, true
	case 3:
		return opBnot, true
	case 4:
		return opSqrt, true
	}
	return 0, false
}

// duoOpcode maps the protobuf DuoOp enum to opcodes.
func duoOpcode(v uint64) (opcode, bool) {
	if v < uint64(numDuoOps) {
		return opcode(v), true
	}
	return 0, false
}

// tresOpcode maps the protobuf TresOp enum to opcodes.
func tresOpcode(v uint64) (opcode, bool) {
	if v == 0 {
		return opTernCond, true
	}
	return 0, false
}

// arity returns how many operands the operation reads.
func (op opcode) arity() int {
	switch {
	case op < opNeg:
		return 2
	case op == opTernCond:
		return 3
	default:
		return 1
	}
}

func (op opcode) String() string {
	names := [...]string{
		opMul: "Mul", opDiv: "Div", opAdd: "Add", opSub: "Sub", opPow: "Pow",
		opIdiv: "Idiv", opMod: "Mod", opEq: "Eq", opNeq: "Neq", opLt: "Lt",
		opGt: "Gt", opLeq: "Leq", opGeq: "Geq", opLand: "Land", opLor: "Lor",
		opShl: "Shl", opShr: "Shr", opBor: "Bor", opBand: "Band", opBxor: "Bxor",
		opNeg: "Neg", opID: "Id", opLnot: "Lnot", opBnot: "Bnot", opSqrt: "Sqrt",
		opTernCond: "TernCond",
	}
	if int(op) < len(names) {
		return names[op]
	}
	return "op?"
}

// canonical returns the integer representative in [0, p) of e.
func canonical(e *fr.Element) u256 { return e.Bits() }

// fromCanonical converts an integer in [0, p) to a field element.
func fromCanonical(x u256) fr.Element {
	var b [fr.Bytes]byte
	binary.LittleEndian.PutUint64(b[0:], x[0])
	binary.LittleEndian.PutUint64(b[8:], x[1])
	binary.LittleEndian.PutUint64(b[16:], x[2])
	binary.LittleEndian.PutUint64(b[24:], x[3])
	e, err := fr.LittleEndian.Element(&b)
	if err != nil {
		// Every caller passes a reduced value; reaching this is a bug.
		panic("witness: internal error: non-canonical integer result")
	}
	return e
}

func boolElement(v bool) fr.Element {
	var e fr.Element
	if v {
		e.SetOne()
	}
	return e
}

// pow computes x^e for the canonical integer exponent e.
func pow(x *fr.Element, e u256) fr.Element {
	var z fr.Element
	z.SetOne()
	for i := e.bitLen() - 1; i >= 0; i-- {
		z.Square(&z)
		if e.bit(i) == 1 {
			z.Mul(&z, x)
		}
	}
	return z
}

// sqrt returns the square root of x that is at most (p-1)/2, or 0 if x is
// not a quadratic residue.
func sqrt(x *fr.Element) fr.Element {
	var z fr.Element
	if z.Sqrt(x) == nil {
		return fr.Element{}
	}
	if canonical(&z).cmp(halfModulus()) > 0 {
		z.Neg(&z)
	}
	return z
}

// eval computes op on its operands. Operands the operation does not use are
// ignored but must be non-nil.
func eval(op opcode, a, b, c *fr.Element) fr.Element {
	var z fr.Element
	switch op {
	case opMul:
		z.Mul(a, b)
	case opDiv:
		if !b.IsZero() {
			z.Inverse(b)
			z.Mul(a, &z)
		}
	case opAdd:
		z.Add(a, b)
	case opSub:
		z.Sub(a, b)
	case opPow:
		z = pow(a, canonical(b))
	case opIdiv, opMod:
		y := canonical(b)
		if y.isZero() {
			return z
		}
		q, r := canonical(a).divMod(y)
		if op == opIdiv {
			return fromCanonical(q)
		}
		return fromCanonical(r)
	case opEq:
		z = boolElement(a.Equal(b))
	case opNeq:
		z = boolElement(!a.Equal(b))
	case opLt:
		z = boolElement(signedCmp(canonical(a), canonical(b)) < 0)
	case opGt:
		z = boolElement(signedCmp(canonical(a), canonical(b)) > 0)
	case opLeq:
		z = boolElement(signedCmp(canonical(a), canonical(b)) <= 0)
	case opGeq:
		z = boolElement(signedCmp(canonical(a), canonical(b)) >= 0)
	case opLand:
		z = boolElement(!a.IsZero() && !b.IsZero())
	case opLor:
		z = boolElement(!a.IsZero() || !b.IsZero())
	case opShl:
		z = fromCanonical(shiftLeft(canonical(a), canonical(b), false))
	case opShr:
		z = fromCanonical(shiftLeft(canonical(a), canonical(b), true))
	case opBor:
		z = fromCanonical(canonical(a).or(canonical(b)).reduce())
	case opBand:
		z = fromCanonical(canonical(a).and(canonical(b)))
	case opBxor:
		z = fromCanonical(canonical(a).xor(canonical(b)).reduce())
	case opNeg:
		z.Neg(a)
	case opID:
		z = *a
	case opLnot:
		z = boolElement(a.IsZero())
	case opBnot:
		z = fromCanonical(canonical(a).not254().reduce())
	case opSqrt:
		z = sqrt(a)
	case opTernCond:
		if a.IsZero() {
			z = *c
		} else {
			z = *b
		}
	}
	return z
}
