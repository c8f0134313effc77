package membership

import (
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/poseidon"
)

// NewIdentityCredential draws a trapdoor and a nullifier (crypto/rand in
// production) and derives the secret Poseidon(trapdoor, nullifier) and the
// commitment Poseidon(secret), as zerokit's keygen does.
func NewIdentityCredential(rnd io.Reader) (IdentityCredential, error) {
	var c IdentityCredential
	var buf [64]byte
	if _, err := io.ReadFull(rnd, buf[:]); err != nil {
		return c, fmt.Errorf("membership: identity randomness: %w", err)
	}
	var trapdoor, nullifier fr.Element
	trapdoor.SetBytes(buf[:32]) // reduced modulo r
	nullifier.SetBytes(buf[32:])
	secret := poseidon.Hash2(trapdoor, nullifier)
	commitment := poseidon.Hash1(secret)
	c.IDTrapdoor = rln.FrToLE(&trapdoor)
	c.IDNullifier = rln.FrToLE(&nullifier)
	c.IDSecretHash = rln.FrToLE(&secret)
	c.IDCommitment = rln.FrToLE(&commitment)
	return c, nil
}

// Identity returns the RLN identity (secret and commitment), checking that
// the stored commitment is the secret's.
func (c IdentityCredential) Identity() (rln.Identity, error) {
	secret, err := rln.FrFromLE(c.IDSecretHash[:])
	if err != nil {
		return rln.Identity{}, fmt.Errorf("membership: idSecretHash: %w", err)
	}
	id := rln.IdentityFromSecret(secret)
	if rln.FrToLE(&id.Commitment) != c.IDCommitment {
		return rln.Identity{}, fmt.Errorf("%w: idCommitment is not Poseidon(idSecretHash)", ErrMalformed)
	}
	return id, nil
}
