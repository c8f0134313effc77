package contracts_test

import (
	"context"
	"math/big"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"

	"github.com/rlnd/rlnd/contracts"
	"github.com/rlnd/rlnd/contracts/bindings"
	"github.com/rlnd/rlnd/contracts/devchain"
	"github.com/rlnd/rlnd/rln/merkle"
)

// simChainID is the simulated backend's chain id.
const simChainID = 1337

// users is how many funded accounts a test chain has; user 0 deploys, so
// it owns the registry, the calculator and the token.
const users = 3

// txGas is every transaction's gas limit. Transactions are sent without a
// gas estimate, so that a call expected to revert is mined and reverts at
// the block time the model predicts for it (an estimate runs on the
// previous block's time); the reason is then read by replaying the call on
// that block. It is below Osaka's per-transaction cap of 2^24.
const txGas = 16_000_000

// tokenFunds is each user's test-token balance unless a test sets others.
var tokenFunds = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))

// testParams are short periods (in seconds) and a small total, so that
// tests move time by seconds and reach the cap; deposits cost 3 token units
// per message.
func testParams() contracts.RegistryParams {
	return contracts.RegistryParams{
		PricePerMessage:   big.NewInt(3),
		MinRateLimit:      20,
		MaxRateLimit:      600,
		MaxTotalRateLimit: 1000,
		ActiveDuration:    1000,
		GracePeriod:       500,
	}
}

// wakuParams are WakuRlnV2's deploy defaults: rate limits 20..600 per
// membership, 160,000 in all, active 180 days, 30 days of grace; free.
func wakuParams() contracts.RegistryParams {
	const day = 24 * 60 * 60
	return contracts.RegistryParams{
		PricePerMessage:   new(big.Int),
		MinRateLimit:      20,
		MaxRateLimit:      600,
		MaxTotalRateLimit: 160_000,
		ActiveDuration:    180 * day,
		GracePeriod:       30 * day,
	}
}

// envOptions configure newEnv.
type envOptions struct {
	// params are the registry's; Token is replaced by the env's test token.
	params contracts.RegistryParams
	// rules edits the simulated chain's configuration (nil: the dev
	// chain's, as go-ethereum has it).
	rules func(*node.Config, *ethconfig.Config)
	// funds are the users' test-token balances (nil: tokenFunds each).
	funds []*big.Int
}

// env is a simulated chain with a test token and a registry deployed as
// WakuRlnV2 is (calculator, implementation, ERC-1967 proxy), a model of the
// registry (model) that predicts every transaction's events or revert, and
// a mirror of the tree fed from the registry's events the way a syncing
// node would be. Block times are deterministic: the clock is moved far
// ahead of the wall clock first, so every block is its parent plus one
// second unless a test moves time.
type env struct {
	t      *testing.T
	sim    *simulated.Backend
	client simulated.Client
	users  []*bind.TransactOpts

	d       contracts.Deployment
	reg     *bindings.RlnRegistry
	regAddr common.Address
	dev     *bindings.DevRlnRegistry // nil unless params.Dev
	calc    *bindings.LinearPriceCalculator

	tokenAddr common.Address
	token     *bindings.TestToken

	m      *model
	mirror *merkle.Tree
	seen   map[string]*big.Int // every id commitment a transaction named

	// unmined counts each user's transactions sent since the last block:
	// nonces are set explicitly, as the pool's pending nonce lags a
	// transaction just added.
	unmined []uint64
}

func newEnv(t *testing.T, p contracts.RegistryParams) *env {
	t.Helper()
	return newEnvWith(t, envOptions{params: p})
}

func newEnvWith(t *testing.T, o envOptions) *env {
	t.Helper()
	alloc := types.GenesisAlloc{}
	e := &env{t: t, seen: map[string]*big.Int{}, unmined: make([]uint64, users)}
	for i := range users {
		k := devchain.DevKey(i)
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))}
		auth, err := bind.NewKeyedTransactorWithChainID(k, big.NewInt(simChainID))
		if err != nil {
			t.Fatal(err)
		}
		e.users = append(e.users, auth)
	}
	var opts []func(*node.Config, *ethconfig.Config)
	if o.rules != nil {
		opts = append(opts, o.rules)
	}
	e.sim = simulated.NewBackend(alloc, opts...)
	t.Cleanup(func() { _ = e.sim.Close() })
	e.client = e.sim.Client()

	// 1000 days ahead of the wall clock, Commit's block times are
	// deterministic: each block is its parent plus one second.
	genesis := time.Unix(int64(e.head().Time), 0)
	if err := e.sim.AdjustTime((time.Since(genesis) + 1000*24*time.Hour).Truncate(time.Second)); err != nil {
		t.Fatal(err)
	}
	if ahead := time.Until(time.Unix(int64(e.head().Time), 0)); ahead < 999*24*time.Hour {
		t.Fatalf("the chain's clock is only %v ahead of the wall clock", ahead)
	}

	// The test token, with the users' balances.
	addrs := make([]common.Address, users)
	for i, u := range e.users {
		addrs[i] = u.From
	}
	funds := o.funds
	if funds == nil {
		funds = slices.Repeat([]*big.Int{tokenFunds}, users)
	}
	tokenAddr, tx, token, err := bindings.DeployTestToken(e.opts(0), e.client, addrs, new(big.Int))
	if err != nil {
		t.Fatalf("deploying the test token: %v", err)
	}
	txs := []*types.Transaction{tx}
	for i, f := range funds {
		tx, err := token.Mint(e.opts(0), addrs[i], f)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	e.mineAll(txs...)
	e.tokenAddr, e.token = tokenAddr, token

	// The registry, as WakuRlnV2's deploy script does it.
	p := o.params
	p.Token = tokenAddr
	d, err := contracts.DeployRegistry(context.Background(), e.opts(0), e.client, p, e.wait)
	if err != nil {
		t.Fatalf("DeployRegistry: %v", err)
	}
	rs := e.mineAll(d.Txs...)
	t.Logf("deployment gas: calculator %d, implementation %d, proxy with initialize %d",
		rs[0].GasUsed, rs[1].GasUsed, rs[2].GasUsed)
	e.d, e.reg, e.regAddr = d, d.Registry, d.Address
	if p.Dev {
		if e.dev, err = bindings.NewDevRlnRegistry(d.Address, e.client); err != nil {
			t.Fatal(err)
		}
	}
	if e.calc, err = bindings.NewLinearPriceCalculator(d.PriceCalculator, e.client); err != nil {
		t.Fatal(err)
	}

	// Unlimited allowances (TestToken does not decrement those).
	txs = nil
	for i := range e.users {
		tx, err := token.Approve(e.opts(i), e.regAddr, maxUint256)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	e.mineAll(txs...)

	price := p.PricePerMessage
	if price == nil {
		price = new(big.Int)
	}
	e.m = &model{
		addrs: addrs, registry: e.regAddr, owner: 0,
		minRate: p.MinRateLimit, maxRate: p.MaxRateLimit, maxTotal: p.MaxTotalRateLimit,
		active: p.ActiveDuration, grace: p.GracePeriod,
		calc:       d.PriceCalculator,
		calcs:      map[common.Address]calcTerms{d.PriceCalculator: {tokenAddr, price}},
		members:    map[string]member{},
		deposits:   map[holding]*big.Int{},
		balances:   map[holding]*big.Int{},
		allowances: map[holding]*big.Int{},
	}
	for i, a := range addrs {
		e.m.balances[holding{a, tokenAddr}] = funds[i]
		e.m.allowances[holding{a, tokenAddr}] = maxUint256
	}
	if e.mirror, err = merkle.New(20); err != nil {
		t.Fatal(err)
	}
	e.check()
	return e
}

// opts are user u's transaction options: no gas estimate (see txGas) and
// the next nonce.
func (e *env) opts(u int) *bind.TransactOpts {
	e.t.Helper()
	o := *e.users[u]
	o.GasLimit = txGas
	n, err := e.client.NonceAt(context.Background(), o.From, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	o.Nonce = new(big.Int).SetUint64(n + e.unmined[u])
	e.unmined[u]++
	return &o
}

// commit seals a block with the transactions sent. The pool promotes a
// transaction to pending in the background, and a block sealed before that
// leaves it out: commit first waits until the pool's pending nonce of each
// sender has passed its transaction's.
func (e *env) commit(txs ...*types.Transaction) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, tx := range txs {
		from, err := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
		if err != nil {
			e.t.Fatal(err)
		}
		for {
			n, err := e.client.PendingNonceAt(context.Background(), from)
			if err != nil {
				e.t.Fatal(err)
			}
			if n > tx.Nonce() {
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("transaction %s (nonce %d) not pending after 10 s (pending nonce %d)", tx.Hash(), tx.Nonce(), n)
			}
			runtime.Gosched()
		}
	}
	e.sim.Commit()
	clear(e.unmined)
}

// head is the latest block's header.
func (e *env) head() *types.Header {
	e.t.Helper()
	h, err := e.client.HeaderByNumber(context.Background(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

// now is the latest block's time: what views see.
func (e *env) now() uint64 { return e.head().Time }

// advance moves the chain's clock d seconds forward with an empty block.
// AdjustTime refuses while the pool lists pending transactions, and the
// pool drops those of the last block in the background after Commit: it is
// retried until the pool has caught up.
func (e *env) advance(d uint64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := e.sim.AdjustTime(time.Duration(d) * time.Second)
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "non-empty block") || time.Now().After(deadline) {
			e.t.Fatalf("AdjustTime: %v", err)
		}
		runtime.Gosched()
	}
}

// advanceTo makes the latest block's time ts (views then see ts, and the
// next transaction is mined at ts+1).
func (e *env) advanceTo(ts uint64) {
	e.t.Helper()
	now := e.now()
	if ts <= now {
		e.t.Fatalf("advanceTo(%d): the chain is already at %d", ts, now)
	}
	e.advance(ts - now)
}

// wait is the contracts.WaitFunc of the env: it seals tx's block.
func (e *env) wait(_ context.Context, tx *types.Transaction) (*types.Receipt, error) {
	return e.mineAll(tx)[0], nil
}

// mineAll seals one block with the transactions and returns their
// receipts, which must all report success.
func (e *env) mineAll(txs ...*types.Transaction) []*types.Receipt {
	e.t.Helper()
	e.commit(txs...)
	var rs []*types.Receipt
	for _, tx := range txs {
		r, err := e.client.TransactionReceipt(context.Background(), tx.Hash())
		if err != nil {
			from, _ := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
			n, _ := e.client.NonceAt(context.Background(), from, nil)
			pn, _ := e.client.PendingNonceAt(context.Background(), from)
			e.t.Fatalf("receipt of %s (nonce %d, to %v; sender nonce %d, pending %d): %v", tx.Hash(), tx.Nonce(), tx.To(), n, pn, err)
		}
		if r.Status != types.ReceiptStatusSuccessful {
			e.t.Fatalf("transaction %s failed (%d gas): %s", tx.Hash(), r.GasUsed, e.replay(tx, r))
		}
		rs = append(rs, r)
	}
	return rs
}

// outcome is what a mined transaction did.
type outcome struct {
	r      *types.Receipt
	reason string  // the revert reason; "" if it succeeded
	evs    []event // the registry's membership events, if it succeeded
}

// send has user u send one transaction, mines it alone in a block and
// returns its receipt and, if it failed, its revert reason. It checks
// nothing against the model: see exec.
func (e *env) send(u int, f func(*bind.TransactOpts) (*types.Transaction, error)) outcome {
	e.t.Helper()
	tx, err := f(e.opts(u))
	if err != nil {
		e.t.Fatalf("sending: %v", err)
	}
	e.commit(tx)
	r, err := e.client.TransactionReceipt(context.Background(), tx.Hash())
	if err != nil {
		e.t.Fatalf("receipt of %s: %v", tx.Hash(), err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return outcome{r: r, reason: e.replay(tx, r)}
	}
	return outcome{r: r}
}

// replay runs a failed transaction again as a call on its block (same
// state, same time) and returns the revert reason.
func (e *env) replay(tx *types.Transaction, r *types.Receipt) string {
	e.t.Helper()
	from, err := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = e.client.CallContract(context.Background(), ethereum.CallMsg{
		From: from, To: tx.To(), Gas: tx.Gas(), Value: tx.Value(), Data: tx.Data(),
	}, r.BlockNumber)
	if err == nil {
		e.t.Fatalf("transaction %s failed (%d of %d gas) but its replay succeeds", tx.Hash(), r.GasUsed, tx.Gas())
	}
	reason, ok := contracts.RevertReason(err)
	if !ok {
		e.t.Fatalf("transaction %s failed without revert data: %v", tx.Hash(), err)
	}
	return reason
}

// exec sends a transaction whose effect the model predicts: predict runs
// on a clone of the model at the block time the transaction will have and
// returns the events a success emits or the revert reason. exec checks the
// outcome against the prediction, keeps the clone on success, feeds the
// events to the mirror (full: an erasure zeroes leaves) and checks the
// registry against model and mirror.
func (e *env) exec(u int, full bool, predict func(m *model, now uint64) ([]event, string),
	f func(*bind.TransactOpts) (*types.Transaction, error)) outcome {
	e.t.Helper()
	now := e.now() + 1
	trial := e.m.clone()
	want, wantReason := predict(trial, now)
	o := e.send(u, f)
	if bt := e.blockTime(o.r); bt != now {
		e.t.Fatalf("transaction mined at %d, want %d (the clock moved)", bt, now)
	}
	if o.reason != wantReason {
		switch {
		case wantReason == "":
			e.t.Fatalf("reverted with %s, the model expects success with %v", o.reason, want)
		case o.reason == "":
			e.t.Fatalf("succeeded, the model expects revert %s", wantReason)
		default:
			e.t.Fatalf("reverted with %s, the model expects %s", o.reason, wantReason)
		}
	}
	if o.reason == "" {
		o.evs = e.apply(o.r, full)
		if !slices.EqualFunc(o.evs, want, eventsEqual) {
			e.t.Fatalf("events %v, the model expects %v", o.evs, want)
		}
		e.m = trial
		// root() costs ~20 Poseidon hashes in the EVM (slow under -race):
		// it is checked when a leaf was written. Any other change to it
		// would show at the next check, as the mirror's root did not move.
		if slices.ContainsFunc(o.evs, func(ev event) bool { return ev.kind == "Registered" || full && ev.kind == "Erased" }) {
			e.check()
		} else {
			e.checkState()
		}
	} else {
		e.checkState() // a revert changes no storage
	}
	return o
}

func eventsEqual(a, b event) bool {
	return a.kind == b.kind && a.id.Cmp(b.id) == 0 && a.rate == b.rate && a.index == b.index && a.graceStart == b.graceStart
}

func (e *env) blockTime(r *types.Receipt) uint64 {
	e.t.Helper()
	h, err := e.client.HeaderByNumber(context.Background(), r.BlockNumber)
	if err != nil {
		e.t.Fatal(err)
	}
	return h.Time
}

func (e *env) note(ids ...*big.Int) {
	for _, id := range ids {
		e.seen[id.String()] = id
	}
}

// register sends register(id, rate, erase) from user u.
func (e *env) register(u int, id *big.Int, rate uint32, erase ...*big.Int) outcome {
	e.t.Helper()
	e.note(id)
	e.note(erase...)
	return e.exec(u, false, func(m *model, now uint64) ([]event, string) {
		return m.register(u, id, rate, erase, now)
	}, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return e.reg.Register(o, id, rate, nonNil(erase))
	})
}

// registerBatch sends DevRlnRegistry.registerBatch(ids, rate) from user u.
func (e *env) registerBatch(u int, ids []*big.Int, rate uint32) outcome {
	e.t.Helper()
	e.note(ids...)
	return e.exec(u, false, func(m *model, now uint64) ([]event, string) {
		return m.registerBatch(u, ids, rate, now)
	}, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return e.dev.RegisterBatch(o, nonNil(ids), rate)
	})
}

// erase sends eraseMemberships(ids) from user u.
func (e *env) erase(u int, ids ...*big.Int) outcome {
	e.t.Helper()
	e.note(ids...)
	return e.exec(u, false, func(m *model, now uint64) ([]event, string) {
		return m.erase(u, ids, false, now)
	}, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return e.reg.EraseMemberships(o, nonNil(ids))
	})
}

// eraseFull sends eraseMemberships(ids, full) from user u.
func (e *env) eraseFull(u int, full bool, ids ...*big.Int) outcome {
	e.t.Helper()
	e.note(ids...)
	return e.exec(u, full, func(m *model, now uint64) ([]event, string) {
		return m.erase(u, ids, full, now)
	}, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return e.reg.EraseMemberships0(o, nonNil(ids), full)
	})
}

// extend sends extendMemberships(ids) from user u.
func (e *env) extend(u int, ids ...*big.Int) outcome {
	e.t.Helper()
	e.note(ids...)
	return e.exec(u, false, func(m *model, now uint64) ([]event, string) {
		return m.extend(u, ids, now)
	}, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return e.reg.ExtendMemberships(o, nonNil(ids))
	})
}

// withdraw sends withdraw(token) from user u.
func (e *env) withdraw(u int, token common.Address) outcome {
	e.t.Helper()
	return e.exec(u, false, func(m *model, now uint64) ([]event, string) {
		return m.withdraw(u, token)
	}, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return e.reg.Withdraw(o, token)
	})
}

// approve sets user u's allowance of the test token toward the registry.
func (e *env) approve(u int, value *big.Int) {
	e.t.Helper()
	e.approveToken(u, e.tokenAddr, value)
}

// approveToken sets user u's allowance of a TestToken toward the registry.
func (e *env) approveToken(u int, token common.Address, value *big.Int) {
	e.t.Helper()
	tk, err := bindings.NewTestToken(token, e.client)
	if err != nil {
		e.t.Fatal(err)
	}
	e.exec(u, false, func(m *model, _ uint64) ([]event, string) {
		m.approve(u, token, value)
		return nil, ""
	}, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return tk.Approve(o, e.regAddr, value)
	})
}

// setter sends one of the owner's setters from user u.
func (e *env) setter(u int, predict func(m *model) string, f func(*bind.TransactOpts) (*types.Transaction, error)) outcome {
	e.t.Helper()
	return e.exec(u, false, func(m *model, _ uint64) ([]event, string) { return nil, predict(m) }, f)
}

// apply decodes the receipt's membership events and feeds them to the
// mirror as a syncing node would: a registration writes
// Poseidon(idCommitment, rate limit) at its index; an erasure frees the
// index and, if full, writes 0 (a lazy one leaves the leaf). The registry's
// own view of a new membership must agree with its event.
func (e *env) apply(r *types.Receipt, full bool) []event {
	e.t.Helper()
	var evs []event
	for _, l := range r.Logs {
		if l.Address != e.regAddr || len(l.Topics) == 0 {
			continue
		}
		switch l.Topics[0] {
		case contracts.EventTopics.Registered:
			ev, err := e.reg.ParseMembershipRegistered(*l)
			if err != nil {
				e.t.Fatal(err)
			}
			if !ev.MembershipRateLimit.IsUint64() || ev.MembershipRateLimit.Uint64() > 1<<32-1 {
				e.t.Fatalf("MembershipRegistered rate limit %v is not a uint32", ev.MembershipRateLimit)
			}
			rate := uint32(ev.MembershipRateLimit.Uint64())
			if uint64(ev.Index) > e.mirror.NextIndex() {
				e.t.Fatalf("MembershipRegistered at index %d leaves a gap (next index %d)", ev.Index, e.mirror.NextIndex())
			}
			e.set(ev.Index, rateCommitment(ev.IdCommitment, rate))
			evs = append(evs, event{kind: "Registered", id: ev.IdCommitment, rate: rate, index: ev.Index})
		case contracts.EventTopics.Expired:
			ev, err := e.reg.ParseMembershipExpired(*l)
			if err != nil {
				e.t.Fatal(err)
			}
			evs = append(evs, event{kind: "Expired", id: ev.IdCommitment, rate: ev.MembershipRateLimit, index: ev.Index})
		case contracts.EventTopics.Erased:
			ev, err := e.reg.ParseMembershipErased(*l)
			if err != nil {
				e.t.Fatal(err)
			}
			if full {
				e.set(ev.Index, fr.Element{})
			}
			evs = append(evs, event{kind: "Erased", id: ev.IdCommitment, rate: ev.MembershipRateLimit, index: ev.Index})
		case contracts.EventTopics.Extended:
			ev, err := e.reg.ParseMembershipExtended(*l)
			if err != nil {
				e.t.Fatal(err)
			}
			if !ev.NewGracePeriodStartTimestamp.IsUint64() {
				e.t.Fatalf("MembershipExtended grace start %v", ev.NewGracePeriodStartTimestamp)
			}
			evs = append(evs, event{kind: "Extended", id: ev.IdCommitment, rate: ev.MembershipRateLimit,
				index: ev.Index, graceStart: ev.NewGracePeriodStartTimestamp.Uint64()})
		}
	}
	return evs
}

func (e *env) set(i uint32, leaf fr.Element) {
	e.t.Helper()
	if err := e.mirror.Set(uint64(i), leaf); err != nil {
		e.t.Fatalf("mirror tree Set(%d): %v", i, err)
	}
}

// check compares the registry with the model and the mirror:
// nextFreeIndex, currentTotalRateLimit, every leaf and root(). The model's
// leaves equal the mirror's, so the mirror's root is the model's too.
func (e *env) check() {
	e.t.Helper()
	e.checkState()
	root, err := e.reg.Root(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if mr := e.mirror.Root(); root.Cmp(toBig(mr)) != 0 {
		e.t.Fatalf("root() = %v, model and event-fed mirror %v", root, toBig(mr))
	}
}

// checkState is check without root(), which costs ~20 Poseidon hashes in
// the EVM (slow under -race).
func (e *env) checkState() {
	e.t.Helper()
	next, err := e.reg.NextFreeIndex(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	n := uint64(len(e.m.leaves))
	if uint64(next) != n || e.mirror.NextIndex() != n {
		e.t.Fatalf("nextFreeIndex() = %d, model %d, mirror %d", next, n, e.mirror.NextIndex())
	}
	total, err := e.reg.CurrentTotalRateLimit(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if !total.IsUint64() || total.Uint64() != e.m.total {
		e.t.Fatalf("currentTotalRateLimit() = %v, model %d", total, e.m.total)
	}
	if n == 0 {
		_, err := e.reg.GetRateCommitmentsInRangeBoundsInclusive(nil, 0, 0)
		wantCallRevert(e.t, err, errPagination(0, 0))
		return
	}
	leaves, err := e.reg.GetRateCommitmentsInRangeBoundsInclusive(nil, 0, uint32(n-1))
	if err != nil {
		e.t.Fatal(err)
	}
	if uint64(len(leaves)) != n {
		e.t.Fatalf("getRateCommitmentsInRangeBoundsInclusive(0, %d) has %d leaves", n-1, len(leaves))
	}
	for i, l := range leaves {
		mirrored, _ := e.mirror.Leaf(uint64(i))
		if l.Cmp(toBig(e.m.leaves[i])) != 0 || l.Cmp(toBig(mirrored)) != 0 {
			e.t.Fatalf("leaf %d = %v, model %v, mirror %v", i, l, toBig(e.m.leaves[i]), toBig(mirrored))
		}
	}
}

// checkDeep compares everything else the registry and the token show with
// the model: memberships(id), getMembershipInfo and the period views of
// every id seen, the freed indices, the deposits owed and the balances.
func (e *env) checkDeep() {
	e.t.Helper()
	now := e.now()
	for _, id := range e.seen {
		got, err := e.reg.Memberships(nil, id)
		if err != nil {
			e.t.Fatal(err)
		}
		mb, ok := e.m.members[id.String()]
		want := member{deposit: new(big.Int)}
		if ok {
			want = mb
		}
		holder := common.Address{}
		if ok {
			holder = e.users[mb.holder].From
		}
		if got.DepositAmount.Cmp(want.deposit) != 0 || got.ActiveDuration != want.active ||
			!got.GracePeriodStartTimestamp.IsUint64() || got.GracePeriodStartTimestamp.Uint64() != want.graceStart ||
			got.GracePeriodDuration != want.grace || got.RateLimit != want.rate || got.Index != want.index ||
			got.Holder != holder || got.Token != want.token {
			e.t.Fatalf("memberships(%s) = %+v, model %+v", short(id), got, want)
		}
		rate, index, leaf, err := e.reg.GetMembershipInfo(nil, id)
		if err != nil {
			e.t.Fatal(err)
		}
		wantLeaf := new(big.Int)
		if ok {
			wantLeaf = toBig(e.m.leaves[mb.index])
		}
		if rate != want.rate || index != want.index || leaf.Cmp(wantLeaf) != 0 {
			e.t.Fatalf("getMembershipInfo(%s) = (%d, %d, %v), model (%d, %d, %v)", short(id), rate, index, leaf, want.rate, want.index, wantLeaf)
		}
		in, err := e.reg.IsInMembershipSet(nil, id)
		if err != nil || in != ok {
			e.t.Fatalf("isInMembershipSet(%s) = %v, %v; model %v", short(id), in, err, ok)
		}
		grace, err := e.reg.IsInGracePeriod(nil, id)
		if err != nil || grace != (ok && mb.inGrace(now)) {
			e.t.Fatalf("isInGracePeriod(%s) = %v, %v at %d; model %+v", short(id), grace, err, now, want)
		}
		// An id without a membership counts as expired (start 0 + 0 <= now).
		expired, err := e.reg.IsExpired(nil, id)
		if err != nil || expired != (!ok || mb.expired(now)) {
			e.t.Fatalf("isExpired(%s) = %v, %v at %d; model %+v", short(id), expired, err, now, want)
		}
		exp, err := e.reg.MembershipExpirationTimestamp(nil, id)
		if err != nil || exp.Uint64() != want.graceStart+uint64(want.grace) {
			e.t.Fatalf("membershipExpirationTimestamp(%s) = %v, %v; model %+v", short(id), exp, err, want)
		}
	}
	for i, idx := range e.m.free {
		got, err := e.reg.IndicesOfLazilyErasedMemberships(nil, big.NewInt(int64(i)))
		if err != nil || got != idx {
			e.t.Fatalf("indicesOfLazilyErasedMemberships(%d) = %d, %v; model %v", i, got, err, e.m.free)
		}
	}
	_, err := e.reg.IndicesOfLazilyErasedMemberships(nil, big.NewInt(int64(len(e.m.free))))
	wantCallRevert(e.t, err, errNoReason) // a public array getter out of range reverts bare
	tokens := map[common.Address]bool{}
	for _, c := range e.m.calcs {
		tokens[c.token] = true
	}
	for tok := range tokens {
		tk, err := bindings.NewTestToken(tok, e.client)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, a := range append(slices.Clone(e.m.addrs), e.regAddr) {
			bal, err := tk.BalanceOf(nil, a)
			if err != nil || bal.Cmp(amount(e.m.balances, holding{a, tok})) != 0 {
				e.t.Fatalf("balance of %s in %s = %v, %v; model %v", a, tok, bal, err, amount(e.m.balances, holding{a, tok}))
			}
			if a == e.regAddr {
				continue
			}
			owed, err := e.reg.DepositsToWithdraw(nil, a, tok)
			if err != nil || owed.Cmp(amount(e.m.deposits, holding{a, tok})) != 0 {
				e.t.Fatalf("depositsToWithdraw(%s, %s) = %v, %v; model %v", a, tok, owed, err, amount(e.m.deposits, holding{a, tok}))
			}
		}
	}
}

// checkProof compares getMerkleProof(i) with the mirror's path and checks
// that the path proves leaf i against root().
func (e *env) checkProof(i uint64) {
	e.t.Helper()
	got, err := e.reg.GetMerkleProof(nil, new(big.Int).SetUint64(i))
	if err != nil {
		e.t.Fatalf("getMerkleProof(%d): %v", i, err)
	}
	want, err := e.mirror.Proof(i)
	if err != nil {
		e.t.Fatal(err)
	}
	for l := range got {
		if toBig(want.PathElements[l]).Cmp(got[l]) != 0 {
			e.t.Fatalf("getMerkleProof(%d)[%d] = %v, mirror %v", i, l, got[l], toBig(want.PathElements[l]))
		}
	}
	root, err := e.reg.Root(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	leaf, _ := e.mirror.Leaf(i)
	p := merkle.Proof{Index: i, PathElements: make([]fr.Element, len(got)), PathIndices: make([]uint8, len(got))}
	for l := range got {
		p.PathElements[l] = toFr(got[l])
		p.PathIndices[l] = uint8(i >> l & 1)
	}
	if !merkle.VerifyProof(toFr(root), leaf, p) {
		e.t.Fatalf("getMerkleProof(%d) does not prove leaf %v against root() %v", i, toBig(leaf), root)
	}
}

// wantReason checks a transaction's revert reason ("" for success).
func wantReason(t *testing.T, o outcome, want string) {
	t.Helper()
	if o.reason != want {
		t.Fatalf("revert %q, want %q", o.reason, want)
	}
}

// wantCallRevert checks that a call failed with the revert reason want.
func wantCallRevert(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want revert %s", want)
	}
	got, ok := contracts.RevertReason(err)
	if !ok || got != want {
		t.Fatalf("call failed with %v (reason %q), want revert %s", err, got, want)
	}
}

func kinds(evs []event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.kind
	}
	return out
}

func wantEvents(t *testing.T, o outcome, want ...string) {
	t.Helper()
	if o.reason != "" {
		t.Fatalf("reverted with %s, want events %v", o.reason, want)
	}
	if got := kinds(o.evs); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", o.evs, want)
	}
}

// ids returns n distinct random id commitments (reproducible per seed).
func ids(seed uint64, n int) []*big.Int {
	rng := rand.New(rand.NewPCG(seed, 0x726c6e64))
	out := make([]*big.Int, n)
	for i := range out {
		out[i] = toBig(randomFr(rng))
	}
	return out
}

func randomFr(rng *rand.Rand) fr.Element {
	var b [32]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	var e fr.Element
	e.SetBytes(b[:]) // reduced mod r
	return e
}

func toBig(e fr.Element) *big.Int { return e.BigInt(new(big.Int)) }

func toFr(b *big.Int) fr.Element {
	var e fr.Element
	e.SetBigInt(b)
	return e
}

func fromUint(v uint64) fr.Element {
	var e fr.Element
	e.SetUint64(v)
	return e
}

func nonNil(s []*big.Int) []*big.Int {
	if s == nil {
		return []*big.Int{}
	}
	return s
}
