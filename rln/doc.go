// Package rln is rlnd's RLNv2 engine (rate-limiting nullifiers, as the Waku
// network uses them): identities and rate commitments, epochs and external
// nullifiers, the signal hash, proof generation (native witness from the
// circuit's graph, Groth16 over BN254) and verification against a window of
// roots, the RateLimitProof wire codec, and the per-epoch nullifier log that
// tells duplicates from double signalling and recovers a double signaller's
// secret.
//
// Field elements on the wire are 32 bytes little-endian and must be
// canonical (below the BN254 scalar modulus).
package rln
