package witness

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzSeeds are small hand-made graphs covering every node kind and op. The
// checked-in corpus under testdata/fuzz/FuzzLoad holds them plus mutations.
func fuzzSeeds() [][]byte {
	allOps := smallGraph()
	for op := range opcode(numDuoOps) {
		allOps.nodes = append(allOps.nodes, duoNode(op, 5, 6))
	}
	for op := range uint64(5) {
		allOps.nodes = append(allOps.nodes, unoNode(op, 6))
	}
	allOps.nodes = append(allOps.nodes, tresNode(1, 5, 6), constU64(12345))
	for i := 7; i < len(allOps.nodes); i++ {
		allOps.witness = append(allOps.witness, uint64(i))
	}
	return [][]byte{
		smallGraph().encode(),
		allOps.encode(),
		withNodes(tresNode(1, 5, 6), unoNode(pbBnot, 7), duoNode(opShr, 8, 1)).encode(),
		testGraph{nodes: []testNode{inputNode(0)}, witness: []uint64{0}, unpacked: true}.encode(),
		[]byte(graphMagic),
	}
}

func FuzzLoad(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Load(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrMalformedGraph) {
				t.Fatalf("Load error %v is not ErrMalformedGraph", err)
			}
			if g != nil {
				t.Fatal("graph returned with error")
			}
			return
		}
		exerciseGraph(t, g)
	})
}
