package groth16

import (
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// member is the static inputs of the RLN circuit: who proves, and where
// in the tree (depth 20).
type member struct {
	secret, limit fr.Element
	path, index   []fr.Element // index: 0 or 1 a level
}

// seededFr draws a field element from a seeded generator, so that the
// tests using it see the same values on every run.
func seededFr(r *mrand.Rand) fr.Element {
	var b [32]byte
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	var e fr.Element
	e.SetBytes(b[:]) // reduced mod r
	return e
}

func seededMember(r *mrand.Rand) member {
	m := member{secret: seededFr(r), path: make([]fr.Element, 20), index: make([]fr.Element, 20)}
	m.limit.SetUint64(100)
	for i := range m.path {
		m.path[i] = seededFr(r)
		m.index[i].SetUint64(r.Uint64N(2))
	}
	return m
}

// clone copies m, so that the copy's path and index can change alone.
func (m member) clone() member {
	m.path = append([]fr.Element(nil), m.path...)
	m.index = append([]fr.Element(nil), m.index...)
	return m
}

// witness is m's witness for a message with the given id and random x
// and external nullifier drawn from r.
func (m member) witness(t testing.TB, r *mrand.Rand, messageID uint64) []fr.Element {
	t.Helper()
	var mid fr.Element
	mid.SetUint64(messageID)
	w, err := ceremonyGraph(t).Calculate(map[string][]fr.Element{
		"identitySecret":    {m.secret},
		"userMessageLimit":  {m.limit},
		"messageId":         {mid},
		"pathElements":      m.path,
		"identityPathIndex": m.index,
		"x":                 {seededFr(r)},
		"externalNullifier": {seededFr(r)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// samePartial fails unless got's sums and static values are want's.
func samePartial(t *testing.T, what string, got, want *Partial) {
	t.Helper()
	if !got.a.Equal(&want.a) || !got.b1.Equal(&want.b1) || !got.c.Equal(&want.c) || !got.b2.Equal(&want.b2) {
		t.Fatalf("%s: the sums differ from a fresh computation's", what)
	}
	if len(got.static) != len(want.static) {
		t.Fatalf("%s: %d static values, want %d", what, len(got.static), len(want.static))
	}
	for k := range got.static {
		if !got.static[k].Equal(&want.static[k]) {
			t.Fatalf("%s: static value %d differs", what, k)
		}
	}
}

// checkUpdate updates old for w and checks the result against a fresh
// Precompute and a proof against the verifier, and that old is intact.
func checkUpdate(t *testing.T, what string, old *Partial, w []fr.Element) *Partial {
	t.Helper()
	pr, vk := ceremonyProver(t)
	before := *old
	before.static = append([]fr.Element(nil), old.static...)
	got, err := pr.UpdatePartial(old, w)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	want, err := pr.Precompute(w)
	if err != nil {
		t.Fatal(err)
	}
	samePartial(t, what, got, want)
	samePartial(t, what+": the old partial", old, &before)
	p, err := pr.ProveWithPartial(w, got, rand.Reader)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := vk.Verify(p, w[1:6]); err != nil {
		t.Fatalf("%s: proof rejected: %v", what, err)
	}
	return got
}

// The fixed-base tables give the sums gnark-crypto's multi-exponentiation
// gives over the static signals' points.
func TestPrecomputeMatchesMultiExp(t *testing.T) {
	pr, _ := ceremonyProver(t)
	pk, _ := ceremonyKeys(t)
	r := mrand.New(mrand.NewPCG(1, 2))
	w := seededMember(r).witness(t, r, 0)
	part, err := pr.Precompute(w)
	if err != nil {
		t.Fatal(err)
	}
	s := gather(pk, pr.stat.idx)
	scalars := pr.staticValues(w)
	var cScalars []fr.Element
	for _, j := range s.cIdx {
		cScalars = append(cScalars, scalars[j])
	}
	var want Partial
	cfg := ecc.MultiExpConfig{}
	_, errA := want.a.MultiExp(s.a, scalars, cfg)
	_, errB1 := want.b1.MultiExp(s.b1, scalars, cfg)
	_, errC := want.c.MultiExp(s.c, cScalars, cfg)
	_, errB2 := want.b2.MultiExp(s.b2, scalars, cfg)
	if err := errors.Join(errA, errB1, errC, errB2); err != nil {
		t.Fatal(err)
	}
	want.static = scalars
	samePartial(t, "tables against MultiExp", part, &want)
}

// An updated partial is the one Precompute gives for the new witness,
// and its proofs verify: one sibling changed (at the top, in the middle,
// at the leaf), several, the leaf index, the member, nothing static.
func TestUpdatePartial(t *testing.T) {
	pr, _ := ceremonyProver(t)
	r := mrand.New(mrand.NewPCG(3, 4))
	m := seededMember(r)
	old, err := pr.Precompute(m.witness(t, r, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range []int{19, 9, 0} {
		m2 := m.clone()
		m2.path[level] = seededFr(r)
		w := m2.witness(t, r, 1)
		if _, changed, nonZero := pr.staticDelta(old, w); changed == 0 || changed >= nonZero {
			t.Fatalf("sibling at level %d: %d static signals changed of %d non-zero: no delta", level, changed, nonZero)
		}
		checkUpdate(t, "one sibling", old, w)
	}
	m2 := m.clone()
	for _, level := range []int{2, 7, 15} {
		m2.path[level] = seededFr(r)
	}
	checkUpdate(t, "three siblings", old, m2.witness(t, r, 2))
	m2 = m.clone()
	m2.index[4].SetUint64(1 - m.index[4].Uint64())
	checkUpdate(t, "leaf index", old, m2.witness(t, r, 3))
	checkUpdate(t, "another member", old, seededMember(r).witness(t, r, 4))

	same, err := pr.UpdatePartial(old, m.witness(t, r, 5))
	if err != nil || same != old {
		t.Fatalf("no static change: got a new partial (%v)", err)
	}
}

// Property: along a chain of updates, each for random changes of the
// path, the index or only the message, the partial stays the fresh one.
func TestUpdatePartialChain(t *testing.T) {
	pr, _ := ceremonyProver(t)
	r := mrand.New(mrand.NewPCG(5, 6))
	m := seededMember(r)
	part, err := pr.Precompute(m.witness(t, r, 0))
	if err != nil {
		t.Fatal(err)
	}
	for step := range 16 {
		m = m.clone()
		switch r.IntN(4) {
		case 0: // only the message
		case 1: // a registration elsewhere: one sibling
			m.path[r.IntN(20)] = seededFr(r)
		case 2: // several
			for range 1 + r.IntN(5) {
				m.path[r.IntN(20)] = seededFr(r)
			}
		case 3: // another leaf index, and the siblings below its new level
			level := r.IntN(20)
			m.index[level].SetUint64(1 - m.index[level].Uint64())
			for l := range level {
				m.path[l] = seededFr(r)
			}
		}
		part = checkUpdate(t, fmt.Sprintf("chain step %d", step), part, m.witness(t, r, uint64(step+1)))
	}
}

func TestUpdatePartialErrors(t *testing.T) {
	pr, _ := ceremonyProver(t)
	r := mrand.New(mrand.NewPCG(7, 8))
	w := seededMember(r).witness(t, r, 0)
	if _, err := pr.UpdatePartial(nil, w[:10]); !errors.Is(err, ErrBadWitness) {
		t.Fatalf("short witness: %v", err)
	}
	fresh, err := pr.UpdatePartial(nil, w)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pr.Precompute(w)
	if err != nil {
		t.Fatal(err)
	}
	samePartial(t, "no old partial", fresh, want)
	foreign := *fresh
	foreign.owner = &Prover{}
	if _, err := pr.UpdatePartial(&foreign, w); !errors.Is(err, ErrPartialMismatch) {
		t.Fatalf("another prover's partial: %v", err)
	}
	if _, err := pr.ProveWithPartial(w, &foreign, rand.Reader); !errors.Is(err, ErrPartialMismatch) {
		t.Fatalf("another prover's partial proved with: %v", err)
	}
}

// mapCache is a PartialCache without eviction, counting its stores.
type mapCache struct {
	mu   sync.Mutex
	m    map[[32]byte]*Partial
	puts int
}

func (c *mapCache) Get(key [32]byte) (*Partial, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[key]
	return p, ok
}

func (c *mapCache) Put(key [32]byte, p *Partial) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = p
	c.puts++
}

// ProveCached keeps one entry a key: stored on first use, kept while the
// static values stay, replaced by its update when they change.
func TestProveCachedUpdates(t *testing.T) {
	pr, vk := ceremonyProver(t)
	r := mrand.New(mrand.NewPCG(9, 10))
	m := seededMember(r)
	cache := &mapCache{m: make(map[[32]byte]*Partial)}
	key := [32]byte{1}
	moved := m.clone()
	moved.path[17] = seededFr(r)
	for i, step := range []struct {
		m    member
		puts int
	}{{m, 1}, {m, 1}, {moved, 2}, {moved, 2}, {m, 3}} {
		w := step.m.witness(t, r, uint64(i))
		p, err := pr.ProveCached(w, key, cache, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if err := vk.Verify(p, w[1:6]); err != nil {
			t.Fatalf("step %d: proof rejected: %v", i, err)
		}
		if cache.puts != step.puts || len(cache.m) != 1 {
			t.Fatalf("step %d: %d stores, %d entries; want %d stores, 1 entry", i, cache.puts, len(cache.m), step.puts)
		}
		want, err := pr.Precompute(w)
		if err != nil {
			t.Fatal(err)
		}
		samePartial(t, "cached", cache.m[key], want)
	}
	if _, err := pr.ProveCached(m.witness(t, r, 0)[:7], key, cache, rand.Reader); !errors.Is(err, ErrBadWitness) {
		t.Fatalf("short witness: %v", err)
	}
}
