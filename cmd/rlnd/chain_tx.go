package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/rlnd/rlnd/contracts"
)

// receiptPoll is how often a transaction's receipt is asked for.
const receiptPoll = 200 * time.Millisecond

// revertError describes err from eth_call, gas estimation or sending
// (what names the call): a revert becomes its decoded reason (a custom
// error with its arguments, a revert string, a panic code), never go-ethereum's
// bare "execution reverted".
func revertError(what string, err error) error {
	if reason, ok := contracts.RevertReason(err); ok {
		return fmt.Errorf("%s reverts: %s", what, reason)
	}
	if strings.Contains(err.Error(), "execution reverted") {
		return fmt.Errorf("%s reverts (the RPC endpoint gave no revert data)", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isRevert reports whether err is a revert (with or without data).
func isRevert(err error) bool {
	_, ok := contracts.RevertReason(err)
	return ok || strings.Contains(err.Error(), "execution reverted")
}

// waitMined polls for tx's receipt until it is mined or ctx ends.
func waitMined(ctx context.Context, cl *ethclient.Client, tx *types.Transaction) (*types.Receipt, error) {
	t := time.NewTicker(receiptPoll)
	defer t.Stop()
	for {
		r, err := cl.TransactionReceipt(ctx, tx.Hash())
		switch {
		case err == nil:
			return r, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("no receipt for transaction %s yet (it may still be mined): %w", tx.Hash().Hex(), ctx.Err())
		case !errors.Is(err, ethereum.NotFound):
			return nil, fmt.Errorf("receipt of transaction %s: %w", tx.Hash().Hex(), err)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// waitSucceeded waits for tx and, if it failed, finds out why: the call is
// replayed with eth_call at the block it was mined in, and its revert
// decoded.
func waitSucceeded(ctx context.Context, cl *ethclient.Client, from common.Address, what string, tx *types.Transaction) (*types.Receipt, error) {
	r, err := waitMined(ctx, cl, tx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if r.Status == types.ReceiptStatusSuccessful {
		return r, nil
	}
	return nil, fmt.Errorf("%s: transaction %s failed in block %d: %s", what, tx.Hash().Hex(), r.BlockNumber, replayFailure(ctx, cl, from, tx, r))
}

// replayFailure says why the mined transaction tx failed: it runs the same
// call at the block it was mined in (the state after that block, which is
// what it met unless a later transaction of that block changed it).
func replayFailure(ctx context.Context, cl *ethclient.Client, from common.Address, tx *types.Transaction, r *types.Receipt) string {
	msg := ethereum.CallMsg{From: from, To: tx.To(), Gas: tx.Gas(), Value: tx.Value(), Data: tx.Data()}
	_, err := cl.CallContract(ctx, msg, r.BlockNumber)
	outOfGas := r.GasUsed*64 >= tx.Gas()*63 // a call gets 63/64 of what is left
	if reason, ok := contracts.RevertReason(err); ok {
		if outOfGas && reason == "no reason given" {
			return fmt.Sprintf("reverted without a reason after using %d of its %d gas: probably out of gas", r.GasUsed, tx.Gas())
		}
		return "reverted: " + reason
	}
	switch {
	case err == nil && outOfGas:
		return fmt.Sprintf("out of gas (it used all of its %d)", tx.Gas())
	case err == nil:
		return "reverted, but the same call at that block succeeds (a transaction after it in the block changed the state)"
	case strings.Contains(err.Error(), "execution reverted"):
		return "reverted (the RPC endpoint gave no revert data)"
	}
	return fmt.Sprintf("reverted (replaying it to find out why failed: %v)", err)
}
