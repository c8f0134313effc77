// Package groth16 proves and verifies Groth16 proofs over BN254 with keys
// from a snarkjs .zkey, so that proofs interoperate with snarkjs, zerokit and
// the Waku network: the prover follows the snarkjs/rapidsnark construction
// (QAP evaluated on the odd coset of the 2n-th roots of unity), the verifier
// checks single proofs with precomputed pairing lines and batches of proofs
// with one final exponentiation (random linear combination). Proofs travel in
// arkworks' compressed form (128 bytes, little-endian).
package groth16
