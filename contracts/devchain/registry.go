package devchain

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/rlnd/rlnd/contracts"
	"github.com/rlnd/rlnd/contracts/bindings"
)

// PricePerMessage is the dev registry's deposit per message per epoch of
// rate limit: 0.001 test token, so that registering on a dev chain pays a
// deposit (approve, transferFrom) as on Linea Sepolia.
var PricePerMessage = big.NewInt(params.Ether / 1000)

// TokenFunds is each dev account's test-token balance: 1,000,000 tokens.
var TokenFunds = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))

// Registry is the membership registry deployed on a dev chain.
type Registry struct {
	// Address is the registry's (the proxy's) address.
	Address common.Address
	// Contract is bound at Address with the registry's (WakuRlnV2's) ABI.
	Contract *bindings.RlnRegistry
	// Dev is bound at Address with DevRlnRegistry's ABI (registerBatch):
	// for filling dev chains only.
	Dev *bindings.DevRlnRegistry
	// TokenAddress is the deposit token's, funded for every dev account.
	TokenAddress common.Address
	Token        *bindings.TestToken
	// PriceCalculator is the calculator's address.
	PriceCalculator common.Address
	// Block is the block the registry was initialised in (its
	// deployedBlockNumber).
	Block uint64
}

// Transactor signs with dev account i.
func (c *Chain) Transactor(i int) (*bind.TransactOpts, error) {
	return bind.NewKeyedTransactorWithChainID(c.keys[i], new(big.Int).SetUint64(ChainID))
}

// DeployRegistry deploys, from dev account 0, a test token that funds every
// dev account, and a registry the way WakuRlnV2 is deployed (price
// calculator, implementation, proxy) with contracts.DevnetParams and
// PricePerMessage, and waits for them. On a fresh chain the contracts land
// at the same addresses every time.
func (c *Chain) DeployRegistry(ctx context.Context) (Registry, error) {
	p := contracts.DevnetParams()
	p.PricePerMessage = PricePerMessage
	return c.DeployRegistryWith(ctx, p)
}

// DeployRegistryWith is DeployRegistry with other parameters; p.Token is
// replaced by the test token it deploys.
func (c *Chain) DeployRegistryWith(ctx context.Context, p contracts.RegistryParams) (Registry, error) {
	auth, err := c.Transactor(0)
	if err != nil {
		return Registry{}, err
	}
	holders := make([]common.Address, len(c.keys))
	for i := range c.keys {
		holders[i] = c.Address(i)
	}
	auth.Context = ctx
	tokenAddr, tx, token, err := bindings.DeployTestToken(auth, c.Client(), holders, TokenFunds)
	if err != nil {
		return Registry{}, fmt.Errorf("devchain: deploy the test token: %w", err)
	}
	if _, err := c.WaitMined(ctx, tx); err != nil {
		return Registry{}, fmt.Errorf("devchain: deploy the test token: %w", err)
	}
	p.Token = tokenAddr
	d, err := contracts.DeployRegistry(ctx, auth, c.Client(), p, c.WaitMined)
	if err != nil {
		return Registry{}, fmt.Errorf("devchain: deploy the registry: %w", err)
	}
	dev, err := bindings.NewDevRlnRegistry(d.Address, c.Client())
	if err != nil {
		return Registry{}, fmt.Errorf("devchain: bind the registry: %w", err)
	}
	return Registry{
		Address: d.Address, Contract: d.Registry, Dev: dev,
		TokenAddress: tokenAddr, Token: token, PriceCalculator: d.PriceCalculator,
		Block: d.Block,
	}, nil
}

// ApproveDeposits gives the registry an unlimited allowance of dev account
// i's test tokens, so that tests and the devnet can call register directly
// (`rlnd membership register` approves just the price itself).
func (c *Chain) ApproveDeposits(ctx context.Context, i int, r Registry) error {
	auth, err := c.Transactor(i)
	if err != nil {
		return err
	}
	auth.Context = ctx
	tx, err := r.Token.Approve(auth, r.Address, abi.MaxUint256)
	if err != nil {
		return fmt.Errorf("devchain: approve deposits of account %d: %w", i, err)
	}
	rcpt, err := c.WaitMined(ctx, tx)
	if err != nil {
		return fmt.Errorf("devchain: approve deposits of account %d: %w", i, err)
	}
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return fmt.Errorf("devchain: approve deposits of account %d: transaction %s failed", i, tx.Hash().Hex())
	}
	return nil
}
