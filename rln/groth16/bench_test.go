package groth16

import (
	"crypto/rand"
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
