package membership

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

// ErrNoDeployedBlock is returned by DeployedBlock when the registry has no
// deployedBlockNumber() view: the call reverts or returns nothing. The
// caller must be told the start block instead.
var ErrNoDeployedBlock = errors.New("membership: the registry has no deployedBlockNumber() view")

// deployedBlockSelector is the calldata of deployedBlockNumber(), WakuRlnV2's
// view of the block the registry was deployed in (a uint32).
var deployedBlockSelector = crypto.Keccak256([]byte("deployedBlockNumber()"))[:4]

// DeployedBlock asks cfg.Contract's deployedBlockNumber() view, at the
// latest block, for the block the registry was deployed in: the first block
// a sync needs to read. It is a raw eth_call, so it does not depend on the
// generated bindings. Failures to reach the endpoint are retried with
// cfg.Retry's backoff while ctx is alive; a call that reverts or returns
// nothing is ErrNoDeployedBlock (ErrNoContract when there is no code at the
// address); an answer that is not one uint32 word is an error too.
func DeployedBlock(ctx context.Context, src ChainSource, cfg SyncConfig) (uint64, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return 0, err
	}
	call := ethereum.CallMsg{To: &cfg.Contract, Data: append([]byte(nil), deployedBlockSelector...)}
	retry := newBackoff(cfg.Retry)
	for attempt := 1; ; attempt++ {
		out, err := src.CallContract(ctx, call, nil)
		switch {
		case err == nil && len(out) == 0:
			return 0, noDeployedBlock(ctx, src, cfg, "returned nothing")
		case err == nil:
			return decodeDeployedBlock(out, cfg)
		case isRevert(err):
			return 0, noDeployedBlock(ctx, src, cfg, "reverted: "+err.Error())
		case ctx.Err() != nil:
			return 0, fmt.Errorf("membership: calling deployedBlockNumber() on %s: %w (last error: %v)", cfg.Contract.Hex(), ctx.Err(), err)
		}
		wait := retry.wait()
		cfg.Logger.Warn("RPC call failed; retrying", "call", "deployedBlockNumber()", "attempt", attempt, "retry_in", wait, "err", err)
		if serr := sleepCtx(ctx, wait); serr != nil {
			return 0, fmt.Errorf("membership: calling deployedBlockNumber() on %s: %w (last error: %v)", cfg.Contract.Hex(), serr, err)
		}
	}
}

// decodeDeployedBlock reads deployedBlockNumber()'s answer, one ABI uint32
// word.
func decodeDeployedBlock(out []byte, cfg SyncConfig) (uint64, error) {
	n, err := decodeUint32(out, "deployedBlockNumber() of "+cfg.Contract.Hex())
	return uint64(n), err
}

// noDeployedBlock is the error for a registry without the view: if there
// is no code at the address at all, that is what the caller hears.
func noDeployedBlock(ctx context.Context, src ChainSource, cfg SyncConfig, what string) error {
	code, err := src.CodeAt(ctx, cfg.Contract, nil)
	if err == nil && len(code) == 0 {
		return fmt.Errorf("%w: no contract at %s", ErrNoContract, cfg.Contract.Hex())
	}
	return fmt.Errorf("%w: calling it on %s %s", ErrNoDeployedBlock, cfg.Contract.Hex(), what)
}

// revertCode is the JSON-RPC error code of a reverted eth_call with revert
// data.
const revertCode = 3

// isRevert reports whether err is the endpoint's answer that the call
// reverted (JSON-RPC error 3 with revert data, or "execution reverted"
// without), as opposed to a failure to reach it or a busy endpoint.
func isRevert(err error) bool {
	var coded rpc.Error
	if errors.As(err, &coded) && coded.ErrorCode() == revertCode {
		return true
	}
	return strings.Contains(strings.ToLower(err.Error()), "execution reverted")
}
