// Command asmgen writes rln/groth16/field52_amd64.s: the radix-2^52 field
// kernels on AVX-512 IFMA. The kernels are straight-line code (five
// unrolled Montgomery rounds, carry chains across five limbs), so they are
// written here as the few sequences they are made of and printed in full.
// Run it through `make asm` (go generate); `make test` checks that the
// file is what it prints.
//
// Registers, in every kernel that multiplies: Z25-Z29 hold the modulus's
// 52-bit limbs, Z30 -1/m mod 2^52 and Z31 the 52-bit mask. A Montgomery
// product takes 16 a in Z0-Z4 and b in Z5-Z9, sums in Z10-Z19 (round i
// works on Z10+i..Z15+i) with its round factor in Z20, and leaves the
// reduced product in Z10-Z14.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
)

const (
	mask = 31 // register of the 52-bit mask
	pinv = 30 // register of -1/m mod 2^52
	mod0 = 25 // registers of the modulus's limbs: mod0..mod0+4
)

type gen struct{ w *bufio.Writer }

func (g *gen) o(format string, args ...any) {
	fmt.Fprintf(g.w, format, args...)
	g.w.WriteByte('\n')
}

type regs [5]int

func r5(a, b, c, d, e int) regs { return regs{a, b, c, d, e} }

func (g *gen) load(base string, r []int) {
	for j, x := range r {
		g.o("\tVMOVDQU64 %d(%s), Z%d", 64*j, base, x)
	}
}

func (g *gen) store(base string, r []int) {
	for j, x := range r {
		g.o("\tVMOVDQU64 Z%d, %d(%s)", x, 64*j, base)
	}
}

// carryUp moves each limb's bits above 52 into the next limb (arithmetic
// shifts for limbs that may be negative).
func (g *gen) carryUp(r regs, tmp int, arith bool) {
	sh := "VPSRLQ"
	if arith {
		sh = "VPSRAQ"
	}
	for j := range 4 {
		g.o("\t%s $52, Z%d, Z%d", sh, r[j], tmp)
		g.o("\tVPANDQ Z%d, Z%d, Z%d", mask, r[j], r[j])
		g.o("\tVPADDQ Z%d, Z%d, Z%d", tmp, r[j+1], r[j+1])
	}
}

// reduceOnce leaves in u the normalised r (below 2m) reduced below m: u = r
// - m, and r again where that is negative.
func (g *gen) reduceOnce(r, u regs, tmp, sgn, t2 int) {
	for j := range 5 {
		g.o("\tVPSUBQ Z%d, Z%d, Z%d", mod0+j, r[j], u[j])
	}
	g.carryUp(u, tmp, true)
	g.o("\tVPSRAQ $63, Z%d, Z%d", u[4], sgn)
	for j := range 5 {
		g.o("\tVPXORQ Z%d, Z%d, Z%d", r[j], u[j], t2)
		g.o("\tVPANDQ Z%d, Z%d, Z%d", sgn, t2, t2)
		g.o("\tVPXORQ Z%d, Z%d, Z%d", t2, u[j], u[j])
	}
}

// add sets dst = a + b mod m, with s as scratch (not overlapping dst).
func (g *gen) add(dst, a, b regs, tmp, sgn, t2 int, s regs) {
	for j := range 5 {
		g.o("\tVPADDQ Z%d, Z%d, Z%d", b[j], a[j], s[j])
	}
	g.carryUp(s, tmp, false)
	g.reduceOnce(s, dst, tmp, sgn, t2)
}

// sub sets dst = a - b mod m; dst may be a or b.
func (g *gen) sub(dst, a, b regs, tmp, sgn, t2 int) {
	for j := range 5 {
		g.o("\tVPSUBQ Z%d, Z%d, Z%d", b[j], a[j], dst[j])
	}
	g.carryUp(dst, tmp, true)
	g.o("\tVPSRAQ $63, Z%d, Z%d", dst[4], sgn)
	for j := range 5 {
		g.o("\tVPANDQ Z%d, Z%d, Z%d", mod0+j, sgn, t2)
		g.o("\tVPADDQ Z%d, Z%d, Z%d", t2, dst[j], dst[j])
	}
	g.carryUp(dst, tmp, false)
}

// shift4 sets a = 16 a in place (a below 2^254: the top limb stays below
// 2^50), from the top limb down.
func (g *gen) shift4(a regs, tmp int) {
	g.o("\tVPSLLQ $4, Z%d, Z%d", a[4], a[4])
	g.o("\tVPSRLQ $48, Z%d, Z%d", a[3], tmp)
	g.o("\tVPORQ Z%d, Z%d, Z%d", tmp, a[4], a[4])
	for _, j := range []int{3, 2, 1} {
		g.o("\tVPSLLQ $4, Z%d, Z%d", a[j], a[j])
		g.o("\tVPSRLQ $48, Z%d, Z%d", a[j-1], tmp)
		g.o("\tVPORQ Z%d, Z%d, Z%d", tmp, a[j], a[j])
		g.o("\tVPANDQ Z%d, Z%d, Z%d", mask, a[j], a[j])
	}
	g.o("\tVPSLLQ $4, Z%d, Z%d", a[0], a[0])
	g.o("\tVPANDQ Z%d, Z%d, Z%d", mask, a[0], a[0])
}

// mont sets Z10-Z14 = (Z0-Z4) (Z5-Z9) / 2^260 mod m, fully reduced; it
// uses Z10-Z23.
func (g *gen) mont() {
	for t := 10; t < 20; t++ {
		g.o("\tVPXORQ Z%d, Z%d, Z%d", t, t, t)
	}
	for i := range 5 {
		var t [6]int
		for k := range t {
			t[k] = 10 + i + k
		}
		for j := range 5 {
			g.o("\tVPMADD52LUQ Z%d, Z%d, Z%d", 5+j, i, t[j])
			g.o("\tVPMADD52HUQ Z%d, Z%d, Z%d", 5+j, i, t[j+1])
		}
		g.o("\tVPXORQ Z20, Z20, Z20")
		g.o("\tVPMADD52LUQ Z%d, Z%d, Z20", pinv, t[0])
		for j := range 5 {
			g.o("\tVPMADD52LUQ Z%d, Z20, Z%d", mod0+j, t[j])
			g.o("\tVPMADD52HUQ Z%d, Z20, Z%d", mod0+j, t[j+1])
		}
		g.o("\tVPSRLQ $52, Z%d, Z21", t[0])
		g.o("\tVPADDQ Z21, Z%d, Z%d", t[1], t[1])
	}
	r := r5(15, 16, 17, 18, 19)
	g.carryUp(r, 21, false)
	g.reduceOnce(r, r5(10, 11, 12, 13, 14), 21, 22, 23)
}

func (g *gen) header(name string, argBytes int, args string) {
	g.o("// func %s(%s)", name, args)
	g.o("TEXT ·%s(SB), NOSPLIT, $0-%d", name, argBytes)
}

// consts loads the modulus's constants from the argument at off.
func (g *gen) consts(off int) {
	g.o("\tMOVQ c+%d(FP), R8", off)
	for j := range 5 {
		g.o("\tVPBROADCASTQ %d(R8), Z%d", 8*j, mod0+j)
	}
	g.o("\tVPBROADCASTQ 40(R8), Z%d", pinv)
	g.o("\tVPBROADCASTQ 48(R8), Z%d", mask)
}

// loopStart opens a kernel's loop over CX blocks.
func (g *gen) loopStart(label string) {
	g.o("%sLoop:", label)
	g.o("\tTESTQ CX, CX")
	g.o("\tJEQ %sDone", label)
}

// loopEnd advances the pointers (each "$bytes, REG"), closes the loop and
// returns.
func (g *gen) loopEnd(label string, advances ...string) {
	for _, a := range advances {
		g.o("\tADDQ %s", a)
	}
	g.o("\tDECQ CX")
	g.o("\tJMP %sLoop", label)
	g.o("%sDone:", label)
	g.o("\tVZEROUPPER")
	g.o("\tRET")
	g.o("")
}

// loop emits a kernel over n blocks with three block pointers (DI, SI,
// DX) that all advance a block a step.
func (g *gen) loop(name, label string, ptrs [3]string, body func()) {
	g.header(name, 40, fmt.Sprintf("%s, %s, %s *uint64, c *[7]uint64, n int", ptrs[0], ptrs[1], ptrs[2]))
	g.o("\tMOVQ %s+0(FP), DI", ptrs[0])
	g.o("\tMOVQ %s+8(FP), SI", ptrs[1])
	g.o("\tMOVQ %s+16(FP), DX", ptrs[2])
	g.o("\tMOVQ n+32(FP), CX")
	g.consts(24)
	g.loopStart(label)
	body()
	g.loopEnd(label, "$320, SI", "$320, DX", "$320, DI")
}

var (
	za = r5(0, 1, 2, 3, 4)
	zb = r5(5, 6, 7, 8, 9)
	zt = r5(10, 11, 12, 13, 14)
	zs = r5(15, 16, 17, 18, 19)
)

func (g *gen) arith() {
	res := [3]string{"res", "a", "b"}
	g.loop("mul52", "mul", res, func() {
		g.load("SI", za[:])
		g.shift4(za, 5)
		g.load("DX", zb[:])
		g.mont()
		g.store("DI", zt[:])
	})
	g.loop("sub52", "sub", res, func() {
		g.load("SI", za[:])
		g.load("DX", zb[:])
		g.sub(za, za, zb, 10, 11, 12)
		g.store("DI", za[:])
	})
	g.loop("add52", "add", res, func() {
		g.load("SI", za[:])
		g.load("DX", zb[:])
		g.add(zt, za, zb, 15, 16, 17, r5(18, 19, 20, 21, 22))
		g.store("DI", zt[:])
	})
}

// butterflies: FFT stages over n blocks of lo (DI) and hi (SI) pairs with
// the twiddles (times 16) at tw (DX).
func (g *gen) butterflies() {
	ptrs := [3]string{"lo", "hi", "tw"}
	// (lo, hi) -> (lo + hi, (lo - hi) tw)
	g.loop("difBfly52", "difBfly52", ptrs, func() {
		g.load("DI", zs[:])
		g.load("SI", zb[:])
		g.add(zt, zs, zb, 20, 21, 22, za)
		g.store("DI", zt[:])
		g.sub(zb, zs, zb, 20, 21, 22)
		g.load("DX", za[:])
		g.mont()
		g.store("SI", zt[:])
	})
	// (lo, hi) -> (lo + hi tw, lo - hi tw)
	g.loop("ditBfly52", "ditBfly52", ptrs, func() {
		g.load("DX", za[:])
		g.load("SI", zb[:])
		g.mont()
		g.load("DI", zs[:])
		g.add(za, zs, zt, 20, 21, 22, zb)
		g.store("DI", za[:])
		g.sub(zt, zs, zt, 20, 21, 22)
		g.store("SI", zt[:])
	})
}

// midFFT: the three smallest stages of both transforms and the coset
// scaling, within each block: DIF m = 4, 2, 1 (inverse twiddles), times
// the block's scale, DIT m = 1, 2, 4. Partner lanes l ^ m are reached by
// permutations; a stage's results go back with masked stores (K1-K3: the
// high lanes of m = 1, 2, 4; K4-K6: the low ones). tw holds four blocks
// of multipliers (times 16): DIF m = 4, 2 then DIT m = 2, 4 (m = 1's
// twiddle is one).
func (g *gen) midFFT() {
	g.header("midFFT52", 40, "v, scale, tw *uint64, c *[7]uint64, n int")
	g.o("\tMOVQ v+0(FP), DI")
	g.o("\tMOVQ scale+8(FP), SI")
	g.o("\tMOVQ tw+16(FP), DX")
	g.o("\tMOVQ n+32(FP), CX")
	g.consts(24)
	for k, m := range []int{0xAA, 0xCC, 0xF0, 0x55, 0x33, 0x0F} {
		g.o("\tMOVQ $%d, AX", m)
		g.o("\tKMOVW AX, K%d", k+1)
	}
	hi := map[int]string{1: "K1", 2: "K2", 4: "K3"}
	lo := map[int]string{1: "K4", 2: "K5", 4: "K6"}
	perm := func(m int, src, dst regs) {
		for j := range 5 {
			switch m {
			case 1:
				g.o("\tVPERMQ $0xB1, Z%d, Z%d", src[j], dst[j])
			case 2:
				g.o("\tVPERMQ $0x4E, Z%d, Z%d", src[j], dst[j])
			default:
				g.o("\tVSHUFI64X2 $0x4E, Z%d, Z%d, Z%d", src[j], src[j], dst[j])
			}
		}
	}
	mstore := func(r regs, k string) {
		for j, x := range r {
			g.o("\tVMOVDQU64 Z%d, %s, %d(DI)", x, k, 64*j)
		}
	}
	x, p, s := zb, zt, zs
	dif := func(m, twOff int) {
		g.load("DI", x[:])
		perm(m, x, p)
		g.add(s, x, p, 20, 21, 22, za) // low lanes: u + v
		mstore(s, lo[m])
		g.sub(zb, p, x, 20, 21, 22) // high lanes: u - v
		if twOff < 0 {
			mstore(zb, hi[m])
			return
		}
		g.o("\t// twiddles of DIF m = %d", m)
		for j := range 5 {
			g.o("\tVMOVDQU64 %d(DX), Z%d", twOff+64*j, j)
		}
		g.mont()
		mstore(zt, hi[m])
	}
	dit := func(m, twOff int) {
		if twOff >= 0 {
			g.load("DI", zb[:])
			for j := range 5 {
				g.o("\tVMOVDQU64 %d(DX), Z%d", twOff+64*j, j)
			}
			g.mont() // high lanes: v w
			mstore(zt, hi[m])
		}
		g.load("DI", x[:])
		perm(m, x, p)
		g.add(s, x, p, 20, 21, 22, za) // low lanes: u + v w
		mstore(s, lo[m])
		g.sub(zb, p, x, 20, 21, 22) // high lanes: u - v w
		mstore(zb, hi[m])
	}
	g.loopStart("mid")
	dif(4, 0)
	dif(2, 320)
	dif(1, -1)
	g.load("DI", zb[:])
	g.load("SI", za[:])
	g.mont()
	g.store("DI", zt[:])
	dit(1, -1)
	dit(2, 640)
	dit(4, 960)
	g.loopEnd("mid", "$320, DI", "$320, SI")
}

// transposeIn turns Z0-Z3, eight elements two to a register, into Z0-Z3,
// their limbs 0-3 (Z4-Z7 scratch; i0 and i1 hold the index vectors).
func (g *gen) transposeIn(i0, i1 int) {
	g.o("\tVMOVDQA64 Z%d, Z4", i0)
	g.o("\tVPERMI2Q Z1, Z0, Z4") // a0 b0 c0 d0 a1 b1 c1 d1
	g.o("\tVMOVDQA64 Z%d, Z5", i1)
	g.o("\tVPERMI2Q Z1, Z0, Z5") // a2 b2 c2 d2 a3 b3 c3 d3
	g.o("\tVMOVDQA64 Z%d, Z6", i0)
	g.o("\tVPERMI2Q Z3, Z2, Z6") // e0 f0 g0 h0 e1 f1 g1 h1
	g.o("\tVMOVDQA64 Z%d, Z7", i1)
	g.o("\tVPERMI2Q Z3, Z2, Z7") // e2 f2 g2 h2 e3 f3 g3 h3
	g.o("\tVSHUFI64X2 $0x44, Z6, Z4, Z0")
	g.o("\tVSHUFI64X2 $0xEE, Z6, Z4, Z1")
	g.o("\tVSHUFI64X2 $0x44, Z7, Z5, Z2")
	g.o("\tVSHUFI64X2 $0xEE, Z7, Z5, Z3")
}

// split52 cuts the 64-bit limbs in Z0-Z3 into the five 52-bit limbs
// dst..dst+4 (the mask in Z31, tmp scratch).
func (g *gen) split52(dst, tmp int) {
	g.o("\tVPANDQ Z%d, Z0, Z%d", mask, dst)
	for j, sh := range [][2]int{{52, 12}, {40, 24}, {28, 36}} {
		g.o("\tVPSRLQ $%d, Z%d, Z%d", sh[0], j, dst+1+j)
		g.o("\tVPSLLQ $%d, Z%d, Z%d", sh[1], j+1, tmp)
		g.o("\tVPORQ Z%d, Z%d, Z%d", tmp, dst+1+j, dst+1+j)
		g.o("\tVPANDQ Z%d, Z%d, Z%d", mask, dst+1+j, dst+1+j)
	}
	g.o("\tVPSRLQ $16, Z3, Z%d", dst+4)
}

// conversions from and to plain element vectors (four 64-bit limbs an
// element, elements one after another), eight at a time: two two-table
// permutations by the index vectors at idx (qwords 0, 4, 8, 12, 1, 5, 9,
// 13 and 2, 6, 10, 14, 3, 7, 11, 15 of a register pair) and 256-bit
// shuffles transpose them.
func (g *gen) conversions() {
	convHead := func(name string) {
		g.header(name, 32, "res, src, idx *uint64, n int")
		g.o("\tMOVQ res+0(FP), DI")
		g.o("\tMOVQ src+8(FP), SI")
		g.o("\tMOVQ idx+16(FP), R8")
		g.o("\tMOVQ n+24(FP), CX")
		g.o("\tVMOVDQU64 0(R8), Z28")
		g.o("\tVMOVDQU64 64(R8), Z29")
	}
	join := [][5]int{{11, 12, 12, 40, 16}, {12, 13, 24, 28, 17}, {13, 14, 36, 16, 18}}

	convHead("to52aos")
	g.o("\tMOVQ $0xfffffffffffff, AX")
	g.o("\tVPBROADCASTQ AX, Z31")
	g.loopStart("to52aos")
	g.load("SI", []int{0, 1, 2, 3})
	g.transposeIn(28, 29)
	g.split52(4, 9)
	g.store("DI", []int{4, 5, 6, 7, 8})
	g.loopEnd("to52aos", "$256, SI", "$320, DI")

	convHead("from52aos")
	g.loopStart("from52aos")
	g.load("SI", []int{10, 11, 12, 13, 14})
	// 52-bit limbs Z10..Z14 -> 64-bit limbs Z15..Z18
	g.o("\tVPSLLQ $52, Z11, Z15")
	g.o("\tVPORQ Z15, Z10, Z15")
	for _, c := range join {
		g.o("\tVPSRLQ $%d, Z%d, Z%d", c[2], c[0], c[4])
		g.o("\tVPSLLQ $%d, Z%d, Z19", c[3], c[1])
		g.o("\tVPORQ Z19, Z%d, Z%d", c[4], c[4])
	}
	// limbs -> elements, 2 a register
	g.o("\tVSHUFI64X2 $0x44, Z16, Z15, Z4")
	g.o("\tVSHUFI64X2 $0xEE, Z16, Z15, Z6")
	g.o("\tVSHUFI64X2 $0x44, Z18, Z17, Z5")
	g.o("\tVSHUFI64X2 $0xEE, Z18, Z17, Z7")
	for _, s := range []string{"Z28, Z0\n\tVPERMI2Q Z5, Z4, Z0", "Z29, Z1\n\tVPERMI2Q Z5, Z4, Z1", "Z28, Z2\n\tVPERMI2Q Z7, Z6, Z2", "Z29, Z3\n\tVPERMI2Q Z7, Z6, Z3"} {
		g.o("\tVMOVDQA64 %s", s)
	}
	g.store("DI", []int{0, 1, 2, 3})
	g.loopEnd("from52aos", "$320, SI", "$256, DI")
}

// windowWidths is groth16's windowWidths: the 255 bits of a signed-digit
// scalar in the fewest windows of at most c bits, widths c and c-1 only,
// the wider ones first. The digit kernels' test checks the two agree.
func windowWidths(c int) []int {
	windows := (255 + c - 1) / c
	long := 255 - windows*(c-1)
	w := make([]int, windows)
	for k := range w {
		w[k] = c - 1
		if k < long {
			w[k] = c
		}
	}
	return w
}

// digits emits digits52c<c>: signed window digits of n blocks of 8
// scalars (Montgomery form, one after another at src), written
// window-major: window k of scalar j at dig + k*stride + 4j. Each block is
// transposed, brought out of Montgomery form by a product with 16 (the
// kernels' form of the raw 1) and cut: a window's bits, plus the carry,
// above half the window's range become negative with a carry into the
// next window.
func (g *gen) digits(c int) {
	name := fmt.Sprintf("digits52c%d", c)
	g.header(name, 48, "dig *int32, src, idx *uint64, c *[7]uint64, n, stride int")
	g.o("\tMOVQ dig+0(FP), DI")
	g.o("\tMOVQ src+8(FP), SI")
	g.o("\tMOVQ idx+16(FP), DX")
	g.o("\tMOVQ n+32(FP), CX")
	g.o("\tMOVQ stride+40(FP), R9")
	g.consts(24)
	g.loopStart(name)
	g.load("SI", []int{0, 1, 2, 3})
	g.o("\tVMOVDQU64 0(DX), Z20")
	g.o("\tVMOVDQU64 64(DX), Z21")
	// 8 scalars -> 52-bit limbs in Z5..Z9, the product's b
	g.transposeIn(20, 21)
	g.split52(5, 4)
	// a = 16: the product is the scalar's regular form, in Z10..Z14
	g.o("\tMOVQ $16, AX")
	g.o("\tVPBROADCASTQ AX, Z0")
	for j := 1; j < 5; j++ {
		g.o("\tVPXORQ Z%d, Z%d, Z%d", j, j, j)
	}
	g.mont()
	// window constants: masks and halves of the two widths
	g.o("\tMOVQ $%d, AX", 1<<c-1)
	g.o("\tVPBROADCASTQ AX, Z16")
	g.o("\tMOVQ $%d, AX", 1<<(c-1))
	g.o("\tVPBROADCASTQ AX, Z17")
	g.o("\tMOVQ $%d, AX", 1<<(c-1)-1)
	g.o("\tVPBROADCASTQ AX, Z18")
	g.o("\tMOVQ $%d, AX", 1<<(c-2))
	g.o("\tVPBROADCASTQ AX, Z19")
	g.o("\tVPXORQ Z15, Z15, Z15") // carry
	g.o("\tVPXORQ Z20, Z20, Z20") // zero
	g.o("\tMOVQ DI, R10")
	bit := 0
	for k, w := range windowWidths(c) {
		limb, off := bit/52, bit%52
		mreg, hreg := 16, 17
		if w == c-1 {
			mreg, hreg = 18, 19
		}
		g.o("\t// window %d: bits %d..%d", k, bit, bit+w-1)
		g.o("\tVPSRLQ $%d, Z%d, Z6", off, 10+limb)
		if off+w > 52 && limb < 4 {
			g.o("\tVPSLLQ $%d, Z%d, Z7", 52-off, 10+limb+1)
			g.o("\tVPORQ Z7, Z6, Z6")
		}
		g.o("\tVPANDQ Z%d, Z6, Z6", mreg)
		g.o("\tVPADDQ Z15, Z6, Z6")
		g.o("\tVPSUBQ Z6, Z%d, Z7", hreg) // half - x
		g.o("\tVPSRAQ $63, Z7, Z7")       // -1 where x > half
		g.o("\tVPSLLQ $%d, Z7, Z8", w)
		g.o("\tVPADDQ Z8, Z6, Z6")
		g.o("\tVPSUBQ Z7, Z20, Z15")
		g.o("\tVPMOVQD Z6, Y6")
		g.o("\tVMOVDQU Y6, (R10)")
		g.o("\tADDQ R9, R10")
		bit += w
	}
	g.loopEnd(name, "$256, SI", "$32, DI")
}

func main() {
	out := flag.String("o", "", "output file (default: standard output)")
	flag.Parse()
	f := os.Stdout
	if *out != "" {
		var err error
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	g := &gen{w: bufio.NewWriter(f)}
	g.o("// Code generated by rln/groth16/internal/asmgen; DO NOT EDIT.")
	g.o("")
	g.o("//go:build amd64 && !purego")
	g.o("")
	g.o("// Radix-2^52 kernels on AVX-512 IFMA for a prime field below 2^254 (BN254's")
	g.o("// base and scalar fields), eight elements at a time; field52.go has the")
	g.o("// layout and the contract, internal/asmgen the registers' roles.")
	g.o("")
	g.o("#include \"textflag.h\"")
	g.o("")
	g.arith()
	g.butterflies()
	g.midFFT()
	g.conversions()
	g.digits(13)
	g.digits(10)
	if err := g.w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if f != os.Stdout {
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
