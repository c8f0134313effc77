package groth16

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rlnd/rlnd/rln/artefacts"
)

var (
	loadOnce sync.Once
	testPK   *ProvingKey
	testVK   *VerifyingKey
	loadErr  error
)

// ceremonyKeys loads the RLNv2 ceremony proving key once per test binary.
func ceremonyKeys(t testing.TB) (*ProvingKey, *VerifyingKey) {
	t.Helper()
	loadOnce.Do(func() {
		var b []byte
		if b, loadErr = artefacts.Read(artefacts.DefaultDir(), artefacts.ZKey); loadErr != nil {
			return
		}
		if testPK, loadErr = ParseZKey(b); loadErr != nil {
			return
		}
		testVK, loadErr = testPK.VerifyingKey()
	})
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return testPK, testVK
}

func TestParseCeremonyZKey(t *testing.T) {
	pk, vk := ceremonyKeys(t)
	if pk.NVars != 5844 || pk.NPublic != 5 || pk.DomainSize != 8192 {
		t.Fatalf("nVars %d nPublic %d domain %d", pk.NVars, pk.NPublic, pk.DomainSize)
	}
	if len(pk.C) != pk.NVars-pk.NPublic-1 || len(pk.H) != pk.DomainSize || len(pk.IC) != 6 {
		t.Fatalf("section lengths C %d H %d IC %d", len(pk.C), len(pk.H), len(pk.IC))
	}
	// The public-input rows the setup adds: A[nConstraints+i][i] = 1.
	ones := 0
	for _, c := range pk.Coefs {
		if c.Matrix == 0 && int(c.Constraint) >= 5820 && int(c.Signal) == int(c.Constraint)-5820 && c.Value.IsOne() {
			ones++
		}
	}
	if ones != pk.NPublic+1 {
		t.Fatalf("found %d public-input rows with coefficient 1, want %d", ones, pk.NPublic+1)
	}

	// The verifying key in the zkey equals verification_key.json.
	j, err := artefacts.Read(artefacts.DefaultDir(), artefacts.VKey)
	if err != nil {
		t.Fatal(err)
	}
	jvk, err := ParseVerificationKeyJSON(j)
	if err != nil {
		t.Fatal(err)
	}
	if !vk.Equal(jvk) {
		t.Fatal("verifying key from the zkey differs from verification_key.json")
	}
	if vk.NPublic() != 5 {
		t.Fatalf("NPublic = %d", vk.NPublic())
	}
}

func TestParseZKeyErrors(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(artefacts.DefaultDir(), artefacts.ZKey))
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), b...)) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"bad magic", mutate(func(x []byte) []byte { x[0] = 'Z'; return x })},
		{"bad version", mutate(func(x []byte) []byte { x[4] = 2; return x })},
		{"truncated", b[:len(b)/2]},
		{"truncated header", b[:20]},
		{"section size past end", mutate(func(x []byte) []byte { x[16] = 0xff; x[17] = 0xff; x[18] = 0xff; return x })},
		// Section 2 starts right after section 1 (4 bytes): corrupt q.
		{"wrong base field", mutate(func(x []byte) []byte { x[12+12+4+12+4] ^= 1; return x })},
		// The first IC point lies right after the groth16 header section.
		{"point off curve", mutate(func(x []byte) []byte { x[12+12+4+12+660+12] ^= 1; return x })},
	}
	for _, tt := range tests {
		if _, err := ParseZKey(tt.in); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("%s: error %v, want ErrMalformedKey", tt.name, err)
		}
	}
}

func TestParseVerificationKeyJSONErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		``, `{}`, `{"protocol":"plonk","curve":"bn128"}`,
		`{"protocol":"groth16","curve":"bn128","nPublic":1,"IC":[]}`,
		`{"protocol":"groth16","curve":"bn128","nPublic":0,"vk_alpha_1":["1","3","1"],"IC":[["1","2","1"]]}`,
	} {
		if _, err := ParseVerificationKeyJSON([]byte(in)); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("%q: error %v", in, err)
		}
	}
}

func BenchmarkParseZKey(b *testing.B) {
	raw, err := artefacts.Read(artefacts.DefaultDir(), artefacts.ZKey)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ParseZKey(raw); err != nil {
			b.Fatal(err)
		}
	}
}
