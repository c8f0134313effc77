package witness

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

var (
	// ErrMalformedGraph reports a graph file that cannot be decoded or
	// fails validation.
	ErrMalformedGraph = errors.New("witness: malformed graph")
	// ErrBadInput reports circuit inputs that do not match the graph.
	ErrBadInput = errors.New("witness: bad input")
)

// Signal locates a named input in the graph's input buffer: elements
// [Offset, Offset+Len).
type Signal struct{ Offset, Len int }

// Graph is a compiled witness graph. It is immutable after Load and safe for
// concurrent Calculate calls.
type Graph struct {
	inputs      map[string]Signal
	inputNames  []string      // sorted
	inputCopies [][]inputCopy // per inputNames entry: used elements

	// Value slots: consts at [0, len(consts)), used input elements up to
	// resultBase, then one slot per instruction.
	consts     []fr.Element
	resultBase uint32
	numSlots   int
	prog       []instr
	outs       []uint32 // value slot of each witness element

	numNodes int // nodes in the file, before pruning

	scratch sync.Pool // *[]fr.Element of length numSlots
}

// Load reads and compiles a circom-witnesscalc graph (wtns.graph.001).
func Load(r io.Reader) (*Graph, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("witness: read graph: %w", err)
	}
	raw, err := decodeGraph(data)
	if err != nil {
		return nil, err
	}
	layout, err := validate(raw)
	if err != nil {
		return nil, err
	}
	return compile(raw, layout)
}

// LoadFile loads the graph stored at path.
func LoadFile(path string) (*Graph, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("witness: open graph: %w", err)
	}
	defer f.Close()
	g, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Inputs returns the graph's named inputs. The map is a copy.
func (g *Graph) Inputs() map[string]Signal { return maps.Clone(g.inputs) }

// NumWitness returns the number of witness elements Calculate returns.
func (g *Graph) NumWitness() int { return len(g.outs) }

// Calculate evaluates the graph. inputs maps each input name to exactly Len
// values; every input must be given and unknown names are errors. Input
// values must be reduced field elements (as every fr constructor produces).
func (g *Graph) Calculate(inputs map[string][]fr.Element) ([]fr.Element, error) {
	if err := g.checkInputs(inputs); err != nil {
		return nil, err
	}
	buf := g.getScratch()
	defer g.scratch.Put(buf)
	vals := *buf

	copy(vals, g.consts)
	for k, name := range g.inputNames {
		vs := inputs[name]
		for _, c := range g.inputCopies[k] {
			vals[c.slot] = vs[c.pos]
		}
	}
	run(g.prog, vals, vals[g.resultBase:])

	w := make([]fr.Element, len(g.outs))
	for j, s := range g.outs {
		w[j] = vals[s]
	}
	return w, nil
}

func (g *Graph) getScratch() *[]fr.Element {
	if buf, ok := g.scratch.Get().(*[]fr.Element); ok {
		return buf
	}
	buf := make([]fr.Element, g.numSlots)
	return &buf
}

func (g *Graph) checkInputs(inputs map[string][]fr.Element) error {
	var missing, unknown []string
	for _, name := range g.inputNames {
		vs, ok := inputs[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		if want := g.inputs[name].Len; len(vs) != want {
			return fmt.Errorf("%w: input %q has %d values, want %d", ErrBadInput, name, len(vs), want)
		}
		for i := range vs {
			if !reduced(&vs[i]) {
				return fmt.Errorf("%w: input %q[%d] is not a reduced field element", ErrBadInput, name, i)
			}
		}
	}
	for name := range inputs {
		if _, ok := g.inputs[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing inputs: %s", ErrBadInput, strings.Join(missing, ", "))
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("%w: unknown inputs: %s", ErrBadInput, strings.Join(unknown, ", "))
	}
	return nil
}

// reduced reports whether the Montgomery representation of e is below p.
func reduced(e *fr.Element) bool { return u256(*e).cmp(modulus()) < 0 }

// run executes the program. vals holds every value slot; res aliases the
// result slots, one per instruction.
func run(prog []instr, vals, res []fr.Element) {
	res = res[:len(prog)]
	for k := range prog {
		in := &prog[k]
		z := &res[k]
		switch in.op {
		case opMul:
			z.Mul(&vals[in.a], &vals[in.b])
		case opAdd:
			z.Add(&vals[in.a], &vals[in.b])
		case opSub:
			z.Sub(&vals[in.a], &vals[in.b])
		case opNeg:
			z.Neg(&vals[in.a])
		case opTernCond:
			if vals[in.a].IsZero() {
				*z = vals[in.c]
			} else {
				*z = vals[in.b]
			}
		default:
			*z = eval(in.op, &vals[in.a], &vals[in.b], &vals[in.c])
		}
	}
}
