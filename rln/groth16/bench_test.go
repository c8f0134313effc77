package groth16

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

func BenchmarkProve(b *testing.B) {
	pr, _ := ceremonyProver(b)
	w := rlnWitness(b, 1)
	b.ResetTimer()
	for b.Loop() {
		if _, err := pr.Prove(w, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProveMember: a member's second and later proofs (same Merkle
// path), the case of a relay or lightpush node proving for its memberships.
func BenchmarkProveMember(b *testing.B) {
	pr, _ := ceremonyProver(b)
	secret, path := randomMember(b)
	part, err := pr.Precompute(memberWitness(b, secret, path, 0))
	if err != nil {
		b.Fatal(err)
	}
	w := memberWitness(b, secret, path, 1)
	b.ResetTimer()
	cpu := startCPU()
	for b.Loop() {
		if _, err := pr.ProveWithPartial(w, part, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// BenchmarkProveMemberParallel: member proofs with one prover goroutine a
// core (b.RunParallel), the way a service proving for many clients runs
// them; proofs/s is the throughput of all of them together.
func BenchmarkProveMemberParallel(b *testing.B) {
	pr, _ := ceremonyProver(b)
	secret, path := randomMember(b)
	part, err := pr.Precompute(memberWitness(b, secret, path, 0))
	if err != nil {
		b.Fatal(err)
	}
	w := memberWitness(b, secret, path, 1)
	b.ResetTimer()
	cpu := startCPU()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := pr.ProveWithPartial(w, part, rand.Reader); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "proofs/s")
	cpu.report(b)
}

// BenchmarkProveNext: a member's next proof, through ProveCached as the
// rln engine proves (the cache holds the member's partial; witnesses are
// made before the timer). The base of BenchmarkProveAfterForeignRegistration.
func BenchmarkProveNext(b *testing.B) {
	r := mrand.New(mrand.NewPCG(1, 1))
	m := seededMember(r)
	benchCached(b, m, memberWitnesses(b, r, m, m), &mapCache{m: make(map[[32]byte]*Partial)})
}

// BenchmarkProveAfterForeignRegistration: a member's proof right after
// another member registered, which changed one sibling of its path: the
// one at the level of the highest bit in which the two leaf indices
// differ (19: the other half of the tree; 0: the neighbouring leaf; with
// N members, registration N meets most older members at level
// floor(log2 N)). The cached partial is updated for the changed signals.
// Witnesses alternate between the old and the new path, so every proof
// finds the other path's partial in the cache.
func BenchmarkProveAfterForeignRegistration(b *testing.B) {
	for _, level := range []int{19, 14, 9, 0} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			r := mrand.New(mrand.NewPCG(1, uint64(level)))
			m := seededMember(r)
			moved := m.clone()
			moved.path[level] = seededFr(r)
			benchCached(b, m, memberWitnesses(b, r, moved, m), &mapCache{m: make(map[[32]byte]*Partial)})
		})
	}
}

// BenchmarkProveFullRecompute: the same proof with the member's partial
// computed from scratch (a cache that keeps nothing), the peer of
// BenchmarkProveAfterForeignRegistration.
func BenchmarkProveFullRecompute(b *testing.B) {
	r := mrand.New(mrand.NewPCG(1, 2))
	m := seededMember(r)
	benchCached(b, m, memberWitnesses(b, r, m, m), noCache{})
}

// memberWitnesses is 8 witnesses for distinct messages, alternately of
// members even and odd (e.g. a member's path after and before a change).
func memberWitnesses(b *testing.B, r *mrand.Rand, even, odd member) [][]fr.Element {
	ws := make([][]fr.Element, 8)
	for i := range ws {
		m := even
		if i%2 == 1 {
			m = odd
		}
		ws[i] = m.witness(b, r, uint64(i+1))
	}
	return ws
}

// benchCached proves ws in turn through ProveCached, all under one key,
// after one untimed proof for first's witness.
func benchCached(b *testing.B, first member, ws [][]fr.Element, cache PartialCache) {
	pr, _ := ceremonyProver(b)
	key := [32]byte{1}
	if _, err := pr.ProveCached(first.witness(b, mrand.New(mrand.NewPCG(0, 0)), 0), key, cache, rand.Reader); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu := startCPU()
	i := 0
	for b.Loop() {
		if _, err := pr.ProveCached(ws[i%len(ws)], key, cache, rand.Reader); err != nil {
			b.Fatal(err)
		}
		i++
	}
	cpu.report(b)
}

// noCache keeps nothing: every ProveCached computes the partial afresh.
type noCache struct{}

func (noCache) Get([32]byte) (*Partial, bool) { return nil, false }
func (noCache) Put([32]byte, *Partial)        {}

// cpuMeter reports the process CPU time per benchmark iteration.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	t, ok := processCPU()
	return cpuMeter{t, ok}
}

func (m cpuMeter) report(b *testing.B) {
	t, ok := processCPU()
	if !m.ok || !ok || b.N == 0 {
		return
	}
	b.ReportMetric(float64((t-m.start).Nanoseconds())/float64(b.N)/1e6, "cpu-ms/op")
}

func BenchmarkVerify(b *testing.B) {
	pr, vk := ceremonyProver(b)
	w := rlnWitness(b, 1)
	p, err := pr.Prove(w, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	pub := w[1:6]
	b.ResetTimer()
	for b.Loop() {
		if err := vk.Verify(p, pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyBatch64(b *testing.B) {
	pr, vk := ceremonyProver(b)
	const n = 64
	proofs := make([]*Proof, n)
	pubs := make([][]fr.Element, n)
	for i := range proofs {
		w := rlnWitness(b, uint64(i))
		p, err := pr.Prove(w, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		proofs[i], pubs[i] = p, w[1:6]
	}
	b.ResetTimer()
	for b.Loop() {
		if err := vk.VerifyBatch(proofs, pubs, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n/1e6, "ms/proof")
}

func BenchmarkDecodeProof(b *testing.B) {
	enc := randomProof(b).Encode()
	for b.Loop() {
		if _, err := DecodeProof(enc[:]); err != nil {
			b.Fatal(err)
		}
	}
}
