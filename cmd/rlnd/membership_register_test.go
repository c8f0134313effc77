package main

import (
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/rlnd/rlnd/contracts/devchain"
)

// Register approves exactly the deposit when the allowance is short, then
// registers: the registry's token balance grows by the price and the
// allowance is spent. An allowance that covers the deposit is used as is.
func TestRegisterApprovesThenDeposits(t *testing.T) {
	t.Parallel()
	e := newChainEnv(t)
	payer := devchain.DevAddress(1)
	regBefore, payerBefore := e.tokenBalance(e.registry), e.tokenBalance(payer)
	code, stdout, stderr := e.cli(e.registerArgs("--rate-limit", "20", "--dev-key", "1")...)
	if code != 0 {
		t.Fatalf("register: exit %d %s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"deposit for rate limit 20: 20000000000000000 base units (0.02 RLNDT, 18 decimals) of token " + e.tokenAt.Hex(),
		"approving the registry " + e.registry.Hex() + " to take exactly the deposit, 20000000000000000 base units",
		"approved in block ", "at index 0 in block ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if got := new(big.Int).Sub(e.tokenBalance(e.registry), regBefore); got.Cmp(price(20)) != 0 {
		t.Fatalf("the registry's token balance grew by %v, want %v", got, price(20))
	}
	if got := new(big.Int).Sub(payerBefore, e.tokenBalance(payer)); got.Cmp(price(20)) != 0 {
		t.Fatalf("the payer paid %v, want %v", got, price(20))
	}
	if a := e.allowance(payer); a.Sign() != 0 {
		t.Fatalf("allowance left %v, want 0 (approved exactly the deposit)", a)
	}
	if n := e.nonce(payer); n != 2 {
		t.Fatalf("the payer sent %d transactions, want 2 (approve, register)", n)
	}

	// An allowance larger than the deposit: no approval, even with
	// --no-approve, and the deposit comes out of it.
	e.send(1, func(a *bind.TransactOpts) (*types.Transaction, error) {
		return e.token.Approve(a, e.registry, price(100))
	})
	code, stdout, stderr = e.cli(e.registerArgs("--rate-limit", "30", "--dev-key", "1", "--no-approve")...)
	if code != 0 || strings.Contains(stdout, "approving") || !strings.Contains(stdout, "covers the deposit") || !strings.Contains(stdout, "at index 1 ") {
		t.Fatalf("register with an allowance: exit %d %s%s", code, stdout, stderr)
	}
	if a := e.allowance(payer); a.Cmp(price(70)) != 0 {
		t.Fatalf("allowance %v after the deposit, want %v", a, price(70))
	}
	if n := e.nonce(payer); n != 4 {
		t.Fatalf("the payer sent %d transactions, want 4", n)
	}
}

// --no-approve with a short allowance stops before sending anything, with
// one line naming owner, spender, token and amount.
func TestRegisterNoApprove(t *testing.T) {
	t.Parallel()
	e := newChainEnv(t)
	owner := devchain.DevAddress(2)
	e.send(2, func(a *bind.TransactOpts) (*types.Transaction, error) {
		return e.token.Approve(a, e.registry, big.NewInt(5))
	})
	code, stdout, stderr := e.cli(e.registerArgs("--rate-limit", "20", "--dev-key", "2", "--no-approve")...)
	want := fmt.Sprintf("rlnd: --no-approve: the registry's allowance is short: account %s must first approve spender %s (the registry) "+
		"for 20000000000000000 base units (0.02 RLNDT, 18 decimals) of token %s (the allowance now is 5 base units): nothing was sent\n",
		owner.Hex(), e.registry.Hex(), e.tokenAt.Hex())
	if code != 1 || stderr != want {
		t.Fatalf("exit %d stderr\n%q, want\n%q", code, stderr, want)
	}
	if strings.Contains(stdout, "sent") || strings.Contains(stdout, "approving") {
		t.Fatalf("stdout %q", stdout)
	}
	if n := e.nonce(owner); n != 1 {
		t.Fatalf("the owner sent %d transactions, want only the test's approve", n)
	}
	if _, err := os.Stat(e.ks); err == nil {
		t.Fatal("a keystore was written")
	}
}

// Mistakes the registry would revert on are refused before anything is
// sent, each with one line: the chain's own revert, decoded, for a
// duplicate, the registry's bounds for the rate limit, the balance for a
// payer without tokens.
func TestRegisterChecksBeforeSending(t *testing.T) {
	t.Parallel()
	e := newChainEnv(t)
	id := e.dir + "/id.json"
	if code, _, stderr := e.cli("membership", "keygen", "--out", id); code != 0 {
		t.Fatal(stderr)
	}
	if code, stdout, stderr := e.cli(e.registerArgs("--rate-limit", "20", "--dev-key", "1", "--identity", id)...); code != 0 {
		t.Fatalf("register: %s%s", stdout, stderr)
	}
	// dev account 3 has sent nothing; account 4 gives its tokens away.
	e.send(4, func(a *bind.TransactOpts) (*types.Transaction, error) {
		return e.token.Transfer(a, devchain.DevAddress(0), devchain.TokenFunds)
	})
	tests := []struct {
		name  string
		args  []string
		code  int
		want  string
		payer int
	}{
		{"duplicate", []string{"--rate-limit", "20", "--dev-key", "3", "--identity", id}, 1,
			`rlnd: register reverts: "Duplicate idCommitment: membership already exists": nothing was sent`, 3},
		{"above the maximum", []string{"--rate-limit", "601", "--dev-key", "3"}, 2,
			"rlnd: --rate-limit 601: the registry takes 1..600 messages per epoch (it would revert with InvalidMembershipRateLimit())", 3},
		{"no tokens", []string{"--rate-limit", "20", "--dev-key", "4"}, 1,
			fmt.Sprintf("rlnd: account %s holds 0 base units (0 RLNDT, 18 decimals) of token %s, and the deposit for rate limit 20 is 20000000000000000 base units (0.02 RLNDT, 18 decimals): nothing was sent",
				devchain.DevAddress(4).Hex(), e.tokenAt.Hex()), 4},
	}
	for _, tt := range tests {
		before := e.nonce(devchain.DevAddress(tt.payer))
		code, _, stderr := e.cli(e.registerArgs(tt.args...)...)
		if code != tt.code || stderr != tt.want+"\n" {
			t.Errorf("%s: exit %d\n%q, want exit %d\n%q", tt.name, code, stderr, tt.code, tt.want+"\n")
		}
		if n := e.nonce(devchain.DevAddress(tt.payer)); n != before {
			t.Errorf("%s: the payer sent %d transactions", tt.name, n-before)
		}
	}
}

// The remaining total is checked before sending; past that check, the
// chain's reverts are decoded whether they come from gas estimation, from
// eth_call or from a mined transaction (replayed at its block).
func TestRegisterDecodesChainReverts(t *testing.T) {
	t.Parallel()
	e := newChainEnv(t)
	// Dev account 0 owns the registry: a total of 600, 590 of it used.
	e.send(0, func(a *bind.TransactOpts) (*types.Transaction, error) { return e.reg.SetMaxTotalRateLimit(a, 600) })
	if code, stdout, stderr := e.cli(e.registerArgs("--rate-limit", "590", "--dev-key", "1")...); code != 0 {
		t.Fatalf("register 590: %s%s", stdout, stderr)
	}
	code, _, stderr := e.cli(e.registerArgs("--rate-limit", "20", "--dev-key", "2")...)
	if code != 1 || stderr != "rlnd: --rate-limit 20: the registry's memberships already use 590 of its total of 600 messages per epoch, 10 are left (it would revert with CannotExceedMaxTotalRateLimit())\n" {
		t.Fatalf("total pre-check: exit %d %q", code, stderr)
	}

	r := e.registrarFor(2)
	idc := big.NewInt(424242)
	cases := []struct {
		name      string
		rateLimit uint32
		gas       uint64 // 0: estimated (the revert comes from eth_estimateGas)
		want      string
	}{
		{"estimate, bounds", 601, 0, "register reverts: InvalidMembershipRateLimit()"},
		{"estimate, total", 20, 0, "register reverts: CannotExceedMaxTotalRateLimit()"},
		{"mined, bounds", 601, 2_000_000, "reverted: InvalidMembershipRateLimit()"},
		{"mined, total", 20, 2_000_000, "reverted: CannotExceedMaxTotalRateLimit()"},
		{"estimate, allowance", 5, 0, `register reverts: "ERC20: insufficient allowance"`},
		{"mined, allowance", 5, 2_000_000, `reverted: "ERC20: insufficient allowance"`},
		{"mined, out of gas", 5, 200_000, "reverted without a reason after using "},
	}
	for _, tc := range cases {
		_, err := r.register(e.ctx, idc, tc.rateLimit, tc.gas)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "execution reverted") {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if tc.gas != 0 && (err == nil || !strings.Contains(err.Error(), "failed in block")) {
			t.Errorf("%s: %v, want a mined failure", tc.name, err)
		}
	}
	// eth_call (the dry run): a custom error with its argument.
	err := r.dryRun(e.ctx, big.NewInt(0), 5, false)
	if err == nil || err.Error() != "register reverts: InvalidIdCommitment(idCommitment=0x"+strings.Repeat("0", 64)+"): nothing was sent" {
		t.Fatalf("dry run of commitment 0: %v", err)
	}
	// A payer whose tokens left after the approval: the token's revert string.
	e.send(3, func(a *bind.TransactOpts) (*types.Transaction, error) {
		return e.token.Approve(a, e.registry, price(5))
	})
	e.send(3, func(a *bind.TransactOpts) (*types.Transaction, error) {
		return e.token.Transfer(a, devchain.DevAddress(0), devchain.TokenFunds)
	})
	if _, err := e.registrarFor(3).register(e.ctx, idc, 5, 0); err == nil || err.Error() != `register reverts: "ERC20: transfer amount exceeds balance"` {
		t.Fatalf("register without tokens: %v", err)
	}
}

// Bad input and unreachable chains are one line each, never a panic.
func TestRegisterBadInput(t *testing.T) {
	t.Parallel()
	e := newChainEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	// An endpoint that never answers.
	quit := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	defer hang.Close()
	defer close(quit)
	withRPC := func(rpc string, extra ...string) []string {
		a := e.registerArgs(extra...)
		a[3] = rpc
		return a
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"dev key -2", e.registerArgs("--rate-limit", "20", "--dev-key", "-2"), 2, "--dev-key -2: want a dev account of rlnd devchain, 0..N-1"},
		{"dev key 1000", e.registerArgs("--rate-limit", "20", "--dev-key", "1000"), 2, "--dev-key 1000: want a dev account"},
		{"dev key 10 of 10", e.registerArgs("--rate-limit", "20", "--dev-key", "10"), 2,
			fmt.Sprintf("--dev-key 10: dev account 10 (%s) has no ether on chain 1337: rlnd devchain funds accounts 0..N-1", devchain.DevAddress(10).Hex())},
		{"rate limit abc", e.registerArgs("--rate-limit", "abc", "--dev-key", "1"), 2, `--rate-limit "abc": want a whole number of messages per epoch`},
		{"rate limit -5", e.registerArgs("--rate-limit", "-5", "--dev-key", "1"), 2, `--rate-limit "-5": want a whole number`},
		{"rate limit 0", e.registerArgs("--rate-limit", "0", "--dev-key", "1"), 2, `--rate-limit "0": want a whole number`},
		{"no rate limit", e.registerArgs("--dev-key", "1"), 2, "--rate-limit is required"},
		{"contract not hex", append(e.registerArgs("--rate-limit", "20", "--dev-key", "1"), "--contract", "0x12"), 2, `--contract "0x12" is not an address`},
		{"contract without code", append(e.registerArgs("--rate-limit", "20", "--dev-key", "1"), "--contract", devchain.DevAddress(7).Hex()), 2,
			"--contract " + devchain.DevAddress(7).Hex() + ": no contract at that address on chain 1337"},
		{"contract not a registry", append(e.registerArgs("--rate-limit", "20", "--dev-key", "1"), "--contract", e.tokenAt.Hex()), 2,
			"--contract " + e.tokenAt.Hex() + " is not an RLN registry like WakuRlnV2 (priceCalculator() reverts: no reason given)"},
		{"rpc down", withRPC(dead, "--rate-limit", "20", "--dev-key", "1"), 1, "connection refused"},
		{"rpc not a URL", withRPC("nope", "--rate-limit", "20", "--dev-key", "1"), 2, "--rpc nope: "},
		{"rpc hangs", withRPC(hang.URL, "--rate-limit", "20", "--dev-key", "1", "--timeout", "1s"), 1, "context deadline exceeded"},
		{"timeout 0", e.registerArgs("--rate-limit", "20", "--dev-key", "1", "--timeout", "0s"), 2, "--timeout 0s: must be positive"},
	}
	for _, tt := range tests {
		start := time.Now()
		code, _, stderr := e.cli(tt.args...)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d: %q", tt.name, code, tt.code, stderr)
			continue
		}
		oneLine(t, stderr, tt.want)
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%s took %v", tt.name, d)
		}
	}
	if n := e.nonce(crypto.PubkeyToAddress(devchain.DevKey(1).PublicKey)); n != 0 {
		t.Fatalf("dev account 1 sent %d transactions", n)
	}
}
