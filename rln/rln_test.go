package rln

import (
	"bytes"
	"crypto/rand"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/iden3/go-iden3-crypto/poseidon"
	"golang.org/x/crypto/sha3"

	"github.com/rlnd/rlnd/rln/artefacts"
)

var (
	engineOnce sync.Once
	testProver *Prover
	testVerif  *Verifier
	engineErr  error
)

func engine(t testing.TB) (*Prover, *Verifier) {
	t.Helper()
	engineOnce.Do(func() {
		dir := artefacts.DefaultDir()
		if testProver, engineErr = LoadProver(dir, WakuRLNIdentifier); engineErr != nil {
			return
		}
		testVerif, engineErr = LoadVerifier(dir, WakuRLNIdentifier)
	})
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return testProver, testVerif
}

func bigOf(e fr.Element) *big.Int { return e.BigInt(new(big.Int)) }

// iden3 computes Poseidon with the reference implementation.
func iden3(t testing.TB, in ...fr.Element) fr.Element {
	t.Helper()
	args := make([]*big.Int, len(in))
	for i := range in {
		args[i] = bigOf(in[i])
	}
	h, err := poseidon.Hash(args)
	if err != nil {
		t.Fatal(err)
	}
	var e fr.Element
	e.SetBigInt(h)
	return e
}

// member is an identity with a random Merkle path of depth 20.
type member struct {
	id    Identity
	limit uint64
	path  []fr.Element
	index []uint8
}

func newMember(t testing.TB, limit uint64) member {
	t.Helper()
	id, err := NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m := member{id: id, limit: limit, path: make([]fr.Element, TreeDepth), index: make([]uint8, TreeDepth)}
	for i := range m.path {
		m.path[i].SetRandom()
		m.index[i] = uint8(i % 3 % 2)
	}
	return m
}

// root folds the member's path independently with iden3's Poseidon.
func (m member) root(t testing.TB) fr.Element {
	cur := iden3(t, iden3(t, m.id.Secret), *new(fr.Element).SetUint64(m.limit))
	for i := range m.path {
		if m.index[i] == 0 {
			cur = iden3(t, cur, m.path[i])
		} else {
			cur = iden3(t, m.path[i], cur)
		}
	}
	return cur
}

func (m member) request(mid, epoch uint64, signal []byte) *ProveRequest {
	return &ProveRequest{Secret: m.id.Secret, UserMessageLimit: m.limit, MessageID: mid,
		PathElements: m.path, PathIndices: m.index, Epoch: epoch, X: SignalHash(signal)}
}

func TestFieldCodec(t *testing.T) {
	t.Parallel()
	for range 100 {
		var e fr.Element
		e.SetRandom()
		b := FrToLE(&e)
		back, err := FrFromLE(b[:])
		if err != nil || !back.Equal(&e) {
			t.Fatalf("round trip: %v", err)
		}
	}
	var one fr.Element
	one.SetOne()
	if b := FrToLE(&one); b[0] != 1 || !bytes.Equal(b[1:], make([]byte, 31)) {
		t.Fatalf("1 encodes as %x, want little-endian", b)
	}
	mod := fr.Modulus().Bytes()
	le := make([]byte, 32)
	for i := range mod {
		le[i] = mod[len(mod)-1-i]
	}
	for _, bad := range [][]byte{nil, make([]byte, 31), make([]byte, 33), le, bytes.Repeat([]byte{0xff}, 32)} {
		if _, err := FrFromLE(bad); !errors.Is(err, ErrInvalidField) {
			t.Errorf("FrFromLE(%x) = %v", bad, err)
		}
	}
}

func TestIdentity(t *testing.T) {
	t.Parallel()
	a := IdentityFromSeed([]byte("alice"))
	b := IdentityFromSeed([]byte("alice"))
	c := IdentityFromSeed([]byte("bob"))
	if !a.Secret.Equal(&b.Secret) || a.Secret.Equal(&c.Secret) {
		t.Fatal("seeded keygen is not deterministic per seed")
	}
	if want := iden3(t, a.Secret); !a.Commitment.Equal(&want) {
		t.Fatal("id_commitment != Poseidon(secret)")
	}
	var l fr.Element
	l.SetUint64(100)
	if got, want := a.RateCommitment(100), iden3(t, a.Commitment, l); !got.Equal(&want) {
		t.Fatal("rate commitment != Poseidon(id_commitment, limit)")
	}
	r1, _ := NewIdentity(rand.Reader)
	r2, _ := NewIdentity(rand.Reader)
	if r1.Secret.Equal(&r2.Secret) {
		t.Fatal("random identities collide")
	}
}

func TestEpochAndSignal(t *testing.T) {
	t.Parallel()
	ts := time.Unix(1_700_000_123, 0)
	if e := Epoch(ts, 600*time.Second); e != 1_700_000_123/600 {
		t.Fatalf("Epoch = %d", e)
	}
	if !EpochStart(Epoch(ts, 10*time.Second), 10*time.Second).Equal(time.Unix(1_700_000_120, 0)) {
		t.Fatal("EpochStart")
	}
	eb := EpochBytes(0x0102)
	if eb[0] != 2 || eb[1] != 1 || !bytes.Equal(eb[2:], make([]byte, 30)) {
		t.Fatalf("EpochBytes = %x", eb)
	}
	if e, ok := EpochFromBytes(eb[:]); !ok || e != 0x0102 {
		t.Fatal("EpochFromBytes")
	}
	wide := eb
	wide[20] = 1
	if _, ok := EpochFromBytes(wide[:]); ok {
		t.Fatal("epoch over 64 bits accepted")
	}
	// rln_identifier: ASCII, zero-padded, read little-endian.
	idb, idf := Identifier(WakuRLNIdentifier)
	if string(idb[:25]) != WakuRLNIdentifier || !bytes.Equal(idb[25:], make([]byte, 7)) {
		t.Fatalf("identifier bytes %x", idb)
	}
	if back, err := FrFromLE(idb[:]); err != nil || !back.Equal(&idf) {
		t.Fatal("identifier field element")
	}
	// external nullifier = Poseidon(epoch, identifier) with the reference.
	var ef fr.Element
	ef.SetUint64(42)
	if got, want := ExternalNullifier(42, idf), iden3(t, ef, idf); !got.Equal(&want) {
		t.Fatal("external nullifier")
	}
	// Signals.
	s1 := Signal(SignalTimestamped, []byte("hi"), "/a/1/b/c", 0x0102)
	if !bytes.Equal(s1, append([]byte("hi/a/1/b/c"), 2, 1, 0, 0, 0, 0, 0, 0)) {
		t.Fatalf("timestamped signal %x", s1)
	}
	for _, m := range []SignalMode{SignalTimestamped, SignalPayloadTopic} {
		if got, err := ParseSignalMode(m.String()); err != nil || got != m {
			t.Fatalf("ParseSignalMode(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := ParseSignalMode("keccak"); err == nil {
		t.Fatal("unknown signal mode accepted")
	}
	if s2 := Signal(SignalPayloadTopic, []byte("hi"), "/a/1/b/c", 5); string(s2) != "hi/a/1/b/c" {
		t.Fatalf("payload-topic signal %q", s2)
	}
	// x = keccak256(signal) little-endian mod r.
	h := sha3.NewLegacyKeccak256()
	h.Write(s1)
	d := h.Sum(nil)
	be := make([]byte, 32)
	for i := range d {
		be[31-i] = d[i]
	}
	var want fr.Element
	want.SetBigInt(new(big.Int).SetBytes(be))
	if got := SignalHash(s1); !got.Equal(&want) {
		t.Fatal("signal hash")
	}
}

// The witness's public signals equal y, root and nullifier computed
// independently with the reference Poseidon.
func TestProofPublicSignalsMatchReference(t *testing.T) {
	p, v := engine(t)
	m := newMember(t, 100)
	const epoch = 2_833_333
	req := m.request(3, epoch, []byte("hello"))
	proof, err := p.Prove(req, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, idf := Identifier(WakuRLNIdentifier)
	ext := ExternalNullifier(epoch, idf)
	var mid fr.Element
	mid.SetUint64(3)
	a1 := iden3(t, m.id.Secret, ext, mid)
	var y fr.Element
	y.Mul(&a1, &req.X).Add(&y, &m.id.Secret)
	nullifier := iden3(t, a1)
	root := m.root(t)
	if !proof.ShareY.Equal(&y) || !proof.Nullifier.Equal(&nullifier) || !proof.MerkleRoot.Equal(&root) || !proof.ShareX.Equal(&req.X) {
		t.Fatal("public signals differ from the reference computation")
	}
	if err := v.Verify(proof, req.X); err != nil {
		t.Fatalf("valid proof rejected: %v", err)
	}
	// Through the wire.
	back, err := UnmarshalRateLimitProof(proof.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(back, req.X); err != nil {
		t.Fatalf("decoded proof rejected: %v", err)
	}
	// A different x (another message) or epoch is rejected.
	if err := v.Verify(back, SignalHash([]byte("other"))); !errors.Is(err, ErrShareXMismatch) {
		t.Fatalf("wrong x: %v", err)
	}
	forged := *back
	forged.ShareX = SignalHash([]byte("other"))
	if err := v.Verify(&forged, forged.ShareX); !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("proof for another x: %v", err)
	}
	back.Epoch++
	if err := v.Verify(back, req.X); !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("wrong epoch: %v", err)
	}
	back.Epoch--
	back.RLNIdentifier[0] ^= 1
	if err := v.Verify(back, req.X); !errors.Is(err, ErrWrongIdentifier) {
		t.Fatalf("wrong identifier: %v", err)
	}
}

func TestProveRejectsBadRequests(t *testing.T) {
	p, _ := engine(t)
	m := newMember(t, 10)
	for _, tt := range []struct {
		name string
		req  *ProveRequest
		want error
	}{
		{"message id = limit", m.request(10, 1, nil), ErrMessageIDRange},
		{"message id > limit", m.request(99, 1, nil), ErrMessageIDRange},
		{"short path", &ProveRequest{UserMessageLimit: 10, PathElements: m.path[:3], PathIndices: m.index[:3]}, ErrBadPath},
		{"index 2", &ProveRequest{UserMessageLimit: 10, PathElements: m.path, PathIndices: append(append([]uint8{}, m.index[:19]...), 2)}, ErrBadPath},
	} {
		if _, err := p.Prove(tt.req, rand.Reader); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// Two messages with the same message id in one epoch are caught and the
// member's secret is recovered from them.
func TestDoubleSignalRecoversSecret(t *testing.T) {
	p, v := engine(t)
	m := newMember(t, 5)
	log := NewNullifierLog(3, 1000)
	const epoch = 1000
	send := func(mid uint64, msg string) (Verdict, *Evidence) {
		req := m.request(mid, epoch, []byte(msg))
		proof, err := p.Prove(req, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(proof, req.X); err != nil {
			t.Fatal(err)
		}
		if want := p.Nullifier(m.id.Secret, epoch, mid); !proof.Nullifier.Equal(&want) {
			t.Fatalf("Nullifier(epoch %d, id %d) differs from the proof's", epoch, mid)
		}
		return log.Record(proof.Epoch, proof.Nullifier, Share{X: proof.ShareX, Y: proof.ShareY})
	}
	if v, _ := send(0, "first"); v != Fresh {
		t.Fatalf("first message: %v", v)
	}
	if v, _ := send(1, "second, next id"); v != Fresh {
		t.Fatalf("second message id: %v", v)
	}
	if v, _ := send(0, "first"); v != Duplicate {
		t.Fatalf("same message again: %v", v)
	}
	verdict, ev := send(0, "third, reusing id 0")
	if verdict != DoubleSignal || ev == nil {
		t.Fatalf("double signal not caught: %v", verdict)
	}
	if !ev.Secret.Equal(&m.id.Secret) {
		t.Fatal("recovered secret differs from the member's")
	}
	if rec := IdentityFromSecret(ev.Secret); !rec.Commitment.Equal(&m.id.Commitment) {
		t.Fatal("recovered identity commitment differs")
	}
}

func TestNullifierLogBoundsAndPruning(t *testing.T) {
	t.Parallel()
	l := NewNullifierLog(2, 3)
	s := func(x uint64) Share {
		var sh Share
		sh.X.SetUint64(x)
		sh.Y.SetUint64(x * 7)
		return sh
	}
	n := func(i uint64) fr.Element { var e fr.Element; e.SetUint64(i); return e }
	for i := uint64(0); i < 3; i++ {
		if v, _ := l.Record(10, n(i), s(i)); v != Fresh {
			t.Fatalf("fresh %d: %v", i, v)
		}
	}
	if v, _ := l.Record(10, n(99), s(99)); v != Full {
		t.Fatalf("over capacity: %v", v)
	}
	if v, _ := l.Record(10, n(1), s(1)); v != Duplicate {
		t.Fatalf("duplicate at capacity: %v", v)
	}
	if v, ev := l.Record(10, n(1), s(2)); v != DoubleSignal || ev == nil {
		t.Fatalf("double signal at capacity: %v", v)
	}
	l.Record(11, n(1), s(1))
	if l.Epochs() != 2 || l.Len() != 4 {
		t.Fatalf("epochs %d len %d", l.Epochs(), l.Len())
	}
	l.Record(12, n(1), s(1)) // epoch 10 falls out of a 2-epoch window
	if l.Epochs() != 2 || l.Len() != 2 {
		t.Fatalf("after pruning: epochs %d len %d", l.Epochs(), l.Len())
	}
	if v, _ := l.Record(10, n(1), s(2)); v != Fresh {
		t.Fatalf("pruned epoch should be forgotten: %v", v)
	}
	// Same x, different y: reported without a secret.
	sh := s(5)
	sh.Y.SetUint64(1)
	if _, err := RecoverSecret(s(5), sh); !errors.Is(err, ErrSameX) {
		t.Fatalf("same x: %v", err)
	}
}

func TestRecoverSecretAlgebra(t *testing.T) {
	t.Parallel()
	for range 50 {
		var a0, a1 fr.Element
		a0.SetRandom()
		a1.SetRandom()
		share := func() Share {
			var s Share
			s.X.SetRandom()
			s.Y.Mul(&a1, &s.X).Add(&s.Y, &a0)
			return s
		}
		got, err := RecoverSecret(share(), share())
		if err != nil || !got.Equal(&a0) {
			t.Fatalf("RecoverSecret = %v, %v", got, err)
		}
	}
}

func TestRateLimitProofCodecErrors(t *testing.T) {
	p, _ := engine(t)
	m := newMember(t, 10)
	proof, err := p.Prove(m.request(1, 5, []byte("x")), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := proof.Marshal()
	if _, err := UnmarshalRateLimitProof(good); err != nil {
		t.Fatal(err)
	}
	for i, bad := range [][]byte{
		{0xff},
		good[:len(good)/2],
		nil,
	} {
		if _, err := UnmarshalRateLimitProof(bad); !errors.Is(err, ErrMalformedRateLimitProof) {
			t.Errorf("case %d: %v", i, err)
		}
	}
}
