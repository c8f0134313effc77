package membership

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/poseidon"
)

// specVector is the test vector of the Waku RLN keystore specification
// (WAKU-RLN-KEYSTORE): a keystore written by nwaku, password "sup3rsecure".
const specVector = `{"application":"waku-rln-relay","appIdentifier":"01234567890abcdef","version":"0.2","credentials":{"9DB2B4718A97485B9F70F68D1CC19F4E10F0B4CE943418838E94956CB8E57548":{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"fd6b39eb71d44c59f6bf5ff3d8945c80"},"ciphertext":"9c72f47ce95de03ed34502d0288e7576b66b51b9e7d5ae882c27bd89f94e6a03c2c44c2ddf0c982e72003d67212105f1b64614f57cabb0ceadab7e07be165eee1121ad6b81951368a9f3be2dd99ea294515f6013d5f2bd4702a40e36cfde2ea298b23b31e5ce719d8040c3331f73d6bf44f88bca39bac0e917d8bf545500e4f40d321c235426a80f315ac70666acbd3bdf803fbc1e7e7103fed466525ed332b25d72b2dbedf6fa383b2305987c1fe276b029570519b3e79930edf08c1029868d05c2c08ab61d7c64f63c054b4f6a5a12d43cdc79751b6fe58d3ed26b69443eb7c9f7efce27912340129c91b6b813ac94efd5776a40b1dda896d61357de208c7c47a14af911cc231355c8093ee6626e89c07e1037f9e0b22c690e3e049014399ca0212c509cb04c71c7860d1b17a0c47711c490c27bad2825926148a1f15a507f36ba2cdaa04897fce2914e53caed0beaf1bebd2a83af76511cc15bff2165ff0860ad6eca1f30022d7739b2a6b6a72f2feeef0f5941183cda015b4631469e1f4cf27003cab9a90920301cb30d95e4554686922dc5a05c13dfb575cdf113c700d607896011970e6ee7d6edb61210ab28ac8f0c84c606c097e3e300f0a5f5341edfd15432bef6225a498726b62a98283829ad51023b2987f30686cfb4ea3951f3957654035ec291f9b0964a3a8665d81b16cec20fb40f944d5f9bf03ac1e444ad45bae3fa85e7465ce620c0966d8148d6e2856f676c4fbbe3ebe470453efb4bbda1866680037917e37765f680e3da96ef3991f3fe5cda80c523996c2234758bf5f7b6d052dc6942f5a92c8b8eec5d2d8940203bbb6b1cba7b7ebc1334334ca69cdb509a5ea58ec6b2ebaea52307589eaae9430eb15ad234c0c39c83accdf3b77e52a616e345209c5bc9b442f9f0fa96836d9342f983a7","kdf":"pbkdf2","kdfparams":{"dklen":32,"c":1000000,"prf":"hmac-sha256","salt":"60f0aa92fbf63a8356dfdbed2ab18058"},"mac":"51a227ac6db7f2797c63925880b3db664e034231a4c68daa919ab42d8df38bc6"}}}}`

func bytes32(vs ...byte) (out [32]byte) { copy(out[:], vs); return }

func TestSpecVector(t *testing.T) {
	t.Parallel()
	k, err := Parse([]byte(specVector))
	if err != nil {
		t.Fatal(err)
	}
	const hash = "9DB2B4718A97485B9F70F68D1CC19F4E10F0B4CE943418838E94956CB8E57548"
	if got := k.Hashes(); len(got) != 1 || got[0] != hash {
		t.Fatalf("hashes %v", got)
	}
	if _, err := k.Get(hash, "wrong"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	m, err := k.Get(hash, "sup3rsecure")
	if err != nil {
		t.Fatal(err)
	}
	want := Membership{
		Contract:  Contract{ChainID: "0xAA36A7", Address: "0x8e1F3742B987d8BA376c0CBbD7357fE1F003ED71"},
		TreeIndex: 8,
		Identity: IdentityCredential{
			IDTrapdoor:   bytes32(211, 23, 66, 42, 179, 130, 131, 111, 201, 205, 244, 34, 27, 238, 244, 216, 131, 240, 188, 45, 193, 172, 4, 168, 225, 225, 43, 197, 114, 176, 126, 9),
			IDNullifier:  bytes32(238, 168, 239, 65, 73, 63, 105, 19, 132, 62, 213, 205, 191, 255, 209, 9, 178, 155, 239, 201, 131, 125, 233, 136, 246, 217, 9, 237, 55, 89, 81, 42),
			IDSecretHash: bytes32(150, 54, 194, 28, 18, 216, 138, 253, 95, 139, 120, 109, 98, 129, 146, 101, 41, 194, 36, 36, 96, 152, 152, 89, 151, 160, 118, 15, 222, 124, 187, 4),
			IDCommitment: bytes32(112, 216, 27, 89, 188, 135, 203, 19, 168, 211, 117, 13, 231, 135, 229, 58, 94, 20, 246, 8, 33, 65, 238, 37, 112, 97, 65, 241, 255, 93, 171, 15),
		},
	}
	if m != want {
		t.Fatalf("decrypted %+v\nwant %+v", m, want)
	}
	if m.Hash() != hash {
		t.Fatalf("Hash() = %s, want %s", m.Hash(), hash)
	}
	// The identity follows zerokit's derivation: secret = Poseidon(trapdoor,
	// nullifier), commitment = Poseidon(secret).
	trap, _ := rln.FrFromLE(m.Identity.IDTrapdoor[:])
	null, _ := rln.FrFromLE(m.Identity.IDNullifier[:])
	secret := poseidon.Hash2(trap, null)
	if rln.FrToLE(&secret) != m.Identity.IDSecretHash {
		t.Fatal("idSecretHash != Poseidon(idTrapdoor, idNullifier)")
	}
	if _, err := m.Identity.Identity(); err != nil {
		t.Fatal(err)
	}
}

func TestAddSaveLoad(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rlnKeystore.json")
	var ms []Membership
	for i := range 3 {
		id, err := NewIdentityCredential(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		m := Membership{Contract: Contract{ChainID: "0x539", Address: "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
			TreeIndex: uint64(i), Identity: id, UserMessageLimit: 20}
		if _, err := AddToFile(path, m, "pw", 1000); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", st.Mode(), err)
	}
	k, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	all, err := k.All("pw")
	if err != nil || len(all) != 3 {
		t.Fatalf("All: %d, %v", len(all), err)
	}
	for _, m := range ms {
		got, err := k.Get(m.Hash(), "pw")
		if err != nil || got != m {
			t.Fatalf("Get(%s) = %+v, %v", m.Hash(), got, err)
		}
		id, err := got.Identity.Identity()
		if err != nil {
			t.Fatal(err)
		}
		if c := rln.FrToLE(&id.Commitment); c != m.Identity.IDCommitment {
			t.Fatal("commitment")
		}
	}
	// The same membership twice is refused.
	if _, err := AddToFile(path, ms[0], "pw", 1000); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := k.Get("00", "pw"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
}

// A wrong password is a clear error and changes nothing on disk.
func TestWrongPasswordChangesNothing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ks.json")
	id, _ := NewIdentityCredential(rand.Reader)
	m := Membership{Contract: Contract{ChainID: "0x1", Address: "0x01"}, Identity: id}
	if _, err := AddToFile(path, m, "right", 1000); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	m2 := m
	m2.TreeIndex = 1
	if _, err := AddToFile(path, m2, "wrong", 1000); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("AddToFile with a wrong password: %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("the file changed")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("stray files: %v", entries)
	}
}

func TestSecretsNotPrinted(t *testing.T) {
	t.Parallel()
	id, _ := NewIdentityCredential(rand.Reader)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("loaded", "identity", id)
	text := fmt.Sprint(id) + fmt.Sprintf("%v %s", id, id) + buf.String()
	for _, secret := range [][32]byte{id.IDSecretHash, id.IDTrapdoor, id.IDNullifier} {
		if strings.Contains(text, fmt.Sprintf("%x", secret[:])) || strings.Contains(text, fmt.Sprint(secret[0], ",", secret[1])) {
			t.Fatalf("a secret reached the output: %s", text)
		}
	}
	if !strings.Contains(text, id.CommitmentHex()) {
		t.Fatal("the commitment should be shown")
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `{`, `{"application":"other"}`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
	k, _ := Parse([]byte(strings.Replace(specVector, `"c":1000000`, `"c":0`, 1)))
	if _, err := k.Get("9DB2B4718A97485B9F70F68D1CC19F4E10F0B4CE943418838E94956CB8E57548", "x"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("0 iterations: %v", err)
	}
	k, _ = Parse([]byte(strings.Replace(specVector, `"kdf":"pbkdf2"`, `"kdf":"argon2"`, 1)))
	if _, err := k.Get("9DB2B4718A97485B9F70F68D1CC19F4E10F0B4CE943418838E94956CB8E57548", "x"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown kdf: %v", err)
	}
	var bad IdentityCredential
	bad.IDSecretHash[0] = 1
	if _, err := bad.Identity(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("commitment mismatch: %v", err)
	}
	_ = fr.Element{}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(specVector))
	f.Add([]byte(`{"application":"waku-rln-relay","credentials":{"A":{"crypto":{"cipher":"aes-128-ctr","kdf":"scrypt","kdfparams":{"n":2,"r":1,"p":1,"dklen":32,"salt":"00"}}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := Parse(b)
		if err != nil {
			return
		}
		for _, h := range k.Hashes() {
			// Keep each input cheap: skip costly key derivations.
			var p struct{ C, N, R, P int }
			_ = json.Unmarshal(k.Credentials[h].Crypto.KDFParams, &p)
			if p.C > 1000 || p.N > 1024 || p.R*p.P > 8 {
				continue
			}
			_, _ = k.Get(h, "pw") // must not panic
		}
	})
}

// The commitment prints big-endian, as nwaku and js-waku print it, in
// String and in logs alike; the keystore's bytes are little-endian.
func TestCommitmentHexByteOrder(t *testing.T) {
	var c IdentityCredential
	c.IDCommitment[0], c.IDCommitment[31] = 0x01, 0xab // little-endian: low byte first
	want := "0xab" + strings.Repeat("0", 60) + "01"
	if got := c.CommitmentHex(); got != want {
		t.Fatalf("CommitmentHex %s, want %s", got, want)
	}
	if s := c.String(); !strings.Contains(s, want) {
		t.Fatalf("String %q does not show %s", s, want)
	}
	if v := c.LogValue().Group()[0].Value.String(); v != want {
		t.Fatalf("LogValue commitment %s, want %s", v, want)
	}
}
