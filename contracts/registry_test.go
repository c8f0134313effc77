package contracts_test

import (
	"context"
	"errors"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/node"

	"github.com/rlnd/rlnd/contracts"
	"github.com/rlnd/rlnd/contracts/bindings"
	"github.com/rlnd/rlnd/rln/poseidon"
)

var q = fr.Modulus()

func TestEventTopicsMatchABI(t *testing.T) {
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
}

func TestPoseidonMatchesGo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams(), false)
	rng := rand.New(rand.NewPCG(7, 11))
	qMinus1 := new(big.Int).Sub(q, big.NewInt(1))
	type pair struct{ a, b *big.Int }
	cases := []pair{
		{big.NewInt(0), big.NewInt(0)},
		{big.NewInt(1), big.NewInt(2)},
		{qMinus1, qMinus1},
		{big.NewInt(0), qMinus1},
	}
	for range 24 {
		cases = append(cases, pair{toBig(randomFr(rng)), toBig(randomFr(rng))})
	}
	for _, c := range cases {
		got, err := e.reg.Hash2(nil, c.a, c.b)
		if err != nil {
			t.Fatal(err)
		}
		if want := toBig(poseidon.Hash2(toFr(c.a), toFr(c.b))); got.Cmp(want) != 0 {
			t.Fatalf("hash2(%v, %v) = %v, rln/poseidon.Hash2 = %v", c.a, c.b, got, want)
		}
	}
	// Inputs are taken mod Q, including words near 2^256.
	maxWord := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	for _, a := range []*big.Int{new(big.Int).Add(q, big.NewInt(5)), maxWord} {
		got, err := e.reg.Hash2(nil, a, big.NewInt(3))
		if err != nil {
			t.Fatal(err)
		}
		want := toBig(poseidon.Hash2(toFr(new(big.Int).Mod(a, q)), fromUint(3)))
		if got.Cmp(want) != 0 {
			t.Fatalf("hash2(%v, 3) = %v, want %v", a, got, want)
		}
	}
}

func TestDeployRejectsBadParams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams(), false)
	tokenAddr := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	for _, tc := range []struct {
		name string
		edit func(*contracts.RegistryParams)
	}{
		{"zero minimum", func(p *contracts.RegistryParams) { p.MinRateLimit = 0 }},
		{"minimum above maximum", func(p *contracts.RegistryParams) { p.MinRateLimit = 601 }},
		{"maximum above total", func(p *contracts.RegistryParams) { p.MaxTotalRateLimit = 599 }},
		{"zero active duration", func(p *contracts.RegistryParams) { p.ActiveDuration = 0 }},
		{"price without token", func(p *contracts.RegistryParams) { p.PricePerMessage = big.NewInt(1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testParams()
			tc.edit(&p)
			if _, _, _, err := contracts.DeployRegistry(e.users[0], e.client, p); !errors.Is(err, contracts.ErrInvalidParams) {
				t.Fatalf("DeployRegistry: %v, want ErrInvalidParams", err)
			}
			// The constructor enforces the same rules.
			_, _, _, err := bindings.DeployRlnRegistry(e.users[0], e.client, p.Token, p.PricePerMessage,
				p.MinRateLimit, p.MaxRateLimit, p.MaxTotalRateLimit, p.ActiveDuration, p.GracePeriod)
			wantRevert(t, err, "InvalidConfiguration")
		})
	}
	ok := testParams()
	ok.Token, ok.PricePerMessage, ok.GracePeriod = tokenAddr, big.NewInt(5), 0
	if _, _, _, err := contracts.DeployRegistry(e.users[0], e.client, ok); err != nil {
		t.Fatalf("DeployRegistry with a token and no grace period: %v", err)
	}
}

func TestDevnetParams(t *testing.T) {
	t.Parallel()
	p := contracts.DevnetParams()
	e := newEnv(t, p, false)
	for _, c := range []struct {
		name string
		get  func() (uint32, error)
		want uint32
	}{
		{"minMembershipRateLimit", func() (uint32, error) { return e.reg.MinMembershipRateLimit(nil) }, 1},
		{"maxMembershipRateLimit", func() (uint32, error) { return e.reg.MaxMembershipRateLimit(nil) }, 600},
		{"maxTotalRateLimit", func() (uint32, error) { return e.reg.MaxTotalRateLimit(nil) }, 1_000_000},
		{"activeDuration", func() (uint32, error) { return e.reg.ActiveDuration(nil) }, 180 * 86400},
		{"gracePeriod", func() (uint32, error) { return e.reg.GracePeriod(nil) }, 30 * 86400},
	} {
		got, err := c.get()
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s() = %d, want %d", c.name, got, c.want)
		}
	}
	price, err := e.reg.PricePerMessage(nil)
	if err != nil || price.Sign() != 0 {
		t.Errorf("pricePerMessage() = %v, %v; want 0", price, err)
	}
	head, err := e.client.BlockNumber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.reg.DeployedBlockNumber(nil); err != nil || uint64(got) != head {
		t.Errorf("deployedBlockNumber() = %d, %v; want %d", got, err, head)
	}
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams(), false)
	id := ids(1, 4)
	qMinus1 := new(big.Int).Sub(q, big.NewInt(1))

	// Boundaries that are accepted: id Q-1, rate limits min and max.
	_, evs := e.register(0, qMinus1, 20)
	wantEvents(t, evs, "Registered")
	_, evs = e.register(1, id[0], 600)
	wantEvents(t, evs, "Registered")

	maxWord := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	for _, tc := range []struct {
		name      string
		id        *big.Int
		rateLimit uint32
		want      string
	}{
		{"zero id commitment", big.NewInt(0), 20, "InvalidIdCommitment"},
		{"id commitment Q", q, 20, "InvalidIdCommitment"},
		{"id commitment 2^256-1", maxWord, 20, "InvalidIdCommitment"},
		{"duplicate", id[0], 20, "DuplicateIdCommitment"},
		{"duplicate Q-1", qMinus1, 50, "DuplicateIdCommitment"},
		{"rate limit 0", id[1], 0, "InvalidMembershipRateLimit"},
		{"rate limit below minimum", id[1], 19, "InvalidMembershipRateLimit"},
		{"rate limit above maximum", id[1], 601, "InvalidMembershipRateLimit"},
		{"total above cap", id[1], 400, "ExceededMaxTotalRateLimit"}, // 20 + 600 + 400 > 1000
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.reg.Register(e.users[2], tc.id, tc.rateLimit, []*big.Int{})
			wantRevert(t, err, tc.want)
		})
	}
	e.check() // reverted calls changed nothing

	// Exactly at the cap.
	e.register(2, id[1], 380)
	total, err := e.reg.CurrentTotalRateLimit(nil)
	if err != nil || total.Int64() != 1000 {
		t.Fatalf("currentTotalRateLimit() = %v, %v; want 1000", total, err)
	}
	_, err = e.reg.Register(e.users[2], id[2], 20, []*big.Int{})
	wantRevert(t, err, "ExceededMaxTotalRateLimit")

	// Membership getters.
	for i, c := range []struct {
		id    *big.Int
		rate  uint32
		index uint32
	}{{qMinus1, 20, 0}, {id[0], 600, 1}, {id[1], 380, 2}} {
		in, err := e.reg.IsInMembershipSet(nil, c.id)
		if err != nil || !in {
			t.Fatalf("member %d: isInMembershipSet = %v, %v", i, in, err)
		}
		info, err := e.reg.GetMembershipInfo(nil, c.id)
		if err != nil {
			t.Fatal(err)
		}
		leaf := toBig(poseidon.Hash2(toFr(c.id), fromUint(uint64(c.rate))))
		if info.RateLimit != c.rate || info.Index != c.index || info.RateCommitment.Cmp(leaf) != 0 {
			t.Fatalf("member %d: getMembershipInfo = %+v, want rate %d index %d leaf %v", i, info, c.rate, c.index, leaf)
		}
	}
	if in, err := e.reg.IsInMembershipSet(nil, id[3]); err != nil || in {
		t.Fatalf("unregistered id: isInMembershipSet = %v, %v", in, err)
	}
	if info, err := e.reg.GetMembershipInfo(nil, id[3]); err != nil || info.RateLimit != 0 || info.Index != 0 || info.RateCommitment.Sign() != 0 {
		t.Fatalf("unregistered id: getMembershipInfo = %+v, %v; want zeros", info, err)
	}
	leaves, err := e.reg.GetRateCommitmentsInRangeBoundsInclusive(nil, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range leaves {
		want, _ := e.tree.Leaf(uint64(i))
		if l.Cmp(toBig(want)) != 0 {
			t.Fatalf("getRateCommitmentsInRangeBoundsInclusive(0, 2)[%d] = %v, want %v", i, l, toBig(want))
		}
	}
	_, err = e.reg.GetRateCommitmentsInRangeBoundsInclusive(nil, 0, 3)
	wantRevert(t, err, "InvalidPaginationQuery")
	_, err = e.reg.GetMerkleProof(nil, big.NewInt(1<<20))
	wantRevert(t, err, "InvalidIndex")
}

func TestExpiryGraceAndExtension(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams(), false) // active 1000 s, grace 500 s
	id := ids(2, 4)
	a, b, c, d := id[0], id[1], id[2], id[3]
	e.register(0, a, 100) // index 0, holder user 0
	e.register(1, b, 200) // index 1, holder user 1

	// Active: nobody may extend or erase.
	_, err := e.reg.ExtendMemberships(e.users[0], []*big.Int{a})
	wantRevert(t, err, "NotInGracePeriod")
	_, err = e.reg.EraseMemberships(e.users[0], []*big.Int{a})
	wantRevert(t, err, "CannotEraseMembership")
	_, err = e.reg.EraseMemberships(e.users[2], []*big.Int{a})
	wantRevert(t, err, "CannotEraseMembership")
	_, err = e.reg.Register(e.users[2], c, 20, []*big.Int{a})
	wantRevert(t, err, "CannotEraseMembership")
	_, err = e.reg.EraseMemberships(e.users[2], []*big.Int{d})
	wantRevert(t, err, "MembershipDoesNotExist")

	// Grace period (t0 + 1100): only holders may extend or erase.
	e.advance(1100 * time.Second)
	if g, err := e.reg.IsInGracePeriod(nil, a); err != nil || !g {
		t.Fatalf("isInGracePeriod(a) = %v, %v; want true", g, err)
	}
	_, err = e.reg.ExtendMemberships(e.users[1], []*big.Int{a})
	wantRevert(t, err, "NotHolder")
	_, err = e.reg.EraseMemberships(e.users[2], []*big.Int{b})
	wantRevert(t, err, "CannotEraseMembership")
	_, err = e.reg.Register(e.users[2], c, 20, []*big.Int{b})
	wantRevert(t, err, "CannotEraseMembership")

	tx, err := e.reg.ExtendMemberships(e.users[0], []*big.Int{a})
	if err != nil {
		t.Fatal(err)
	}
	r := e.mine(tx)
	wantEvents(t, e.apply(r), "Extended")
	ext, err := e.reg.ParseMembershipExtended(*r.Logs[0])
	if err != nil {
		t.Fatal(err)
	}
	block, err := e.client.HeaderByNumber(context.Background(), r.BlockNumber)
	if err != nil {
		t.Fatal(err)
	}
	if want := block.Time + 1000; ext.NewGracePeriodStartTimestamp.Uint64() != want || ext.MembershipRateLimit != 100 || ext.Index != 0 {
		t.Fatalf("MembershipExtended = %+v, want grace start %d (block time + active duration), rate 100, index 0", ext, want)
	}
	terms, err := e.reg.GetMembershipTerms(nil, a)
	if err != nil {
		t.Fatal(err)
	}
	if terms.Holder != e.users[0].From || terms.GracePeriodStartTimestamp.Cmp(ext.NewGracePeriodStartTimestamp) != 0 ||
		terms.ExpirationTimestamp.Uint64() != block.Time+1500 {
		t.Fatalf("getMembershipTerms(a) = %+v after extension at %d", terms, block.Time)
	}
	if g, err := e.reg.IsInGracePeriod(nil, a); err != nil || g {
		t.Fatalf("isInGracePeriod(a) after extension = %v, %v; want false", g, err)
	}
	e.check() // extension changes no leaf

	// t0 + 1600: b expired, a active again.
	e.advance(500 * time.Second)
	if x, err := e.reg.IsExpired(nil, b); err != nil || !x {
		t.Fatalf("isExpired(b) = %v, %v; want true", x, err)
	}
	_, err = e.reg.ExtendMemberships(e.users[1], []*big.Int{b})
	wantRevert(t, err, "NotInGracePeriod")
	_, err = e.reg.EraseMemberships(e.users[2], []*big.Int{a})
	wantRevert(t, err, "CannotEraseMembership")

	// Anyone erases an expired membership: MembershipExpired, leaf 0.
	_, evs := e.erase(2, b)
	wantEvents(t, evs, "Expired")
	if in, _ := e.reg.IsInMembershipSet(nil, b); in {
		t.Fatal("b still in the membership set after erasure")
	}
	if total, _ := e.reg.CurrentTotalRateLimit(nil); total.Int64() != 100 {
		t.Fatalf("currentTotalRateLimit() = %v after erasing b, want 100", total)
	}
	_, err = e.reg.EraseMemberships(e.users[2], []*big.Int{b})
	wantRevert(t, err, "MembershipDoesNotExist")

	// b's index is reused.
	_, evs = e.register(2, c, 20)
	if wantEvents(t, evs, "Registered"); evs[0].index != 1 {
		t.Fatalf("c registered at index %d, want b's index 1", evs[0].index)
	}

	// t0 + 2200: without the extension a would be long expired; now it is
	// in its grace period.
	e.advance(600 * time.Second)
	if g, err := e.reg.IsInGracePeriod(nil, a); err != nil || !g {
		t.Fatalf("isInGracePeriod(a) = %v, %v; want true", g, err)
	}
	if x, err := e.reg.IsExpired(nil, a); err != nil || x {
		t.Fatalf("isExpired(a) = %v, %v; want false", x, err)
	}

	// t0 + 2700: a expired; a registration erases it through its list and
	// takes its index.
	e.advance(500 * time.Second)
	_, evs = e.register(1, d, 30, a)
	wantEvents(t, evs, "Expired", "Registered")
	if evs[1].index != 0 {
		t.Fatalf("d registered at index %d, want a's index 0", evs[1].index)
	}
	if next, _ := e.reg.NextFreeIndex(nil); next != 2 {
		t.Fatalf("nextFreeIndex() = %d, want 2 (indices reused)", next)
	}
}

func TestIndexReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testParams(), false)
	id := ids(3, 9)
	for i := range 5 {
		e.register(i%users, id[i], 20) // indices 0..4
	}
	e.advance(1600 * time.Second) // all expired

	// Holders: id[0], id[3] user 0; id[1], id[4] user 1; id[2] user 2.
	_, err := e.reg.Register(e.users[2], id[5], 20, []*big.Int{id[1], id[1]})
	wantRevert(t, err, "MembershipDoesNotExist")
	_, err = e.reg.Register(e.users[2], id[5], 20, []*big.Int{id[1], id[8]})
	wantRevert(t, err, "MembershipDoesNotExist")

	// Two erased by a non-holder, the last one's index taken at once, the
	// other zeroed and kept free.
	_, evs := e.register(2, id[5], 20, id[1], id[3])
	wantEvents(t, evs, "Expired", "Expired", "Registered")
	if evs[2].index != 3 {
		t.Fatalf("registered at %d, want 3", evs[2].index)
	}
	if leaf, _ := e.tree.Leaf(1); !leaf.IsZero() {
		t.Fatal("erased leaf 1 not zero in the mirror")
	}
	_, evs = e.register(1, id[6], 20)
	if evs[0].index != 1 {
		t.Fatalf("registered at %d, want freed index 1", evs[0].index)
	}
	_, evs = e.register(2, id[7], 20)
	if evs[0].index != 5 {
		t.Fatalf("registered at %d, want nextFreeIndex 5", evs[0].index)
	}

	// A holder erases its own expired membership: both events.
	_, evs = e.erase(0, id[0])
	wantEvents(t, evs, "Expired", "Erased")
	// Erasing the rightmost leaf and a batch of others.
	_, evs = e.erase(0, id[4], id[2])
	wantEvents(t, evs, "Expired", "Expired")
	_, evs = e.register(2, id[8], 20)
	if evs[0].index != 2 {
		t.Fatalf("registered at %d, want the last freed index 2", evs[0].index)
	}
}

func TestHolderEraseAndRefund(t *testing.T) {
	t.Parallel()
	p := testParams()
	p.PricePerMessage = big.NewInt(3)
	e := newEnv(t, p, true)
	id := ids(4, 4)
	balance := func(u int) int64 {
		t.Helper()
		b, err := e.token.BalanceOf(nil, e.users[u].From)
		if err != nil {
			t.Fatal(err)
		}
		return b.Int64()
	}
	full := tokenFunds.Int64()

	e.register(1, id[0], 100)
	if got := balance(1); got != full-300 {
		t.Fatalf("balance after registering 100 messages at 3 = %d, want %d", got, full-300)
	}

	// Active: the holder may not erase yet.
	_, err := e.reg.EraseMemberships(e.users[1], []*big.Int{id[0]})
	wantRevert(t, err, "CannotEraseMembership")

	// Grace: the holder erases and is refunded at once.
	e.advance(1100 * time.Second)
	_, evs := e.erase(1, id[0])
	wantEvents(t, evs, "Erased")
	if got := balance(1); got != full {
		t.Fatalf("balance after erasure = %d, want the deposit back (%d)", got, full)
	}
	if total, _ := e.reg.CurrentTotalRateLimit(nil); total.Sign() != 0 {
		t.Fatalf("currentTotalRateLimit() = %v, want 0", total)
	}

	// The freed index is reused.
	_, evs = e.register(2, id[1], 50)
	if evs[0].index != 0 {
		t.Fatalf("registered at %d, want freed index 0", evs[0].index)
	}
	e.register(2, id[2], 20) // index 1

	// Others erase expired memberships; the holder withdraws later.
	e.advance(1600 * time.Second)
	_, evs = e.erase(0, id[1])
	wantEvents(t, evs, "Expired")
	if owed, _ := e.reg.PendingRefunds(nil, e.users[2].From); owed.Int64() != 150 {
		t.Fatalf("pendingRefunds(holder) = %v, want 150", owed)
	}
	before := balance(2)
	tx, err := e.reg.Withdraw(e.users[2])
	if err != nil {
		t.Fatal(err)
	}
	e.mine(tx)
	if got := balance(2); got != before+150 {
		t.Fatalf("balance after withdraw = %d, want %d", got, before+150)
	}
	_, err = e.reg.Withdraw(e.users[2])
	wantRevert(t, err, "NothingToWithdraw")

	// The holder erases its own expired membership: refunded at once.
	_, evs = e.erase(2, id[2])
	wantEvents(t, evs, "Expired", "Erased")
	if got := balance(2); got != full {
		t.Fatalf("balance after erasing everything = %d, want %d", got, full)
	}
	if got, _ := e.token.BalanceOf(nil, e.regAddr); got.Sign() != 0 {
		t.Fatalf("registry still holds %v tokens", got)
	}

	// No allowance, no registration.
	tx, err = e.token.Approve(e.users[0], e.regAddr, big.NewInt(59))
	if err != nil {
		t.Fatal(err)
	}
	e.mine(tx)
	_, err = e.reg.Register(e.users[0], id[3], 20, []*big.Int{})
	wantRevert(t, err, "TokenTransferFailed")
}

// TestRegisterBatch: a batch registers like one register() per commitment
// (checks, indices, events in order, freed indices first, deposits) and
// records one root; a bad member reverts the whole batch.
func TestRegisterBatch(t *testing.T) {
	t.Parallel()
	p := testParams()
	p.PricePerMessage = big.NewInt(2)
	p.MaxTotalRateLimit = 10_000
	e := newEnv(t, p, true)
	id := ids(7, 40)
	qMinus1 := new(big.Int).Sub(q, big.NewInt(1))

	// Nothing, duplicates (in the batch and with a member), bad ids and
	// rate limits, and the total cap revert the whole batch.
	e.register(0, id[0], 20)
	for _, tc := range []struct {
		name string
		ids  []*big.Int
		rate uint32
		want string
	}{
		{"empty", []*big.Int{}, 20, "EmptyBatch"},
		{"duplicate in the batch", []*big.Int{id[1], id[2], id[1]}, 20, "DuplicateIdCommitment"},
		{"duplicate of a member", []*big.Int{id[1], id[0]}, 20, "DuplicateIdCommitment"},
		{"zero id commitment", []*big.Int{id[1], big.NewInt(0)}, 20, "InvalidIdCommitment"},
		{"id commitment Q", []*big.Int{q}, 20, "InvalidIdCommitment"},
		{"rate limit below minimum", []*big.Int{id[1]}, 19, "InvalidMembershipRateLimit"},
		{"total above cap", id[1:40], 300, "ExceededMaxTotalRateLimit"}, // 20 + 39*300 > 10,000
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.reg.RegisterBatch(e.users[1], tc.ids, tc.rate)
			wantRevert(t, err, tc.want)
		})
	}
	e.check() // reverted calls changed nothing

	// 13 members from index 1: the tree grows past several complete levels
	// in one transaction, with one root recorded.
	before := tokenBalance(t, e, 1)
	batch := append([]*big.Int{qMinus1}, id[1:13]...)
	_, evs := e.registerBatch(1, batch, 30)
	if len(evs) != len(batch) {
		t.Fatalf("%d events, want %d", len(evs), len(batch))
	}
	for k, ev := range evs {
		if ev.kind != "Registered" || ev.id.Cmp(batch[k]) != 0 || ev.index != uint32(1+k) {
			t.Fatalf("event %d = %+v, want Registered of batch[%d] at %d", k, ev, k, 1+k)
		}
	}
	if got := tokenBalance(t, e, 1); got != before-2*30*int64(len(batch)) {
		t.Fatalf("deposit: balance %d -> %d, want %d taken", before, got, 2*30*len(batch))
	}

	// Freed indices are used first (last freed first), then the tree grows.
	e.advance(1600 * time.Second) // all expired
	_, evs = e.erase(0, id[3], id[5])
	wantEvents(t, evs, "Expired", "Expired")
	_, evs = e.registerBatch(2, id[20:24], 20)
	var got []uint32
	for _, ev := range evs {
		got = append(got, ev.index)
	}
	if want := []uint32{6, 4, 14, 15}; !slices.Equal(got, want) {
		t.Fatalf("indices %v, want %v (freed 6 and 4, then new)", got, want)
	}
}

// tokenBalance is user u's test-token balance.
func tokenBalance(t *testing.T, e *env, u int) int64 {
	t.Helper()
	b, err := e.token.BalanceOf(nil, e.users[u].From)
	if err != nil {
		t.Fatal(err)
	}
	return b.Int64()
}

// TestManyRegistrations grows the tree past several complete levels.
func TestManyRegistrations(t *testing.T) {
	t.Parallel()
	p := testParams()
	p.MinRateLimit, p.MaxTotalRateLimit = 1, 100_000
	e := newEnv(t, p, false)
	e.rootsOnly = true
	for i, id := range ids(5, 35) {
		e.register(i%users, id, uint32(1+i%7))
	}
	e.rootsOnly = false
	e.check()
}

// TestRegistrationGas logs the gas of registrations: the first, the next
// few (growing the tree), one reusing an erased index, an erasure and
// Poseidon alone; on the dev chain's rules and on Osaka's.
func TestRegistrationGas(t *testing.T) {
	t.Parallel()
	for _, rules := range []struct {
		name string
		opt  func(*node.Config, *ethconfig.Config)
	}{
		{"dev chain (Amsterdam, EIP-8037 state gas)", nil},
		{"Osaka", osakaRules},
	} {
		t.Run(rules.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, contracts.DevnetParams(), false, rules.opt)
			id := ids(6, 50)
			var used []uint64
			for i := range 8 {
				r, _ := e.register(0, id[i], 100)
				used = append(used, r.GasUsed)
			}
			t.Logf("%s: registration gas, indices 0..7: %v", rules.name, used)
			r, _ := e.registerBatch(0, id[10:50], 100)
			t.Logf("%s: registerBatch of 40 (indices 8..47): %d gas, %d per member", rules.name, r.GasUsed, r.GasUsed/40)

			e.advance((180 + 31) * 24 * time.Hour)
			r, _ = e.register(1, id[8], 100, id[2])
			t.Logf("%s: registration erasing an expired membership and reusing its index 2: %d gas", rules.name, r.GasUsed)
			r, _ = e.erase(1, id[5])
			t.Logf("%s: eraseMemberships of one expired membership (index 5): %d gas", rules.name, r.GasUsed)

			parsed, err := bindings.RlnRegistryMetaData.GetAbi()
			if err != nil {
				t.Fatal(err)
			}
			data, err := parsed.Pack("hash2", big.NewInt(1), big.NewInt(2))
			if err != nil {
				t.Fatal(err)
			}
			gas, err := e.client.EstimateGas(context.Background(), ethereum.CallMsg{From: e.users[0].From, To: &e.regAddr, Data: data})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: hash2 call: %d gas (including the 21000 of a transaction)", rules.name, gas)
		})
	}
}
