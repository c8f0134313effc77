package witness

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"google.golang.org/protobuf/encoding/protowire"
)

// graphMagic starts every graph file this package reads. Later versions
// ("wtns.graph.002") describe inputs differently and are rejected.
const graphMagic = "wtns.graph.001"

// headerLen is the magic plus the u64 node count; trailerLen is the u64
// metadata offset at the end of the file.
const (
	headerLen  = len(graphMagic) + 8
	trailerLen = 8
)

type nodeKind uint8

const (
	kindInput nodeKind = iota + 1
	kindConst
	kindOp
)

// rawNode is one decoded graph node. For inputs a is the input buffer index;
// for operations a, b and c are operand node indices (unused ones are 0).
type rawNode struct {
	kind    nodeKind
	op      opcode
	a, b, c uint32
	val     fr.Element
}

// rawGraph is the decoded, not yet validated content of a graph file.
type rawGraph struct {
	nodes   []rawNode
	witness []uint32
	inputs  map[string]Signal
}

// malformedf returns an ErrMalformedGraph error. The decoders below the
// container level return plain errors that decodeGraph wraps once.
func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedGraph}, args...)...)
}

// decodeGraph parses the wtns.graph.001 container and its protobuf messages.
func decodeGraph(data []byte) (*rawGraph, error) {
	if len(data) < len(graphMagic) || string(data[:len(graphMagic)]) != graphMagic {
		n := min(len(data), len(graphMagic))
		return nil, malformedf("bad magic %q, want %q", data[:n], graphMagic)
	}
	if len(data) < headerLen+trailerLen {
		return nil, malformedf("truncated file: %d bytes", len(data))
	}
	count := binary.LittleEndian.Uint64(data[len(graphMagic):])
	metaOff := binary.LittleEndian.Uint64(data[len(data)-trailerLen:])
	metaEnd := uint64(len(data) - trailerLen)
	if metaOff < uint64(headerLen) || metaOff >= metaEnd {
		return nil, malformedf("metadata offset %d outside [%d, %d)", metaOff, headerLen, metaEnd)
	}
	// Every node takes at least two bytes (length prefix and a tag).
	if count > (metaOff-uint64(headerLen))/2 || count > math.MaxUint32 {
		return nil, malformedf("node count %d does not fit in %d bytes of nodes", count, metaOff-uint64(headerLen))
	}

	g := &rawGraph{nodes: make([]rawNode, 0, count)}
	body := data[headerLen:metaOff]
	for i := range count {
		msg, n := protowire.ConsumeBytes(body)
		if n < 0 {
			return nil, malformedf("node %d: bad length prefix: %v", i, protowire.ParseError(n))
		}
		body = body[n:]
		node, err := decodeNode(msg)
		if err != nil {
			return nil, malformedf("node %d: %v", i, err)
		}
		g.nodes = append(g.nodes, node)
	}
	if len(body) != 0 {
		return nil, malformedf("%d bytes between the last node and the metadata", len(body))
	}

	meta := data[metaOff:metaEnd]
	msg, n := protowire.ConsumeBytes(meta)
	if n < 0 {
		return nil, malformedf("metadata: bad length prefix: %v", protowire.ParseError(n))
	}
	if n != len(meta) {
		return nil, malformedf("metadata: %d trailing bytes", len(meta)-n)
	}
	if err := decodeMetadata(msg, g); err != nil {
		return nil, malformedf("metadata: %v", err)
	}
	return g, nil
}

// decodeNode decodes a Node message: a oneof of five sub-messages.
func decodeNode(b []byte) (rawNode, error) {
	var node rawNode
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return node, fmt.Errorf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if num < 1 || num > 5 {
			return node, fmt.Errorf("unknown node field %d", num)
		}
		if typ != protowire.BytesType {
			return node, fmt.Errorf("node field %d has wire type %d, want bytes", num, typ)
		}
		msg, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return node, fmt.Errorf("node field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		if node.kind != 0 {
			return node, errors.New("node has more than one kind")
		}
		var err error
		switch num {
		case 1:
			node, err = decodeInputNode(msg)
		case 2:
			node, err = decodeConstantNode(msg)
		case 3:
			node, err = decodeOpNode(msg, 1, unoOpcode, "UnoOp")
		case 4:
			node, err = decodeOpNode(msg, 2, duoOpcode, "DuoOp")
		case 5:
			node, err = decodeOpNode(msg, 3, tresOpcode, "TresOp")
		}
		if err != nil {
			return node, err
		}
	}
	if node.kind == 0 {
		return node, errors.New("empty node")
	}
	return node, nil
}

// decodeUint32Fields decodes a message whose fields 1..maxField are all
// uint32 or enum varints, returning their values (0 when absent).
func decodeUint32Fields(b []byte, maxField protowire.Number, what string) ([5]uint64, error) {
	var v [5]uint64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return v, fmt.Errorf("%s: bad tag: %v", what, protowire.ParseError(n))
		}
		b = b[n:]
		if num < 1 || num > maxField {
			return v, fmt.Errorf("%s: unknown field %d", what, num)
		}
		if typ != protowire.VarintType {
			return v, fmt.Errorf("%s: field %d has wire type %d, want varint", what, num, typ)
		}
		x, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return v, fmt.Errorf("%s: field %d: %v", what, num, protowire.ParseError(n))
		}
		b = b[n:]
		v[num] = x
	}
	return v, nil
}

func decodeInputNode(b []byte) (rawNode, error) {
	v, err := decodeUint32Fields(b, 1, "InputNode")
	if err != nil {
		return rawNode{}, err
	}
	if v[1] > math.MaxUint32 {
		return rawNode{}, fmt.Errorf("InputNode: index %d overflows uint32", v[1])
	}
	return rawNode{kind: kindInput, a: uint32(v[1])}, nil
}

func decodeOpNode(b []byte, operands int, lookup func(uint64) (opcode, bool), what string) (rawNode, error) {
	v, err := decodeUint32Fields(b, protowire.Number(operands+1), what+"Node")
	if err != nil {
		return rawNode{}, err
	}
	op, ok := lookup(v[1])
	if !ok {
		return rawNode{}, fmt.Errorf("unknown %s operation %d", what, v[1])
	}
	for i := 2; i <= operands+1; i++ {
		if v[i] > math.MaxUint32 {
			return rawNode{}, fmt.Errorf("%sNode: operand %d overflows uint32", what, v[i])
		}
	}
	return rawNode{kind: kindOp, op: op, a: uint32(v[2]), b: uint32(v[3]), c: uint32(v[4])}, nil
}

func decodeConstantNode(b []byte) (rawNode, error) {
	var node rawNode
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return node, fmt.Errorf("ConstantNode: bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if num != 1 {
			return node, fmt.Errorf("ConstantNode: unknown field %d", num)
		}
		if typ != protowire.BytesType {
			return node, fmt.Errorf("ConstantNode: field 1 has wire type %d, want bytes", typ)
		}
		msg, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return node, fmt.Errorf("ConstantNode: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if node.kind != 0 {
			return node, errors.New("ConstantNode: repeated value")
		}
		x, err := decodeBigUInt(msg)
		if err != nil {
			return node, fmt.Errorf("ConstantNode: %w", err)
		}
		// witnesscalc reads constants as 254-bit integers and reduces values
		// above the modulus.
		node = rawNode{kind: kindConst, val: fromCanonical(x.reduce())}
	}
	if node.kind == 0 {
		return node, errors.New("ConstantNode without value")
	}
	return node, nil
}

// decodeBigUInt decodes a BigUInt message (little-endian bytes in field 1)
// into an integer below 2^254.
func decodeBigUInt(b []byte) (u256, error) {
	var le []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return u256{}, fmt.Errorf("BigUInt: bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if num != 1 {
			return u256{}, fmt.Errorf("BigUInt: unknown field %d", num)
		}
		if typ != protowire.BytesType {
			return u256{}, fmt.Errorf("BigUInt: field 1 has wire type %d, want bytes", typ)
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return u256{}, fmt.Errorf("BigUInt: %v", protowire.ParseError(n))
		}
		b = b[n:]
		le = v
	}
	var x u256
	for i, c := range le {
		if i >= 32 {
			if c != 0 {
				return u256{}, errors.New("BigUInt: value wider than 254 bits")
			}
			continue
		}
		x[i/8] |= uint64(c) << (8 * (i % 8))
	}
	if x[3] > mask254Top {
		return u256{}, errors.New("BigUInt: value wider than 254 bits")
	}
	return x, nil
}

// decodeMetadata decodes GraphMetadata: witness signals (field 1), inputs
// (field 2) and, in newer files, the prime (field 3). Other fields, such as
// prime_str, are skipped.
func decodeMetadata(b []byte, g *rawGraph) error {
	g.inputs = make(map[string]Signal)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("witness signal: %v", protowire.ParseError(n))
			}
			b = b[n:]
			if err := appendWitness(g, x); err != nil {
				return err
			}
		case num == 1 && typ == protowire.BytesType:
			packed, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("witness signals: %v", protowire.ParseError(n))
			}
			b = b[n:]
			for len(packed) > 0 {
				x, n := protowire.ConsumeVarint(packed)
				if n < 0 {
					return fmt.Errorf("witness signal: %v", protowire.ParseError(n))
				}
				packed = packed[n:]
				if err := appendWitness(g, x); err != nil {
					return err
				}
			}
		case num == 2 || num == 3:
			if typ != protowire.BytesType {
				return fmt.Errorf("field %d has wire type %d, want bytes", num, typ)
			}
			msg, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
			if num == 2 {
				if err := decodeInputEntry(msg, g.inputs); err != nil {
					return err
				}
				continue
			}
			p, err := decodeBigUInt(msg)
			if err != nil {
				return fmt.Errorf("prime: %w", err)
			}
			if p != modulus() {
				return fmt.Errorf("unsupported prime %s (only the BN254 scalar field is supported)", p)
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return nil
}

func appendWitness(g *rawGraph, x uint64) error {
	if x > math.MaxUint32 {
		return fmt.Errorf("witness signal %d overflows uint32", x)
	}
	g.witness = append(g.witness, uint32(x))
	return nil
}

// decodeInputEntry decodes one map<string, SignalDescription> entry.
func decodeInputEntry(b []byte, inputs map[string]Signal) error {
	var (
		name string
		desc [5]uint64
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("input entry: bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if (num != 1 && num != 2) || typ != protowire.BytesType {
			return fmt.Errorf("input entry: unexpected field %d with wire type %d", num, typ)
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return fmt.Errorf("input entry: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if num == 1 {
			name = string(v)
			continue
		}
		var err error
		if desc, err = decodeUint32Fields(v, 2, "SignalDescription"); err != nil {
			return err
		}
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("input name %q is not valid UTF-8", name)
	}
	if _, dup := inputs[name]; dup {
		return fmt.Errorf("duplicate input %q", name)
	}
	if desc[1] > math.MaxUint32 || desc[2] > math.MaxUint32 {
		return fmt.Errorf("input %q: offset or length overflows uint32", name)
	}
	inputs[name] = Signal{Offset: int(desc[1]), Len: int(desc[2])}
	return nil
}
