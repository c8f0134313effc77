// Package witness computes circom witnesses natively, without WebAssembly, by
// evaluating a circom-witnesscalc computation graph ("graph.bin", magic
// "wtns.graph.001") over BN254 scalar field elements (gnark-crypto fr).
//
// A graph is a topologically ordered list of nodes. Each node is an input
// reference, a constant, or a unary, binary or ternary operation on earlier
// nodes. The witness is the list of node values selected by the graph
// metadata's witness signal list.
//
// Load decodes and validates the file and compiles the part of the graph that
// the witness depends on into a flat instruction list: constants are
// pre-converted (and operations on constants folded), identity nodes and
// ternaries with a constant condition are aliased away, and dead nodes are
// dropped. The resulting Graph is immutable and safe for concurrent use.
//
// Operation semantics follow circom-witnesscalc (src/field.rs, the generic
// Field<T> implementation, and src/graph/bn254.rs):
//
//   - Add, Sub, Mul, Neg and Pow are field operations; Pow uses the canonical
//     integer value of the exponent and x^0 = 1 (including 0^0).
//   - Div multiplies by the inverse; division by zero yields 0.
//   - Idiv and Mod are integer operations on canonical representatives; a
//     zero divisor yields 0.
//   - Lt, Gt, Leq and Geq compare signed values: a canonical value v is
//     negative when v > (p-1)/2, and then stands for v-p.
//   - Eq, Neq, Land, Lor and Lnot yield 0 or 1; TernCond(a, b, c) is b when a
//     is non-zero and c otherwise.
//   - Shl and Shr interpret the shift amount as a signed value (so p-k shifts
//     by -k, i.e. in the other direction); an amount whose magnitude does not
//     fit in a signed 64-bit integer yields 0. Shifts work on 254-bit
//     integers (bits shifted past bit 253 are lost) and the result is reduced
//     modulo p.
//   - Band, Bor and Bxor work bitwise on canonical values, Bnot flips the low
//     254 bits; results are reduced modulo p.
//   - Sqrt returns the square root that is at most (p-1)/2, or 0 when the
//     argument is not a square.
package witness
