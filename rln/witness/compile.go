package witness

import (
	"cmp"
	"maps"
	"math"
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// instr is one compiled operation. Its result goes to the value slot
// resultBase+k for the k-th instruction; a, b and c are value slots (unused
// operands repeat a valid slot so every operand can be read).
type instr struct {
	op      opcode
	a, b, c uint32
}

// inputCopy copies element pos of one named input into a value slot.
type inputCopy struct {
	pos  int
	slot uint32
}

// span is the input buffer range [from, to) of the input with the given
// ordinal in the sorted name list.
type span struct {
	ordinal  int
	from, to uint64
}

// inputLayout describes where named inputs live in the input buffer.
type inputLayout struct {
	names  []string // sorted
	spans  []span   // non-empty inputs, sorted by from, disjoint
	bufLen uint64   // buffer length, including index 0 (the constant 1)
}

// owner returns the input ordinal and element position of buffer index idx,
// or ok=false when no input covers it.
func (l *inputLayout) owner(idx uint32) (ordinal, pos int, ok bool) {
	x := uint64(idx)
	k, _ := slices.BinarySearchFunc(l.spans, x, func(s span, t uint64) int {
		// Find the first span whose end is beyond x.
		return cmp.Compare(s.to, t+1)
	})
	if k < len(l.spans) && l.spans[k].from <= x && x < l.spans[k].to {
		return l.spans[k].ordinal, int(x - l.spans[k].from), true
	}
	return 0, 0, false
}

// validate checks the decoded graph: input ranges, operand order and
// witness indices.
func validate(g *rawGraph) (*inputLayout, error) {
	l := &inputLayout{names: slices.Sorted(maps.Keys(g.inputs)), bufLen: 1}
	for k, name := range l.names {
		s := g.inputs[name]
		if s.Len == 0 {
			continue
		}
		from, to := uint64(s.Offset), uint64(s.Offset)+uint64(s.Len)
		if from == 0 {
			return nil, malformedf("input %q overlaps index 0, the constant 1", name)
		}
		l.spans = append(l.spans, span{k, from, to})
		l.bufLen = max(l.bufLen, to)
	}
	slices.SortFunc(l.spans, func(x, y span) int { return cmp.Compare(x.from, y.from) })
	for i := 1; i < len(l.spans); i++ {
		if l.spans[i].from < l.spans[i-1].to {
			return nil, malformedf("inputs %q and %q overlap",
				l.names[l.spans[i-1].ordinal], l.names[l.spans[i].ordinal])
		}
	}
	for i, n := range g.nodes {
		switch n.kind {
		case kindInput:
			if uint64(n.a) >= l.bufLen {
				return nil, malformedf("node %d: input index %d outside the input buffer of length %d", i, n.a, l.bufLen)
			}
		case kindOp:
			operands := [3]uint32{n.a, n.b, n.c}
			for _, x := range operands[:n.op.arity()] {
				if uint64(x) >= uint64(i) {
					return nil, malformedf("node %d (%v): operand %d does not refer to an earlier node", i, n.op, x)
				}
			}
		}
	}
	for j, w := range g.witness {
		if uint64(w) >= uint64(len(g.nodes)) {
			return nil, malformedf("witness signal %d refers to node %d, but there are %d nodes", j, w, len(g.nodes))
		}
	}
	return l, nil
}

// refKind tells where a node's value lives after simplification.
type refKind uint8

const (
	refNone   refKind = iota // not needed
	refConst                 // ref indexes consts
	refInput                 // ref is an input buffer index (not 0)
	refResult                // ref is the node index of an operation
)

type nodeRef struct {
	kind refKind
	ref  uint32
}

// compile turns a validated graph into a Graph: it keeps only nodes the
// witness depends on, folds operations on constants, aliases Id nodes and
// ternaries with a constant condition, and lays out the value slots as
// [constants][used input elements][operation results].
func compile(raw *rawGraph, layout *inputLayout) (*Graph, error) {
	live := liveNodes(raw)
	res := resolveNodes(raw, layout, live)
	// usedInput is made here, not in collect, so that it need not outlive
	// this frame.
	use := usage{usedInput: make(map[uint32]bool)}
	use.collect(raw, res)
	return emit(raw, layout, res, &use)
}

// liveNodes is pass 1: liveness on the original graph. A node is live when
// the witness depends on it.
func liveNodes(raw *rawGraph) []bool {
	n := len(raw.nodes)
	live := make([]bool, n)
	for _, w := range raw.witness {
		live[w] = true
	}
	for i := n - 1; i >= 0; i-- {
		nd := &raw.nodes[i]
		if !live[i] || nd.kind != kindOp {
			continue
		}
		operands := [3]uint32{nd.a, nd.b, nd.c}
		for _, x := range operands[:nd.op.arity()] {
			live[x] = true
		}
	}
	return live
}

// resolved is the outcome of pass 2: where each node's value lives, the
// candidate instruction of each operation node, and the distinct constants.
type resolved struct {
	refs   []nodeRef
	ops    []instr
	consts []fr.Element
}

// resolveNodes is pass 2: it resolves every live node to a constant, an
// input element or an operation. Operands of operations are rewritten to the
// index of the node that owns the value (see valueOwner).
func resolveNodes(raw *rawGraph, layout *inputLayout, live []bool) resolved {
	n := len(raw.nodes)
	var consts []fr.Element
	constIdx := make(map[fr.Element]uint32)
	addConst := func(v fr.Element) nodeRef {
		k, ok := constIdx[v]
		if !ok {
			k = uint32(len(consts))
			consts = append(consts, v)
			constIdx[v] = k
		}
		return nodeRef{refConst, k}
	}
	var one fr.Element
	one.SetOne()
	refs := make([]nodeRef, n)
	ops := make([]instr, n)
	for i := range raw.nodes {
		if !live[i] {
			continue
		}
		nd := &raw.nodes[i]
		switch nd.kind {
		case kindConst:
			refs[i] = addConst(nd.val)
		case kindInput:
			if nd.a == 0 {
				refs[i] = addConst(one)
			} else if _, _, ok := layout.owner(nd.a); !ok {
				// Buffer positions no input covers stay zero.
				refs[i] = addConst(fr.Element{})
			} else {
				refs[i] = nodeRef{refInput, nd.a}
			}
		case kindOp:
			refs[i], ops[i] = resolveOp(nd, refs, consts, addConst, uint32(i))
		}
	}
	return resolved{refs: refs, ops: ops, consts: consts}
}

// usage is the outcome of pass 3: which operation nodes become
// instructions, which constants and input elements are read, and the ref of
// each witness element.
type usage struct {
	need       []bool // operation nodes that become instructions
	usedConst  []bool
	usedInput  map[uint32]bool
	outRefs    []nodeRef
	numResults int
}

// mark records that the value behind r is used.
func (u *usage) mark(r nodeRef) {
	switch r.kind {
	case refConst:
		u.usedConst[r.ref] = true
	case refInput:
		u.usedInput[r.ref] = true
	case refResult:
		u.need[r.ref] = true
	}
}

// collect is pass 3: liveness on the simplified graph. u.usedInput must be
// an empty map.
func (u *usage) collect(raw *rawGraph, res resolved) {
	n := len(raw.nodes)
	u.need = make([]bool, n)
	u.usedConst = make([]bool, len(res.consts))
	u.outRefs = make([]nodeRef, len(raw.witness))
	for j, w := range raw.witness {
		u.outRefs[j] = res.refs[w]
		u.mark(u.outRefs[j])
	}
	for i := n - 1; i >= 0; i-- {
		if !u.need[i] {
			continue
		}
		u.numResults++
		in := &res.ops[i]
		u.mark(res.refs[in.a])
		u.mark(res.refs[in.b])
		u.mark(res.refs[in.c])
	}
}

// emit is pass 4: it assigns the value slots, laid out as
// [constants][used input elements][operation results], and emits the
// instructions and the slot of each witness element.
func emit(raw *rawGraph, layout *inputLayout, res resolved, use *usage) (*Graph, error) {
	n := len(raw.nodes)
	g := &Graph{
		inputs:      maps.Clone(raw.inputs),
		inputNames:  layout.names,
		inputCopies: make([][]inputCopy, len(layout.names)),
		numNodes:    n,
	}
	constSlot := make([]uint32, len(res.consts))
	for k, used := range use.usedConst {
		if used {
			constSlot[k] = uint32(len(g.consts))
			g.consts = append(g.consts, res.consts[k])
		}
	}
	next := uint64(len(g.consts))
	inputSlot := make(map[uint32]uint32, len(use.usedInput))
	for _, idx := range slices.Sorted(maps.Keys(use.usedInput)) {
		k, pos, _ := layout.owner(idx)
		inputSlot[idx] = uint32(next)
		g.inputCopies[k] = append(g.inputCopies[k], inputCopy{pos: pos, slot: uint32(next)})
		next++
	}
	if next+uint64(use.numResults) > math.MaxUint32 {
		return nil, malformedf("graph too large")
	}
	g.resultBase = uint32(next)
	resultSlot := make([]uint32, n)
	for i := range n {
		if use.need[i] {
			resultSlot[i] = uint32(next)
			next++
		}
	}
	g.numSlots = int(next)
	slot := func(r nodeRef) uint32 {
		switch r.kind {
		case refConst:
			return constSlot[r.ref]
		case refInput:
			return inputSlot[r.ref]
		default:
			return resultSlot[r.ref]
		}
	}
	g.prog = make([]instr, 0, use.numResults)
	for i := range n {
		if use.need[i] {
			in := &res.ops[i]
			g.prog = append(g.prog, instr{op: in.op, a: slot(res.refs[in.a]), b: slot(res.refs[in.b]), c: slot(res.refs[in.c])})
		}
	}
	g.outs = make([]uint32, len(use.outRefs))
	for j, r := range use.outRefs {
		g.outs[j] = slot(r)
	}
	return g, nil
}

// resolveOp simplifies operation node i: Id and ternaries with a constant
// condition become aliases, operations on constants are folded, and anything
// else becomes an instruction whose operands are value-owning node indices.
func resolveOp(nd *rawNode, refs []nodeRef, consts []fr.Element,
	addConst func(fr.Element) nodeRef, i uint32) (nodeRef, instr) {

	arity := nd.op.arity()
	operands := [3]uint32{nd.a, nd.a, nd.a}
	if arity >= 2 {
		operands[1] = nd.b
	}
	if arity == 3 {
		operands[2] = nd.c
	}
	allConst := true
	for _, x := range operands {
		allConst = allConst && refs[x].kind == refConst
	}
	ra := refs[nd.a]
	switch {
	case nd.op == opID:
		return ra, instr{}
	case nd.op == opTernCond && ra.kind == refConst:
		if consts[ra.ref].IsZero() {
			return refs[nd.c], instr{}
		}
		return refs[nd.b], instr{}
	case allConst:
		v := eval(nd.op, &consts[refs[operands[0]].ref], &consts[refs[operands[1]].ref], &consts[refs[operands[2]].ref])
		return addConst(v), instr{}
	}
	in := instr{op: nd.op, a: valueOwner(refs, operands[0]), b: valueOwner(refs, operands[1]), c: valueOwner(refs, operands[2])}
	return nodeRef{refResult, i}, in
}

// valueOwner returns the index of the node that holds operand x's value: the
// operation node for results (x may alias it), otherwise x itself, whose ref
// is a constant or an input element.
func valueOwner(refs []nodeRef, x uint32) uint32 {
	if r := refs[x]; r.kind == refResult {
		return r.ref
	}
	return x
}
