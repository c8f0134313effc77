package contracts_test

import (
	"fmt"
	"maps"
	"math/big"
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"

	"github.com/rlnd/rlnd/rln/poseidon"
)

// model is the registry as the spec (WakuRlnV2 as deployed) describes it,
// in plain Go with none of RlnRegistry.sol's machinery (no stored nodes,
// no right edge): the tree's leaves, the stack of freed indices, the
// memberships, the total rate limit, the deposits owed, and the tokens'
// balances and allowances. Every operation predicts the events a successful call emits, or the revert
// reason (as contracts.RevertReason renders it) of a failing one. An
// operation that reverts may have changed the model half-way: run it on a
// clone and keep the clone only on success.
type model struct {
	addrs    []common.Address // users by index
	registry common.Address
	owner    int

	minRate, maxRate, maxTotal uint32
	active, grace              uint32
	calc                       common.Address // the current price calculator
	calcs                      map[common.Address]calcTerms

	leaves  []fr.Element // leaves[i] for i < nextFreeIndex
	free    []uint32     // indices of erased memberships, reused last first
	members map[string]member
	total   uint64

	deposits   map[holding]*big.Int // depositsToWithdraw[holder][token]
	balances   map[holding]*big.Int // token balances (users and the registry)
	allowances map[holding]*big.Int // users' allowances toward the registry
}

// calcTerms is a LinearPriceCalculator's token and price per message.
type calcTerms struct {
	token common.Address
	price *big.Int
}

// holding keys an account's amount of a token.
type holding struct {
	account, token common.Address
}

// member is one membership, as memberships(id) returns it.
type member struct {
	id            *big.Int
	deposit       *big.Int
	active, grace uint32
	graceStart    uint64
	rate, index   uint32
	holder        int
	token         common.Address
}

// event is one registry event: Registered, Expired, Erased or Extended.
type event struct {
	kind       string
	id         *big.Int
	rate       uint32
	index      uint32
	graceStart uint64 // Extended only
}

func (ev event) String() string {
	s := fmt.Sprintf("%s(%s, rate %d, index %d", ev.kind, short(ev.id), ev.rate, ev.index)
	if ev.kind == "Extended" {
		s += fmt.Sprintf(", grace from %d", ev.graceStart)
	}
	return s + ")"
}

// short abbreviates an id commitment for messages.
func short(id *big.Int) string {
	s := id.String()
	if len(s) > 12 {
		return s[:6] + "…" + s[len(s)-4:]
	}
	return s
}

var maxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

func (m *model) clone() *model {
	c := *m
	c.calcs = maps.Clone(m.calcs)
	c.leaves = slices.Clone(m.leaves)
	c.free = slices.Clone(m.free)
	c.members = maps.Clone(m.members)
	c.deposits = maps.Clone(m.deposits)
	c.balances = maps.Clone(m.balances)
	c.allowances = maps.Clone(m.allowances)
	return &c
}

// amount returns a map entry, 0 if absent (never nil; never mutated).
func amount(m map[holding]*big.Int, k holding) *big.Int {
	if v := m[k]; v != nil {
		return v
	}
	return new(big.Int)
}

func add(a, b *big.Int) *big.Int { return new(big.Int).Add(a, b) }
func sub(a, b *big.Int) *big.Int { return new(big.Int).Sub(a, b) }

// Revert reasons as contracts.RevertReason renders them.
func errID(name string, id *big.Int) string { return fmt.Sprintf("%s(idCommitment=0x%064x)", name, id) }
func errPagination(start, end uint64) string {
	return fmt.Sprintf("InvalidPaginationQuery(startIndex=0x%064x, endIndex=0x%064x)", start, end)
}
func errString(s string) string { return fmt.Sprintf("%q", s) }

const (
	errDuplicate    = `"Duplicate idCommitment: membership already exists"`
	errRate         = "InvalidMembershipRateLimit()"
	errTotal        = "CannotExceedMaxTotalRateLimit()"
	errAllowance    = `"ERC20: insufficient allowance"`
	errBalance      = `"ERC20: transfer amount exceeds balance"`
	errNotOwner     = `"Ownable: caller is not the owner"`
	errInitialized  = `"Initializable: contract is already initialized"`
	errNoReason     = "no reason given"
	errNoDeposit    = `"Insufficient deposit balance"`
	errETH          = `"ETH is not allowed"`
	errLeafNotExist = `"LazyIMT: leaf must exist"`
)

// Periods of a membership at time now: active before graceStart, in its
// grace period in [graceStart, graceStart+grace), expired from then on.
func (mb member) inGrace(now uint64) bool {
	return mb.graceStart <= now && now < mb.graceStart+uint64(mb.grace)
}
func (mb member) expired(now uint64) bool { return mb.graceStart+uint64(mb.grace) <= now }

// rateCommitment is a membership's leaf.
func rateCommitment(id *big.Int, rate uint32) fr.Element {
	return poseidon.Hash2(toFr(id), fromUint(uint64(rate)))
}

// register is register(id, rate, erase) sent by caller at time now.
func (m *model) register(caller int, id *big.Int, rate uint32, erase []*big.Int, now uint64) ([]event, string) {
	if reason := m.registrable(id); reason != "" {
		return nil, reason
	}
	evs, reason := m.eraseAll(caller, erase, false, now)
	if reason != "" {
		return nil, reason
	}
	ev, reason := m.add(caller, id, rate, now)
	if reason != "" {
		return nil, reason
	}
	return append(evs, ev), ""
}

// registerBatch is DevRlnRegistry.registerBatch(ids, rate): one register
// each, nothing to erase.
func (m *model) registerBatch(caller int, ids []*big.Int, rate uint32, now uint64) ([]event, string) {
	var evs []event
	for _, id := range ids {
		if reason := m.registrable(id); reason != "" {
			return nil, reason
		}
		ev, reason := m.add(caller, id, rate, now)
		if reason != "" {
			return nil, reason
		}
		evs = append(evs, ev)
	}
	return evs, ""
}

// registrable is register's checks before it erases anything.
func (m *model) registrable(id *big.Int) string {
	if id.Sign() <= 0 || id.Cmp(fr.Modulus()) >= 0 {
		return errID("InvalidIdCommitment", id)
	}
	if _, ok := m.members[id.String()]; ok {
		return errDuplicate
	}
	if len(m.leaves) >= 1<<20 {
		return errString("Membership set is full")
	}
	return ""
}

// add is the registration proper: rate limit checks, the deposit pulled
// with transferFrom, the index (last freed first), the leaf.
func (m *model) add(caller int, id *big.Int, rate uint32, now uint64) (event, string) {
	if rate < m.minRate || rate > m.maxRate {
		return event{}, errRate
	}
	if m.total+uint64(rate) > uint64(m.maxTotal) {
		return event{}, errTotal
	}
	terms := m.calcs[m.calc]
	deposit := new(big.Int).Mul(big.NewInt(int64(rate)), terms.price)
	if reason := m.transferFrom(caller, terms.token, deposit); reason != "" {
		return event{}, reason
	}
	m.total += uint64(rate)
	var index uint32
	if n := len(m.free); n > 0 {
		index = m.free[n-1]
		m.free = m.free[:n-1]
		m.leaves[index] = rateCommitment(id, rate)
	} else {
		index = uint32(len(m.leaves))
		m.leaves = append(m.leaves, rateCommitment(id, rate))
	}
	m.members[id.String()] = member{
		id: id, deposit: deposit, active: m.active, grace: m.grace,
		graceStart: now + uint64(m.active), rate: rate, index: index,
		holder: caller, token: terms.token,
	}
	return event{kind: "Registered", id: id, rate: rate, index: index}, ""
}

// transferFrom is TestToken.transferFrom(caller, registry, value) called by
// the registry.
func (m *model) transferFrom(caller int, token common.Address, value *big.Int) string {
	from := holding{m.addrs[caller], token}
	allowed := amount(m.allowances, from)
	if allowed.Cmp(maxUint256) != 0 {
		if allowed.Cmp(value) < 0 {
			return errAllowance
		}
		m.allowances[from] = sub(allowed, value)
	}
	return m.move(from, holding{m.registry, token}, value)
}

// move is TestToken's balance transfer.
func (m *model) move(from, to holding, value *big.Int) string {
	bal := amount(m.balances, from)
	if bal.Cmp(value) < 0 {
		return errBalance
	}
	m.balances[from] = sub(bal, value)
	m.balances[to] = add(amount(m.balances, to), value)
	return ""
}

// erase is eraseMemberships(ids) (full false) or eraseMemberships(ids, true).
func (m *model) erase(caller int, ids []*big.Int, full bool, now uint64) ([]event, string) {
	return m.eraseAll(caller, ids, full, now)
}

func (m *model) eraseAll(caller int, ids []*big.Int, full bool, now uint64) ([]event, string) {
	var evs []event
	for _, id := range ids {
		mb, ok := m.members[id.String()]
		if !ok {
			return nil, errID("MembershipDoesNotExist", id)
		}
		expired := mb.expired(now)
		if !expired {
			if !mb.inGrace(now) {
				return nil, errID("CannotEraseActiveMembership", id)
			}
			if mb.holder != caller {
				return nil, errID("NonHolderCannotEraseGracePeriodMembership", id)
			}
		}
		k := holding{m.addrs[mb.holder], mb.token}
		m.deposits[k] = add(amount(m.deposits, k), mb.deposit)
		m.total -= uint64(mb.rate)
		m.free = append(m.free, mb.index)
		delete(m.members, id.String())
		if full {
			m.leaves[mb.index] = fr.Element{}
		}
		if expired {
			evs = append(evs, event{kind: "Expired", id: id, rate: mb.rate, index: mb.index})
		}
		evs = append(evs, event{kind: "Erased", id: id, rate: mb.rate, index: mb.index})
	}
	return evs, ""
}

// extend is extendMemberships(ids).
func (m *model) extend(caller int, ids []*big.Int, now uint64) ([]event, string) {
	var evs []event
	for _, id := range ids {
		mb, ok := m.members[id.String()]
		if !ok || !mb.inGrace(now) {
			return nil, errID("CannotExtendNonGracePeriodMembership", id)
		}
		if mb.holder != caller {
			return nil, errID("NonHolderCannotExtend", id)
		}
		mb.graceStart += uint64(mb.grace) + uint64(mb.active)
		m.members[id.String()] = mb
		evs = append(evs, event{kind: "Extended", id: id, rate: mb.rate, index: mb.index, graceStart: mb.graceStart})
	}
	return evs, ""
}

// withdraw is withdraw(token).
func (m *model) withdraw(caller int, token common.Address) ([]event, string) {
	if token == (common.Address{}) {
		return nil, errETH
	}
	k := holding{m.addrs[caller], token}
	owed := amount(m.deposits, k)
	if owed.Sign() == 0 {
		return nil, errNoDeposit
	}
	m.deposits[k] = new(big.Int)
	return nil, m.move(holding{m.registry, token}, k, owed)
}

// approve is token.approve(registry, value) by caller.
func (m *model) approve(caller int, token common.Address, value *big.Int) {
	m.allowances[holding{m.addrs[caller], token}] = value
}

// onlyOwner is the owner setters' access check.
func (m *model) onlyOwner(caller int) string {
	if caller != m.owner {
		return errNotOwner
	}
	return ""
}

// The owner's setters, with their bare requires.
func (m *model) setMin(caller int, v uint32) string {
	if r := m.onlyOwner(caller); r != "" {
		return r
	}
	if v == 0 || v > m.maxRate {
		return errNoReason
	}
	m.minRate = v
	return ""
}

func (m *model) setMax(caller int, v uint32) string {
	if r := m.onlyOwner(caller); r != "" {
		return r
	}
	if v < m.minRate {
		return errNoReason
	}
	m.maxRate = v
	return ""
}

func (m *model) setMaxTotal(caller int, v uint32) string {
	if r := m.onlyOwner(caller); r != "" {
		return r
	}
	if v < m.maxRate {
		return errNoReason
	}
	m.maxTotal = v
	return ""
}

func (m *model) setActive(caller int, v uint32) string {
	if r := m.onlyOwner(caller); r != "" {
		return r
	}
	if v == 0 {
		return errNoReason
	}
	m.active = v
	return ""
}

func (m *model) setGrace(caller int, v uint32) string {
	if r := m.onlyOwner(caller); r != "" {
		return r
	}
	m.grace = v
	return ""
}

func (m *model) setCalculator(caller int, calc common.Address) string {
	if r := m.onlyOwner(caller); r != "" {
		return r
	}
	m.calc = calc
	return ""
}
