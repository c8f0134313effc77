package contracts_test

import (
	"context"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient/gethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/rlnd/rlnd/contracts"
	"github.com/rlnd/rlnd/contracts/bindings"
	"github.com/rlnd/rlnd/contracts/devchain"
)

var q = fr.Modulus()

// TestABIMatchesWakuRlnV2 pins what an outside caller sees: the four
// membership events (same ids as WakuRlnV2's, nothing indexed), the
// functions with their outputs, and the custom errors (same signatures,
// hence the same selectors).
func TestABIMatchesWakuRlnV2(t *testing.T) {
	t.Parallel()
	parsed, err := bindings.RlnRegistryMetaData.GetAbi()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		event string
		want  common.Hash
	}{
		{"MembershipRegistered", contracts.EventTopics.Registered},
		{"MembershipExpired", contracts.EventTopics.Expired},
		{"MembershipErased", contracts.EventTopics.Erased},
		{"MembershipExtended", contracts.EventTopics.Extended},
	} {
		ev, ok := parsed.Events[tc.event]
		if !ok {
			t.Fatalf("ABI has no event %s", tc.event)
		}
		if ev.ID != tc.want {
			t.Errorf("%s: ABI id %s (%s), EventTopics has %s", tc.event, ev.ID, ev.Sig, tc.want)
		}
		for _, in := range ev.Inputs {
			if in.Indexed {
				t.Errorf("%s: parameter %s is indexed, WakuRlnV2 indexes none", tc.event, in.Name)
			}
		}
	}

	have := map[string]bool{}
	for _, m := range parsed.Methods {
		var outs []string
		for _, o := range m.Outputs {
			outs = append(outs, o.Type.String())
		}
		have[m.Sig+" returns ("+strings.Join(outs, ",")+")"] = true
	}
	for _, want := range []string{
		"register(uint256,uint32,uint256[]) returns ()",
		"eraseMemberships(uint256[]) returns ()",
		"eraseMemberships(uint256[],bool) returns ()",
		"extendMemberships(uint256[]) returns ()",
		"withdraw(address) returns ()",
		"initialize(address,uint32,uint32,uint32,uint32,uint32) returns ()",
		"setPriceCalculator(address) returns ()",
		"setMaxTotalRateLimit(uint32) returns ()",
		"setMinMembershipRateLimit(uint32) returns ()",
		"setMaxMembershipRateLimit(uint32) returns ()",
		"setActiveDuration(uint32) returns ()",
		"setGracePeriodDuration(uint32) returns ()",
		"upgradeTo(address) returns ()",
		"upgradeToAndCall(address,bytes) returns ()",
		"proxiableUUID() returns (bytes32)",
		"owner() returns (address)",
		"isInMembershipSet(uint256) returns (bool)",
		"getMembershipInfo(uint256) returns (uint32,uint32,uint256)",
		"isExpired(uint256) returns (bool)",
		"isInGracePeriod(uint256) returns (bool)",
		"membershipExpirationTimestamp(uint256) returns (uint256)",
		"getRateCommitmentsInRangeBoundsInclusive(uint32,uint32) returns (uint256[])",
		"root() returns (uint256)",
		"getMerkleProof(uint40) returns (uint256[20])",
		"merkleTree() returns (uint40,uint40)",
		"memberships(uint256) returns (uint256,uint32,uint256,uint32,uint32,uint32,address,address)",
		"depositsToWithdraw(address,address) returns (uint256)",
		"indicesOfLazilyErasedMemberships(uint256) returns (uint32)",
		"nextFreeIndex() returns (uint32)",
		"currentTotalRateLimit() returns (uint256)",
		"maxTotalRateLimit() returns (uint32)",
		"minMembershipRateLimit() returns (uint32)",
		"maxMembershipRateLimit() returns (uint32)",
		"activeDurationForNewMemberships() returns (uint32)",
		"gracePeriodDurationForNewMemberships() returns (uint32)",
		"deployedBlockNumber() returns (uint32)",
		"MAX_MEMBERSHIP_SET_SIZE() returns (uint32)",
		"MERKLE_TREE_DEPTH() returns (uint8)",
		"Q() returns (uint256)",
		"priceCalculator() returns (address)",
		"isValidIdCommitment(uint256) returns (bool)",
		"isValidMembershipRateLimit(uint32) returns (bool)",
	} {
		if !have[want] {
			t.Errorf("ABI lacks %s", want)
		}
	}
	if _, ok := parsed.Methods["registerBatch"]; ok {
		t.Error("RlnRegistry has registerBatch: it belongs to DevRlnRegistry only")
	}

	errs := map[string]bool{}
	for _, e := range parsed.Errors {
		errs[e.Sig] = true
	}
	for _, want := range []string{
		"InvalidIdCommitment(uint256)",
		"InvalidPaginationQuery(uint256,uint256)",
		"InvalidMembershipRateLimit()",
		"CannotExceedMaxTotalRateLimit()",
		"CannotExtendNonGracePeriodMembership(uint256)",
		"NonHolderCannotExtend(uint256)",
		"CannotEraseActiveMembership(uint256)",
		"NonHolderCannotEraseGracePeriodMembership(uint256)",
		"MembershipDoesNotExist(uint256)",
	} {
		if !errs[want] {
			t.Errorf("ABI lacks error %s", want)
		}
	}
}

// implementationSlot is ERC-1967's implementation slot.
var implementationSlot = common.HexToHash("0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc")

// implementationOf reads the proxy's ERC-1967 implementation slot.
func (e *env) implementationOf() common.Address {
	e.t.Helper()
	v, err := e.client.StorageAt(context.Background(), e.regAddr, implementationSlot, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return common.BytesToAddress(v)
}

// TestDeployment: the three contracts, the proxy initialised in its
// constructor (owner, parameters, deployedBlockNumber, tree size), and
// initialize closed on the proxy and on the implementation.
func TestDeployment(t *testing.T) {
	t.Parallel()
	p := testParams()
	e := newEnv(t, p)
	ctx := context.Background()

	proxyReceipt, err := e.client.TransactionReceipt(ctx, e.d.Txs[2].Hash())
	if err != nil {
		t.Fatal(err)
	}
	if got := e.implementationOf(); got != e.d.Implementation {
		t.Errorf("ERC-1967 implementation slot = %s, want %s", got, e.d.Implementation)
	}
	// The proxy's constructor: Upgraded, then initialize's events.
	var names []string
	for _, l := range proxyReceipt.Logs {
		if l.Address != e.regAddr {
			continue
		}
		switch l.Topics[0] {
		case mustEventID(t, "Upgraded"):
			ev, _ := e.reg.ParseUpgraded(*l)
			if ev.Implementation != e.d.Implementation {
				t.Errorf("Upgraded(%s), want %s", ev.Implementation, e.d.Implementation)
			}
			names = append(names, "Upgraded")
		case mustEventID(t, "OwnershipTransferred"):
			ev, _ := e.reg.ParseOwnershipTransferred(*l)
			if ev.PreviousOwner != (common.Address{}) || ev.NewOwner != e.users[0].From {
				t.Errorf("OwnershipTransferred(%s, %s), want (0, deployer)", ev.PreviousOwner, ev.NewOwner)
			}
			names = append(names, "OwnershipTransferred")
		case mustEventID(t, "Initialized"):
			ev, _ := e.reg.ParseInitialized(*l)
			if ev.Version != 1 {
				t.Errorf("Initialized(%d), want 1", ev.Version)
			}
			names = append(names, "Initialized")
		}
	}
	if want := []string{"Upgraded", "OwnershipTransferred", "Initialized"}; !slices.Equal(names, want) {
		t.Errorf("proxy deployment events %v, want %v", names, want)
	}

	u32 := func(name string, f func(*bind.CallOpts) (uint32, error), want uint32) {
		t.Helper()
		if got, err := f(nil); err != nil || got != want {
			t.Errorf("%s() = %d, %v; want %d", name, got, err, want)
		}
	}
	u32("deployedBlockNumber", e.reg.DeployedBlockNumber, uint32(proxyReceipt.BlockNumber.Uint64()))
	u32("MAX_MEMBERSHIP_SET_SIZE", e.reg.MAXMEMBERSHIPSETSIZE, 1<<20)
	u32("minMembershipRateLimit", e.reg.MinMembershipRateLimit, p.MinRateLimit)
	u32("maxMembershipRateLimit", e.reg.MaxMembershipRateLimit, p.MaxRateLimit)
	u32("maxTotalRateLimit", e.reg.MaxTotalRateLimit, p.MaxTotalRateLimit)
	u32("activeDurationForNewMemberships", e.reg.ActiveDurationForNewMemberships, p.ActiveDuration)
	u32("gracePeriodDurationForNewMemberships", e.reg.GracePeriodDurationForNewMemberships, p.GracePeriod)
	u32("nextFreeIndex", e.reg.NextFreeIndex, 0)
	if owner, err := e.reg.Owner(nil); err != nil || owner != e.users[0].From {
		t.Errorf("owner() = %s, %v; want the deployer %s", owner, err, e.users[0].From)
	}
	if depth, err := e.reg.MERKLETREEDEPTH(nil); err != nil || depth != 20 {
		t.Errorf("MERKLE_TREE_DEPTH() = %d, %v", depth, err)
	}
	if got, err := e.reg.Q(nil); err != nil || got.Cmp(q) != 0 {
		t.Errorf("Q() = %v, %v; want %v", got, err, q)
	}
	if mt, err := e.reg.MerkleTree(nil); err != nil || mt.MaxIndex.Uint64() != 1<<20-1 || mt.NumberOfLeaves.Sign() != 0 {
		t.Errorf("merkleTree() = %+v, %v; want (2^20-1, 0)", mt, err)
	}
	if calc, err := e.reg.PriceCalculator(nil); err != nil || calc != e.d.PriceCalculator {
		t.Errorf("priceCalculator() = %s, %v; want %s", calc, err, e.d.PriceCalculator)
	}
	if tok, price, err := e.calc.Calculate(nil, 7); err != nil || tok != e.tokenAddr || price.Int64() != 21 {
		t.Errorf("calculate(7) = %s, %v, %v; want the test token and 21", tok, price, err)
	}
	if owner, err := e.calc.Owner(nil); err != nil || owner != e.users[0].From {
		t.Errorf("calculator owner() = %s, %v", owner, err)
	}
	_, err = e.reg.GetMerkleProof(nil, big.NewInt(0))
	wantCallRevert(t, err, errLeafNotExist)

	// initialize is closed on the proxy, for the owner and anyone else.
	for _, u := range []int{0, 1} {
		o := e.send(u, func(o *bind.TransactOpts) (*types.Transaction, error) {
			return e.reg.Initialize(o, e.d.PriceCalculator, 5000, 1, 100, 10, 10)
		})
		wantReason(t, o, errInitialized)
	}
	// And on the implementation, which is never initialised.
	impl, err := bindings.NewRlnRegistry(e.d.Implementation, e.client)
	if err != nil {
		t.Fatal(err)
	}
	o := e.send(1, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return impl.Initialize(o, e.d.PriceCalculator, 5000, 1, 100, 10, 10)
	})
	wantReason(t, o, errInitialized)
	if owner, err := impl.Owner(nil); err != nil || owner != (common.Address{}) {
		t.Errorf("implementation owner() = %s, %v; want none", owner, err)
	}
	e.check()
}

func mustEventID(t *testing.T, name string) common.Hash {
	t.Helper()
	parsed, err := bindings.RlnRegistryMetaData.GetAbi()
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := parsed.Events[name]
	if !ok {
		t.Fatalf("no event %s", name)
	}
	return ev.ID
}

// TestDeployRejectsBadParams: DeployRegistry refuses what the initializer
// would, and the initializer itself reverts with no data (bare requires) on
// each; the calculator refuses the zero token with OnlyTokensAllowed().
func TestDeployRejectsBadParams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams())
	regABI, err := bindings.RlnRegistryMetaData.GetAbi()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*contracts.RegistryParams)
	}{
		{"zero minimum", func(p *contracts.RegistryParams) { p.MinRateLimit = 0 }},
		{"minimum above maximum", func(p *contracts.RegistryParams) { p.MinRateLimit = 601 }},
		{"maximum above total", func(p *contracts.RegistryParams) { p.MaxTotalRateLimit = 599 }},
		{"zero active duration", func(p *contracts.RegistryParams) { p.ActiveDuration = 0 }},
	} {
		p := testParams()
		p.Token = e.tokenAddr
		tc.edit(&p)
		if _, err := contracts.DeployRegistry(context.Background(), e.users[0], e.client, p, e.wait); !errors.Is(err, contracts.ErrInvalidParams) {
			t.Fatalf("%s: DeployRegistry: %v, want ErrInvalidParams", tc.name, err)
		}
		init, err := regABI.Pack("initialize", e.d.PriceCalculator, p.MaxTotalRateLimit, p.MinRateLimit, p.MaxRateLimit, p.ActiveDuration, p.GracePeriod)
		if err != nil {
			t.Fatal(err)
		}
		o := e.send(0, func(o *bind.TransactOpts) (*types.Transaction, error) {
			_, tx, _, err := bindings.DeployRlnRegistryProxy(o, e.client, e.d.Implementation, init)
			return tx, err
		})
		if o.reason != errNoReason {
			t.Fatalf("%s: proxy with initialize reverted with %q, want a bare revert", tc.name, o.reason)
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*contracts.RegistryParams)
	}{
		{"no token", func(p *contracts.RegistryParams) { p.Token = common.Address{} }},
		{"negative price", func(p *contracts.RegistryParams) { p.PricePerMessage = big.NewInt(-1) }},
		{"price above 2^256", func(p *contracts.RegistryParams) { p.PricePerMessage = new(big.Int).Lsh(big.NewInt(1), 256) }},
	} {
		p := testParams()
		p.Token = e.tokenAddr
		tc.edit(&p)
		if _, err := contracts.DeployRegistry(context.Background(), e.users[0], e.client, p, e.wait); !errors.Is(err, contracts.ErrInvalidParams) {
			t.Errorf("%s: DeployRegistry: %v, want ErrInvalidParams", tc.name, err)
		}
	}
	o := e.send(0, func(o *bind.TransactOpts) (*types.Transaction, error) {
		_, tx, _, err := bindings.DeployLinearPriceCalculator(o, e.client, common.Address{}, big.NewInt(1))
		return tx, err
	})
	wantReason(t, o, "OnlyTokensAllowed()")

	// No grace period and a free membership are fine.
	ok := testParams()
	ok.Token, ok.PricePerMessage, ok.GracePeriod = e.tokenAddr, nil, 0
	d, err := contracts.DeployRegistry(context.Background(), e.opts(0), e.client, ok, e.wait)
	if err != nil {
		t.Fatalf("DeployRegistry with no grace period and no price: %v", err)
	}
	e.mineAll(d.Txs...)
}

// TestRegister: register's checks in order (id, duplicate, rate limit,
// total), the boundaries accepted, the membership recorded, the event's
// second word the rate limit, the deposit pulled.
func TestRegister(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams()) // rate limits 20..600, total 1000, 3 per message
	id := ids(1, 4)
	qMinus1 := new(big.Int).Sub(q, big.NewInt(1))

	// Boundaries that are accepted: id Q-1, rate limits min and max.
	o := e.register(0, qMinus1, 20)
	wantEvents(t, o, "Registered")
	o = e.register(1, id[0], 600)
	wantEvents(t, o, "Registered")
	if o.evs[0].index != 1 {
		t.Fatalf("second registration at index %d, want 1", o.evs[0].index)
	}

	maxWord := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	for _, tc := range []struct {
		name      string
		id        *big.Int
		rateLimit uint32
		want      string
	}{
		{"zero id commitment", big.NewInt(0), 20, errID("InvalidIdCommitment", big.NewInt(0))},
		{"id commitment Q", q, 20, errID("InvalidIdCommitment", q)},
		{"id commitment 2^256-1", maxWord, 20, errID("InvalidIdCommitment", maxWord)},
		{"invalid id before invalid rate limit", big.NewInt(0), 0, errID("InvalidIdCommitment", big.NewInt(0))},
		{"duplicate", id[0], 20, errDuplicate},
		{"duplicate before invalid rate limit", qMinus1, 5000, errDuplicate},
		{"rate limit 0", id[1], 0, errRate},
		{"rate limit below minimum", id[1], 19, errRate},
		{"rate limit above maximum", id[1], 601, errRate},
		{"total above cap", id[1], 400, errTotal}, // 20 + 600 + 400 > 1000
	} {
		if o := e.register(2, tc.id, tc.rateLimit); o.reason != tc.want {
			t.Fatalf("%s: revert %q, want %q", tc.name, o.reason, tc.want)
		}
	}

	// Exactly at the cap.
	before := tokenBalance(t, e, e.tokenAddr, e.users[2].From)
	o = e.register(2, id[1], 380)
	wantEvents(t, o, "Registered")
	if total, err := e.reg.CurrentTotalRateLimit(nil); err != nil || total.Int64() != 1000 {
		t.Fatalf("currentTotalRateLimit() = %v, %v; want 1000", total, err)
	}
	wantReason(t, e.register(2, id[2], 20), errTotal)

	// The event's second word is the rate limit (WakuRlnV2 as deployed),
	// not the rate commitment.
	var raw *types.Log
	for _, l := range o.r.Logs {
		if l.Address == e.regAddr && l.Topics[0] == contracts.EventTopics.Registered {
			raw = l
		}
	}
	if raw == nil || len(raw.Data) != 96 || new(big.Int).SetBytes(raw.Data[32:64]).Int64() != 380 ||
		new(big.Int).SetBytes(raw.Data[0:32]).Cmp(id[1]) != 0 || new(big.Int).SetBytes(raw.Data[64:96]).Int64() != 2 {
		t.Fatalf("MembershipRegistered data %x, want (id, 380, 2)", raw.Data)
	}

	// memberships(id): deposit, terms from registration, holder, token.
	m, err := e.reg.Memberships(nil, id[1])
	if err != nil {
		t.Fatal(err)
	}
	at := e.blockTime(o.r)
	if m.DepositAmount.Int64() != 3*380 || m.ActiveDuration != 1000 || m.GracePeriodStartTimestamp.Uint64() != at+1000 ||
		m.GracePeriodDuration != 500 || m.RateLimit != 380 || m.Index != 2 || m.Holder != e.users[2].From || m.Token != e.tokenAddr {
		t.Fatalf("memberships(id) = %+v, registered at %d", m, at)
	}
	if got := tokenBalance(t, e, e.tokenAddr, e.users[2].From); new(big.Int).Sub(before, got).Int64() != 3*380 {
		t.Fatalf("deposit: balance %v -> %v, want %d taken", before, got, 3*380)
	}
	if got := tokenBalance(t, e, e.tokenAddr, e.regAddr); got.Int64() != 3*(20+600+380) {
		t.Fatalf("registry holds %v tokens, want %d", got, 3*(20+600+380))
	}
	rate, index, leaf, err := e.reg.GetMembershipInfo(nil, id[1])
	if err != nil || rate != 380 || index != 2 || leaf.Cmp(toBig(rateCommitment(id[1], 380))) != 0 {
		t.Fatalf("getMembershipInfo = (%d, %d, %v), %v", rate, index, leaf, err)
	}
	if mt, err := e.reg.MerkleTree(nil); err != nil || mt.NumberOfLeaves.Int64() != 3 {
		t.Fatalf("merkleTree() = %+v, %v; want 3 leaves", mt, err)
	}
	e.checkDeep()
	for i := range uint64(3) {
		e.checkProof(i)
	}

	// registerBatch is DevRlnRegistry's only: the registry has no such
	// function (and no fallback).
	dev, err := bindings.NewDevRlnRegistry(e.regAddr, e.client)
	if err != nil {
		t.Fatal(err)
	}
	o = e.send(0, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return dev.RegisterBatch(o, []*big.Int{id[3]}, 20)
	})
	wantReason(t, o, errNoReason)
	e.check()
}

// TestDeposits: the deposit is pulled with transferFrom, so a short
// allowance or balance reverts with the token's own reason.
func TestDeposits(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{params: testParams(), funds: []*big.Int{tokenFunds, big.NewInt(100), tokenFunds}})
	id := ids(9, 4)
	// 20 messages at 3: 60 tokens.
	e.approve(0, big.NewInt(59))
	wantReason(t, e.register(0, id[0], 20), errAllowance)
	e.approve(0, big.NewInt(60))
	wantEvents(t, e.register(0, id[0], 20), "Registered")
	if a, err := e.token.Allowance(nil, e.users[0].From, e.regAddr); err != nil || a.Sign() != 0 {
		t.Fatalf("allowance after paying = %v, %v; want 0", a, err)
	}
	wantReason(t, e.register(0, id[1], 20), errAllowance)

	// User 1 holds 100 tokens: one membership, not two.
	wantEvents(t, e.register(1, id[1], 20), "Registered")
	wantReason(t, e.register(1, id[2], 20), errBalance)
	e.checkDeep()
}

// TestErasure: lazy erasure keeps root and leaf and frees index, rate limit
// and deposit; full erasure zeroes the leaf; freed indices are reused last
// first, also by register with idsToErase.
func TestErasure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams()) // active 1000 s, grace 500 s
	id := ids(3, 10)
	for i := range 5 {
		wantEvents(t, e.register(i%users, id[i], uint32(20+10*i)), "Registered") // indices 0..4
	}
	root0, err := e.reg.Root(nil)
	if err != nil {
		t.Fatal(err)
	}
	e.advance(1500) // all expired

	// Lazy, by a non-holder of an expired membership.
	o := e.erase(2, id[1])
	wantEvents(t, o, "Expired", "Erased")
	if ev := o.evs[1]; ev.id.Cmp(id[1]) != 0 || ev.rate != 30 || ev.index != 1 {
		t.Fatalf("MembershipErased = %v, want (id[1], 30, 1)", ev)
	}
	if root, _ := e.reg.Root(nil); root.Cmp(root0) != 0 {
		t.Fatal("a lazy erasure changed the root")
	}
	leaves, err := e.reg.GetRateCommitmentsInRangeBoundsInclusive(nil, 1, 1)
	if err != nil || leaves[0].Cmp(toBig(rateCommitment(id[1], 30))) != 0 {
		t.Fatalf("leaf 1 after a lazy erasure = %v, %v; want the old rate commitment", leaves, err)
	}
	if in, _ := e.reg.IsInMembershipSet(nil, id[1]); in {
		t.Fatal("a lazily erased membership is still in the set")
	}
	if rate, index, leaf, _ := e.reg.GetMembershipInfo(nil, id[1]); rate != 0 || index != 0 || leaf.Sign() != 0 {
		t.Fatalf("getMembershipInfo of an erased membership = (%d, %d, %v), want zeros", rate, index, leaf)
	}
	if free, err := e.reg.IndicesOfLazilyErasedMemberships(nil, big.NewInt(0)); err != nil || free != 1 {
		t.Fatalf("indicesOfLazilyErasedMemberships(0) = %d, %v; want 1", free, err)
	}
	if total, _ := e.reg.CurrentTotalRateLimit(nil); total.Int64() != 20+40+50+60 {
		t.Fatalf("currentTotalRateLimit() = %v after erasing 30", total)
	}
	if owed, _ := e.reg.DepositsToWithdraw(nil, e.users[1].From, e.tokenAddr); owed.Int64() != 90 {
		t.Fatalf("depositsToWithdraw(holder) = %v, want 90", owed)
	}
	if owed, _ := e.reg.DepositsToWithdraw(nil, e.users[2].From, e.tokenAddr); owed.Sign() != 0 {
		t.Fatalf("depositsToWithdraw(eraser) = %v, want 0", owed)
	}

	// Full: the leaf becomes 0 and the root changes.
	o = e.eraseFull(2, true, id[3])
	wantEvents(t, o, "Expired", "Erased")
	if leaves, _ := e.reg.GetRateCommitmentsInRangeBoundsInclusive(nil, 3, 3); leaves[0].Sign() != 0 {
		t.Fatalf("leaf 3 after a full erasure = %v, want 0", leaves[0])
	}
	if root, _ := e.reg.Root(nil); root.Cmp(root0) == 0 {
		t.Fatal("a full erasure left the root unchanged")
	}
	// The two-argument form with false is lazy.
	wantEvents(t, e.eraseFull(0, false, id[4]), "Expired", "Erased")
	if leaves, _ := e.reg.GetRateCommitmentsInRangeBoundsInclusive(nil, 4, 4); leaves[0].Cmp(toBig(rateCommitment(id[4], 60))) != 0 {
		t.Fatal("eraseMemberships(ids, false) zeroed the leaf")
	}
	e.checkDeep() // freed: 1, 3, 4

	// Reuse, last freed first.
	for _, want := range []uint32{4, 3} {
		o = e.register(0, id[5+4-want], 20)
		if wantEvents(t, o, "Registered"); o.evs[0].index != want {
			t.Fatalf("registered at %d, want %d", o.evs[0].index, want)
		}
	}
	// register with idsToErase erases lazily first, and takes the index it
	// just freed.
	o = e.register(1, id[7], 20, id[0])
	wantEvents(t, o, "Expired", "Erased", "Registered")
	if o.evs[2].index != 0 {
		t.Fatalf("registered at %d, want the index 0 it freed", o.evs[2].index)
	}
	if owed, _ := e.reg.DepositsToWithdraw(nil, e.users[0].From, e.tokenAddr); owed.Int64() != 3*20+3*50 {
		t.Fatalf("depositsToWithdraw(user 0) = %v, want %d", owed, 3*20+3*50)
	}
	o = e.register(1, id[8], 20)
	if o.evs[0].index != 1 {
		t.Fatalf("registered at %d, want the last free index 1", o.evs[0].index)
	}
	o = e.register(1, id[9], 20)
	if o.evs[0].index != 5 {
		t.Fatalf("registered at %d, want nextFreeIndex 5", o.evs[0].index)
	}
	e.checkDeep()
	for i := range uint64(6) {
		e.checkProof(i)
	}
}

// TestErasureRules: who may erase what when, the events of each case, and
// the exact period boundaries (active before the grace start, grace for
// gracePeriodDuration seconds, expired from its end).
func TestErasureRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams()) // active 1000 s, grace 500 s
	id := ids(2, 6)
	a, b, c, d, x := id[0], id[1], id[2], id[3], id[4]
	e.register(0, a, 100)
	e.register(1, b, 100)
	e.register(2, c, 100)
	ga := graceStart(t, e, a)
	gb := graceStart(t, e, b)

	// Active: nobody may erase, not even through register.
	wantReason(t, e.erase(0, a), errID("CannotEraseActiveMembership", a))
	wantReason(t, e.erase(2, a), errID("CannotEraseActiveMembership", a))
	wantReason(t, e.register(2, x, 20, a), errID("CannotEraseActiveMembership", a))
	wantReason(t, e.erase(2, d), errID("MembershipDoesNotExist", d))
	wantReason(t, e.erase(0, a, d), errID("CannotEraseActiveMembership", a))
	wantReason(t, e.erase(0, big.NewInt(0)), errID("MembershipDoesNotExist", big.NewInt(0)))

	// The last active second, then the grace period's first.
	e.advanceTo(ga - 2)
	wantReason(t, e.erase(0, a), errID("CannotEraseActiveMembership", a)) // at ga-1
	wantReason(t, e.erase(1, a), errID("NonHolderCannotEraseGracePeriodMembership", a))
	wantReason(t, e.register(1, x, 20, a), errID("NonHolderCannotEraseGracePeriodMembership", a))
	// The holder erases in the grace period: MembershipErased only.
	o := e.erase(0, a)
	wantEvents(t, o, "Erased")
	wantReason(t, e.erase(0, a), errID("MembershipDoesNotExist", a))

	// b's grace period's last second, then expiry: anyone may erase.
	e.advanceTo(gb + 500 - 2)
	wantReason(t, e.erase(2, b), errID("NonHolderCannotEraseGracePeriodMembership", b)) // at gb+499
	o = e.erase(2, b)                                                                   // at gb+500
	wantEvents(t, o, "Expired", "Erased")
	if ev := o.evs[0]; ev.id.Cmp(b) != 0 || ev.rate != 100 || ev.index != 1 {
		t.Fatalf("MembershipExpired = %v, want (b, 100, 1)", ev)
	}
	// A holder erasing its own expired membership: both events too.
	wantEvents(t, e.erase(2, c), "Expired", "Erased")

	// One bad id reverts the whole list.
	e.register(0, d, 20)
	e.register(0, x, 20)
	e.advance(1500)
	e.register(1, id[5], 20)
	wantReason(t, e.erase(1, d, id[5]), errID("CannotEraseActiveMembership", id[5]))
	wantReason(t, e.erase(1, d, d), errID("MembershipDoesNotExist", d))
	wantEvents(t, e.erase(1, d, x), "Expired", "Erased", "Expired", "Erased")
	e.checkDeep()
}

func graceStart(t *testing.T, e *env, id *big.Int) uint64 {
	t.Helper()
	m, err := e.reg.Memberships(nil, id)
	if err != nil {
		t.Fatal(err)
	}
	return m.GracePeriodStartTimestamp.Uint64()
}

// TestExtension: only memberships in their grace period, only by their
// holder, all or none of a list; the new grace period starts
// gracePeriodDuration + activeDuration after the old one's start.
func TestExtension(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams()) // active 1000 s, grace 500 s
	id := ids(4, 5)
	a, b, c, d, absent := id[0], id[1], id[2], id[3], id[4]
	e.register(0, a, 100)
	e.register(1, b, 200)
	ga, gb := graceStart(t, e, a), graceStart(t, e, b)

	wantReason(t, e.extend(0, a), errID("CannotExtendNonGracePeriodMembership", a))
	wantReason(t, e.extend(0, absent), errID("CannotExtendNonGracePeriodMembership", absent))

	e.advanceTo(ga - 1)
	wantReason(t, e.extend(1, a), errID("NonHolderCannotExtend", a)) // at ga
	o := e.extend(0, a)
	wantEvents(t, o, "Extended")
	want := ga + 500 + 1000
	if ev := o.evs[0]; ev.id.Cmp(a) != 0 || ev.rate != 100 || ev.index != 0 || ev.graceStart != want {
		t.Fatalf("MembershipExtended = %v, want (a, 100, 0, %d)", ev, want)
	}
	if got := graceStart(t, e, a); got != want {
		t.Fatalf("grace period start after extension = %d, want %d", got, want)
	}
	if g, _ := e.reg.IsInGracePeriod(nil, a); g {
		t.Fatal("still in the grace period after extension")
	}
	if exp, _ := e.reg.MembershipExpirationTimestamp(nil, a); exp.Uint64() != want+500 {
		t.Fatalf("membershipExpirationTimestamp = %v, want %d", exp, want+500)
	}
	// Active again: no second extension yet.
	wantReason(t, e.extend(0, a), errID("CannotExtendNonGracePeriodMembership", a))

	// b expired unextended.
	e.advanceTo(gb + 500 - 1)
	wantReason(t, e.extend(1, b), errID("CannotExtendNonGracePeriodMembership", b)) // at gb+500

	// A list is extended all or not at all: c in grace, d still active.
	e.register(0, c, 20)
	e.advance(4)
	e.register(0, d, 20)
	gc, gd := graceStart(t, e, c), graceStart(t, e, d)
	e.advanceTo(gc)
	wantReason(t, e.extend(0, c, d), errID("CannotExtendNonGracePeriodMembership", d))
	if got := graceStart(t, e, c); got != gc {
		t.Fatalf("a reverted extension moved c's grace start to %d", got)
	}
	e.advanceTo(gd)
	o = e.extend(0, c, d)
	wantEvents(t, o, "Extended", "Extended")
	if o.evs[0].graceStart != gc+1500 || o.evs[1].graceStart != gd+1500 {
		t.Fatalf("extensions %v, want grace starts %d and %d", o.evs, gc+1500, gd+1500)
	}

	// a's second grace period: extended from its start again.
	e.advanceTo(want + 10)
	o = e.extend(0, a)
	if wantEvents(t, o, "Extended"); o.evs[0].graceStart != want+1500 {
		t.Fatalf("second extension: grace start %d, want %d", o.evs[0].graceStart, want+1500)
	}
	e.checkDeep()
}

// TestWithdraw: deposits of erased memberships are paid out once, to their
// holders, per token.
func TestWithdraw(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams())
	id := ids(5, 2)
	wantReason(t, e.withdraw(0, common.Address{}), errETH)
	wantReason(t, e.withdraw(0, e.tokenAddr), errNoDeposit)

	e.register(1, id[0], 100) // 300 tokens
	e.register(1, id[1], 20)  // 60 tokens
	e.advance(1100)
	wantEvents(t, e.erase(1, id[0]), "Erased")
	wantReason(t, e.withdraw(0, e.tokenAddr), errNoDeposit)
	wantReason(t, e.withdraw(1, e.d.PriceCalculator), errNoDeposit) // another token address
	before := tokenBalance(t, e, e.tokenAddr, e.users[1].From)
	e.withdraw(1, e.tokenAddr)
	if got := tokenBalance(t, e, e.tokenAddr, e.users[1].From); new(big.Int).Sub(got, before).Int64() != 300 {
		t.Fatalf("withdraw paid %v, want 300", new(big.Int).Sub(got, before))
	}
	if owed, _ := e.reg.DepositsToWithdraw(nil, e.users[1].From, e.tokenAddr); owed.Sign() != 0 {
		t.Fatalf("depositsToWithdraw after withdraw = %v", owed)
	}
	wantReason(t, e.withdraw(1, e.tokenAddr), errNoDeposit)
	// Erased by someone else once expired, still owed to the holder.
	e.advance(500)
	e.erase(2, id[1])
	wantReason(t, e.withdraw(2, e.tokenAddr), errNoDeposit)
	e.withdraw(1, e.tokenAddr)
	if got := tokenBalance(t, e, e.tokenAddr, e.users[1].From); got.Cmp(tokenFunds) != 0 {
		t.Fatalf("holder's balance %v after both withdrawals, want all back (%v)", got, tokenFunds)
	}
	if got := tokenBalance(t, e, e.tokenAddr, e.regAddr); got.Sign() != 0 {
		t.Fatalf("registry still holds %v", got)
	}
	e.checkDeep()
}

func tokenBalance(t *testing.T, e *env, token, who common.Address) *big.Int {
	t.Helper()
	tk, err := bindings.NewTestToken(token, e.client)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tk.BalanceOf(nil, who)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestViews: the views of absent ids, pagination and proof bounds, the
// period views at the exact boundaries, and a zero grace period.
func TestViews(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams())
	id := ids(6, 4)
	absent := id[3]
	e.note(absent)

	if in, err := e.reg.IsInMembershipSet(nil, absent); err != nil || in {
		t.Fatalf("isInMembershipSet(absent) = %v, %v", in, err)
	}
	if x, err := e.reg.IsExpired(nil, absent); err != nil || !x {
		t.Fatalf("isExpired(absent) = %v, %v; want true, as WakuRlnV2", x, err)
	}
	if g, err := e.reg.IsInGracePeriod(nil, absent); err != nil || g {
		t.Fatalf("isInGracePeriod(absent) = %v, %v", g, err)
	}
	if ts, err := e.reg.MembershipExpirationTimestamp(nil, absent); err != nil || ts.Sign() != 0 {
		t.Fatalf("membershipExpirationTimestamp(absent) = %v, %v", ts, err)
	}
	for _, tc := range []struct {
		id   *big.Int
		want bool
	}{{big.NewInt(0), false}, {big.NewInt(1), true}, {new(big.Int).Sub(q, big.NewInt(1)), true}, {q, false}} {
		if ok, err := e.reg.IsValidIdCommitment(nil, tc.id); err != nil || ok != tc.want {
			t.Errorf("isValidIdCommitment(%v) = %v, %v", tc.id, ok, err)
		}
	}
	for rate, want := range map[uint32]bool{0: false, 19: false, 20: true, 600: true, 601: false} {
		if ok, err := e.reg.IsValidMembershipRateLimit(nil, rate); err != nil || ok != want {
			t.Errorf("isValidMembershipRateLimit(%d) = %v, %v", rate, ok, err)
		}
	}

	for i := range 3 {
		e.register(i, id[i], 20)
	}
	for _, r := range [][2]uint32{{0, 3}, {2, 1}, {3, 3}, {0, 1 << 20}} {
		_, err := e.reg.GetRateCommitmentsInRangeBoundsInclusive(nil, r[0], r[1])
		wantCallRevert(t, err, errPagination(uint64(r[0]), uint64(r[1])))
	}
	if leaves, err := e.reg.GetRateCommitmentsInRangeBoundsInclusive(nil, 1, 2); err != nil || len(leaves) != 2 ||
		leaves[1].Cmp(toBig(rateCommitment(id[2], 20))) != 0 {
		t.Fatalf("getRateCommitmentsInRangeBoundsInclusive(1, 2) = %v, %v", leaves, err)
	}
	for _, i := range []int64{3, 4, 1<<20 - 1, 1 << 20, 1<<40 - 1} {
		_, err := e.reg.GetMerkleProof(nil, big.NewInt(i))
		wantCallRevert(t, err, errLeafNotExist)
	}
	for i := range uint64(3) {
		e.checkProof(i)
	}

	// Period views at the boundaries.
	g := graceStart(t, e, id[0])
	for _, tc := range []struct {
		at             uint64
		grace, expired bool
		what           string
	}{
		{g - 1, false, false, "last active second"},
		{g, true, false, "grace period's first second"},
		{g + 499, true, false, "grace period's last second"},
		{g + 500, false, true, "expiry"},
	} {
		e.advanceTo(tc.at)
		gr, err1 := e.reg.IsInGracePeriod(nil, id[0])
		ex, err2 := e.reg.IsExpired(nil, id[0])
		if err1 != nil || err2 != nil || gr != tc.grace || ex != tc.expired {
			t.Fatalf("%s (t=%d): isInGracePeriod %v, isExpired %v (%v, %v); want %v, %v",
				tc.what, tc.at, gr, ex, err1, err2, tc.grace, tc.expired)
		}
	}
	e.checkDeep()

	// No grace period: expired right at the grace period's start.
	e.setter(0, func(m *model) string { return m.setGrace(0, 0) }, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return e.reg.SetGracePeriodDuration(o, 0)
	})
	e.register(1, id[3], 20)
	g = graceStart(t, e, id[3])
	e.advanceTo(g - 1)
	if ex, _ := e.reg.IsExpired(nil, id[3]); ex {
		t.Fatal("expired while active")
	}
	e.advance(1)
	gr, _ := e.reg.IsInGracePeriod(nil, id[3])
	ex, _ := e.reg.IsExpired(nil, id[3])
	if gr || !ex {
		t.Fatalf("grace period 0 at its start: isInGracePeriod %v, isExpired %v; want false, true", gr, ex)
	}
	wantReason(t, e.extend(1, id[3]), errID("CannotExtendNonGracePeriodMembership", id[3]))
	wantEvents(t, e.erase(2, id[3]), "Expired", "Erased")
	e.checkDeep()
}

// TestOwnerSetters: the owner's setters, refused to others with
// Ownable's message and with a bare revert for out-of-range values; new
// terms apply to new memberships only.
func TestOwnerSetters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams()) // 20..600, total 1000, active 1000, grace 500, price 3
	id := ids(7, 4)
	type setter struct {
		name    string
		predict func(m *model, caller int) string
		send    func(o *bind.TransactOpts) (*types.Transaction, error)
	}
	set := func(name string, v uint32, p func(m *model, caller int, v uint32) string, f func(*bind.TransactOpts, uint32) (*types.Transaction, error)) setter {
		return setter{name,
			func(m *model, caller int) string { return p(m, caller, v) },
			func(o *bind.TransactOpts) (*types.Transaction, error) { return f(o, v) }}
	}
	run := func(u int, s setter) outcome {
		t.Helper()
		return e.setter(u, func(m *model) string { return s.predict(m, u) }, s.send)
	}
	setMin := func(v uint32) setter {
		return set("setMinMembershipRateLimit", v, (*model).setMin, e.reg.SetMinMembershipRateLimit)
	}
	setMax := func(v uint32) setter {
		return set("setMaxMembershipRateLimit", v, (*model).setMax, e.reg.SetMaxMembershipRateLimit)
	}
	setTotal := func(v uint32) setter {
		return set("setMaxTotalRateLimit", v, (*model).setMaxTotal, e.reg.SetMaxTotalRateLimit)
	}
	setActive := func(v uint32) setter { return set("setActiveDuration", v, (*model).setActive, e.reg.SetActiveDuration) }
	setGrace := func(v uint32) setter {
		return set("setGracePeriodDuration", v, (*model).setGrace, e.reg.SetGracePeriodDuration)
	}
	setCalc := func(c common.Address) setter {
		return setter{"setPriceCalculator",
			func(m *model, caller int) string { return m.setCalculator(caller, c) },
			func(o *bind.TransactOpts) (*types.Transaction, error) { return e.reg.SetPriceCalculator(o, c) }}
	}

	for _, s := range []setter{setMin(10), setMax(50), setTotal(5000), setActive(2000), setGrace(100), setCalc(e.d.PriceCalculator)} {
		wantReason(t, run(1, s), errNotOwner)
	}
	for _, s := range []setter{setMin(0), setMin(601), setMax(19), setTotal(599), setActive(0)} {
		wantReason(t, run(0, s), errNoReason)
	}

	wantEvents(t, e.register(1, id[0], 100), "Registered") // old terms
	calc2, tx, _, err := bindings.DeployLinearPriceCalculator(e.opts(0), e.client, e.tokenAddr, big.NewInt(7))
	if err != nil {
		t.Fatal(err)
	}
	e.mineAll(tx)
	e.m.calcs[calc2] = calcTerms{e.tokenAddr, big.NewInt(7)}
	for _, s := range []setter{setMin(10), setMax(50), setTotal(5000), setActive(2000), setGrace(100), setCalc(calc2)} {
		if o := run(0, s); o.reason != "" {
			t.Fatalf("%s by the owner: %s", s.name, o.reason)
		}
	}
	for name, got := range map[string]func(*bind.CallOpts) (uint32, error){
		"minMembershipRateLimit": e.reg.MinMembershipRateLimit, "maxMembershipRateLimit": e.reg.MaxMembershipRateLimit,
		"maxTotalRateLimit": e.reg.MaxTotalRateLimit, "activeDurationForNewMemberships": e.reg.ActiveDurationForNewMemberships,
		"gracePeriodDurationForNewMemberships": e.reg.GracePeriodDurationForNewMemberships,
	} {
		want := map[string]uint32{"minMembershipRateLimit": 10, "maxMembershipRateLimit": 50, "maxTotalRateLimit": 5000,
			"activeDurationForNewMemberships": 2000, "gracePeriodDurationForNewMemberships": 100}[name]
		if v, err := got(nil); err != nil || v != want {
			t.Errorf("%s() = %d, %v; want %d", name, v, err, want)
		}
	}
	if c, _ := e.reg.PriceCalculator(nil); c != calc2 {
		t.Errorf("priceCalculator() = %s, want %s", c, calc2)
	}
	wantReason(t, e.register(1, id[1], 51), errRate)
	wantEvents(t, e.register(1, id[1], 10), "Registered") // new terms
	old, _ := e.reg.Memberships(nil, id[0])
	nw, _ := e.reg.Memberships(nil, id[1])
	if old.ActiveDuration != 1000 || old.GracePeriodDuration != 500 || old.DepositAmount.Int64() != 300 ||
		nw.ActiveDuration != 2000 || nw.GracePeriodDuration != 100 || nw.DepositAmount.Int64() != 70 {
		t.Fatalf("memberships: old %+v, new %+v; want the old terms kept and the new ones for the new", old, nw)
	}
	// The old membership keeps its periods: in grace at +1000, not at +2000.
	e.advanceTo(old.GracePeriodStartTimestamp.Uint64())
	if g, _ := e.reg.IsInGracePeriod(nil, id[0]); !g {
		t.Fatal("old membership not in its grace period at its old terms")
	}
	wantEvents(t, e.erase(1, id[0]), "Erased")
	if owed, _ := e.reg.DepositsToWithdraw(nil, e.users[1].From, e.tokenAddr); owed.Int64() != 300 {
		t.Fatalf("deposit owed %v, want the old membership's 300", owed)
	}
	e.checkDeep()
}

// TestUpgrade: the owner upgrades through the proxy, keeping storage and
// emitting Upgraded; others cannot; the implementation refuses upgrades
// and proxiableUUID through the proxy.
func TestUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams())
	id := ids(8, 4)
	e.register(0, id[0], 20)
	e.register(1, id[1], 30)
	e.advance(1500)
	e.erase(2, id[0])

	newImpl, tx, _, err := bindings.DeployDevRlnRegistry(e.opts(0), e.client)
	if err != nil {
		t.Fatal(err)
	}
	e.mineAll(tx)
	upgrade := func(u int, impl common.Address) outcome {
		t.Helper()
		return e.setter(u, func(*model) string { return "" }, func(o *bind.TransactOpts) (*types.Transaction, error) {
			return e.reg.UpgradeTo(o, impl)
		})
	}
	failUpgrade := func(u int, impl common.Address) outcome {
		t.Helper()
		return e.send(u, func(o *bind.TransactOpts) (*types.Transaction, error) { return e.reg.UpgradeTo(o, impl) })
	}
	wantReason(t, failUpgrade(1, newImpl), errNotOwner)
	wantReason(t, failUpgrade(0, e.users[2].From), errString("ERC1967: new implementation is not a contract"))
	wantReason(t, failUpgrade(0, e.tokenAddr), errString("ERC1967Upgrade: new implementation is not UUPS"))
	impl, err := bindings.NewRlnRegistry(e.d.Implementation, e.client)
	if err != nil {
		t.Fatal(err)
	}
	o := e.send(0, func(o *bind.TransactOpts) (*types.Transaction, error) { return impl.UpgradeTo(o, newImpl) })
	wantReason(t, o, errString("Function must be called through delegatecall"))
	_, err = e.reg.ProxiableUUID(nil)
	wantCallRevert(t, err, errString("UUPSUpgradeable: must not be called through delegatecall"))
	if slot, err := impl.ProxiableUUID(nil); err != nil || common.Hash(slot) != implementationSlot {
		t.Fatalf("implementation proxiableUUID() = %x, %v", slot, err)
	}
	if got := e.implementationOf(); got != e.d.Implementation {
		t.Fatalf("failed upgrades changed the implementation to %s", got)
	}

	o = upgrade(0, newImpl)
	var upgraded []common.Address
	for _, l := range o.r.Logs {
		if l.Address == e.regAddr && l.Topics[0] == mustEventID(t, "Upgraded") {
			ev, err := e.reg.ParseUpgraded(*l)
			if err != nil {
				t.Fatal(err)
			}
			upgraded = append(upgraded, ev.Implementation)
		}
	}
	if len(upgraded) != 1 || upgraded[0] != newImpl {
		t.Fatalf("Upgraded events %v, want [%s]", upgraded, newImpl)
	}
	if got := e.implementationOf(); got != newImpl {
		t.Fatalf("implementation slot %s, want %s", got, newImpl)
	}
	e.checkDeep() // storage kept: memberships, freed index, deposits
	if owner, _ := e.reg.Owner(nil); owner != e.users[0].From {
		t.Fatalf("owner after upgrade = %s", owner)
	}
	// The new implementation's code runs: DevRlnRegistry's registerBatch.
	if e.dev, err = bindings.NewDevRlnRegistry(e.regAddr, e.client); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, e.registerBatch(2, id[2:4], 20), "Registered", "Registered")

	// upgradeToAndCall runs the call in the proxy: initialize stays closed,
	// an owner setter works.
	regABI, err := bindings.RlnRegistryMetaData.GetAbi()
	if err != nil {
		t.Fatal(err)
	}
	init, _ := regABI.Pack("initialize", e.d.PriceCalculator, uint32(5000), uint32(1), uint32(100), uint32(10), uint32(10))
	o = e.send(0, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return e.reg.UpgradeToAndCall(o, e.d.Implementation, init)
	})
	wantReason(t, o, errInitialized)
	setGrace, _ := regABI.Pack("setGracePeriodDuration", uint32(77))
	e.setter(0, func(m *model) string { return m.setGrace(0, 77) }, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return e.reg.UpgradeToAndCall(o, e.d.Implementation, setGrace)
	})
	if got := e.implementationOf(); got != e.d.Implementation {
		t.Fatalf("implementation slot %s after upgradeToAndCall, want %s", got, e.d.Implementation)
	}
	if g, _ := e.reg.GracePeriodDurationForNewMemberships(nil); g != 77 {
		t.Fatalf("gracePeriodDurationForNewMemberships() = %d after upgradeToAndCall, want 77", g)
	}
	e.checkDeep()
}

// TestKnownAnswers checks the registry against WakuRlnV2's own test
// vectors (from zerokit).
func TestKnownAnswers(t *testing.T) {
	t.Parallel()
	dec := func(s string) *big.Int {
		v, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("bad constant %s", s)
		}
		return v
	}
	t.Run("id 2 rate limit 2", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, wakuParams())
		e.setter(0, func(m *model) string { return m.setMin(0, 2) }, func(o *bind.TransactOpts) (*types.Transaction, error) {
			return e.reg.SetMinMembershipRateLimit(o, 2)
		})
		o := e.register(0, big.NewInt(2), 2)
		if wantEvents(t, o, "Registered"); o.evs[0].index != 0 {
			t.Fatalf("index %d, want 0", o.evs[0].index)
		}
		rate, index, leaf, err := e.reg.GetMembershipInfo(nil, big.NewInt(2))
		if err != nil || rate != 2 || index != 0 ||
			leaf.Cmp(dec("4699387056273519054140667386511343037709699938246587880795929666834307503001")) != 0 {
			t.Fatalf("getMembershipInfo(2) = (%d, %d, %v), %v", rate, index, leaf, err)
		}
		if root, err := e.reg.Root(nil); err != nil ||
			root.Cmp(dec("13801897483540040307162267952866411686127372014953358983481592640000001877295")) != 0 {
			t.Fatalf("root() = %v, %v", root, err)
		}
		proof, err := e.reg.GetMerkleProof(nil, big.NewInt(0))
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{
			"0",
			"14744269619966411208579211824598458697587494354926760081771325075741142829156",
			"7423237065226347324353380772367382631490014989348495481811164164159255474657",
		} {
			if proof[i].Cmp(dec(want)) != 0 {
				t.Fatalf("getMerkleProof(0)[%d] = %v, want %s", i, proof[i], want)
			}
		}
		e.checkProof(0) // and the rest against rln/merkle
	})
	t.Run("free registration at the default minimum", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, wakuParams()) // price 0, minimum 20
		e.approve(0, new(big.Int))   // a free membership needs no allowance
		o := e.register(0, big.NewInt(1), 20)
		wantEvents(t, o, "Registered")
		if root, err := e.reg.Root(nil); err != nil ||
			root.Cmp(dec("13301394660502635912556179583660948983063063326359792688871878654796186320104")) != 0 {
			t.Fatalf("root() = %v, %v", root, err)
		}
		if bal := tokenBalance(t, e, e.tokenAddr, e.users[0].From); bal.Cmp(tokenFunds) != 0 {
			t.Fatalf("a free membership took %v tokens", new(big.Int).Sub(tokenFunds, bal))
		}
	})
}

// TestRegisterBatch: DevRlnRegistry.registerBatch registers like one
// register() per commitment (checks, indices, freed indices first, events
// in order, deposits), and one bad member reverts the whole batch.
func TestRegisterBatch(t *testing.T) {
	t.Parallel()
	p := testParams()
	p.PricePerMessage, p.MaxTotalRateLimit, p.Dev = big.NewInt(2), 2000, true
	a := newEnv(t, p) // batches
	b := newEnv(t, p) // the same, one register each
	id := ids(7, 50)
	qMinus1 := new(big.Int).Sub(q, big.NewInt(1))
	both := func(f func(e *env) []event) {
		t.Helper()
		ea, eb := f(a), f(b)
		if !slices.EqualFunc(ea, eb, eventsEqual) {
			t.Fatalf("batch events %v, one by one %v", ea, eb)
		}
		ra, _ := a.reg.Root(nil)
		rb, _ := b.reg.Root(nil)
		if ra.Cmp(rb) != 0 {
			t.Fatalf("roots differ: batch %v, one by one %v", ra, rb)
		}
	}
	oneByOne := func(e *env, u int, ids []*big.Int, rate uint32) []event {
		var evs []event
		for _, id := range ids {
			o := e.register(u, id, rate)
			if o.reason != "" {
				t.Fatalf("register: %s", o.reason)
			}
			evs = append(evs, o.evs...)
		}
		return evs
	}

	both(func(e *env) []event { return e.register(0, id[0], 20).evs })
	for _, tc := range []struct {
		name string
		ids  []*big.Int
		rate uint32
		want string
	}{
		{"duplicate in the batch", []*big.Int{id[1], id[2], id[1]}, 20, errDuplicate},
		{"duplicate of a member", []*big.Int{id[1], id[0]}, 20, errDuplicate},
		{"zero id commitment", []*big.Int{id[1], big.NewInt(0)}, 20, errID("InvalidIdCommitment", big.NewInt(0))},
		{"id commitment Q", []*big.Int{q}, 20, errID("InvalidIdCommitment", q)},
		{"rate limit below minimum", []*big.Int{id[1]}, 19, errRate},
		{"total above cap", id[1:6], 600, errTotal}, // 20 + 4*600 > 2000
	} {
		if o := a.registerBatch(1, tc.ids, tc.rate); o.reason != tc.want {
			t.Fatalf("%s: revert %q, want %q", tc.name, o.reason, tc.want)
		}
	}
	if o := a.registerBatch(1, nil, 20); o.reason != "" || len(o.evs) != 0 {
		t.Fatalf("empty batch: %q, %v; want nothing done", o.reason, o.evs)
	}

	// 13 members from index 1, in one transaction.
	batch := append([]*big.Int{qMinus1}, id[1:13]...)
	both(func(e *env) []event {
		if e == a {
			return e.registerBatch(1, batch, 30).evs
		}
		return oneByOne(e, 1, batch, 30)
	})
	for _, e := range []*env{a, b} {
		if got := tokenBalance(t, e, e.tokenAddr, e.users[1].From); new(big.Int).Sub(tokenFunds, got).Int64() != 2*30*13 {
			t.Fatalf("deposits of 13 members: %v taken, want %d", new(big.Int).Sub(tokenFunds, got), 2*30*13)
		}
		e.checkDeep()
	}

	// Freed indices first, last freed first, then new ones.
	for _, e := range []*env{a, b} {
		e.advance(1600) // all expired
		wantEvents(t, e.erase(0, id[3], id[5]), "Expired", "Erased", "Expired", "Erased")
	}
	var got []uint32
	both(func(e *env) []event {
		if e == a {
			evs := e.registerBatch(2, id[20:24], 20).evs
			for _, ev := range evs {
				got = append(got, ev.index)
			}
			return evs
		}
		return oneByOne(e, 2, id[20:24], 20)
	})
	if want := []uint32{6, 4, 14, 15}; !slices.Equal(got, want) {
		t.Fatalf("indices %v, want %v (freed 6 and 4, then new)", got, want)
	}

	// A large batch grows the tree past several complete levels at once.
	o := a.registerBatch(0, id[24:40], 25) // indices 16..31
	t.Logf("registerBatch of 16 (indices 16..31): %d gas, %d per member", o.r.GasUsed, o.r.GasUsed/16)
	a.checkDeep()
	for _, i := range []uint64{0, 7, 15, 16, 23, 31} {
		a.checkProof(i)
	}
}

// TestFullSet: a set of 2^20 leaves cannot be filled in a test, so this
// puts nextFreeIndex at 2^20 with a state override in eth_call (on a dev
// chain, for its JSON-RPC endpoint): register then reverts with
// "Membership set is full", after its id checks and before erasing
// anything.
func TestFullSet(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := devchain.Start(devchain.Config{HTTP: "127.0.0.1:0", Accounts: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reg, err := c.DeployRegistry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := c.Transactor(1)
	if err != nil {
		t.Fatal(err)
	}
	auth.Context = ctx
	for _, send := range []func() (*types.Transaction, error){
		func() (*types.Transaction, error) { return reg.Token.Approve(auth, reg.Address, maxUint256) },
		func() (*types.Transaction, error) {
			return reg.Contract.Register(auth, big.NewInt(1), 20, []*big.Int{})
		},
		func() (*types.Transaction, error) {
			return reg.Contract.Register(auth, big.NewInt(2), 20, []*big.Int{})
		},
	} {
		tx, err := send()
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.WaitMined(ctx, tx); err != nil || r.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("%v, %+v", err, r)
		}
	}

	rc, err := rpc.DialContext(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	geth := gethclient.New(rc)
	regABI, err := bindings.RlnRegistryMetaData.GetAbi()
	if err != nil {
		t.Fatal(err)
	}
	call := func(overrides map[common.Address]gethclient.OverrideAccount, method string, args ...any) ([]any, error) {
		t.Helper()
		data, err := regABI.Pack(method, args...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := geth.CallContract(ctx, ethereum.CallMsg{From: auth.From, To: &reg.Address, Data: data}, nil, &overrides)
		if err != nil {
			return nil, err
		}
		return regABI.Unpack(method, out)
	}

	// nextFreeIndex is a uint32 in a slot of its own (a dynamic array
	// follows it): find the slot holding 2 for which the override moves
	// nextFreeIndex() to 2^20.
	var full map[common.Address]gethclient.OverrideAccount
	for s := range int64(64) {
		slot := common.BigToHash(big.NewInt(s))
		v, err := c.Client().StorageAt(ctx, reg.Address, slot, nil)
		if err != nil {
			t.Fatal(err)
		}
		if new(big.Int).SetBytes(v).Int64() != 2 {
			continue
		}
		o := map[common.Address]gethclient.OverrideAccount{reg.Address: {
			StateDiff: map[common.Hash]common.Hash{slot: common.BigToHash(big.NewInt(1 << 20))},
		}}
		if out, err := call(o, "nextFreeIndex"); err == nil && out[0].(uint32) == 1<<20 {
			full = o
			break
		}
	}
	if full == nil {
		t.Fatal("found no storage slot for nextFreeIndex")
	}
	out, err := call(full, "merkleTree")
	if err != nil || out[0].(*big.Int).Int64() != 1<<20-1 || out[1].(*big.Int).Int64() != 1<<20 {
		t.Fatalf("merkleTree() on a full set = %v, %v", out, err)
	}
	for _, tc := range []struct {
		name  string
		id    *big.Int
		erase []*big.Int
		want  string
	}{
		{"new member", big.NewInt(3), []*big.Int{}, errString("Membership set is full")},
		{"before erasing (id 1 is active)", big.NewInt(3), []*big.Int{big.NewInt(1)}, errString("Membership set is full")},
		{"invalid id first", big.NewInt(0), []*big.Int{}, errID("InvalidIdCommitment", big.NewInt(0))},
		{"duplicate first", big.NewInt(2), []*big.Int{}, errDuplicate},
	} {
		_, err := call(full, "register", tc.id, uint32(20), tc.erase)
		if reason, _ := contracts.RevertReason(err); reason != tc.want {
			t.Errorf("%s: register on a full set: %q (%v), want %s", tc.name, reason, err, tc.want)
		}
	}
	// Without the override the same registration goes through.
	if _, err := call(nil, "register", big.NewInt(3), uint32(20), []*big.Int{}); err != nil {
		t.Fatalf("register without the override: %v", err)
	}
}
