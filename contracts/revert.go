package contracts

import (
	"bytes"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/rlnd/rlnd/contracts/bindings"
)

// knownErrors are the custom errors of the registry, the price calculator
// and the test token, by selector.
var knownErrors = sync.OnceValue(func() map[[4]byte]abi.Error {
	out := make(map[[4]byte]abi.Error)
	for _, md := range []*bind.MetaData{
		bindings.RlnRegistryMetaData, bindings.LinearPriceCalculatorMetaData,
		bindings.TestTokenMetaData, bindings.RlnRegistryProxyMetaData,
	} {
		parsed, err := md.GetAbi()
		if err != nil {
			continue // a broken generated ABI fails the package's tests
		}
		for _, e := range parsed.Errors {
			out[[4]byte(e.ID[:4])] = e
		}
	}
	return out
})

// Selectors of Solidity's built-in revert payloads.
var (
	selectorError = []byte{0x08, 0xc3, 0x79, 0xa0} // Error(string)
	selectorPanic = []byte{0x4e, 0x48, 0x7b, 0x71} // Panic(uint256)
)

// RevertReason returns the reason a call or gas estimation failed with, as
// go-ethereum reports a revert: a custom error with its arguments
// ("InvalidIdCommitment(idCommitment=0x…)"), a revert string in quotes, a
// panic code, or "no reason given" for an empty revert. ok is false when err
// carries no revert data at all (a transport error, say).
func RevertReason(err error) (reason string, ok bool) {
	data, ok := ethclient.RevertErrorData(err)
	if !ok {
		return "", false
	}
	return DecodeRevert(data), true
}

// DecodeRevert renders revert data (see RevertReason).
func DecodeRevert(data []byte) string {
	if len(data) == 0 {
		return "no reason given"
	}
	if len(data) < 4 {
		return fmt.Sprintf("revert data 0x%x", data)
	}
	sel, args := data[:4], data[4:]
	switch {
	case bytes.Equal(sel, selectorError):
		if s, err := abi.UnpackRevert(data); err == nil {
			return fmt.Sprintf("%q", s)
		}
	case bytes.Equal(sel, selectorPanic):
		if len(args) == 32 {
			return fmt.Sprintf("panic 0x%x (%s)", new(big.Int).SetBytes(args), panicMeaning(new(big.Int).SetBytes(args).Uint64()))
		}
	default:
		if e, ok := knownErrors()[[4]byte(sel)]; ok {
			return renderError(e, args)
		}
	}
	return fmt.Sprintf("unknown revert 0x%x", data)
}

// renderError writes a custom error as Name(arg=value, ...).
func renderError(e abi.Error, args []byte) string {
	vals, err := e.Inputs.Unpack(args)
	if err != nil {
		return e.Name + "(undecodable arguments)"
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		if b, ok := v.(*big.Int); ok {
			v = fmt.Sprintf("0x%064x", b)
		}
		parts[i] = fmt.Sprintf("%s=%v", e.Inputs[i].Name, v)
	}
	return e.Name + "(" + strings.Join(parts, ", ") + ")"
}

// RevertName returns the name of the custom error err carries, for
// example "CannotExceedMaxTotalRateLimit"; ok is false if it carries none
// of the registry's, the calculator's or the token's.
func RevertName(err error) (name string, ok bool) {
	data, ok := ethclient.RevertErrorData(err)
	if !ok || len(data) < 4 {
		return "", false
	}
	e, ok := knownErrors()[[4]byte(data[:4])]
	return e.Name, ok
}

// panicMeaning names Solidity's panic codes.
func panicMeaning(code uint64) string {
	switch code {
	case 0x01:
		return "assertion failed"
	case 0x11:
		return "arithmetic overflow or underflow"
	case 0x12:
		return "division by zero"
	case 0x21:
		return "invalid enum value"
	case 0x31:
		return "pop from an empty array"
	case 0x32:
		return "array index out of bounds"
	case 0x41:
		return "out of memory"
	case 0x51:
		return "call to an uninitialised function"
	}
	return "unknown panic"
}
