package witness

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Witness elements that do not depend on the per-message inputs are equal
// across two witnesses that differ only in those inputs; the others differ.
func TestDependsOnRLN(t *testing.T) {
	g := loadRLNGraph(t)
	dyn, err := g.DependsOn("x", "externalNullifier", "messageId")
	if err != nil {
		t.Fatal(err)
	}
	c := newRLNCase(t, rand.New(rand.NewPCG(7, 9)), 100, 3, 12345)
	in := c.inputs()
	w1, err := g.Calculate(in)
	if err != nil {
		t.Fatal(err)
	}
	in2 := make(map[string][]fr.Element, len(in))
	for k, v := range in {
		in2[k] = append([]fr.Element(nil), v...)
	}
	in2["x"][0].SetRandom()
	in2["externalNullifier"][0].SetRandom()
	in2["messageId"][0].SetUint64(in["messageId"][0].Uint64() + 1)
	w2, err := g.Calculate(in2)
	if err != nil {
		t.Fatal(err)
	}
	ndyn, changed := 0, 0
	for i := range w1 {
		same := w1[i].Equal(&w2[i])
		if !dyn[i] && !same {
			t.Fatalf("witness %d is marked static but changed", i)
		}
		if dyn[i] {
			ndyn++
			if !same {
				changed++
			}
		}
	}
	if !dyn[1] || !dyn[3] || !dyn[4] || !dyn[5] || dyn[2] || dyn[0] {
		t.Fatalf("public signals: y, nullifier, x, external nullifier depend on them; root and 1 do not: %v", dyn[:6])
	}
	if ndyn == 0 || ndyn > len(w1)/4 || changed < ndyn*9/10 {
		t.Fatalf("%d dynamic elements, %d changed, of %d", ndyn, changed, len(w1))
	}
	if _, err := g.DependsOn("nope"); !errors.Is(err, ErrBadInput) {
		t.Fatalf("unknown input: %v", err)
	}
}
