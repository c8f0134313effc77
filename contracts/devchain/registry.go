package devchain

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"

	"github.com/rlnd/rlnd/contracts"
	"github.com/rlnd/rlnd/contracts/bindings"
)

// Registry is the membership registry deployed on a dev chain.
type Registry struct {
	Address  common.Address
	Contract *bindings.RlnRegistry
	Block    uint64 // deployment block
}

// Transactor signs with dev account i.
func (c *Chain) Transactor(i int) (*bind.TransactOpts, error) {
	return bind.NewKeyedTransactorWithChainID(c.keys[i], new(big.Int).SetUint64(ChainID))
}

// DeployRegistry deploys the registry with the devnet parameters from dev
// account 0 and waits for it. On a fresh chain it lands at the same
// address every time (the first contract account 0 creates).
func (c *Chain) DeployRegistry(ctx context.Context) (Registry, error) {
	auth, err := c.Transactor(0)
	if err != nil {
		return Registry{}, err
	}
	addr, reg, tx, err := contracts.DeployRegistry(auth, c.Client(), contracts.DevnetParams())
	if err != nil {
		return Registry{}, fmt.Errorf("devchain: deploy the registry: %w", err)
	}
	rcpt, err := c.WaitMined(ctx, tx)
	if err != nil {
		return Registry{}, fmt.Errorf("devchain: deploy the registry: %w", err)
	}
	return Registry{Address: addr, Contract: reg, Block: rcpt.BlockNumber.Uint64()}, nil
}
