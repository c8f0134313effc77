package main

import (
	"context"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/rlnd/rlnd/contracts/bindings"
	"github.com/rlnd/rlnd/contracts/devchain"
)

// chainEnv is a dev chain with its registry (0.001 token per message per
// epoch) and a keystore, for the membership command tests.
type chainEnv struct {
	t        *testing.T
	ctx      context.Context
	c        *devchain.Chain
	info     devchainInfo
	registry common.Address
	reg      *bindings.RlnRegistry
	token    *bindings.TestToken
	tokenAt  common.Address
	dir, ks  string
	env      []string
}

func newChainEnv(t *testing.T) *chainEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	c, info, err := startDevchain(ctx, devchain.Config{HTTP: "127.0.0.1:0", BlockTime: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e := &chainEnv{t: t, ctx: ctx, c: c, info: info, registry: common.HexToAddress(info.Contract),
		tokenAt: common.HexToAddress(info.Token), dir: t.TempDir(), env: []string{"RLND_KEYSTORE_PASSWORD=pw"}}
	e.ks = filepath.Join(e.dir, "ks.json")
	if e.reg, err = bindings.NewRlnRegistry(e.registry, c.Client()); err != nil {
		t.Fatal(err)
	}
	if e.token, err = bindings.NewTestToken(e.tokenAt, c.Client()); err != nil {
		t.Fatal(err)
	}
	return e
}

// registerArgs is a register command line against the env's registry.
func (e *chainEnv) registerArgs(extra ...string) []string {
	return append([]string{"membership", "register", "--rpc", e.info.RPCURL, "--contract", e.info.Contract,
		"--keystore", e.ks, "--kdf-iterations", "1000"}, extra...)
}

// cli runs a command line with the env's keystore password.
func (e *chainEnv) cli(args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	return runCLI(e.t, e.env, args...)
}

func (e *chainEnv) opts() *bind.CallOpts { return &bind.CallOpts{Context: e.ctx} }

func (e *chainEnv) tokenBalance(a common.Address) *big.Int {
	e.t.Helper()
	b, err := e.token.BalanceOf(e.opts(), a)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *chainEnv) allowance(owner common.Address) *big.Int {
	e.t.Helper()
	a, err := e.token.Allowance(e.opts(), owner, e.registry)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *chainEnv) nonce(a common.Address) uint64 {
	e.t.Helper()
	n, err := e.c.Client().NonceAt(e.ctx, a, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// send sends a transaction from dev account i and waits for its success.
func (e *chainEnv) send(i int, f func(*bind.TransactOpts) (*types.Transaction, error)) *types.Receipt {
	e.t.Helper()
	auth, err := e.c.Transactor(i)
	if err != nil {
		e.t.Fatal(err)
	}
	auth.Context = e.ctx
	tx, err := f(auth)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := e.c.WaitMined(e.ctx, tx)
	if err != nil || r.Status != types.ReceiptStatusSuccessful {
		e.t.Fatalf("transaction from dev account %d: %v (receipt %+v)", i, err, r)
	}
	return r
}

// price is the deposit for a rate limit on the dev registry.
func price(rateLimit int64) *big.Int {
	return new(big.Int).Mul(devchain.PricePerMessage, big.NewInt(rateLimit))
}

// registrarFor opens a registration session paying with dev account i, to
// call its steps directly (past the command's checks).
func (e *chainEnv) registrarFor(i int) *registrar {
	e.t.Helper()
	cl, chainID, reg, err := dialRegistry(e.ctx, e.info.RPCURL, e.registry)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(cl.Close)
	key := devchain.DevKey(i)
	return &registrar{cl: cl, chainID: chainID, registry: e.registry, reg: reg, key: key,
		owner: crypto.PubkeyToAddress(key.PublicKey), out: &strings.Builder{}}
}

// oneLine fails unless stderr is a single line holding want.
func oneLine(t *testing.T, stderr, want string) {
	t.Helper()
	if !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Fatalf("stderr %q, want one line holding %q", stderr, want)
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "execution reverted") {
		t.Fatalf("stderr %q", stderr)
	}
}
