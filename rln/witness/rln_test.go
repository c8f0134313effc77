package witness

import (
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/iden3/go-iden3-crypto/poseidon"
)

const rlnDepth = 20

// rlnCase is one set of RLN circuit inputs with the public signals computed
// independently with go-iden3-crypto's Poseidon.
type rlnCase struct {
	secret, limit, messageID *big.Int
	pathElements             [rlnDepth]*big.Int
	leafIndex                uint32
	x, externalNullifier     *big.Int

	// expected public signals
	y, root, nullifier *big.Int
}

func poseidonHash(t *testing.T, in ...*big.Int) *big.Int {
	t.Helper()
	h, err := poseidon.Hash(in)
	if err != nil {
		t.Fatalf("poseidon: %v", err)
	}
	return h
}

// randField returns a uniformly distributed field element (as big.Int).
func randField(r *rand.Rand) *big.Int {
	var e fr.Element
	for i := range e {
		e[i] = r.Uint64()
	}
	e[3] &= mask254Top
	for !reduced(&e) {
		for i := range e {
			e[i] = r.Uint64()
		}
		e[3] &= mask254Top
	}
	return u256ToBig(u256(e))
}

func u256ToBig(x u256) *big.Int {
	z := new(big.Int)
	for i := 3; i >= 0; i-- {
		z.Lsh(z, 64)
		z.Or(z, new(big.Int).SetUint64(x[i]))
	}
	return z
}

func newRLNCase(t *testing.T, r *rand.Rand, limit, messageID uint64, leafIndex uint32) rlnCase {
	t.Helper()
	c := rlnCase{
		secret:            randField(r),
		limit:             new(big.Int).SetUint64(limit),
		messageID:         new(big.Int).SetUint64(messageID),
		leafIndex:         leafIndex,
		x:                 randField(r),
		externalNullifier: poseidonHash(t, randField(r), randField(r)), // Poseidon(epoch, rln_identifier)
	}
	for i := range c.pathElements {
		c.pathElements[i] = randField(r)
	}

	idCommitment := poseidonHash(t, c.secret)
	node := poseidonHash(t, idCommitment, c.limit) // rate commitment, the leaf
	for i, sibling := range c.pathElements {
		if leafIndex>>i&1 == 0 {
			node = poseidonHash(t, node, sibling)
		} else {
			node = poseidonHash(t, sibling, node)
		}
	}
	c.root = node

	a1 := poseidonHash(t, c.secret, c.externalNullifier, c.messageID)
	c.y = new(big.Int).Mul(a1, c.x)
	c.y.Add(c.y, c.secret)
	c.y.Mod(c.y, fr.Modulus())
	c.nullifier = poseidonHash(t, a1)
	return c
}

func frFromBig(v *big.Int) fr.Element {
	var e fr.Element
	e.SetBigInt(v)
	return e
}

func (c *rlnCase) inputs() map[string][]fr.Element {
	path := make([]fr.Element, rlnDepth)
	index := make([]fr.Element, rlnDepth)
	for i := range rlnDepth {
		path[i] = frFromBig(c.pathElements[i])
		index[i].SetUint64(uint64(c.leafIndex >> i & 1))
	}
	one := func(v *big.Int) []fr.Element { return []fr.Element{frFromBig(v)} }
	return map[string][]fr.Element{
		"identitySecret":    one(c.secret),
		"userMessageLimit":  one(c.limit),
		"messageId":         one(c.messageID),
		"pathElements":      path,
		"identityPathIndex": index,
		"x":                 one(c.x),
		"externalNullifier": one(c.externalNullifier),
	}
}

func TestRLNGraphLayout(t *testing.T) {
	t.Parallel()
	g := loadRLNGraph(t)
	if got, want := g.NumWitness(), 5844; got != want {
		t.Errorf("NumWitness = %d, want %d", got, want)
	}
	want := map[string]Signal{
		"x":                 {1, 1},
		"externalNullifier": {2, 1},
		"identitySecret":    {3, 1},
		"userMessageLimit":  {4, 1},
		"messageId":         {5, 1},
		"pathElements":      {6, rlnDepth},
		"identityPathIndex": {26, rlnDepth},
	}
	got := g.Inputs()
	if len(got) != len(want) {
		t.Errorf("Inputs = %v, want %v", got, want)
	}
	for name, s := range want {
		if got[name] != s {
			t.Errorf("Inputs[%q] = %v, want %v", name, got[name], s)
		}
	}
	got["x"] = Signal{99, 99}
	if g.Inputs()["x"] != want["x"] {
		t.Error("Inputs returned the graph's own map")
	}
	if g.numNodes != 23414 {
		t.Errorf("graph has %d nodes, want 23414", g.numNodes)
	}
}

// TestRLNPublicSignals is the end-to-end check: the witness public signals
// must equal y, root, nullifier, x and external nullifier computed
// independently with go-iden3-crypto Poseidon.
func TestRLNPublicSignals(t *testing.T) {
	t.Parallel()
	g := loadRLNGraph(t)
	r := rand.New(rand.NewPCG(20, 1))
	const limit = 100
	tests := []struct {
		name      string
		limit     uint64
		messageID uint64
		leafIndex uint32
	}{
		{"message id 0, leaf 0", limit, 0, 0},
		{"message id limit-1, last leaf", limit, limit - 1, 1<<rlnDepth - 1},
		{"random 1", limit, r.Uint64N(limit), r.Uint32N(1 << rlnDepth)},
		{"random 2", limit, r.Uint64N(limit), r.Uint32N(1 << rlnDepth)},
		{"random 3", limit, r.Uint64N(limit), r.Uint32N(1 << rlnDepth)},
		{"alternating path", limit, 42, 0b1010_1010_1010_1010_1010},
		{"limit 1", 1, 0, 12345},
		{"large limit", 1 << 16, 1<<16 - 1, 777},
		// Witness calculation does not enforce constraints: an
		// out-of-range message id still yields a witness (no proof claim).
		{"message id == limit", limit, limit, 5},
		{"message id > limit", limit, limit + 1000, 6},
	}
	for i, tc := range tests {
		c := newRLNCase(t, r, tc.limit, tc.messageID, tc.leafIndex)
		t.Run(strconv.Itoa(i)+" "+tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := g.Calculate(c.inputs())
			if err != nil {
				t.Fatalf("Calculate: %v", err)
			}
			if len(w) != g.NumWitness() {
				t.Fatalf("witness has %d elements, want %d", len(w), g.NumWitness())
			}
			want := []struct {
				name string
				v    *big.Int
			}{
				{"one", big.NewInt(1)},
				{"y", c.y},
				{"root", c.root},
				{"nullifier", c.nullifier},
				{"x", c.x},
				{"externalNullifier", c.externalNullifier},
			}
			for j, s := range want {
				var got big.Int
				w[j].BigInt(&got)
				if got.Cmp(s.v) != 0 {
					t.Errorf("witness[%d] (%s) = %v, want %v", j, s.name, &got, s.v)
				}
			}
		})
	}
}

// TestRLNConcurrent checks that concurrent Calculate calls on one Graph give
// the same witness as sequential ones (run with -race).
func TestRLNConcurrent(t *testing.T) {
	t.Parallel()
	g := loadRLNGraph(t)
	r := rand.New(rand.NewPCG(7, 7))
	cases := make([]rlnCase, 8)
	want := make([][]fr.Element, len(cases))
	for i := range cases {
		cases[i] = newRLNCase(t, r, 100, uint64(i), r.Uint32N(1<<rlnDepth))
		w, err := g.Calculate(cases[i].inputs())
		if err != nil {
			t.Fatal(err)
		}
		want[i] = w
	}
	errs := make(chan error, len(cases))
	for i := range cases {
		go func() {
			for range 3 {
				w, err := g.Calculate(cases[i].inputs())
				if err != nil {
					errs <- err
					return
				}
				for j := range w {
					if w[j] != want[i][j] {
						errs <- &mismatchError{i, j}
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range cases {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

type mismatchError struct{ c, j int }

func (e *mismatchError) Error() string {
	return "case " + strconv.Itoa(e.c) + ": witness[" + strconv.Itoa(e.j) + "] differs from the sequential result"
}

func BenchmarkCalculate(b *testing.B) {
	g := loadRLNGraph(b)
	r := rand.New(rand.NewPCG(1, 2))
	var c rlnCase
	c.secret, c.limit, c.messageID = randField(r), big.NewInt(100), big.NewInt(3)
	for i := range c.pathElements {
		c.pathElements[i] = randField(r)
	}
	c.leafIndex = 12345
	c.x, c.externalNullifier = randField(r), randField(r)
	inputs := c.inputs()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Calculate(inputs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	path := rlnGraphPath(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}
