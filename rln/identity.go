package rln

import (
	"crypto/sha512"
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln/poseidon"
)

// Identity is an RLN membership secret and its public commitment.
type Identity struct {
	Secret     fr.Element // identity_secret
	Commitment fr.Element // id_commitment = Poseidon(identity_secret)
}

// NewIdentity draws a random secret (from crypto/rand in production).
func NewIdentity(rnd io.Reader) (Identity, error) {
	var buf [48]byte // reduced mod r: bias below 2^-128
	if _, err := io.ReadFull(rnd, buf[:]); err != nil {
		return Identity{}, fmt.Errorf("rln: identity randomness: %w", err)
	}
	return IdentityFromSecret(frFromLEReduced(buf[:])), nil
}

// IdentityFromSeed derives an identity deterministically from a seed:
// the secret is SHA-512("rlnd identity v1" || seed) reduced modulo r.
func IdentityFromSeed(seed []byte) Identity {
	h := sha512.New()
	h.Write([]byte("rlnd identity v1"))
	h.Write(seed)
	return IdentityFromSecret(frFromLEReduced(h.Sum(nil)))
}

// IdentityFromSecret completes an identity from its secret.
func IdentityFromSecret(secret fr.Element) Identity {
	return Identity{Secret: secret, Commitment: poseidon.Hash1(secret)}
}

// RateCommitment is the Merkle leaf of a membership:
// Poseidon(id_commitment, user_message_limit).
func RateCommitment(commitment fr.Element, userMessageLimit uint64) fr.Element {
	var l fr.Element
	l.SetUint64(userMessageLimit)
	return poseidon.Hash2(commitment, l)
}

// RateCommitment of this identity for a message limit.
func (id Identity) RateCommitment(userMessageLimit uint64) fr.Element {
	return RateCommitment(id.Commitment, userMessageLimit)
}
