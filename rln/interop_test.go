package rln

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/interop"
	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/rln/groth16"
)

var (
	harnessOnce sync.Once
	harness     *interop.Harness
	harnessErr  error
)

// peer starts the zerokit/snarkjs harness once for the test binary. It is
// not skipped when missing: make test installs it.
func peer(t *testing.T) *interop.Harness {
	t.Helper()
	harnessOnce.Do(func() {
		dir, err := interop.Dir()
		if err != nil {
			harnessErr = err
			return
		}
		if harness, harnessErr = interop.Start(context.Background(), dir); harnessErr != nil {
			return
		}
		art := artefacts.DefaultDir()
		harnessErr = harness.Call(map[string]any{"op": "init",
			"zkey": filepath.Join(art, artefacts.ZKey), "vkey": filepath.Join(art, artefacts.VKey)}, nil)
	})
	if harnessErr != nil {
		t.Fatal(harnessErr)
	}
	return harness
}

var (
	dec  = interop.Decimal
	decs = interop.Decimals
)

func zerokitInputs(m member, req *ProveRequest) map[string]any {
	_, idf := Identifier(WakuRLNIdentifier)
	return interop.RLNInputs{IdentitySecret: m.id.Secret, UserMessageLimit: req.UserMessageLimit, MessageID: req.MessageID,
		PathElements: m.path, PathIndices: m.index, X: req.X, ExternalNullifier: ExternalNullifier(req.Epoch, idf)}.Request()
}

type zkProveResp struct {
	Proof             string `json:"proof"`
	Y, Root           string
	Nullifier, X      string
	ExternalNullifier string `json:"external_nullifier"`
	WitnessConsistent bool   `json:"witness_consistent"`
}

type validResp struct {
	Valid bool `json:"valid"`
}

// verifiers asks zerokit and snarkjs whether they accept a proof with the
// given public values; roots is zerokit's window.
func verifiers(t *testing.T, h *interop.Harness, proof []byte, y, root, nullifier, x, ext fr.Element, signal []byte, roots []fr.Element) (zerokit, snarkjs bool) {
	t.Helper()
	var zr validResp
	if err := h.Call(map[string]any{"op": "zerokit_verify", "proof": hex.EncodeToString(proof),
		"y": dec(y), "root": dec(root), "nullifier": dec(nullifier), "x": dec(x), "external_nullifier": dec(ext),
		"roots": decs(roots), "signal": hex.EncodeToString(signal)}, &zr); err != nil {
		t.Fatal(err)
	}
	p, err := groth16.DecodeProof(proof)
	if err != nil {
		return zr.Valid, false // snarkjs needs coordinates; an undecodable proof is rejected
	}
	js, err := p.MarshalSnarkJS()
	if err != nil {
		t.Fatal(err)
	}
	var sr validResp
	if err := h.Call(map[string]any{"op": "snarkjs_verify", "proof": json.RawMessage(js),
		"public": []string{dec(y), dec(root), dec(nullifier), dec(x), dec(ext)}}, &sr); err != nil {
		t.Fatal(err)
	}
	return zr.Valid, sr.Valid
}

// A proof made by zerokit from rlnd's witness verifies in rlnd, and rlnd's
// own values agree with zerokit's.
func TestInteropZerokitProvesFromRlndWitness(t *testing.T) {
	h := peer(t)
	p, v := engine(t)
	m := newMember(t, 100)
	signal := Signal(SignalTimestamped, []byte("interop"), "/toychat/2/huilong/proto", 1_700_000_000_000_000_000)
	req := m.request(42, 2_833_333, signal)
	w, err := p.Witness(req)
	if err != nil {
		t.Fatal(err)
	}
	var zr zkProveResp
	if err := h.Call(map[string]any{"op": "zerokit_prove", "witness": decs(w), "inputs": zerokitInputs(m, req)}, &zr); err != nil {
		t.Fatal(err)
	}
	if !zr.WitnessConsistent {
		t.Fatal("zerokit's public values differ from rlnd's witness")
	}
	raw, err := hex.DecodeString(zr.Proof)
	if err != nil {
		t.Fatal(err)
	}
	gp, err := groth16.DecodeProof(raw)
	if err != nil {
		t.Fatalf("rlnd cannot decode zerokit's proof: %v", err)
	}
	proof := &RateLimitProof{Proof: *gp, MerkleRoot: w[2], Epoch: req.Epoch, ShareX: w[4], ShareY: w[1], Nullifier: w[3]}
	proof.RLNIdentifier, _ = Identifier(WakuRLNIdentifier)
	if err := v.Verify(proof, SignalHash(signal)); err != nil {
		t.Fatalf("rlnd rejects zerokit's proof: %v", err)
	}
	if zr.Root != dec(m.root(t)) || zr.Y != dec(w[1]) || zr.Nullifier != dec(w[3]) {
		t.Fatal("zerokit's root, y or nullifier differ from rlnd's")
	}

	// x and Poseidon agree with zerokit's own.
	var hr struct{ X string }
	if err := h.Call(map[string]any{"op": "zerokit_hash", "signal": hex.EncodeToString(signal)}, &hr); err != nil {
		t.Fatal(err)
	}
	if hr.X != dec(SignalHash(signal)) {
		t.Fatal("signal hash differs from zerokit's")
	}
	var pr struct{ Hash string }
	if err := h.Call(map[string]any{"op": "zerokit_poseidon", "inputs": []string{dec(m.id.Secret)}}, &pr); err != nil {
		t.Fatal(err)
	}
	if pr.Hash != dec(m.id.Commitment) {
		t.Fatal("id commitment differs from zerokit's Poseidon")
	}
}

// rlnd's proofs verify in zerokit and snarkjs; every tampering is rejected
// by all three verifiers.
func TestInteropRlndProofsVerifyElsewhere(t *testing.T) {
	h := peer(t)
	p, v := engine(t)
	m := newMember(t, 20)
	signal := Signal(SignalTimestamped, []byte("from rlnd"), "/toychat/2/huilong/proto", 1_700_000_000_000_000_001)
	req := m.request(3, 2_833_334, signal)
	rp, err := p.Prove(req, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, idf := Identifier(WakuRLNIdentifier)
	ext := ExternalNullifier(rp.Epoch, idf)
	x := SignalHash(signal)
	enc := rp.Proof.Encode()
	var other fr.Element
	other.SetRandom()
	window := []fr.Element{other, rp.MerkleRoot}

	zk, js := verifiers(t, h, enc[:], rp.ShareY, rp.MerkleRoot, rp.Nullifier, x, ext, signal, window)
	if !zk || !js || v.Verify(rp, x) != nil {
		t.Fatalf("valid rlnd proof: zerokit %v snarkjs %v", zk, js)
	}

	one := *new(fr.Element).SetOne()
	plus := func(e fr.Element) fr.Element { e.Add(&e, &one); return e }
	otherSignal := append([]byte(nil), signal...)
	otherSignal[0] ^= 1
	otherX := SignalHash(otherSignal)

	type tamper struct {
		name string
		// what each verifier sees
		proof                        []byte
		y, root, nullifier, xx, extN fr.Element
		signal                       []byte
		roots                        []fr.Element
		rlnd                         func() error
	}
	flipped := enc
	flipped[100] ^= 0x01 // a byte of C's x
	cases := []tamper{
		{name: "changed proof byte", proof: flipped[:], y: rp.ShareY, root: rp.MerkleRoot, nullifier: rp.Nullifier, xx: x, extN: ext, signal: signal, roots: window,
			rlnd: func() error {
				gp, err := groth16.DecodeProof(flipped[:])
				if err != nil {
					return err
				}
				c := *rp
				c.Proof = *gp
				return v.Verify(&c, x)
			}},
		{name: "wrong root", proof: enc[:], y: rp.ShareY, root: plus(rp.MerkleRoot), nullifier: rp.Nullifier, xx: x, extN: ext, signal: signal, roots: []fr.Element{other},
			rlnd: func() error { c := *rp; c.MerkleRoot = plus(rp.MerkleRoot); return v.Verify(&c, x) }},
		{name: "wrong x", proof: enc[:], y: rp.ShareY, root: rp.MerkleRoot, nullifier: rp.Nullifier, xx: otherX, extN: ext, signal: otherSignal, roots: window,
			rlnd: func() error { c := *rp; c.ShareX = otherX; return v.Verify(&c, otherX) }},
		{name: "wrong epoch", proof: enc[:], y: rp.ShareY, root: rp.MerkleRoot, nullifier: rp.Nullifier, xx: x, extN: ExternalNullifier(rp.Epoch+1, idf), signal: signal, roots: window,
			rlnd: func() error { c := *rp; c.Epoch++; return v.Verify(&c, x) }},
		{name: "wrong nullifier", proof: enc[:], y: rp.ShareY, root: rp.MerkleRoot, nullifier: plus(rp.Nullifier), xx: x, extN: ext, signal: signal, roots: window,
			rlnd: func() error { c := *rp; c.Nullifier = plus(rp.Nullifier); return v.Verify(&c, x) }},
	}
	for _, c := range cases {
		zk, js := verifiers(t, h, c.proof, c.y, c.root, c.nullifier, c.xx, c.extN, c.signal, c.roots)
		rerr := c.rlnd()
		if zk || js || rerr == nil {
			t.Errorf("%s: accepted (zerokit %v, snarkjs %v, rlnd err %v)", c.name, zk, js, rerr)
		}
	}
}
