package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/rlnd/rlnd/contracts/bindings"
	"github.com/rlnd/rlnd/internal/redact"
)

// registrar is a registration's session with the chain: the registry, the
// paying account (the membership's holder) and where progress is printed.
type registrar struct {
	cl       *ethclient.Client
	chainID  *big.Int
	registry common.Address
	reg      *bindings.RlnRegistry
	key      *ecdsa.PrivateKey
	owner    common.Address
	out      io.Writer
}

// dialRegistry connects to rpcURL and binds the registry at addr, checking
// that there is a contract there.
func dialRegistry(ctx context.Context, rpcURL string, addr common.Address) (*ethclient.Client, *big.Int, *bindings.RlnRegistry, error) {
	cl, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return nil, nil, nil, usageError{fmt.Errorf("--rpc %s: %w", redact.URL(rpcURL), err)}
	}
	chainID, err := cl.ChainID(ctx)
	if err != nil {
		cl.Close()
		return nil, nil, nil, fmt.Errorf("--rpc %s: chain id: %w", redact.URL(rpcURL), err)
	}
	code, err := cl.CodeAt(ctx, addr, nil)
	if err != nil {
		cl.Close()
		return nil, nil, nil, fmt.Errorf("--rpc %s: code at %s: %w", redact.URL(rpcURL), addr.Hex(), err)
	}
	if len(code) == 0 {
		cl.Close()
		return nil, nil, nil, usageError{fmt.Errorf("--contract %s: no contract at that address on chain %d", addr.Hex(), chainID)}
	}
	reg, err := bindings.NewRlnRegistry(addr, cl)
	if err != nil {
		cl.Close()
		return nil, nil, nil, err
	}
	return cl, chainID, reg, nil
}

// registryTerms are what the registry asks of a new membership.
type registryTerms struct {
	token                  common.Address
	price                  *big.Int // deposit for the rate limit asked, in token base units
	min, max               uint32   // bounds of one membership's rate limit
	maxTotal, currentTotal *big.Int // cap on and sum of all memberships' rate limits
}

// terms reads the price of a membership of rateLimit and the registry's
// rate limit bounds. A contract that does not answer as WakuRlnV2 does is
// not a registry.
func (r *registrar) terms(ctx context.Context, rateLimit uint32) (registryTerms, error) {
	var t registryTerms
	opts := &bind.CallOpts{Context: ctx}
	notRegistry := func(call string, err error) error {
		if !isRevert(err) && !errors.Is(err, bind.ErrNoCode) {
			return fmt.Errorf("registry %s: %s: %w", r.registry.Hex(), call, err)
		}
		return usageError{fmt.Errorf("--contract %s is not an RLN registry like WakuRlnV2 (%v)", r.registry.Hex(), revertError(call, err))}
	}
	calcAddr, err := r.reg.PriceCalculator(opts)
	if err != nil {
		return t, notRegistry("priceCalculator()", err)
	}
	calc, err := bindings.NewLinearPriceCalculator(calcAddr, r.cl)
	if err != nil {
		return t, err
	}
	if t.token, t.price, err = calc.Calculate(opts, rateLimit); err != nil {
		return t, notRegistry(fmt.Sprintf("priceCalculator %s calculate(%d)", calcAddr.Hex(), rateLimit), err)
	}
	if t.min, err = r.reg.MinMembershipRateLimit(opts); err != nil {
		return t, notRegistry("minMembershipRateLimit()", err)
	}
	if t.max, err = r.reg.MaxMembershipRateLimit(opts); err != nil {
		return t, notRegistry("maxMembershipRateLimit()", err)
	}
	maxTotal, err := r.reg.MaxTotalRateLimit(opts)
	if err != nil {
		return t, notRegistry("maxTotalRateLimit()", err)
	}
	t.maxTotal = new(big.Int).SetUint64(uint64(maxTotal))
	if t.currentTotal, err = r.reg.CurrentTotalRateLimit(opts); err != nil {
		return t, notRegistry("currentTotalRateLimit()", err)
	}
	return t, nil
}

// checkRateLimit refuses, before anything is sent, a rate limit the
// registry would refuse (the chain's own check stays: see register).
func checkRateLimit(t registryTerms, rateLimit uint32) error {
	if rateLimit < t.min || rateLimit > t.max {
		return usageError{fmt.Errorf("--rate-limit %d: the registry takes %d..%d messages per epoch (it would revert with InvalidMembershipRateLimit())",
			rateLimit, t.min, t.max)}
	}
	left := new(big.Int).Sub(t.maxTotal, t.currentTotal)
	if left.Cmp(new(big.Int).SetUint64(uint64(rateLimit))) < 0 {
		if left.Sign() < 0 {
			left.SetInt64(0)
		}
		return fmt.Errorf("--rate-limit %d: the registry's memberships already use %v of its total of %v messages per epoch, %v are left (it would revert with CannotExceedMaxTotalRateLimit())",
			rateLimit, t.currentTotal, t.maxTotal, left)
	}
	return nil
}

// tokenInfo is the deposit token and how to show its amounts.
type tokenInfo struct {
	addr     common.Address
	erc20    *bindings.TestToken // any ERC-20: only balanceOf, allowance, approve, decimals, symbol are used
	decimals int                 // -1 if decimals() does not answer
	symbol   string              // "" if symbol() does not answer
}

// depositToken binds the ERC-20 at addr and reads its decimals and symbol,
// both optional in ERC-20.
func depositToken(ctx context.Context, cl *ethclient.Client, addr common.Address) (tokenInfo, error) {
	tok := tokenInfo{addr: addr, decimals: -1}
	var err error
	if tok.erc20, err = bindings.NewTestToken(addr, cl); err != nil {
		return tok, err
	}
	opts := &bind.CallOpts{Context: ctx}
	if d, err := tok.erc20.Decimals(opts); err == nil {
		tok.decimals = int(d)
	}
	if s, err := tok.erc20.Symbol(opts); err == nil && isPrintable(s) {
		tok.symbol = s
	}
	return tok, nil
}

// amount shows a token amount in base units and, when decimals() answers,
// in tokens: "20000000000000000 base units (0.02 RLNDT, 18 decimals)".
func (t tokenInfo) amount(v *big.Int) string {
	if t.decimals < 0 {
		return fmt.Sprintf("%v base units (the token does not answer decimals())", v)
	}
	unit := t.symbol
	if unit == "" {
		unit = "tokens"
	}
	return fmt.Sprintf("%v base units (%s %s, %d decimals)", v, formatUnits(v, t.decimals), unit, t.decimals)
}

// formatUnits writes v / 10^decimals in decimal without trailing zeros.
func formatUnits(v *big.Int, decimals int) string {
	s := new(big.Int).Abs(v).String()
	if len(s) <= decimals {
		s = strings.Repeat("0", decimals-len(s)+1) + s
	}
	whole, frac := s[:len(s)-decimals], strings.TrimRight(s[len(s)-decimals:], "0")
	if v.Sign() < 0 {
		whole = "-" + whole
	}
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

func isPrintable(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

// checkEther refuses a payer without ether for gas; a dev key gets the dev
// chain's explanation.
func (r *registrar) checkEther(ctx context.Context, devKey int) error {
	bal, err := r.cl.BalanceAt(ctx, r.owner, nil)
	if err != nil {
		return fmt.Errorf("balance of %s: %w", r.owner.Hex(), err)
	}
	if bal.Sign() > 0 {
		return nil
	}
	if devKey >= 0 {
		return usageError{fmt.Errorf("--dev-key %d: dev account %d (%s) has no ether on chain %v: rlnd devchain funds accounts 0..N-1 (N is its --accounts, 10 by default)",
			devKey, devKey, r.owner.Hex(), r.chainID)}
	}
	return fmt.Errorf("account %s has no ether on chain %v to pay for gas", r.owner.Hex(), r.chainID)
}

// checkBalance refuses, before anything is sent, a payer holding less of
// the token than the deposit.
func (r *registrar) checkBalance(ctx context.Context, tok tokenInfo, price *big.Int, rateLimit uint32) error {
	bal, err := tok.erc20.BalanceOf(&bind.CallOpts{Context: ctx}, r.owner)
	if err != nil {
		return revertError(fmt.Sprintf("token %s balanceOf(%s)", tok.addr.Hex(), r.owner.Hex()), err)
	}
	if bal.Cmp(price) < 0 {
		return fmt.Errorf("account %s holds %s of token %s, and the deposit for rate limit %d is %s: nothing was sent",
			r.owner.Hex(), tok.amount(bal), tok.addr.Hex(), rateLimit, tok.amount(price))
	}
	return nil
}

// dryRun runs register(id, rateLimit, []) with eth_call from the payer and
// returns its decoded revert, if any, as an error. allowanceShort makes a
// revert for the allowance (which approve is about to fix) no error.
func (r *registrar) dryRun(ctx context.Context, id *big.Int, rateLimit uint32, allowanceShort bool) error {
	abi, err := bindings.RlnRegistryMetaData.GetAbi()
	if err != nil {
		return err
	}
	data, err := abi.Pack("register", id, rateLimit, []*big.Int{})
	if err != nil {
		return err
	}
	_, err = r.cl.CallContract(ctx, ethereum.CallMsg{From: r.owner, To: &r.registry, Data: data}, nil)
	if err == nil {
		return nil
	}
	e := revertError("register", err)
	if allowanceShort && strings.Contains(e.Error(), `"ERC20: insufficient allowance"`) {
		return nil
	}
	return fmt.Errorf("%w: nothing was sent", e)
}

// approve lets the registry take exactly price of the token from the payer
// and waits for it.
func (r *registrar) approve(ctx context.Context, tok tokenInfo, price *big.Int) error {
	fmt.Fprintf(r.out, "approving the registry %s to take exactly the deposit, %s of token %s, from %s\n",
		r.registry.Hex(), tok.amount(price), tok.addr.Hex(), r.owner.Hex())
	auth, err := r.transactor(ctx)
	if err != nil {
		return err
	}
	tx, err := tok.erc20.Approve(auth, r.registry, price)
	if err != nil {
		return revertError("approve", err)
	}
	rcpt, err := waitSucceeded(ctx, r.cl, r.owner, "approve", tx)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "approved in block %d (tx %s)\n", rcpt.BlockNumber, tx.Hash().Hex())
	return nil
}

func (r *registrar) transactor(ctx context.Context) (*bind.TransactOpts, error) {
	auth, err := bind.NewKeyedTransactorWithChainID(r.key, r.chainID)
	if err != nil {
		return nil, err
	}
	auth.Context = ctx
	return auth, nil
}

// ownerOf is the address of key.
func ownerOf(key *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(key.PublicKey) }
