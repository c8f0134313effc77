package lightpush

import (
	"fmt"
	"testing"
)

// A status code prints as its name, and as its number with %d (the CLI and
// the logs print numbers).
func TestStatusCodeString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code StatusCode
		want string
	}{{StatusOK, "SUCCESS"}, {StatusOutOfProofs, "OUT_OF_RLN_PROOF"}, {StatusNoPeers, "NO_PEERS_TO_RELAY"}, {StatusCode(299), "299"}} {
		if got := tc.code.String(); got != tc.want {
			t.Errorf("%d: %q, want %q", uint32(tc.code), got, tc.want)
		}
		if got, want := fmt.Sprintf("%d", tc.code), fmt.Sprint(uint32(tc.code)); got != want {
			t.Errorf("%%d of %s: %q, want %q", tc.want, got, want)
		}
	}
}
