package contracts_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/rlnd/rlnd/contracts"
	"github.com/rlnd/rlnd/contracts/bindings"
)

// TestRandomOperationsMatchModel runs a random but reproducible sequence of
// registrations (some erasing others first, some batched), lazy and full
// erasures, extensions, moves of the clock, withdrawals, allowance changes
// and owner setters (terms, price calculator with another token) by three
// accounts, one of them short of tokens. Every step checks the outcome
// against the model's prediction (events with their arguments, or the
// revert reason) and the registry against the model and the event-fed
// mirror: nextFreeIndex, currentTotalRateLimit, every leaf, and root()
// whenever a leaf was written; every 20 steps also root(), every
// membership, the period views, the freed indices, the deposits, the
// balances and Merkle proofs. The steps are chosen to cross
// the period boundaries, the total cap and the rate limit bounds.
func TestRandomOperationsMatchModel(t *testing.T) {
	t.Parallel()
	const seed = 0x5eed_2024
	steps := 300
	if testing.Short() {
		steps = 80
	}
	p := contracts.RegistryParams{
		PricePerMessage: big.NewInt(3), MinRateLimit: 2, MaxRateLimit: 40, MaxTotalRateLimit: 200,
		ActiveDuration: 60, GracePeriod: 30, Dev: true,
	}
	e := newEnvWith(t, envOptions{params: p, funds: []*big.Int{big.NewInt(1_000_000), big.NewInt(1_000_000), big.NewInt(300)}})

	// A second token and a calculator taking it at 5 per message.
	token2, tx, _, err := bindings.DeployTestToken(e.opts(0), e.client, e.m.addrs, big.NewInt(1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	e.mineAll(tx)
	calc2, tx, _, err := bindings.DeployLinearPriceCalculator(e.opts(0), e.client, token2, big.NewInt(5))
	if err != nil {
		t.Fatal(err)
	}
	e.mineAll(tx)
	e.m.calcs[calc2] = calcTerms{token2, big.NewInt(5)}
	for u := range users {
		e.m.balances[holding{e.m.addrs[u], token2}] = big.NewInt(1_000_000)
		e.approveToken(u, token2, maxUint256)
	}
	calcs := []common.Address{e.d.PriceCalculator, calc2}

	rng := rand.New(rand.NewPCG(seed, 2))
	pool := append(ids(seed, 40), big.NewInt(1), big.NewInt(2), new(big.Int).Sub(q, big.NewInt(1)))
	invalid := []*big.Int{big.NewInt(0), q}
	pickID := func() *big.Int {
		if rng.IntN(25) == 0 {
			return invalid[rng.IntN(len(invalid))]
		}
		return pool[rng.IntN(len(pool))]
	}
	// pickWhere prefers ids of the pool whose membership (or absence)
	// satisfies ok at the next block's time, in the pool's order so that
	// the choice does not depend on map iteration.
	pickWhere := func(ok func(mb member, in bool, now uint64) bool) func() *big.Int {
		return func() *big.Int {
			now := e.now() + 1
			var fit []*big.Int
			for _, id := range pool {
				if mb, in := e.m.members[id.String()]; ok(mb, in, now) {
					fit = append(fit, id)
				}
			}
			if len(fit) == 0 || rng.IntN(6) == 0 {
				return pickID()
			}
			return fit[rng.IntN(len(fit))]
		}
	}
	pickFresh := pickWhere(func(_ member, in bool, _ uint64) bool { return !in })
	pickMember := pickWhere(func(_ member, in bool, _ uint64) bool { return in })
	pickErasable := pickWhere(func(mb member, in bool, now uint64) bool { return in && (mb.inGrace(now) || mb.expired(now)) })
	pickInGrace := pickWhere(func(mb member, in bool, now uint64) bool { return in && mb.inGrace(now) })
	pickIDs := func(pick func() *big.Int) []*big.Int {
		out := []*big.Int{pick()}
		if rng.IntN(3) == 0 {
			out = append(out, pick())
		}
		return out
	}
	holderOr := func(id *big.Int) int {
		if mb, ok := e.m.members[id.String()]; ok && rng.IntN(5) < 4 {
			return mb.holder
		}
		return rng.IntN(users)
	}
	pickRate := func() uint32 {
		if rng.IntN(7) == 0 {
			return []uint32{0, e.m.minRate - 1, e.m.maxRate + 1}[rng.IntN(3)]
		}
		return e.m.minRate + uint32(rng.IntN(int(e.m.maxRate-e.m.minRate+1)))
	}

	ops := map[string]int{}
	outcomes := map[string]int{}
	record := func(op string, o outcome, next uint32) {
		ops[op]++
		if o.reason != "" {
			name, _, _ := strings.Cut(o.reason, "(")
			outcomes["revert "+name]++
			return
		}
		for _, ev := range o.evs {
			outcomes["event "+ev.kind]++
			if ev.kind == "Registered" && ev.index < next {
				outcomes["index reused"]++
			}
		}
	}

	for step := range steps {
		next := uint32(len(e.m.leaves))
		switch r := rng.IntN(100); {
		case r < 30:
			u, id, rate := rng.IntN(users), pickFresh(), pickRate()
			if rng.IntN(20) == 0 {
				id = invalid[rng.IntN(len(invalid))]
			}
			var erase []*big.Int
			op := "register"
			if rng.IntN(4) == 0 {
				erase, op = pickIDs(pickErasable), "register with erase"
			}
			record(op, e.register(u, id, rate, erase...), next)
		case r < 36:
			batch := []*big.Int{pickFresh()}
			for range rng.IntN(3) {
				batch = append(batch, pickFresh())
			}
			record("registerBatch", e.registerBatch(rng.IntN(users), batch, pickRate()), next)
		case r < 45:
			ids := pickIDs([]func() *big.Int{pickErasable, pickInGrace, pickMember}[rng.IntN(3)])
			record("erase lazily", e.erase(holderOr(ids[0]), ids...), next)
		case r < 51:
			ids := pickIDs([]func() *big.Int{pickErasable, pickInGrace, pickMember}[rng.IntN(3)])
			record("erase fully", e.eraseFull(holderOr(ids[0]), true, ids...), next)
		case r < 63:
			ids := []*big.Int{pickInGrace()}
			if rng.IntN(5) == 0 {
				ids = append(ids, pickMember())
			}
			record("extend", e.extend(holderOr(ids[0]), ids...), next)
		case r < 78:
			e.advance([]uint64{1, 2, 5, 10, 29, 30, 31, 45, 59, 60, 61, 90}[rng.IntN(12)])
			ops["advance"]++
		case r < 86:
			tok := []common.Address{e.tokenAddr, e.tokenAddr, e.tokenAddr, token2, token2, {}}[rng.IntN(6)]
			record("withdraw", e.withdraw(rng.IntN(users), tok), next)
		case r < 90:
			e.approve(1, []*big.Int{big.NewInt(60), big.NewInt(500), maxUint256, maxUint256}[rng.IntN(4)])
			ops["approve"]++
		default:
			u := 0
			if rng.IntN(7) == 0 {
				u = 1
			}
			record("owner setter", e.randomSetter(rng, u, calcs), next)
		}
		if step%20 == 19 {
			e.check()
			e.checkDeep()
			if n := uint64(len(e.m.leaves)); n > 0 {
				e.checkProof(rng.Uint64N(n))
				e.checkProof(n - 1)
			}
		}
	}
	e.check()
	e.checkDeep()

	t.Logf("%d steps, %d leaves, %d memberships, %d freed indices; operations %s; outcomes %s",
		steps, len(e.m.leaves), len(e.m.members), len(e.m.free), counts(ops), counts(outcomes))
	if testing.Short() {
		return
	}
	// The sequence is fixed; make sure it still reaches every case.
	for _, want := range []string{
		"event Registered", "event Expired", "event Erased", "event Extended", "index reused",
		"revert InvalidIdCommitment", `revert "Duplicate idCommitment: membership already exists"`,
		"revert InvalidMembershipRateLimit", "revert CannotExceedMaxTotalRateLimit",
		`revert "ERC20: insufficient allowance"`, `revert "ERC20: transfer amount exceeds balance"`,
		"revert MembershipDoesNotExist", "revert CannotEraseActiveMembership",
		"revert NonHolderCannotEraseGracePeriodMembership", "revert CannotExtendNonGracePeriodMembership",
		"revert NonHolderCannotExtend", `revert "Insufficient deposit balance"`, `revert "ETH is not allowed"`,
		`revert "Ownable: caller is not the owner"`,
	} {
		if outcomes[want] == 0 {
			t.Errorf("the sequence never reached %s", want)
		}
	}
}

// randomSetter sends one of the owner's setters, with a value that may be
// refused, from user u.
func (e *env) randomSetter(rng *rand.Rand, u int, calcs []common.Address) outcome {
	e.t.Helper()
	switch rng.IntN(6) {
	case 0:
		v := []uint32{0, 30, 45, 60}[rng.IntN(4)]
		return e.setter(u, func(m *model) string { return m.setGrace(u, v) },
			func(o *bind.TransactOpts) (*types.Transaction, error) { return e.reg.SetGracePeriodDuration(o, v) })
	case 1:
		v := []uint32{0, 40, 60, 90}[rng.IntN(4)]
		return e.setter(u, func(m *model) string { return m.setActive(u, v) },
			func(o *bind.TransactOpts) (*types.Transaction, error) { return e.reg.SetActiveDuration(o, v) })
	case 2:
		c := calcs[rng.IntN(len(calcs))]
		return e.setter(u, func(m *model) string { return m.setCalculator(u, c) },
			func(o *bind.TransactOpts) (*types.Transaction, error) { return e.reg.SetPriceCalculator(o, c) })
	case 3:
		v := []uint32{1, 2, 5, 50}[rng.IntN(4)]
		return e.setter(u, func(m *model) string { return m.setMin(u, v) },
			func(o *bind.TransactOpts) (*types.Transaction, error) { return e.reg.SetMinMembershipRateLimit(o, v) })
	case 4:
		v := []uint32{1, 20, 40, 60}[rng.IntN(4)]
		return e.setter(u, func(m *model) string { return m.setMax(u, v) },
			func(o *bind.TransactOpts) (*types.Transaction, error) { return e.reg.SetMaxMembershipRateLimit(o, v) })
	default:
		v := []uint32{30, 100, 400, 800}[rng.IntN(4)]
		return e.setter(u, func(m *model) string { return m.setMaxTotal(u, v) },
			func(o *bind.TransactOpts) (*types.Transaction, error) { return e.reg.SetMaxTotalRateLimit(o, v) })
	}
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(slices.Clip(parts), ", ")
}
