package groth16

import (
	"bytes"
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/rln/witness"
)

var (
	graphOnce sync.Once
	testGraph *witness.Graph
	graphErr  error
)

func ceremonyGraph(t testing.TB) *witness.Graph {
	t.Helper()
	graphOnce.Do(func() {
		dir := artefacts.DefaultDir()
		if _, graphErr = artefacts.Read(dir, artefacts.Graph); graphErr != nil {
			return
		}
		testGraph, graphErr = witness.LoadFile(filepath.Join(dir, artefacts.Graph))
	})
	if graphErr != nil {
		t.Fatal(graphErr)
	}
	return testGraph
}

func randFr(t testing.TB) fr.Element {
	t.Helper()
	var e fr.Element
	if _, err := e.SetRandom(); err != nil {
		t.Fatal(err)
	}
	return e
}

// randomMember is a random identity secret and Merkle path (depth 20).
func randomMember(t testing.TB) (fr.Element, []fr.Element) {
	t.Helper()
	path := make([]fr.Element, 20)
	for i := range path {
		path[i] = randFr(t)
	}
	return randFr(t), path
}

// rlnWitness computes a witness of the RLN circuit for random inputs.
func rlnWitness(t testing.TB, messageID uint64) []fr.Element {
	t.Helper()
	path := make([]fr.Element, 20)
	for i := range path {
		path[i] = randFr(t)
	}
	return memberWitness(t, randFr(t), path, messageID)
}

// memberWitness computes a witness for a given member and a random message.
func memberWitness(t testing.TB, secret fr.Element, path []fr.Element, messageID uint64) []fr.Element {
	t.Helper()
	var limit, mid fr.Element
	limit.SetUint64(100)
	mid.SetUint64(messageID)
	idx := make([]fr.Element, 20)
	for i := range idx {
		idx[i].SetUint64(uint64(i % 2))
	}
	w, err := ceremonyGraph(t).Calculate(map[string][]fr.Element{
		"identitySecret":    {secret},
		"userMessageLimit":  {limit},
		"messageId":         {mid},
		"pathElements":      path,
		"identityPathIndex": idx,
		"x":                 {randFr(t)},
		"externalNullifier": {randFr(t)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var (
	proverOnce sync.Once
	testProver *Prover
)

func ceremonyProver(t testing.TB) (*Prover, *VerifyingKey) {
	pk, vk := ceremonyKeys(t)
	proverOnce.Do(func() {
		var err error
		dyn, err := ceremonyGraph(t).DependsOn("x", "externalNullifier", "messageId")
		if err != nil {
			t.Fatal(err)
		}
		if testProver, err = NewProver(pk, dyn); err != nil {
			t.Fatal(err)
		}
	})
	return testProver, vk
}

func TestProveVerifyCeremony(t *testing.T) {
	pr, vk := ceremonyProver(t)
	w := rlnWitness(t, 7)
	p, err := pr.Prove(w, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	public := w[1 : 1+pr.Key().NPublic]
	if err := vk.Verify(p, public); err != nil {
		t.Fatalf("own proof rejected: %v", err)
	}
	// Through the wire encoding.
	enc := p.Encode()
	back, err := DecodeProof(enc[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := vk.Verify(back, public); err != nil {
		t.Fatalf("decoded proof rejected: %v", err)
	}
	// Each public signal matters.
	for i := range public {
		bad := append([]fr.Element(nil), public...)
		bad[i].Add(&bad[i], new(fr.Element).SetOne())
		if err := vk.Verify(p, bad); !errors.Is(err, ErrInvalidProof) {
			t.Errorf("public signal %d changed: %v", i, err)
		}
	}
	if err := vk.Verify(p, public[:4]); !errors.Is(err, ErrPublicInputs) {
		t.Errorf("short public inputs: %v", err)
	}
	// A proof of another witness does not verify these signals.
	other, err := pr.Prove(rlnWitness(t, 8), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := vk.Verify(other, public); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("foreign proof accepted: %v", err)
	}
	// Bad witnesses are refused before any work.
	if _, err := pr.Prove(w[:10], rand.Reader); !errors.Is(err, ErrBadWitness) {
		t.Errorf("short witness: %v", err)
	}
	w0 := append([]fr.Element(nil), w...)
	w0[0].SetUint64(2)
	if _, err := pr.Prove(w0, rand.Reader); !errors.Is(err, ErrBadWitness) {
		t.Errorf("witness[0] != 1: %v", err)
	}
}

// A partial computed for a member serves its later proofs, and only those.
func TestProveWithPartial(t *testing.T) {
	pr, vk := ceremonyProver(t)
	secret, path := randomMember(t)
	w1 := memberWitness(t, secret, path, 1)
	part, err := pr.Precompute(w1)
	if err != nil {
		t.Fatal(err)
	}
	for mid := uint64(2); mid < 5; mid++ {
		w := memberWitness(t, secret, path, mid)
		p, err := pr.ProveWithPartial(w, part, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if err := vk.Verify(p, w[1:6]); err != nil {
			t.Fatalf("proof with partial rejected: %v", err)
		}
	}
	// Another member, or the same member with another path, is refused.
	other := memberWitness(t, randFr(t), path, 1)
	if _, err := pr.ProveWithPartial(other, part, rand.Reader); !errors.Is(err, ErrPartialMismatch) {
		t.Fatalf("other member: %v", err)
	}
	path2 := append([]fr.Element(nil), path...)
	path2[5] = randFr(t)
	if _, err := pr.ProveWithPartial(memberWitness(t, secret, path2, 1), part, rand.Reader); !errors.Is(err, ErrPartialMismatch) {
		t.Fatalf("new path: %v", err)
	}
	// Without a mask every signal is dynamic, and proofs still verify.
	pk, _ := ceremonyKeys(t)
	plain, err := NewProver(pk, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plain.Prove(w1, rand.Reader)
	if err != nil || vk.Verify(p, w1[1:6]) != nil {
		t.Fatalf("prover without mask: %v", err)
	}
	if _, err := NewProver(pk, make([]bool, 3)); !errors.Is(err, ErrBadWitness) {
		t.Fatalf("short mask: %v", err)
	}
}

func TestVerifyBatch(t *testing.T) {
	pr, vk := ceremonyProver(t)
	const n = 6
	proofs := make([]*Proof, n)
	public := make([][]fr.Element, n)
	for i := range proofs {
		w := rlnWitness(t, uint64(i))
		p, err := pr.Prove(w, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		proofs[i], public[i] = p, w[1:1+pr.Key().NPublic]
	}
	if err := vk.VerifyBatch(proofs, public, nil); err != nil {
		t.Fatalf("valid batch rejected: %v", err)
	}
	for i, err := range vk.VerifyEach(proofs, public, nil) {
		if err != nil {
			t.Fatalf("proof %d: %v", i, err)
		}
	}
	// Swap two proofs: each is valid, but not for the other's signals.
	swapped := append([]*Proof(nil), proofs...)
	swapped[2], swapped[3] = swapped[3], swapped[2]
	if err := vk.VerifyBatch(swapped, public, nil); !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("swapped batch: %v", err)
	}
	errs := vk.VerifyEach(swapped, public, nil)
	for i, err := range errs {
		if (i == 2 || i == 3) != (err != nil) {
			t.Fatalf("VerifyEach[%d] = %v", i, err)
		}
	}
	if err := vk.VerifyBatch(proofs, public[:n-1], nil); !errors.Is(err, ErrPublicInputs) {
		t.Fatalf("mismatched lengths: %v", err)
	}
	if err := vk.VerifyBatch(nil, nil, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

// One lane and two lanes make the same proof from the same randomness,
// and it verifies; concurrent proofs (which run in one lane) verify too.
func TestProveLanesAgree(t *testing.T) {
	pr, vk := ceremonyProver(t)
	secret, path := randomMember(t)
	part, err := pr.Precompute(memberWitness(t, secret, path, 0))
	if err != nil {
		t.Fatal(err)
	}
	for mid := uint64(1); mid < 4; mid++ {
		w := memberWitness(t, secret, path, mid)
		seed := make([]byte, 96)
		if _, err := rand.Read(seed); err != nil {
			t.Fatal(err)
		}
		var proofs [2]*Proof
		for lanes := 1; lanes <= 2; lanes++ {
			p, err := pr.proveLanes(w, part, bytes.NewReader(seed), lanes)
			if err != nil {
				t.Fatal(err)
			}
			if err := vk.Verify(p, w[1:6]); err != nil {
				t.Fatalf("%d lane(s): proof rejected: %v", lanes, err)
			}
			proofs[lanes-1] = p
		}
		if proofs[0].Encode() != proofs[1].Encode() {
			t.Fatal("one lane and two lanes made different proofs from the same randomness")
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range errs {
		w := memberWitness(t, secret, path, uint64(10+g))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				p, err := pr.ProveWithPartial(w, part, rand.Reader)
				if err == nil {
					err = vk.Verify(p, w[1:6])
				}
				if err != nil {
					errs[g] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent proofs: %v", err)
	}
}

// A prover built without the radix-2^52 kernels (as on a CPU without
// AVX-512 IFMA) makes the same proof from the same randomness as one with
// them, so the fallback path is checked on machines that have the kernels.
func TestProveWithoutKernels(t *testing.T) {
	if !have52 {
		t.Skip("no AVX-512 IFMA here: every test already runs without the kernels")
	}
	pr, vk := ceremonyProver(t)
	pk, _ := ceremonyKeys(t)
	dyn, err := ceremonyGraph(t).DependsOn("x", "externalNullifier", "messageId")
	if err != nil {
		t.Fatal(err)
	}
	have52 = false
	plain, err := NewProver(pk, dyn)
	have52 = true
	if err != nil {
		t.Fatal(err)
	}
	if plain.fft.tw52 != nil {
		t.Fatal("the fallback prover uses the kernels' FFT")
	}
	secret, path := randomMember(t)
	w := memberWitness(t, secret, path, 3)
	seed := make([]byte, 96)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	var proofs [2]*Proof
	for i, p := range []*Prover{pr, plain} {
		part, err := p.Precompute(w)
		if err != nil {
			t.Fatal(err)
		}
		if p == plain {
			have52 = false // the digit kernels are chosen per call
		}
		proofs[i], err = p.proveLanes(w, part, bytes.NewReader(seed), 1)
		have52 = true
		if err != nil {
			t.Fatal(err)
		}
		if err := vk.Verify(proofs[i], w[1:6]); err != nil {
			t.Fatalf("prover %d: proof rejected: %v", i, err)
		}
	}
	if proofs[0].Encode() != proofs[1].Encode() {
		t.Fatal("the kernels and the fallback made different proofs from the same randomness")
	}
}
