package devchain

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
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
	if i < 0 || i >= len(c.keys) {
		return nil, fmt.Errorf("devchain: no dev account %d (the chain has %d: 0..%d)", i, len(c.keys), len(c.keys)-1)
	}
	return bind.NewKeyedTransactorWithChainID(c.keys[i], new(big.Int).SetUint64(ChainID))
}

// RegistryAddress is where DeployRegistry puts the registry (the proxy) on
// a new chain: dev account 0 creates the test token, the price calculator,
// the implementation and then the proxy, its fourth contract.
func RegistryAddress() common.Address {
	return crypto.CreateAddress(DevAddress(0), 3)
}

// DeployRegistry deploys, from dev account 0, a test token that funds every
// dev account, and a registry the way WakuRlnV2 is deployed (price
// calculator, implementation, proxy) with contracts.DevnetParams and
// PricePerMessage, and waits for them. On a new chain the registry lands at
// RegistryAddress. On a chain started again from its DataDir with a
// registry deployed, it deploys nothing and returns that registry, with
// its members.
func (c *Chain) DeployRegistry(ctx context.Context) (Registry, error) {
	if c.meta.Registry != nil {
		return c.loadRegistry(ctx, *c.meta.Registry)
	}
	p := contracts.DevnetParams()
	p.PricePerMessage = PricePerMessage
	return c.DeployRegistryWith(ctx, p)
}

// loadRegistry binds the registry a DataDir chain recorded.
func (c *Chain) loadRegistry(ctx context.Context, m registryMeta) (Registry, error) {
	code, err := c.Client().CodeAt(ctx, m.Address, nil)
	if err != nil {
		return Registry{}, fmt.Errorf("devchain: the recorded registry: %w", err)
	}
	if len(code) == 0 {
		return Registry{}, fmt.Errorf("devchain: %s records a registry at %s, but the chain has no code there", c.dataDir, m.Address.Hex())
	}
	r := Registry{Address: m.Address, TokenAddress: m.Token, PriceCalculator: m.PriceCalculator, Block: m.Block}
	if err := r.bind(c); err != nil {
		return Registry{}, err
	}
	return r, nil
}

// bind binds the registry's and the token's contracts at their addresses.
func (r *Registry) bind(c *Chain) error {
	var err error
	if r.Contract, err = bindings.NewRlnRegistry(r.Address, c.Client()); err != nil {
		return fmt.Errorf("devchain: bind the registry: %w", err)
	}
	if r.Dev, err = bindings.NewDevRlnRegistry(r.Address, c.Client()); err != nil {
		return fmt.Errorf("devchain: bind the registry: %w", err)
	}
	if r.Token, err = bindings.NewTestToken(r.TokenAddress, c.Client()); err != nil {
		return fmt.Errorf("devchain: bind the token: %w", err)
	}
	return nil
}

// DeployRegistryWith deploys as DeployRegistry does (always: it reuses
// nothing) with other parameters; p.Token is replaced by the test token it
// deploys. On a DataDir chain the new registry becomes the one
// DeployRegistry returns after a restart.
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
	tokenAddr, tx, _, err := bindings.DeployTestToken(auth, c.Client(), holders, TokenFunds)
	if err != nil {
		return Registry{}, fmt.Errorf("devchain: deploy the test token: %w", err)
	}
	if _, err := c.waitSucceeded(ctx, tx); err != nil {
		return Registry{}, fmt.Errorf("devchain: deploy the test token: %w", err)
	}
	p.Token = tokenAddr
	d, err := contracts.DeployRegistry(ctx, auth, c.Client(), p, c.WaitMined)
	if err != nil {
		return Registry{}, fmt.Errorf("devchain: deploy the registry: %w", err)
	}
	r := Registry{Address: d.Address, TokenAddress: tokenAddr, PriceCalculator: d.PriceCalculator, Block: d.Block}
	if err := r.bind(c); err != nil {
		return Registry{}, err
	}
	if c.dataDir != "" {
		c.meta.Registry = &registryMeta{Address: r.Address, Token: r.TokenAddress, PriceCalculator: r.PriceCalculator, Block: r.Block}
		if err := c.saveMeta(); err != nil {
			return Registry{}, err
		}
	}
	return r, nil
}

// waitSucceeded is WaitMined for a transaction that must not fail.
func (c *Chain) waitSucceeded(ctx context.Context, tx *types.Transaction) (*types.Receipt, error) {
	r, err := c.WaitMined(ctx, tx)
	if err == nil && r.Status != types.ReceiptStatusSuccessful {
		err = fmt.Errorf("transaction %s failed in block %d", tx.Hash().Hex(), r.BlockNumber)
	}
	return r, err
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
	if _, err := c.waitSucceeded(ctx, tx); err != nil {
		return fmt.Errorf("devchain: approve deposits of account %d: %w", i, err)
	}
	return nil
}
