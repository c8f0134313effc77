package merkle

import (
	"bytes"
	"testing"
)

// BenchmarkAppendBatch100k appends 100,000 leaves to an empty depth-20 tree
// in one AppendBatch.
func BenchmarkAppendBatch100k(b *testing.B) {
	leaves := randLeaves(newTestRand(100), 100_000)
	for b.Loop() {
		b.StopTimer()
		tr := mustNew(b, 20)
		b.StartTimer()
		if _, err := tr.AppendBatch(leaves); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend appends single leaves to a depth-20 tree.
func BenchmarkAppend(b *testing.B) {
	tr := mustNew(b, 20)
	leaves := randLeaves(newTestRand(101), 1024)
	k := 0
	for b.Loop() {
		if tr.NextIndex() == tr.Capacity() {
			b.StopTimer()
			tr = mustNew(b, 20)
			b.StartTimer()
		}
		if _, err := tr.Append(leaves[k%len(leaves)]); err != nil {
			b.Fatal(err)
		}
		k++
	}
}

// BenchmarkProof builds proofs in a depth-20 tree with 10,000 members.
func BenchmarkProof(b *testing.B) {
	tr := mustNew(b, 20)
	if _, err := tr.AppendBatch(randLeaves(newTestRand(102), 10_000)); err != nil {
		b.Fatal(err)
	}
	var i uint64
	for b.Loop() {
		if _, err := tr.Proof(i % 10_000); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

// BenchmarkVerifyProof checks a depth-20 proof (20 Poseidon hashes).
func BenchmarkVerifyProof(b *testing.B) {
	tr := mustNew(b, 20)
	if _, err := tr.AppendBatch(randLeaves(newTestRand(103), 100)); err != nil {
		b.Fatal(err)
	}
	p, _ := tr.Proof(42)
	leaf, _ := tr.Leaf(42)
	root := tr.Root()
	for b.Loop() {
		if !VerifyProof(root, leaf, p) {
			b.Fatal("proof does not verify")
		}
	}
}

var sinkTree *Tree

// BenchmarkReadSnapshot loads a 100,000-member depth-20 snapshot.
func BenchmarkReadSnapshot(b *testing.B) {
	tr := mustNew(b, 20)
	if _, err := tr.AppendBatch(randLeaves(newTestRand(104), 100_000)); err != nil {
		b.Fatal(err)
	}
	data := snapshotBytes(b, tr)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		got, err := ReadSnapshot(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		sinkTree = got
	}
}
