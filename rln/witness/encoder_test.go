package witness

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file holds a small test-only encoder for wtns.graph.001 files so tests
// can build graphs in memory. Like prost (which witnesscalc uses), it omits
// proto3 fields holding their default value.

// Protobuf enum values of the graph format.
const (
	pbNeg, pbID, pbLnot, pbBnot, pbSqrt = 0, 1, 2, 3, 4
	pbTernCond                          = 0
)

// testNode is one node to encode. field is the Node oneof field number
// (1 input, 2 constant, 3 UnoOp, 4 DuoOp, 5 TresOp); raw, when set, replaces
// the whole encoded Node message.
type testNode struct {
	field protowire.Number
	op    uint64
	args  []uint64
	value []byte // constant, little-endian
	raw   []byte
}

func inputNode(idx uint64) testNode { return testNode{field: 1, args: []uint64{idx}} }

func constNode(v *big.Int) testNode {
	le := make([]byte, 32)
	be := v.Bytes()
	for i, c := range be {
		le[len(be)-1-i] = c
	}
	return testNode{field: 2, value: le}
}

func constU64(v uint64) testNode { return constNode(new(big.Int).SetUint64(v)) }

func unoNode(op, a uint64) testNode { return testNode{field: 3, op: op, args: []uint64{a}} }
func duoNode(op opcode, a, b uint64) testNode {
	return testNode{field: 4, op: uint64(op), args: []uint64{a, b}}
}
func tresNode(a, b, c uint64) testNode {
	return testNode{field: 5, op: pbTernCond, args: []uint64{a, b, c}}
}

type testInput struct {
	name        string
	offset, len uint64
}

type testGraph struct {
	magic    string // "" means graphMagic
	nodes    []testNode
	witness  []uint64
	inputs   []testInput
	prime    []byte // BigUInt bytes of GraphMetadata.prime; nil omits it
	unpacked bool   // encode witness signals unpacked
	extra    []byte // appended to the metadata message (e.g. unknown fields)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func (n testNode) encode() []byte {
	if n.raw != nil {
		return n.raw
	}
	var sub []byte
	switch n.field {
	case 1:
		sub = appendVarintField(nil, 1, n.args[0])
	case 2:
		sub = appendBytesField(nil, 1, appendBytesField(nil, 1, n.value))
	default:
		sub = appendVarintField(nil, 1, n.op)
		for i, a := range n.args {
			sub = appendVarintField(sub, protowire.Number(i+2), a)
		}
	}
	return appendBytesField(nil, n.field, sub)
}

func (tg testGraph) metadata() []byte {
	var md []byte
	if tg.unpacked {
		for _, w := range tg.witness {
			md = protowire.AppendTag(md, 1, protowire.VarintType)
			md = protowire.AppendVarint(md, w)
		}
	} else if len(tg.witness) > 0 {
		var packed []byte
		for _, w := range tg.witness {
			packed = protowire.AppendVarint(packed, w)
		}
		md = appendBytesField(md, 1, packed)
	}
	for _, in := range tg.inputs {
		desc := appendVarintField(nil, 1, in.offset)
		desc = appendVarintField(desc, 2, in.len)
		entry := appendBytesField(nil, 1, []byte(in.name))
		entry = appendBytesField(entry, 2, desc)
		md = appendBytesField(md, 2, entry)
	}
	if tg.prime != nil {
		md = appendBytesField(md, 3, appendBytesField(nil, 1, tg.prime))
	}
	return append(md, tg.extra...)
}

func (tg testGraph) encode() []byte {
	magic := tg.magic
	if magic == "" {
		magic = graphMagic
	}
	b := []byte(magic)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(tg.nodes)))
	for _, n := range tg.nodes {
		b = protowire.AppendBytes(b, n.encode())
	}
	off := len(b)
	b = protowire.AppendBytes(b, tg.metadata())
	return binary.LittleEndian.AppendUint64(b, uint64(off))
}

func (tg testGraph) load(t testing.TB) *Graph {
	t.Helper()
	g, err := Load(bytes.NewReader(tg.encode()))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return g
}

// primeLE returns the modulus as 32 little-endian bytes.
func primeLE() []byte {
	var b [32]byte
	p := modulus()
	for i := range p {
		binary.LittleEndian.PutUint64(b[8*i:], p[i])
	}
	return b[:]
}
