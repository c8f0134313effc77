package devchain

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
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

// A fixed port that is taken is one clear error, before anything starts.
func TestDevChainBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	_, err = Start(Config{HTTP: addr})
	if err == nil || !strings.Contains(err.Error(), addr+" is in use: ") || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start on a busy port: %v", err)
	}
}

func TestDevChainAccountBounds(t *testing.T) {
	for _, n := range []int{-1, MaxAccounts + 1} {
		if _, err := Start(Config{HTTP: "127.0.0.1:0", Accounts: n}); err == nil || !strings.Contains(err.Error(), "dev accounts") {
			t.Errorf("Accounts %d: %v", n, err)
		}
	}
	c, err := Start(Config{HTTP: "127.0.0.1:0", Accounts: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, i := range []int{-1, 2} {
		if _, err := c.Transactor(i); err == nil || !strings.Contains(err.Error(), "0..1") {
			t.Errorf("Transactor(%d): %v", i, err)
		}
	}
}

// register registers commitment id with rate limit 20 from dev account
// i, approving its deposit first, and returns the registration's block.
func register(ctx context.Context, c *Chain, reg Registry, i int, id int64) (uint64, error) {
	auth, err := c.Transactor(i)
	if err != nil {
		return 0, err
	}
	auth.Context = ctx
	price := new(big.Int).Mul(PricePerMessage, big.NewInt(20))
	tx, err := reg.Token.Approve(auth, reg.Address, price)
	if err != nil {
		return 0, err
	}
	if _, err := c.waitSucceeded(ctx, tx); err != nil {
		return 0, err
	}
	if tx, err = reg.Contract.Register(auth, big.NewInt(id), 20, nil); err != nil {
		return 0, err
	}
	r, err := c.waitSucceeded(ctx, tx)
	if err != nil {
		return 0, err
	}
	return r.BlockNumber.Uint64(), nil
}

// A chain in a data directory restarts where it stopped: the same blocks
// (same hashes), the registry at its address with its members, no second
// deployment, and it seals on.
func TestDevChainDataDirRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	c, err := Start(Config{HTTP: "127.0.0.1:0", Accounts: 3, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if c.StartHead() != 0 {
		t.Fatalf("new chain starts at block %d", c.StartHead())
	}
	reg, err := c.DeployRegistry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Address != RegistryAddress() {
		t.Fatalf("registry at %s, want %s", reg.Address.Hex(), RegistryAddress().Hex())
	}
	if _, err := register(ctx, c, reg, 1, 1234); err != nil {
		t.Fatal(err)
	}
	// The clock moved ahead of the wall clock must keep moving after a restart.
	if err := c.AdjustTime(48 * time.Hour); err != nil {
		t.Fatal(err)
	}
	head, err := c.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	hashes := blockHashes(t, ctx, c, head.Number.Uint64())
	nonce, err := c.Client().NonceAt(ctx, c.Address(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A second chain on the same directory is refused while the first runs.
	if _, err := Start(Config{HTTP: "127.0.0.1:0", DataDir: dir}); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second chain on a used data directory: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: accounts 0 takes the recorded 3; another count is refused.
	if _, err := Start(Config{HTTP: "127.0.0.1:0", Accounts: 5, DataDir: dir}); err == nil || !strings.Contains(err.Error(), "3 dev accounts, not 5") {
		t.Fatalf("restart with another account count: %v", err)
	}
	c, err = Start(Config{HTTP: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.StartHead() != head.Number.Uint64() || len(c.Keys()) != 3 {
		t.Fatalf("restarted at block %d with %d accounts, want block %d with 3", c.StartHead(), len(c.Keys()), head.Number)
	}
	for n, h := range blockHashes(t, ctx, c, head.Number.Uint64()) {
		if h != hashes[n] {
			t.Fatalf("block %d: hash %s after the restart, %s before", n, h.Hex(), hashes[n].Hex())
		}
	}
	again, err := c.DeployRegistry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Address != reg.Address || again.TokenAddress != reg.TokenAddress || again.Block != reg.Block {
		t.Fatalf("after the restart the registry is %+v, was %+v", again, reg)
	}
	if n, err := c.Client().NonceAt(ctx, c.Address(0), nil); err != nil || n != nonce {
		t.Fatalf("dev account 0 sent %d transactions after the restart (%v): the registry was deployed again", n-nonce, err)
	}
	if in, err := again.Contract.IsInMembershipSet(nil, big.NewInt(1234)); err != nil || !in {
		t.Fatalf("the membership did not survive the restart: %v %v", in, err)
	}
	// The chain seals on past its adjusted clock, and takes new members.
	if _, err := register(ctx, c, again, 2, 5678); err != nil {
		t.Fatal(err)
	}
	next, err := c.Client().HeaderByNumber(ctx, nil)
	if err != nil || next.Number.Uint64() <= head.Number.Uint64() || next.Time <= head.Time {
		t.Fatalf("head after the restart %v (%v), before %d at %d", next, err, head.Number, head.Time)
	}
}

// blockHashes returns the hashes of blocks 0..n.
func blockHashes(t *testing.T, ctx context.Context, c *Chain, n uint64) []common.Hash {
	t.Helper()
	var out []common.Hash
	for i := range n + 1 {
		h, err := c.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(i))
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		out = append(out, h.Hash())
	}
	return out
}

// TestDevChainDataDirSurvivesKill: a chain whose process is killed (no
// Close) restarts at the last block it sealed. The chain runs in a child
// process (this test binary again) that seals blocks, reports the head and
// waits to be killed.
func TestDevChainDataDirSurvivesKill(t *testing.T) {
	if dir := os.Getenv("DEVCHAIN_KILL_CHILD"); dir != "" {
		killChild(dir)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDevChainDataDirSurvivesKill$")
	cmd.Env = append(os.Environ(), "DEVCHAIN_KILL_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("child: %v", err)
	}
	var n uint64
	var hash string
	if _, err := fmt.Sscanf(line, "head %d %s", &n, &hash); err != nil {
		t.Fatalf("child said %q", line)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	c, err := Start(Config{HTTP: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, err := c.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(n))
	if err != nil || h.Hash().Hex() != hash || c.StartHead() != n {
		t.Fatalf("after the kill: head %d, block %d %v (%v), want %s", c.StartHead(), n, h, err, hash)
	}
	reg, err := c.DeployRegistry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if in, err := reg.Contract.IsInMembershipSet(nil, big.NewInt(99)); err != nil || !in {
		t.Fatalf("membership lost in the kill: %v %v", in, err)
	}
}

// killChild is the child of TestDevChainDataDirSurvivesKill.
func killChild(dir string) {
	ctx := context.Background()
	c, err := Start(Config{HTTP: "127.0.0.1:0", Accounts: 2, DataDir: dir})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	reg, err := c.DeployRegistry(ctx)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if _, err := register(ctx, c, reg, 1, 99); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for range 5 {
		c.Commit()
	}
	head, err := c.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("head %d %s\n", head.Number, head.Hash().Hex())
	select {} // until killed
}
