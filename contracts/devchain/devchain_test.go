package devchain

import (
	"context"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/rlnd/rlnd/contracts"
	"github.com/rlnd/rlnd/contracts/bindings"
)

func TestDevChainServesJSONRPC(t *testing.T) {
	c, err := Start(Config{HTTP: "127.0.0.1:0", BlockTime: 50 * time.Millisecond, Accounts: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := ethclient.DialContext(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	id, err := cl.ChainID(ctx)
	if err != nil || id.Uint64() != ChainID || ChainID != 1337 {
		t.Fatalf("chain id %v, %v", id, err)
	}
	bal, err := cl.BalanceAt(ctx, c.Address(2), nil)
	if err != nil || bal.Cmp(devFunds) != 0 {
		t.Fatalf("balance %v, %v", bal, err)
	}
	// A transfer over HTTP is mined by the block timer.
	nonce, _ := cl.PendingNonceAt(ctx, c.Address(0))
	tip := big.NewInt(params.GWei)
	head, err := cl.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	to := c.Address(1)
	tx, err := types.SignNewTx(c.Keys()[0], types.LatestSignerForChainID(id), &types.DynamicFeeTx{
		ChainID: id, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: 21000, To: &to, Value: big.NewInt(params.Ether)})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	for {
		r, err := cl.TransactionReceipt(ctx, tx.Hash())
		if err == nil {
			if r.Status != types.ReceiptStatusSuccessful {
				t.Fatal("transfer failed")
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("transfer not mined by the block timer")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if got := crypto.PubkeyToAddress(DevKey(0).PublicKey); got != c.Address(0) {
		t.Fatal("dev keys are not deterministic")
	}
}

func TestDevChainRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8545", "10.0.0.1:8545", "example.com:1", "nope"} {
		if _, err := Start(Config{HTTP: addr}); err == nil || !strings.Contains(err.Error(), "devchain") {
			t.Errorf("Start(%q) = %v, want an error", addr, err)
		}
	}
}

// TestDeployRegistry: DeployRegistry deploys the registry as WakuRlnV2 is
// deployed (calculator, implementation, proxy) with DevnetParams and a test
// token funding every dev account, at the same addresses on every fresh
// chain; a registration pays its deposit in the test token, and
// registerBatch (the dev registry's extra) works through Dev.
func TestDeployRegistry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := func() (*Chain, Registry) {
		t.Helper()
		c, err := Start(Config{HTTP: "127.0.0.1:0", Accounts: 3})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		reg, err := c.DeployRegistry(ctx)
		if err != nil {
			t.Fatalf("DeployRegistry: %v", err)
		}
		return c, reg
	}
	c, reg := start()

	if got, err := reg.Contract.DeployedBlockNumber(nil); err != nil || uint64(got) != reg.Block {
		t.Errorf("deployedBlockNumber() = %d, %v; Registry.Block %d", got, err, reg.Block)
	}
	if owner, err := reg.Contract.Owner(nil); err != nil || owner != c.Address(0) {
		t.Errorf("owner() = %s, %v; want dev account 0", owner, err)
	}
	p := contracts.DevnetParams()
	for name, tc := range map[string]struct {
		get  func(*bind.CallOpts) (uint32, error)
		want uint32
	}{
		"minMembershipRateLimit":               {reg.Contract.MinMembershipRateLimit, p.MinRateLimit},
		"maxMembershipRateLimit":               {reg.Contract.MaxMembershipRateLimit, p.MaxRateLimit},
		"maxTotalRateLimit":                    {reg.Contract.MaxTotalRateLimit, p.MaxTotalRateLimit},
		"activeDurationForNewMemberships":      {reg.Contract.ActiveDurationForNewMemberships, p.ActiveDuration},
		"gracePeriodDurationForNewMemberships": {reg.Contract.GracePeriodDurationForNewMemberships, p.GracePeriod},
	} {
		if got, err := tc.get(nil); err != nil || got != tc.want {
			t.Errorf("%s() = %d, %v; want %d", name, got, err, tc.want)
		}
	}
	if calc, err := reg.Contract.PriceCalculator(nil); err != nil || calc != reg.PriceCalculator {
		t.Errorf("priceCalculator() = %s, %v; want %s", calc, err, reg.PriceCalculator)
	}
	calc, err := bindings.NewLinearPriceCalculator(reg.PriceCalculator, c.Client())
	if err != nil {
		t.Fatal(err)
	}
	deposit := new(big.Int).Mul(big.NewInt(10), PricePerMessage)
	if tok, price, err := calc.Calculate(nil, 10); err != nil || tok != reg.TokenAddress || price.Cmp(deposit) != 0 {
		t.Errorf("calculate(10) = %s, %v, %v; want the test token and %v", tok, price, err, deposit)
	}
	for i := range 3 {
		if bal, err := reg.Token.BalanceOf(nil, c.Address(i)); err != nil || bal.Cmp(TokenFunds) != 0 {
			t.Errorf("dev account %d holds %v test tokens, %v; want %v", i, bal, err, TokenFunds)
		}
	}

	// A registration from dev account 1, paying its deposit.
	auth, err := c.Transactor(1)
	if err != nil {
		t.Fatal(err)
	}
	auth.Context = ctx
	mine := func(tx *types.Transaction, err error) *types.Receipt {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.WaitMined(ctx, tx)
		if err != nil || r.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("transaction %s: %v, %+v", tx.Hash(), err, r)
		}
		return r
	}
	mine(reg.Token.Approve(auth, reg.Address, deposit))
	r := mine(reg.Contract.Register(auth, big.NewInt(42), 10, []*big.Int{}))
	var indices []uint32
	for _, l := range r.Logs {
		if ev, err := reg.Contract.ParseMembershipRegistered(*l); err == nil && l.Address == reg.Address {
			indices = append(indices, ev.Index)
		}
	}
	if len(indices) != 1 || indices[0] != 0 {
		t.Fatalf("register: indices %v, want [0]", indices)
	}
	if bal, _ := reg.Token.BalanceOf(nil, c.Address(1)); new(big.Int).Sub(TokenFunds, bal).Cmp(deposit) != 0 {
		t.Errorf("register took %v test tokens, want %v", new(big.Int).Sub(TokenFunds, bal), deposit)
	}

	// registerBatch from dev account 2.
	auth2, err := c.Transactor(2)
	if err != nil {
		t.Fatal(err)
	}
	auth2.Context = ctx
	mine(reg.Token.Approve(auth2, reg.Address, new(big.Int).Mul(deposit, big.NewInt(3))))
	r = mine(reg.Dev.RegisterBatch(auth2, []*big.Int{big.NewInt(43), big.NewInt(44), big.NewInt(45)}, 10))
	indices = nil
	for _, l := range r.Logs {
		if ev, err := reg.Contract.ParseMembershipRegistered(*l); err == nil && l.Address == reg.Address {
			indices = append(indices, ev.Index)
		}
	}
	if want := []uint32{1, 2, 3}; !slices.Equal(indices, want) {
		t.Fatalf("registerBatch: indices %v, want %v", indices, want)
	}

	// A fresh chain puts everything at the same addresses.
	_, again := start()
	if again.Address != reg.Address || again.TokenAddress != reg.TokenAddress || again.PriceCalculator != reg.PriceCalculator {
		t.Errorf("fresh chain: registry %s, token %s, calculator %s; first chain %s, %s, %s",
			again.Address, again.TokenAddress, again.PriceCalculator, reg.Address, reg.TokenAddress, reg.PriceCalculator)
	}
}
