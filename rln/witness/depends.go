package witness

import (
	"fmt"
	"slices"
)

// DependsOn reports, for each witness element, whether its value depends on
// any of the named inputs (through the operations that compute it). The
// others are fixed once the remaining inputs are fixed, which lets a prover
// reuse work across witnesses that differ only in the named inputs.
func (g *Graph) DependsOn(names ...string) ([]bool, error) {
	dep := make([]bool, g.numSlots)
	for _, name := range names {
		k, found := slices.BinarySearch(g.inputNames, name)
		if !found {
			return nil, fmt.Errorf("%w: unknown input %q", ErrBadInput, name)
		}
		for _, c := range g.inputCopies[k] {
			dep[c.slot] = true
		}
	}
	for k, in := range g.prog {
		if dep[in.a] || dep[in.b] || dep[in.c] {
			dep[g.resultBase+uint32(k)] = true
		}
	}
	out := make([]bool, len(g.outs))
	for j, s := range g.outs {
		out[j] = dep[s]
	}
	return out, nil
}
