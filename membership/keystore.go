// Package membership holds what a member needs to prove: its credentials in
// the Waku RLN keystore (the JSON file nwaku and go-waku share), and, with
// later work, the registry sync that keeps the Merkle tree.
package membership

import (
	"bytes"
	"cmp"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
	"golang.org/x/crypto/sha3"
)

// Keystore identity used by nwaku for RLN relay credentials.
const (
	Application   = "waku-rln-relay"
	AppIdentifier = "01234567890abcdef"
	Version       = "0.2"
)

// DefaultKDFIterations is nwaku's PBKDF2 iteration count.
const DefaultKDFIterations = 1_000_000

// Sentinel errors.
var (
	ErrWrongPassword    = errors.New("keystore: wrong password")
	ErrMalformed        = errors.New("keystore: malformed")
	ErrDuplicate        = errors.New("keystore: membership already stored")
	ErrNotFound         = errors.New("keystore: no such membership")
	ErrWrongApplication = errors.New("keystore: another application's keystore")
)

// IdentityCredential is an RLN identity as keystores store it: 32-byte
// little-endian field elements (JSON arrays of numbers). For RLNv2 the
// identity secret is IDSecretHash = Poseidon(IDTrapdoor, IDNullifier) and
// IDCommitment = Poseidon(IDSecretHash).
type IdentityCredential struct {
	IDTrapdoor   [32]byte `json:"idTrapdoor"`
	IDNullifier  [32]byte `json:"idNullifier"`
	IDSecretHash [32]byte `json:"idSecretHash"`
	IDCommitment [32]byte `json:"idCommitment"`
}

// String shows the commitment only: secrets never reach logs or errors.
func (c IdentityCredential) String() string {
	return "IdentityCredential{commitment: " + c.CommitmentHex() + "}"
}

// LogValue keeps secrets out of structured logs.
func (c IdentityCredential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("commitment", c.CommitmentHex()))
}

// CommitmentHex is the id commitment as nwaku and js-waku print it and the
// registry takes it: the field element in 64 big-endian hex digits after
// 0x (the keystore holds it little-endian).
func (c IdentityCredential) CommitmentHex() string {
	var be [32]byte
	for i, b := range c.IDCommitment {
		be[len(be)-1-i] = b
	}
	return "0x" + hex.EncodeToString(be[:])
}

// Contract names the registry a membership belongs to.
type Contract struct {
	ChainID string `json:"chainId"` // 0x-prefixed hex, as nwaku writes it
	Address string `json:"address"` // 0x-prefixed, checksummed or not
}

// Membership is one keystore credential: an identity registered at an
// index of a registry.
type Membership struct {
	Contract         Contract           `json:"membershipContract"`
	TreeIndex        uint64             `json:"treeIndex"`
	Identity         IdentityCredential `json:"identityCredential"`
	UserMessageLimit uint64             `json:"userMessageLimit,omitempty"`
}

// Hash is the key the keystore files the membership under:
// SHA-256(chainId || address || decimal treeIndex), upper-case hex.
func (m Membership) Hash() string {
	sum := sha256.Sum256([]byte(m.Contract.ChainID + m.Contract.Address + strconv.FormatUint(m.TreeIndex, 10)))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// cryptoJSON is the encrypted credential: Ethereum's v3 keyfile crypto
// section (AES-128-CTR, PBKDF2-HMAC-SHA256 or scrypt, Keccak-256 MAC).
type cryptoJSON struct {
	Cipher       string `json:"cipher"`
	CipherText   string `json:"ciphertext"`
	CipherParams struct {
		IV string `json:"iv"`
	} `json:"cipherparams"`
	KDF       string          `json:"kdf"`
	KDFParams json.RawMessage `json:"kdfparams"`
	MAC       string          `json:"mac"`
}

type credentialJSON struct {
	Crypto cryptoJSON `json:"crypto"`
}

// Keystore is a keystore file's content. Credentials stay encrypted in
// memory; each is decrypted with the password when asked for.
type Keystore struct {
	Application   string                    `json:"application"`
	AppIdentifier string                    `json:"appIdentifier"`
	Version       string                    `json:"version"`
	Credentials   map[string]credentialJSON `json:"credentials"`

	// KDFIterations is the PBKDF2 count for credentials added from now on
	// (DefaultKDFIterations when zero; tests use fewer).
	KDFIterations int `json:"-"`
}

// New returns an empty keystore for Waku RLN relay credentials.
func New() *Keystore {
	return &Keystore{Application: Application, AppIdentifier: AppIdentifier, Version: Version, Credentials: map[string]credentialJSON{}}
}

// Load reads a keystore file. A missing file is an error wrapping
// fs.ErrNotExist.
func Load(path string) (*Keystore, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	return Parse(b)
}

// Parse reads a keystore's JSON.
func Parse(b []byte) (*Keystore, error) {
	k := new(Keystore)
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(k); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if k.Application != Application {
		return nil, fmt.Errorf("%w: application %q, want %q", ErrWrongApplication, k.Application, Application)
	}
	if k.Credentials == nil {
		k.Credentials = map[string]credentialJSON{}
	}
	return k, nil
}

// Hashes lists the stored memberships' keys, sorted.
func (k *Keystore) Hashes() []string { return slices.Sorted(maps.Keys(k.Credentials)) }

// Add encrypts a membership with the password and stores it under its hash.
func (k *Keystore) Add(m Membership, password string) (string, error) {
	h := m.Hash()
	if _, ok := k.Credentials[h]; ok {
		return "", fmt.Errorf("%w: %s", ErrDuplicate, h)
	}
	plain, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	c, err := encrypt(plain, password, cmp.Or(k.KDFIterations, DefaultKDFIterations))
	if err != nil {
		return "", err
	}
	k.Credentials[h] = credentialJSON{Crypto: c}
	return h, nil
}

// Get decrypts one membership.
func (k *Keystore) Get(hash, password string) (Membership, error) {
	var m Membership
	c, ok := k.Credentials[strings.ToUpper(hash)]
	if !ok {
		return m, fmt.Errorf("%w: %s", ErrNotFound, hash)
	}
	plain, err := decrypt(c.Crypto, password)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(plain, &m); err != nil {
		return m, fmt.Errorf("%w: credential %s: %w", ErrMalformed, hash, err)
	}
	return m, nil
}

// All decrypts every membership, in hash order.
func (k *Keystore) All(password string) ([]Membership, error) {
	var out []Membership
	for _, h := range k.Hashes() {
		m, err := k.Get(h, password)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Save writes the keystore with mode 0600, atomically: a temporary file in
// the same folder, synced, then renamed over the old one.
func (k *Keystore) Save(path string) error {
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".keystore-*")
	if err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("keystore: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("keystore: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keystore: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	return nil
}

// AddToFile adds a membership to the keystore file at path (created when
// missing). The password must open every credential already there, so one
// file keeps one password; on any error the file is left as it was.
func AddToFile(path string, m Membership, password string, kdfIterations int) (string, error) {
	k, err := LoadOrNew(path)
	if err != nil {
		return "", err
	}
	if _, err := k.All(password); err != nil {
		return "", err
	}
	k.KDFIterations = kdfIterations
	h, err := k.Add(m, password)
	if err != nil {
		return "", err
	}
	return h, k.Save(path)
}

// LoadOrNew loads a keystore, or returns an empty one when the file does
// not exist.
func LoadOrNew(path string) (*Keystore, error) {
	k, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil
	}
	return k, err
}

type pbkdf2Params struct {
	DKLen int    `json:"dklen"`
	C     int    `json:"c"`
	PRF   string `json:"prf"`
	Salt  string `json:"salt"`
}

type scryptParams struct {
	DKLen int    `json:"dklen"`
	N     int    `json:"n"`
	R     int    `json:"r"`
	P     int    `json:"p"`
	Salt  string `json:"salt"`
}

func encrypt(plain []byte, password string, iterations int) (cryptoJSON, error) {
	var c cryptoJSON
	salt := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return c, err
	}
	if _, err := rand.Read(iv); err != nil {
		return c, err
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, 32)
	if err != nil {
		return c, err
	}
	ct, err := aesCTR(key[:16], iv, plain)
	if err != nil {
		return c, err
	}
	params, err := json.Marshal(pbkdf2Params{DKLen: 32, C: iterations, PRF: "hmac-sha256", Salt: hex.EncodeToString(salt)})
	if err != nil {
		return c, err
	}
	c.Cipher = "aes-128-ctr"
	c.CipherText = hex.EncodeToString(ct)
	c.CipherParams.IV = hex.EncodeToString(iv)
	c.KDF = "pbkdf2"
	c.KDFParams = params
	c.MAC = hex.EncodeToString(mac(key, ct))
	return c, nil
}

func decrypt(c cryptoJSON, password string) ([]byte, error) {
	if c.Cipher != "aes-128-ctr" {
		return nil, fmt.Errorf("%w: cipher %q, want aes-128-ctr", ErrMalformed, c.Cipher)
	}
	ct, err1 := hex.DecodeString(c.CipherText)
	iv, err2 := hex.DecodeString(c.CipherParams.IV)
	wantMAC, err3 := hex.DecodeString(c.MAC)
	if err := errors.Join(err1, err2, err3); err != nil || len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("%w: ciphertext, iv or mac is not hex of the right size", ErrMalformed)
	}
	key, err := deriveKey(c, password)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(mac(key, ct), wantMAC) {
		return nil, ErrWrongPassword
	}
	return aesCTR(key[:16], iv, ct)
}

// maxKDFIterations bounds the work a hostile keystore can ask for.
const maxKDFIterations = 10_000_000

func deriveKey(c cryptoJSON, password string) ([]byte, error) {
	switch c.KDF {
	case "pbkdf2":
		var p pbkdf2Params
		if err := json.Unmarshal(c.KDFParams, &p); err != nil {
			return nil, fmt.Errorf("%w: kdfparams: %w", ErrMalformed, err)
		}
		salt, err := hex.DecodeString(p.Salt)
		if err != nil || p.PRF != "hmac-sha256" || p.DKLen != 32 || p.C < 1 || p.C > maxKDFIterations {
			return nil, fmt.Errorf("%w: pbkdf2 wants prf hmac-sha256, dklen 32, 1..%d iterations and a hex salt", ErrMalformed, maxKDFIterations)
		}
		return pbkdf2.Key(sha256.New, password, salt, p.C, 32)
	case "scrypt":
		var p scryptParams
		if err := json.Unmarshal(c.KDFParams, &p); err != nil {
			return nil, fmt.Errorf("%w: kdfparams: %w", ErrMalformed, err)
		}
		salt, err := hex.DecodeString(p.Salt)
		if err != nil || p.DKLen != 32 || p.N < 2 || p.N > 1<<20 || p.R < 1 || p.P < 1 || p.R*p.P > 64 {
			return nil, fmt.Errorf("%w: scrypt parameters out of range", ErrMalformed)
		}
		return scrypt.Key([]byte(password), salt, p.N, p.R, p.P, 32)
	}
	return nil, fmt.Errorf("%w: kdf %q, want pbkdf2 or scrypt", ErrMalformed, c.KDF)
}

func aesCTR(key, iv, in []byte) ([]byte, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(in))
	cipher.NewCTR(blk, iv).XORKeyStream(out, in)
	return out, nil
}

// mac is Keccak-256(derivedKey[16:32] || ciphertext).
func mac(key, ct []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(key[16:32])
	h.Write(ct)
	return h.Sum(nil)
}
