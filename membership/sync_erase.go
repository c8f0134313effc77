package membership

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The registry functions that erase memberships, by selector. Only
// eraseMemberships(uint256[],bool) can erase fully; register with a list
// to erase and eraseMemberships(uint256[]) erase lazily.
var (
	selEraseFull  = crypto.Keccak256([]byte("eraseMemberships(uint256[],bool)"))[:4]
	selEraseLazy  = crypto.Keccak256([]byte("eraseMemberships(uint256[])"))[:4]
	selRegister   = crypto.Keccak256([]byte("register(uint256,uint32,uint256[])"))[:4]
	selPermitReg  = crypto.Keccak256([]byte("registerWithPermit(address,uint256,uint8,bytes32,bytes32,uint256,uint32,uint256[])"))[:4]
	errUnknownTx  = errors.New("membership: erasing transaction not decodable")
	lazyErasures  = [][]byte{selEraseLazy, selRegister, selPermitReg}
	eraseFullArgs = 2 * abiWord // (uint256[] offset, bool)
)

// classifyErasures marks the MembershipErased events of full erasures. The
// events of a lazy and a full erasure are the same, so it reads each
// erasing transaction (eth_getTransactionByHash, served by every node for
// all history) and decodes its call: eraseMemberships(ids, true) erases
// fully, everything else lazily. A transaction it cannot decode (one that
// reaches the registry through another contract) is taken as lazy and
// counted: the root check after the step (verifyRoot) then finds and
// repairs a wrong guess.
func (g *GroupManager) classifyErasures(ctx context.Context, events []registryEvent) error {
	full := map[common.Hash]bool{}
	for k := range events {
		ev := &events[k]
		if ev.kind != eventErased {
			continue
		}
		f, seen := full[ev.txHash]
		if !seen {
			var err error
			f, err = g.erasesFully(ctx, ev.txHash)
			if errors.Is(err, errUnknownTx) {
				g.log.Info("cannot tell a lazy erasure from a full one; taking it as lazy, the root check will tell",
					"block", ev.block, "tx", ev.txHash.Hex(), "reason", err)
				g.undecodedErasures.Add(1)
				g.needVerify = true
			} else if err != nil {
				return err
			}
			full[ev.txHash] = f
		}
		ev.full = f
	}
	return nil
}

// erasesFully reports whether transaction h is an eraseMemberships(ids,
// true) call to the registry; errUnknownTx if it is no call the registry
// decodes.
func (g *GroupManager) erasesFully(ctx context.Context, h common.Hash) (bool, error) {
	type txResult struct {
		to   *common.Address
		data []byte
	}
	r, err := retryCall(ctx, g, "eth_getTransactionByHash", func(ctx context.Context) (txResult, error) {
		tx, _, err := g.src.TransactionByHash(ctx, h)
		if err != nil {
			return txResult{}, err
		}
		return txResult{tx.To(), tx.Data()}, nil
	})
	if errors.Is(err, ethereum.NotFound) {
		return false, fmt.Errorf("%w: transaction %s not found", errChainMoved, h.Hex())
	}
	if err != nil {
		return false, err
	}
	if r.to == nil || *r.to != g.cfg.Contract || len(r.data) < 4 {
		return false, fmt.Errorf("%w: not a direct call to the registry", errUnknownTx)
	}
	sel, args := r.data[:4], r.data[4:]
	if bytes.Equal(sel, selEraseFull) {
		if len(args) < eraseFullArgs {
			return false, fmt.Errorf("%w: eraseMemberships(uint256[],bool) with %d argument bytes", errUnknownTx, len(args))
		}
		flag, ok := uint32Word((*[abiWord]byte)(args[abiWord:eraseFullArgs]))
		if !ok || flag > 1 {
			return false, fmt.Errorf("%w: eraseMemberships flag is not a bool", errUnknownTx)
		}
		return flag == 1, nil
	}
	for _, s := range lazyErasures {
		if bytes.Equal(sel, s) {
			return false, nil
		}
	}
	return false, fmt.Errorf("%w: selector 0x%x", errUnknownTx, sel)
}
