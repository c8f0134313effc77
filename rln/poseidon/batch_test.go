package poseidon

import (
	"fmt"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

func TestHashPairsMatchesHash2(t *testing.T) {
	t.Parallel()
	src := testInputs(7, 2*300)
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, 128, 130, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			dst := make([]fr.Element, n)
			HashPairs(dst, src[:2*n])
			for i := range dst {
				want := Hash2(src[2*i], src[2*i+1])
				if !dst[i].Equal(&want) {
					t.Fatalf("pair %d of %d: HashPairs = %s, Hash2 = %s", i, n, dst[i].String(), want.String())
				}
			}
		})
	}
}

func TestHashPairsLengthMismatchPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "HashPairs") {
			t.Errorf("recover() = %v, want a HashPairs panic", r)
		}
	}()
	HashPairs(make([]fr.Element, 2), make([]fr.Element, 3))
}

func TestHashPairsAllocs(t *testing.T) {
	src := testInputs(9, 2*100)
	dst := make([]fr.Element, 100)
	HashPairs(dst, src)
	if n := testing.AllocsPerRun(5, func() { HashPairs(dst, src) }); n != 0 {
		t.Errorf("HashPairs allocates %.1f times per run, want 0", n)
	}
}

// BenchmarkHashPairs reports the cost per pair (one Hash2) of hashing 1024
// pairs at once.
func BenchmarkHashPairs(b *testing.B) {
	const pairs = 1024
	src := testInputs(11, 2*pairs)
	dst := make([]fr.Element, pairs)
	for b.Loop() {
		HashPairs(dst, src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pairs), "ns/hash")
}
