package interop

import (
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Decimal renders a field element as the harness expects it.
func Decimal(e fr.Element) string { return e.BigInt(new(big.Int)).String() }

// Decimals renders field elements.
func Decimals(es []fr.Element) []string {
	out := make([]string, len(es))
	for i := range es {
		out[i] = Decimal(es[i])
	}
	return out
}

// RLNInputs are the RLN circuit's inputs, in the form zerokit_prove,
// zerokit_bench and zerokit_witness_json take them.
type RLNInputs struct {
	IdentitySecret    fr.Element
	UserMessageLimit  uint64
	MessageID         uint64
	PathElements      []fr.Element
	PathIndices       []uint8
	X                 fr.Element
	ExternalNullifier fr.Element
}

// Request is the "inputs" object of a harness request.
func (in RLNInputs) Request() map[string]any {
	idx := make([]int, len(in.PathIndices))
	for i, b := range in.PathIndices {
		idx[i] = int(b)
	}
	var limit, mid fr.Element
	limit.SetUint64(in.UserMessageLimit)
	mid.SetUint64(in.MessageID)
	return map[string]any{
		"identity_secret":     Decimal(in.IdentitySecret),
		"user_message_limit":  Decimal(limit),
		"message_id":          Decimal(mid),
		"path_elements":       Decimals(in.PathElements),
		"identity_path_index": idx,
		"x":                   Decimal(in.X),
		"external_nullifier":  Decimal(in.ExternalNullifier),
	}
}
