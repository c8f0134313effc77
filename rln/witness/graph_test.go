package witness

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// smallGraph has inputs a (1 element) and v (3 elements) and computes
// witness = [1, a*v0 + v2, v1].
func smallGraph() testGraph {
	return testGraph{
		nodes: []testNode{
			inputNode(0),         // 0: one
			inputNode(1),         // 1: a
			inputNode(2),         // 2: v0
			inputNode(3),         // 3: v1
			inputNode(4),         // 4: v2
			duoNode(opMul, 1, 2), // 5
			duoNode(opAdd, 5, 4), // 6
		},
		witness: []uint64{0, 6, 3},
		inputs:  []testInput{{"a", 1, 1}, {"v", 2, 3}},
		prime:   primeLE(),
	}
}

func elems(vs ...uint64) []fr.Element {
	out := make([]fr.Element, len(vs))
	for i, v := range vs {
		out[i].SetUint64(v)
	}
	return out
}

func TestCalculateSmall(t *testing.T) {
	t.Parallel()
	g := smallGraph().load(t)
	if g.NumWitness() != 3 {
		t.Fatalf("NumWitness = %d, want 3", g.NumWitness())
	}
	in := map[string]Signal{"a": {1, 1}, "v": {2, 3}}
	got := g.Inputs()
	if len(got) != len(in) || got["a"] != in["a"] || got["v"] != in["v"] {
		t.Fatalf("Inputs = %v, want %v", got, in)
	}
	for _, tc := range []struct {
		a     uint64
		v     []uint64
		want1 uint64
	}{
		{0, []uint64{5, 6, 7}, 7},
		{3, []uint64{5, 6, 7}, 22},
		{1 << 40, []uint64{1 << 20, 9, 1}, 1<<60 + 1},
	} {
		w, err := g.Calculate(map[string][]fr.Element{"a": elems(tc.a), "v": elems(tc.v...)})
		if err != nil {
			t.Fatalf("Calculate: %v", err)
		}
		want := elems(1, tc.want1, tc.v[1])
		for j := range want {
			if w[j] != want[j] {
				t.Errorf("a=%d v=%v: witness[%d] = %s, want %s", tc.a, tc.v, j, w[j].String(), want[j].String())
			}
		}
	}
}

func TestCalculateInputErrors(t *testing.T) {
	t.Parallel()
	g := smallGraph().load(t)
	var unreduced fr.Element
	unreduced[3] = ^uint64(0)
	tests := []struct {
		name   string
		inputs map[string][]fr.Element
		msg    string
	}{
		{"nil map", nil, "missing inputs: a, v"},
		{"missing input", map[string][]fr.Element{"a": elems(1)}, "missing inputs: v"},
		{"too short", map[string][]fr.Element{"a": elems(1), "v": elems(1, 2)}, `input "v" has 2 values, want 3`},
		{"too long", map[string][]fr.Element{"a": elems(1, 2), "v": elems(1, 2, 3)}, `input "a" has 2 values, want 1`},
		{"empty", map[string][]fr.Element{"a": nil, "v": elems(1, 2, 3)}, `input "a" has 0 values, want 1`},
		{"unknown name", map[string][]fr.Element{"a": elems(1), "v": elems(1, 2, 3), "zz": elems(1), "b": nil}, "unknown inputs: b, zz"},
		{"unreduced element", map[string][]fr.Element{"a": elems(1), "v": {{}, unreduced, {}}}, `input "v"[1] is not a reduced field element`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := g.Calculate(tc.inputs)
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("Calculate error = %v, want ErrBadInput", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
			if w != nil {
				t.Errorf("witness returned with error")
			}
		})
	}
}

func TestCompileSimplifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		tg         testGraph
		in         map[string][]fr.Element
		want       []uint64
		wantInstrs int
	}{
		{
			name: "dead nodes are pruned",
			tg: testGraph{
				nodes: []testNode{
					inputNode(0), inputNode(1),
					duoNode(opMul, 1, 1), // 2: dead
					duoNode(opAdd, 1, 1), // 3
					duoNode(opMul, 2, 2), // 4: dead
				},
				witness: []uint64{0, 3},
				inputs:  []testInput{{"x", 1, 1}},
			},
			in:         map[string][]fr.Element{"x": elems(21)},
			want:       []uint64{1, 42},
			wantInstrs: 1,
		},
		{
			name: "constants fold",
			tg: testGraph{
				nodes: []testNode{
					inputNode(0), constU64(6), constU64(7),
					duoNode(opMul, 1, 2),    // 3: 42
					unoNode(pbNeg, 3),       // 4: -42
					duoNode(opAdd, 4, 3),    // 5: 0
					duoNode(opShl, 1, 2),    // 6: 768
					tresNode(5, 1, 2),       // 7: 7
					duoNode(opLt, 0, 1),     // 8: 1
					duoNode(opSub, 7, 8),    // 9: 6
					unoNode(pbLnot, 5),      // 10: 1
					duoNode(opMul, 9, 6),    // 11: 4608
					duoNode(opIdiv, 11, 10), // 12: 4608
					duoNode(opMod, 12, 2),   // 13: 2
					duoNode(opPow, 13, 2),   // 14: 128
					unoNode(pbSqrt, 14),     // 15: dead
					unoNode(pbID, 13),       // 16: 2
					duoNode(opBxor, 16, 2),  // 17: 5
					duoNode(opBand, 17, 6),  // 18: 0
					duoNode(opBor, 18, 17),  // 19: 5
					duoNode(opEq, 19, 17),   // 20: 1
					duoNode(opDiv, 14, 13),  // 21: 64
					duoNode(opShr, 21, 13),  // 22: 16
					duoNode(opGeq, 22, 21),  // 23: 0
					duoNode(opLor, 23, 20),  // 24: 1
					duoNode(opLand, 24, 23), // 25: 0
					duoNode(opNeq, 25, 24),  // 26: 1
					duoNode(opGt, 26, 25),   // 27: 1
					duoNode(opLeq, 27, 25),  // 28: 0
					unoNode(pbBnot, 28),     // 29: 2^254-1-p
					duoNode(opSub, 29, 29),  // 30: 0
				},
				witness: []uint64{0, 3, 5, 6, 7, 9, 12, 13, 14, 17, 19, 21, 22, 24, 26, 27, 28, 30},
			},
			want:       []uint64{1, 42, 0, 768, 7, 6, 4608, 2, 128, 5, 5, 64, 16, 1, 1, 1, 0, 0},
			wantInstrs: 0,
		},
		{
			name: "id and constant ternaries are aliases",
			tg: testGraph{
				nodes: []testNode{
					inputNode(0), inputNode(1), inputNode(2), constU64(0),
					unoNode(pbID, 1),      // 4: x
					tresNode(0, 4, 2),     // 5: x (condition 1)
					tresNode(3, 4, 2),     // 6: y (condition 0)
					tresNode(1, 5, 6),     // 7: x != 0 ? x : y, a real instruction
					unoNode(pbID, 7),      // 8
					duoNode(opMul, 8, 5),  // 9
					tresNode(0, 9, 3),     // 10: alias of 9
					unoNode(pbID, 10),     // 11
					duoNode(opAdd, 11, 6), // 12
				},
				witness: []uint64{0, 4, 5, 6, 7, 8, 10, 11, 12},
				inputs:  []testInput{{"x", 1, 1}, {"y", 2, 1}},
			},
			in:         map[string][]fr.Element{"x": elems(3), "y": elems(5)},
			want:       []uint64{1, 3, 3, 5, 3, 3, 9, 9, 14},
			wantInstrs: 3,
		},
		{
			name: "unused input indices read as zero and index 0 as one",
			tg: testGraph{
				nodes: []testNode{
					inputNode(0), inputNode(1), inputNode(2), inputNode(4),
					duoNode(opAdd, 1, 2), // 4: 0 + x
					duoNode(opAdd, 4, 3), // 5: x + 0
				},
				witness: []uint64{0, 1, 2, 3, 5},
				inputs:  []testInput{{"x", 2, 1}, {"empty", 0, 0}, {"y", 5, 1}},
			},
			in:         map[string][]fr.Element{"x": elems(8), "y": elems(9), "empty": nil},
			want:       []uint64{1, 0, 8, 0, 8},
			wantInstrs: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := tc.tg.load(t)
			if len(g.prog) != tc.wantInstrs {
				t.Errorf("compiled to %d instructions, want %d", len(g.prog), tc.wantInstrs)
			}
			w, err := g.Calculate(tc.in)
			if err != nil {
				t.Fatalf("Calculate: %v", err)
			}
			if len(w) != len(tc.want) {
				t.Fatalf("witness has %d elements, want %d", len(w), len(tc.want))
			}
			want := elems(tc.want...)
			for j := range want {
				if w[j] != want[j] {
					t.Errorf("witness[%d] = %s, want %s", j, w[j].String(), want[j].String())
				}
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()
	_, err := LoadFile(filepath.Join(t.TempDir(), "missing.bin"))
	if err == nil || !strings.Contains(err.Error(), "open graph") {
		t.Fatalf("LoadFile(missing) error = %v", err)
	}
}
