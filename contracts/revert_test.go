package contracts_test

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/rlnd/rlnd/contracts"
	"github.com/rlnd/rlnd/contracts/bindings"
)

// TestDecodeRevert renders every custom error of the registry, the
// calculator, the token and the proxy with its arguments, revert strings
// in quotes, panics with their meaning, and the malformed cases.
func TestDecodeRevert(t *testing.T) {
	t.Parallel()
	seen := 0
	for _, md := range []*bind.MetaData{bindings.RlnRegistryMetaData, bindings.DevRlnRegistryMetaData,
		bindings.LinearPriceCalculatorMetaData, bindings.TestTokenMetaData, bindings.RlnRegistryProxyMetaData} {
		parsed, err := md.GetAbi()
		if err != nil {
			t.Fatal(err)
		}
		for name, e := range parsed.Errors {
			seen++
			var args []any
			var parts []string
			for i, in := range e.Inputs {
				if in.Type.T != abi.UintTy || in.Type.Size != 256 {
					t.Fatalf("%s: argument %s of type %s: extend this test", name, in.Name, in.Type)
				}
				v := new(big.Int).Lsh(big.NewInt(int64(i+7)), uint(64*i)) // distinct per argument
				args = append(args, v)
				parts = append(parts, fmt.Sprintf("%s=0x%064x", in.Name, v))
			}
			packed, err := e.Inputs.Pack(args...)
			if err != nil {
				t.Fatal(err)
			}
			data := append(append([]byte{}, e.ID[:4]...), packed...)
			want := name + "(" + strings.Join(parts, ", ") + ")"
			if got := contracts.DecodeRevert(data); got != want {
				t.Errorf("DecodeRevert(%s) = %s, want %s", name, got, want)
			}
			// Truncated arguments are reported, not guessed.
			if len(e.Inputs) > 0 {
				if got := contracts.DecodeRevert(data[:len(data)-1]); got != name+"(undecodable arguments)" {
					t.Errorf("DecodeRevert(truncated %s) = %s", name, got)
				}
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d custom errors in the ABIs", seen)
	}

	// The registry's errors by their WakuRlnV2 signatures.
	for _, tc := range []struct {
		sig  string
		args []*big.Int
		want string
	}{
		{"InvalidIdCommitment(uint256)", []*big.Int{big.NewInt(0)}, errID("InvalidIdCommitment", big.NewInt(0))},
		{"InvalidPaginationQuery(uint256,uint256)", []*big.Int{big.NewInt(5), big.NewInt(3)}, errPagination(5, 3)},
		{"InvalidMembershipRateLimit()", nil, "InvalidMembershipRateLimit()"},
		{"CannotExceedMaxTotalRateLimit()", nil, "CannotExceedMaxTotalRateLimit()"},
		{"MembershipDoesNotExist(uint256)", []*big.Int{q}, errID("MembershipDoesNotExist", q)},
		{"OnlyTokensAllowed()", nil, "OnlyTokensAllowed()"},
	} {
		data := crypto.Keccak256([]byte(tc.sig))[:4]
		for _, a := range tc.args {
			data = append(data, common.LeftPadBytes(a.Bytes(), 32)...)
		}
		if got := contracts.DecodeRevert(data); got != tc.want {
			t.Errorf("DecodeRevert(%s) = %s, want %s", tc.sig, got, tc.want)
		}
	}

	errorString := func(s string) []byte {
		typ, _ := abi.NewType("string", "", nil)
		packed, err := abi.Arguments{{Type: typ}}.Pack(s)
		if err != nil {
			t.Fatal(err)
		}
		return append(crypto.Keccak256([]byte("Error(string)"))[:4], packed...)
	}
	panicCode := func(code int64) []byte {
		return append(crypto.Keccak256([]byte("Panic(uint256)"))[:4], common.LeftPadBytes(big.NewInt(code).Bytes(), 32)...)
	}
	unknown := append(crypto.Keccak256([]byte("Nope(uint256)"))[:4], make([]byte, 32)...)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"revert string", errorString("ERC20: insufficient allowance"), `"ERC20: insufficient allowance"`},
		{"revert string with quotes", errorString(`say "hi"`), `"say \"hi\""`},
		{"empty revert string", errorString(""), `""`},
		{"overflow panic", panicCode(0x11), "panic 0x11 (arithmetic overflow or underflow)"},
		{"bounds panic", panicCode(0x32), "panic 0x32 (array index out of bounds)"},
		{"assertion panic", panicCode(0x01), "panic 0x1 (assertion failed)"},
		{"unknown panic", panicCode(0x99), "panic 0x99 (unknown panic)"},
		{"empty revert", nil, "no reason given"},
		{"short data", []byte{1, 2, 3}, "revert data 0x010203"},
		{"unknown selector", unknown, fmt.Sprintf("unknown revert 0x%x", unknown)},
		{"malformed revert string", errorString("x")[:40], fmt.Sprintf("unknown revert 0x%x", errorString("x")[:40])},
		{"panic without its code", panicCode(1)[:20], fmt.Sprintf("unknown revert 0x%x", panicCode(1)[:20])},
	} {
		if got := contracts.DecodeRevert(tc.data); got != tc.want {
			t.Errorf("%s: DecodeRevert = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestRevertReasonFromChain: RevertReason and RevertName on the errors
// go-ethereum returns for calls and gas estimates that revert.
func TestRevertReasonFromChain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams())

	_, err := e.reg.GetRateCommitmentsInRangeBoundsInclusive(nil, 1, 0)
	if reason, ok := contracts.RevertReason(err); !ok || reason != errPagination(1, 0) {
		t.Errorf("custom error: RevertReason = %q, %v", reason, ok)
	}
	if name, ok := contracts.RevertName(err); !ok || name != "InvalidPaginationQuery" {
		t.Errorf("custom error: RevertName = %q, %v", name, ok)
	}
	// Wrapped errors decode too.
	if reason, ok := contracts.RevertReason(fmt.Errorf("reading leaves: %w", err)); !ok || reason != errPagination(1, 0) {
		t.Errorf("wrapped custom error: RevertReason = %q, %v", reason, ok)
	}

	_, err = e.reg.GetMerkleProof(nil, big.NewInt(0))
	if reason, ok := contracts.RevertReason(err); !ok || reason != errLeafNotExist {
		t.Errorf("revert string: RevertReason = %q, %v", reason, ok)
	}
	if name, ok := contracts.RevertName(err); ok {
		t.Errorf("revert string: RevertName = %q, true; want none", name)
	}

	_, err = e.reg.IndicesOfLazilyErasedMemberships(nil, big.NewInt(0))
	if reason, ok := contracts.RevertReason(err); !ok || reason != errNoReason {
		t.Errorf("empty revert: RevertReason = %q, %v", reason, ok)
	}
	if _, ok := contracts.RevertName(err); ok {
		t.Error("empty revert: RevertName found a name")
	}

	// A gas estimate that reverts (bind estimates when no gas limit is set).
	_, err = e.reg.Register(e.users[2], big.NewInt(0), 20, []*big.Int{})
	if reason, ok := contracts.RevertReason(err); !ok || reason != errID("InvalidIdCommitment", big.NewInt(0)) {
		t.Errorf("estimate: RevertReason = %q, %v (%v)", reason, ok, err)
	}
	if name, ok := contracts.RevertName(err); !ok || name != "InvalidIdCommitment" {
		t.Errorf("estimate: RevertName = %q, %v", name, ok)
	}
	_, err = e.reg.Register(e.users[2], big.NewInt(1), 20, []*big.Int{big.NewInt(5)})
	if reason, _ := contracts.RevertReason(err); reason != errID("MembershipDoesNotExist", big.NewInt(5)) {
		t.Errorf("estimate with an erase list: RevertReason = %q (%v)", reason, err)
	}

	// Errors without revert data.
	for _, err := range []error{nil, errors.New("connection refused"), fmt.Errorf("dial: %w", errors.New("timeout"))} {
		if reason, ok := contracts.RevertReason(err); ok || reason != "" {
			t.Errorf("RevertReason(%v) = %q, %v; want nothing", err, reason, ok)
		}
		if name, ok := contracts.RevertName(err); ok || name != "" {
			t.Errorf("RevertName(%v) = %q, %v; want nothing", err, name, ok)
		}
	}
}
