package poseidon

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Constants returns the published (unoptimised) instance for width t = 2..4
// (1..3 inputs): the (R_F+R_P)*t round constants, round r using
// [r*t, r*t+t), the t x t MDS matrix (state' = mds * state), R_F and R_P.
// The slices are fresh copies; code generators (the Solidity Poseidon in
// contracts/) use them so that every implementation shares one derivation.
func Constants(t int) (roundConstants []fr.Element, mds [][]fr.Element, fullRoundCount, partialRoundCount int, err error) {
	if t < 2 || t > maxWidth {
		return nil, nil, 0, 0, fmt.Errorf("poseidon: width %d not in [2, %d]: %w", t, maxWidth, ErrInputCount)
	}
	p := paramsByWidth[t]()
	roundConstants = append([]fr.Element(nil), p.roundConsts...)
	mds = make([][]fr.Element, t)
	for i := range mds {
		mds[i] = append([]fr.Element(nil), p.mds[i][:t]...)
	}
	return roundConstants, mds, fullRounds, p.rp, nil
}
