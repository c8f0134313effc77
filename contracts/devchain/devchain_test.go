package devchain

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
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
