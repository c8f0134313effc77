package rln

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln/groth16"
)

// registered returns m with the sibling at level changed, as a
// registration whose leaf meets m's path at that level changes it.
func (m member) registered(t testing.TB, level int) member {
	t.Helper()
	m.path = append([]fr.Element(nil), m.path...)
	if _, err := m.path[level].SetRandom(); err != nil {
		t.Fatal(err)
	}
	return m
}

// A member's entry is keyed by the member, not by its path: a proof after
// another member's registration updates the entry in place, and a member
// at another leaf index is another entry.
func TestPartialCacheKeyedByMember(t *testing.T) {
	p, v := engine(t)
	m := newMember(t, 10)
	w1, err := p.Witness(m.request(0, 5, []byte("one")))
	if err != nil {
		t.Fatal(err)
	}
	moved := m.registered(t, 11)
	w2, err := p.Witness(moved.request(1, 5, []byte("two")))
	if err != nil {
		t.Fatal(err)
	}
	key := p.memberKey(w1)
	if p.memberKey(w2) != key {
		t.Fatal("the member's key changed with its path or message")
	}
	other := m
	other.index = append([]uint8(nil), m.index...)
	other.index[3] ^= 1
	w3, err := p.Witness(other.request(0, 5, []byte("one")))
	if err != nil {
		t.Fatal(err)
	}
	if p.memberKey(w3) == key || p.memberKey(mustWitness(t, p, newMember(t, 10))) == key {
		t.Fatal("another leaf index or another member has the same key")
	}
	for i, mm := range []member{m, moved} {
		sig := fmt.Appendf(nil, "message %d", i)
		proof, err := p.Prove(mm.request(uint64(i), 5, sig), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(proof, SignalHash(sig)); err != nil {
			t.Fatalf("proof %d rejected: %v", i, err)
		}
		if r := mm.root(t); !proof.MerkleRoot.Equal(&r) {
			t.Fatalf("proof %d: not for the member's root", i)
		}
	}
	part, ok := p.partials.Get(key)
	if !ok {
		t.Fatal("no entry for the member")
	}
	if same, err := p.g16.UpdatePartial(part, w2); err != nil || same != part {
		t.Fatalf("the entry is not the partial of the member's new path (%v)", err)
	}
}

func mustWitness(t testing.TB, p *Prover, m member) []fr.Element {
	t.Helper()
	w, err := p.Witness(m.request(0, 1, []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// Concurrent proofs for one member whose path flips between two versions
// (a registration seen by some requests and not yet by others) all
// verify, and the member keeps one entry.
func TestPartialCacheConcurrentMember(t *testing.T) {
	p, v := engine(t)
	m := newMember(t, 100)
	versions := []member{m, m.registered(t, 15)}
	roots := []fr.Element{versions[0].root(t), versions[1].root(t)}
	const goroutines, proofs = 4, 3
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range proofs {
				k := (g + i) % 2
				sig := fmt.Appendf(nil, "g%d i%d", g, i)
				proof, err := p.Prove(versions[k].request(uint64(g*proofs+i), 9, sig), rand.Reader)
				if err == nil {
					err = v.Verify(proof, SignalHash(sig))
				}
				if err == nil && !proof.MerkleRoot.Equal(&roots[k]) {
					err = errors.New("proof for the other path's root")
				}
				if err != nil {
					errs[g] = fmt.Errorf("goroutine %d, proof %d: %w", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	key := p.memberKey(mustWitness(t, p, m))
	if _, ok := p.partials.Get(key); !ok {
		t.Fatal("no entry for the member")
	}
	n := 0
	p.partials.mu.Lock()
	for e := p.partials.order.Front(); e != nil; e = e.Next() {
		if e.Value.(*partialEntry).key == key {
			n++
		}
	}
	p.partials.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d entries for the member, want 1", n)
	}
}

// The LRU keeps its bound, and a Put for a cached key replaces its
// partial without evicting anything.
func TestPartialCacheLRU(t *testing.T) {
	t.Parallel()
	c := newPartialCache(2)
	parts := []*groth16.Partial{{}, {}, {}, {}}
	c.Put([32]byte{1}, parts[0])
	c.Put([32]byte{2}, parts[1])
	c.Put([32]byte{1}, parts[2]) // replaces, and 1 is now the most recent
	if got, ok := c.Get([32]byte{1}); !ok || got != parts[2] {
		t.Fatal("Put did not replace the entry")
	}
	c.Put([32]byte{3}, parts[3]) // evicts 2, the least recent
	if _, ok := c.Get([32]byte{2}); ok {
		t.Fatal("the least recent entry was kept")
	}
	for _, k := range []byte{1, 3} {
		if _, ok := c.Get([32]byte{k}); !ok {
			t.Fatalf("entry %d evicted", k)
		}
	}
	if c.order.Len() != 2 || len(c.byKey) != 2 {
		t.Fatalf("%d entries, bound 2", c.order.Len())
	}
}

// Refresh brings a cached member's part up to its new path ahead of its
// next proof (which then finds it current), and leaves members it has not
// cached alone.
func TestRefreshUpdatesCachedMembersOnly(t *testing.T) {
	p, v := engine(t)
	m := newMember(t, 10)
	if ok, err := p.Refresh(m.request(0, 5, nil)); err != nil || ok {
		t.Fatalf("Refresh of a member never proved for: %v, %v; want false, nil", ok, err)
	}
	if _, err := p.Prove(m.request(0, 5, []byte("one")), rand.Reader); err != nil {
		t.Fatal(err)
	}
	moved := m.registered(t, 12)
	if ok, err := p.Refresh(moved.request(0, 5, nil)); err != nil || !ok {
		t.Fatalf("Refresh of a cached member: %v, %v; want true, nil", ok, err)
	}
	w, err := p.Witness(moved.request(1, 5, []byte("two")))
	if err != nil {
		t.Fatal(err)
	}
	part, ok := p.partials.Get(p.memberKey(w))
	if !ok {
		t.Fatal("the member left the cache")
	}
	if same, err := p.g16.UpdatePartial(part, w); err != nil || same != part {
		t.Fatalf("after Refresh the cached part is not the new path's (%v)", err)
	}
	proof, err := p.ProveWitness(w, 5, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(proof, SignalHash([]byte("two"))); err != nil {
		t.Fatalf("the proof after Refresh is rejected: %v", err)
	}
}
