package rln

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/rln/groth16"
	"github.com/rlnd/rlnd/rln/poseidon"
	"github.com/rlnd/rlnd/rln/witness"
)

// TreeDepth is the depth of the membership tree of the Waku RLNv2 circuit.
const TreeDepth = 20

// Sentinel errors of proving and verifying.
var (
	ErrMessageIDRange  = errors.New("rln: message id out of range")
	ErrBadPath         = errors.New("rln: bad Merkle path")
	ErrWrongIdentifier = errors.New("rln: proof is for another rln_identifier")
	ErrShareXMismatch  = errors.New("rln: share_x is not the message's signal hash")
	ErrInvalidProof    = groth16.ErrInvalidProof
)

// publicSignals is the order of the circuit's public signals.
const (
	pubY = iota
	pubRoot
	pubNullifier
	pubX
	pubExternalNullifier
	numPublic
)

// ProveRequest is everything a member needs to prove one message.
type ProveRequest struct {
	Secret           fr.Element
	UserMessageLimit uint64
	MessageID        uint64
	// The member's Merkle path: PathIndices[i] = 0 when the node at level i
	// is a left child.
	PathElements []fr.Element
	PathIndices  []uint8
	Epoch        uint64
	X            fr.Element // SignalHash of the message's signal
}

// Prover makes RLN proofs. It is safe for concurrent use.
//
// Most of a proof's work depends only on the member (its secret, limit and
// Merkle path), not on the message: the prover keeps that work for the
// members it proved for last (a small LRU with one entry a member, keyed
// by the member's secret, limit and leaf index, never by its path). A
// member's next proof with the same path costs only the per-message part;
// after its path changed (every registration changes one sibling of every
// other member's path), the entry is updated for the signals that changed
// rather than computed again.
type Prover struct {
	graph      *witness.Graph
	g16        *groth16.Prover
	idBytes    [FieldSize]byte
	identifier fr.Element
	partials   *partialCache
	member     []int // witness signals of the member alone (see memberKey)
}

// messageInputs are the circuit inputs that change from message to message.
var messageInputs = []string{"x", "externalNullifier", "messageId"}

// pathInput is the circuit input that changes when other members register.
const pathInput = "pathElements"

// DefaultMemberCache is how many members' partial proofs a prover keeps.
const DefaultMemberCache = 16

// Verifier checks RLN proofs. It is safe for concurrent use.
type Verifier struct {
	vk         *groth16.VerifyingKey
	idBytes    [FieldSize]byte
	identifier fr.Element
}

// LoadProver reads the proving key and the witness graph from an artefacts
// folder (checking their sha256) for the given rln_identifier.
func LoadProver(dir, rlnIdentifier string) (*Prover, error) {
	zk, err := artefacts.Read(dir, artefacts.ZKey)
	if err != nil {
		return nil, err
	}
	gb, err := artefacts.Read(dir, artefacts.Graph)
	if err != nil {
		return nil, err
	}
	pk, err := groth16.ParseZKey(zk)
	if err != nil {
		return nil, err
	}
	g, err := witness.Load(bytes.NewReader(gb))
	if err != nil {
		return nil, err
	}
	return NewProver(pk, g, rlnIdentifier)
}

// NewProver pairs a proving key with the circuit's witness graph.
func NewProver(pk *groth16.ProvingKey, g *witness.Graph, rlnIdentifier string) (*Prover, error) {
	if g.NumWitness() != pk.NVars {
		return nil, fmt.Errorf("rln: witness graph computes %d signals, the proving key needs %d", g.NumWitness(), pk.NVars)
	}
	if pk.NPublic != numPublic {
		return nil, fmt.Errorf("rln: proving key has %d public signals, the RLNv2 circuit %d", pk.NPublic, numPublic)
	}
	dynamic, err := g.DependsOn(messageInputs...)
	if err != nil {
		return nil, fmt.Errorf("rln: witness graph: %w", err)
	}
	notMember, err := g.DependsOn(append([]string{pathInput}, messageInputs...)...)
	if err != nil {
		return nil, fmt.Errorf("rln: witness graph: %w", err)
	}
	g16, err := groth16.NewProver(pk, dynamic)
	if err != nil {
		return nil, err
	}
	p := &Prover{graph: g, g16: g16, partials: newPartialCache(DefaultMemberCache)}
	for i, dep := range notMember {
		if !dep {
			p.member = append(p.member, i)
		}
	}
	p.idBytes, p.identifier = Identifier(rlnIdentifier)
	return p, nil
}

// memberKey identifies the member a witness is for: a hash of the values
// of the signals that depend on neither the message nor the path
// elements (the identity secret, the limit, the leaf index bits and what
// the circuit computes from them alone). It hashes the values' Montgomery
// limbs as they are in memory: the key only ever meets keys made here.
func (p *Prover) memberKey(w []fr.Element) [32]byte {
	buf := make([]byte, 0, len(p.member)*fr.Bytes)
	for _, i := range p.member {
		for _, limb := range w[i] {
			buf = binary.LittleEndian.AppendUint64(buf, limb)
		}
	}
	return sha256.Sum256(buf)
}

// LoadVerifier reads the verifying key (verification_key.json) from an
// artefacts folder.
func LoadVerifier(dir, rlnIdentifier string) (*Verifier, error) {
	b, err := artefacts.Read(dir, artefacts.VKey)
	if err != nil {
		return nil, err
	}
	vk, err := groth16.ParseVerificationKeyJSON(b)
	if err != nil {
		return nil, err
	}
	return NewVerifier(vk, rlnIdentifier)
}

// NewVerifier wraps a verifying key.
func NewVerifier(vk *groth16.VerifyingKey, rlnIdentifier string) (*Verifier, error) {
	if vk.NPublic() != numPublic {
		return nil, fmt.Errorf("rln: verifying key has %d public signals, the RLNv2 circuit %d", vk.NPublic(), numPublic)
	}
	v := &Verifier{vk: vk}
	v.idBytes, v.identifier = Identifier(rlnIdentifier)
	return v, nil
}

// Verifier returns a verifier for the prover's own key.
func (p *Prover) Verifier() (*Verifier, error) {
	vk, err := p.g16.Key().VerifyingKey()
	if err != nil {
		return nil, err
	}
	return NewVerifier(vk, string(bytes.TrimRight(p.idBytes[:], "\x00")))
}

// Witness computes the circuit's full witness for a request.
func (p *Prover) Witness(req *ProveRequest) ([]fr.Element, error) {
	if req.UserMessageLimit == 0 || req.MessageID >= req.UserMessageLimit {
		return nil, fmt.Errorf("%w: message id %d with a limit of %d (allowed 0..limit-1)", ErrMessageIDRange, req.MessageID, req.UserMessageLimit)
	}
	if req.UserMessageLimit >= 1<<16 {
		return nil, fmt.Errorf("%w: limit %d does not fit the circuit's 16 bits", ErrMessageIDRange, req.UserMessageLimit)
	}
	if len(req.PathElements) != TreeDepth || len(req.PathIndices) != TreeDepth {
		return nil, fmt.Errorf("%w: %d elements and %d indices, want %d each", ErrBadPath, len(req.PathElements), len(req.PathIndices), TreeDepth)
	}
	idx := make([]fr.Element, TreeDepth)
	for i, b := range req.PathIndices {
		if b > 1 {
			return nil, fmt.Errorf("%w: path index %d is %d, want 0 or 1", ErrBadPath, i, b)
		}
		idx[i].SetUint64(uint64(b))
	}
	var limit, mid fr.Element
	limit.SetUint64(req.UserMessageLimit)
	mid.SetUint64(req.MessageID)
	ext := ExternalNullifier(req.Epoch, p.identifier)
	return p.graph.Calculate(map[string][]fr.Element{
		"identitySecret":    {req.Secret},
		"userMessageLimit":  {limit},
		"messageId":         {mid},
		"pathElements":      req.PathElements,
		"identityPathIndex": idx,
		"x":                 {req.X},
		"externalNullifier": {ext},
	})
}

// Nullifier is the nullifier a member's proof for the given epoch and
// message id carries: Poseidon(a1) with a1 = Poseidon(secret,
// external_nullifier, message_id). A proof service uses it to know which
// nullifiers it already used without keeping the proofs.
func (p *Prover) Nullifier(secret fr.Element, epoch, messageID uint64) fr.Element {
	var mid fr.Element
	mid.SetUint64(messageID)
	a1 := poseidon.Hash3(secret, ExternalNullifier(epoch, p.identifier), mid)
	return poseidon.Hash1(a1)
}

// Prove computes the witness and the proof for one message. rnd supplies
// the proof's blinding (crypto/rand.Reader in production).
func (p *Prover) Prove(req *ProveRequest, rnd io.Reader) (*RateLimitProof, error) {
	w, err := p.Witness(req)
	if err != nil {
		return nil, err
	}
	return p.ProveWitness(w, req.Epoch, rnd)
}

// Refresh updates the cached message-independent part of req's member for
// its current path (see groth16.Prover.RefreshCached), so that its next
// proof costs what a proof on an unchanged path does. The message inputs
// of req do not matter. It reports false, doing nothing, for a member not
// in the cache.
func (p *Prover) Refresh(req *ProveRequest) (bool, error) {
	w, err := p.Witness(req)
	if err != nil {
		return false, err
	}
	return p.g16.RefreshCached(w, p.memberKey(w), p.partials)
}

// ProveWitness proves a witness computed by Witness.
func (p *Prover) ProveWitness(w []fr.Element, epoch uint64, rnd io.Reader) (*RateLimitProof, error) {
	if len(w) != p.graph.NumWitness() {
		return nil, fmt.Errorf("%w: %d values, the circuit has %d", groth16.ErrBadWitness, len(w), p.graph.NumWitness())
	}
	proof, err := p.g16.ProveCached(w, p.memberKey(w), p.partials, rnd)
	if err != nil {
		return nil, err
	}
	pub := w[1 : 1+numPublic]
	return &RateLimitProof{
		Proof:         *proof,
		MerkleRoot:    pub[pubRoot],
		Epoch:         epoch,
		ShareX:        pub[pubX],
		ShareY:        pub[pubY],
		Nullifier:     pub[pubNullifier],
		RLNIdentifier: p.idBytes,
	}, nil
}

// PublicInputs returns the circuit's public signals for a proof of a
// message whose signal hashes to x: x and the external nullifier are
// recomputed here, never taken from the proof. The proof's share_x must be
// x, since the nullifier log and secret recovery use the proof's share.
func (v *Verifier) PublicInputs(p *RateLimitProof, x fr.Element) ([]fr.Element, error) {
	if p.RLNIdentifier != v.idBytes {
		return nil, ErrWrongIdentifier
	}
	if !p.ShareX.Equal(&x) {
		return nil, ErrShareXMismatch
	}
	pub := make([]fr.Element, numPublic)
	pub[pubY] = p.ShareY
	pub[pubRoot] = p.MerkleRoot
	pub[pubNullifier] = p.Nullifier
	pub[pubX] = x
	pub[pubExternalNullifier] = ExternalNullifier(p.Epoch, v.identifier)
	return pub, nil
}

// Verify checks a proof for a message whose signal hashes to x. The caller
// checks the epoch against its clock, the root against its window and the
// nullifier against its log.
func (v *Verifier) Verify(p *RateLimitProof, x fr.Element) error {
	pub, err := v.PublicInputs(p, x)
	if err != nil {
		return err
	}
	return v.vk.Verify(&p.Proof, pub)
}

// VerifyBatch checks many proofs at once and returns one result each (nil
// when valid): a single batched pairing check, then one by one only when
// the batch fails.
func (v *Verifier) VerifyBatch(ps []*RateLimitProof, xs []fr.Element) []error {
	out := make([]error, len(ps))
	if len(xs) != len(ps) {
		for i := range out {
			out[i] = fmt.Errorf("rln: %d proofs with %d signals", len(ps), len(xs))
		}
		return out
	}
	proofs := make([]*groth16.Proof, 0, len(ps))
	pubs := make([][]fr.Element, 0, len(ps))
	where := make([]int, 0, len(ps))
	for i, p := range ps {
		pub, err := v.PublicInputs(p, xs[i])
		if err != nil {
			out[i] = err
			continue
		}
		proofs = append(proofs, &p.Proof)
		pubs = append(pubs, pub)
		where = append(where, i)
	}
	for j, err := range v.vk.VerifyEach(proofs, pubs, nil) {
		out[where[j]] = err
	}
	return out
}
