package witness

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"google.golang.org/protobuf/encoding/protowire"
)

// withNodes returns smallGraph with extra nodes appended and the last one
// added to the witness.
func withNodes(extra ...testNode) testGraph {
	tg := smallGraph()
	tg.nodes = append(tg.nodes, extra...)
	tg.witness = append(tg.witness, uint64(len(tg.nodes)-1))
	return tg
}

func rawNodeMsg(field protowire.Number, sub []byte) testNode {
	return testNode{raw: appendBytesField(nil, field, sub)}
}

func TestLoadMalformed(t *testing.T) {
	t.Parallel()
	valid := smallGraph().encode()
	metaOff := binary.LittleEndian.Uint64(valid[len(valid)-8:])
	patch := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	over254 := make([]byte, 32)
	over254[31] = 0x40 // 2^254
	wide := make([]byte, 33)
	wide[32] = 1

	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "bad magic"},
		{"short magic", []byte("wtns.gr"), "bad magic"},
		{"wrong magic", []byte("not a graph file at all, clearly"), "bad magic"},
		{"version 002", testGraph{magic: "wtns.graph.002"}.encode(), "bad magic"},
		{"header only", []byte(graphMagic + "\x00\x00\x00\x00\x00\x00\x00\x00"), "truncated"},
		{"missing trailer", valid[:len(valid)-8], "metadata offset"},
		{"metadata offset too large", patch(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[len(b)-8:], uint64(len(b)))
			return b
		}), "metadata offset"},
		{"metadata offset inside header", patch(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[len(b)-8:], 3)
			return b
		}), "metadata offset"},
		{"metadata offset inside nodes", patch(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[len(b)-8:], metaOff-3)
			return b
		}), ""},
		{"node count too large", patch(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[len(graphMagic):], 1<<40)
			return b
		}), "node count"},
		{"node count too small", patch(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[len(graphMagic):], 6)
			return b
		}), "between the last node and the metadata"},
		{"node count too big by one", patch(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[len(graphMagic):], 8)
			return b
		}), "node 7"},
		{"trailing bytes after metadata", func() []byte {
			b := bytes.Clone(valid[:len(valid)-8])
			b = append(b, 0)
			return binary.LittleEndian.AppendUint64(b, metaOff)
		}(), "trailing bytes"},
		{"forward operand", withNodes(duoNode(opAdd, 1, 8)).encode(), "operand 8 does not refer to an earlier node"},
		{"self operand", withNodes(duoNode(opAdd, 7, 1)).encode(), "operand 7 does not refer to an earlier node"},
		{"forward ternary operand", withNodes(tresNode(1, 2, 9)).encode(), "operand 9"},
		{"forward unary operand", withNodes(unoNode(pbNeg, 7)).encode(), "operand 7"},
		{"witness out of range", func() []byte {
			tg := smallGraph()
			tg.witness = append(tg.witness, 7)
			return tg.encode()
		}(), "refers to node 7"},
		{"unknown duo op", withNodes(duoNode(20, 1, 2)).encode(), "unknown DuoOp operation 20"},
		{"unknown uno op", withNodes(unoNode(5, 1)).encode(), "unknown UnoOp operation 5"},
		{"unknown tres op", withNodes(testNode{field: 5, op: 1, args: []uint64{1, 2, 3}}).encode(), "unknown TresOp operation 1"},
		{"negative op", withNodes(testNode{field: 4, op: ^uint64(0), args: []uint64{1, 2}}).encode(), "unknown DuoOp"},
		{"operand overflows uint32", withNodes(testNode{field: 4, op: 2, args: []uint64{1 << 32, 2}}).encode(), "overflows uint32"},
		{"unknown operand field", withNodes(testNode{field: 4, op: 2, args: []uint64{1, 2, 3}}).encode(), "unknown field 4"},
		{"unknown node kind", withNodes(rawNodeMsg(6, nil)).encode(), "unknown node field 6"},
		{"empty node", withNodes(testNode{raw: []byte{}}).encode(), "empty node"},
		{"two kinds", withNodes(testNode{raw: append(inputNode(1).encode(), constU64(1).encode()...)}).encode(), "more than one kind"},
		{"node field wire type", withNodes(testNode{raw: protowire.AppendVarint(protowire.AppendTag(nil, 4, protowire.VarintType), 1)}).encode(), "want bytes"},
		{"operand wire type", withNodes(rawNodeMsg(4, appendBytesField(nil, 2, []byte{1}))).encode(), "want varint"},
		{"truncated operand varint", withNodes(rawNodeMsg(4, []byte{0x10, 0x80})).encode(), "DuoOpNode"},
		{"constant without value", withNodes(rawNodeMsg(2, nil)).encode(), "ConstantNode without value"},
		{"constant value wire type", withNodes(rawNodeMsg(2, appendVarintField(nil, 1, 5))).encode(), "want bytes"},
		{"constant of 2^254", withNodes(testNode{field: 2, value: over254}).encode(), "wider than 254 bits"},
		{"constant of 33 significant bytes", withNodes(testNode{field: 2, value: wide}).encode(), "wider than 254 bits"},
		{"input index beyond buffer", withNodes(inputNode(5)).encode(), "input index 5 outside the input buffer"},
		{"overlapping inputs", func() []byte {
			tg := smallGraph()
			tg.inputs = append(tg.inputs, testInput{"w", 3, 2})
			return tg.encode()
		}(), `inputs "v" and "w" overlap`},
		{"input over the constant one", func() []byte {
			tg := smallGraph()
			tg.inputs = append(tg.inputs, testInput{"zero", 0, 1})
			return tg.encode()
		}(), "index 0"},
		{"duplicate input", func() []byte {
			tg := smallGraph()
			tg.inputs = append(tg.inputs, testInput{"a", 9, 1})
			return tg.encode()
		}(), `duplicate input "a"`},
		{"input entry wire type", func() []byte {
			tg := smallGraph()
			tg.extra = protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 1)
			return tg.encode()
		}(), "want bytes"},
		{"wrong prime", func() []byte {
			tg := smallGraph()
			tg.prime = []byte{1, 0, 0, 0, 0, 0, 0, 0x10}
			return tg.encode()
		}(), "unsupported prime"},
		{"witness signal overflows uint32", func() []byte {
			tg := smallGraph()
			tg.witness = append(tg.witness, 1<<32)
			return tg.encode()
		}(), "overflows uint32"},
		{"garbage metadata", func() []byte {
			tg := smallGraph()
			tg.extra = []byte{0xff}
			return tg.encode()
		}(), "metadata"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, err := Load(bytes.NewReader(tc.data))
			if !errors.Is(err, ErrMalformedGraph) {
				t.Fatalf("Load error = %v, want ErrMalformedGraph", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
			if g != nil {
				t.Error("graph returned with error")
			}
		})
	}
}

func TestLoadValidVariants(t *testing.T) {
	t.Parallel()
	pPlus5 := constNode(new(big.Int).Add(fr.Modulus(), big.NewInt(5)))
	padded := constU64(9)
	padded.value = append(padded.value, 0, 0, 0)
	tests := []struct {
		name string
		tg   testGraph
		want uint64 // last witness element for a=3, v=(5,6,7)
	}{
		{"packed witness, prime", smallGraph(), 6},
		{"unpacked witness", func() testGraph { tg := smallGraph(); tg.unpacked = true; return tg }(), 6},
		{"no prime", func() testGraph { tg := smallGraph(); tg.prime = nil; return tg }(), 6},
		{"unknown metadata fields skipped", func() testGraph {
			tg := smallGraph()
			tg.extra = appendBytesField(nil, 4, []byte("bn128"))
			tg.extra = appendBytesField(tg.extra, 5, []byte{1, 2, 3})
			tg.extra = protowire.AppendVarint(protowire.AppendTag(tg.extra, 99, protowire.VarintType), 7)
			return tg
		}(), 6},
		{"constant above p is reduced", withNodes(pPlus5), 5},
		{"constant with zero padding", withNodes(padded), 9},
		{"short constant", withNodes(testNode{field: 2, value: []byte{0x34, 0x12}}), 0x1234},
		{"empty constant bytes", withNodes(testNode{field: 2, value: nil}), 0},
		{"default op and operands", withNodes(testNode{field: 4}), 1}, // Mul(node 0, node 0)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := tc.tg.load(t)
			w, err := g.Calculate(map[string][]fr.Element{"a": elems(3), "v": elems(5, 6, 7)})
			if err != nil {
				t.Fatalf("Calculate: %v", err)
			}
			if want := elems(tc.want)[0]; w[len(w)-1] != want {
				t.Errorf("last witness = %s, want %s", w[len(w)-1].String(), want.String())
			}
		})
	}
}

// TestLoadTruncationsAndCorruptions loads every prefix of a valid file and
// single-byte corruptions of it: every failure must be ErrMalformedGraph and
// every success must evaluate.
func TestLoadTruncationsAndCorruptions(t *testing.T) {
	t.Parallel()
	valid := withNodes(tresNode(1, 5, 6), unoNode(pbBnot, 7), duoNode(opShr, 8, 1)).encode()
	check := func(data []byte) {
		g, err := Load(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrMalformedGraph) {
				t.Fatalf("Load(%x) error %v is not ErrMalformedGraph", data, err)
			}
			return
		}
		exerciseGraph(t, g)
	}
	for n := range len(valid) {
		check(valid[:n])
	}
	for i := range valid {
		for _, x := range []byte{0x00, 0x01, 0x7f, 0x80, 0xff} {
			b := bytes.Clone(valid)
			b[i] ^= x
			check(b)
		}
	}
}

// exerciseGraph evaluates a successfully loaded graph with small inputs.
func exerciseGraph(t *testing.T, g *Graph) {
	t.Helper()
	in := make(map[string][]fr.Element)
	total := 0
	for name, s := range g.Inputs() {
		total += s.Len
		if total > 1<<12 {
			return // not worth allocating for a fuzzed huge input
		}
		vs := make([]fr.Element, s.Len)
		for i := range vs {
			vs[i].SetUint64(uint64(i + 2))
		}
		in[name] = vs
	}
	w, err := g.Calculate(in)
	if err != nil {
		t.Fatalf("Calculate on a loaded graph: %v", err)
	}
	if len(w) != g.NumWitness() {
		t.Fatalf("witness has %d elements, NumWitness is %d", len(w), g.NumWitness())
	}
}

func TestRLNGraphMutations(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(rlnGraphPath(t))
	if err != nil {
		t.Fatal(err)
	}
	// Cut inside the nodes, inside the metadata, and in the trailer.
	for _, n := range []int{0, 13, 22, 1000, len(data) / 2, len(data) - 100, len(data) - 9, len(data) - 1} {
		if _, err := Load(bytes.NewReader(data[:n])); !errors.Is(err, ErrMalformedGraph) {
			t.Errorf("Load(first %d bytes) error = %v, want ErrMalformedGraph", n, err)
		}
	}
}
