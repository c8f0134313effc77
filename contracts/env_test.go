package contracts_test

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
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
	"github.com/rlnd/rlnd/rln/merkle"
	"github.com/rlnd/rlnd/rln/poseidon"
)

// simChainID is the simulated backend's chain id.
const simChainID = 1337

// users is how many funded accounts a test chain has.
const users = 3

// tokenFunds is each user's test-token balance.
var tokenFunds = big.NewInt(1_000_000)

// env is a simulated chain with a deployed registry and a Go mirror of its
// tree, fed from the registry's events the way a syncing node would be.
type env struct {
	t       *testing.T
	sim     *simulated.Backend
	client  simulated.Client
	users   []*bind.TransactOpts
	reg     *bindings.RlnRegistry
	regAddr common.Address
	token   *bindings.TestToken // nil when memberships are free

	tree  *merkle.Tree
	roots []fr.Element // roots after each tree change, oldest first

	// rootsOnly makes check skip the Merkle proofs (each costs ~20 Poseidon
	// hashes in the EVM, slow under -race).
	rootsOnly bool
}

// testParams are short periods so that tests move time by seconds.
func testParams() contracts.RegistryParams {
	return contracts.RegistryParams{
		PricePerMessage:   new(big.Int),
		MinRateLimit:      20,
		MaxRateLimit:      600,
		MaxTotalRateLimit: 1000,
		ActiveDuration:    1000,
		GracePeriod:       500,
	}
}

func newEnv(t *testing.T, p contracts.RegistryParams, withToken bool) *env {
	t.Helper()
	return newEnvOn(t, p, withToken, nil)
}

// osakaRules runs the simulated chain on the dev chain's forks up to Osaka
// only: without Amsterdam's EIP-8037, which charges ~98,000 gas of state
// growth per new storage slot, gas figures are comparable with today's L2s.
func osakaRules(_ *node.Config, ec *ethconfig.Config) {
	cfg := *ec.Genesis.Config
	cfg.AmsterdamTime, cfg.BogotaTime = nil, nil
	ec.Genesis.Config = &cfg
}

// newEnvOn is newEnv with an option for the simulated backend (nil: the
// dev chain's default rules).
func newEnvOn(t *testing.T, p contracts.RegistryParams, withToken bool, opt func(*node.Config, *ethconfig.Config)) *env {
	t.Helper()
	keys := make([]*ecdsa.PrivateKey, users)
	alloc := types.GenesisAlloc{}
	for i := range keys {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))}
	}
	var opts []func(*node.Config, *ethconfig.Config)
	if opt != nil {
		opts = append(opts, opt)
	}
	sim := simulated.NewBackend(alloc, opts...)
	t.Cleanup(func() { _ = sim.Close() })
	e := &env{t: t, sim: sim, client: sim.Client()}
	for _, k := range keys {
		auth, err := bind.NewKeyedTransactorWithChainID(k, big.NewInt(simChainID))
		if err != nil {
			t.Fatal(err)
		}
		e.users = append(e.users, auth)
	}

	if withToken {
		supply := new(big.Int).Mul(tokenFunds, big.NewInt(users))
		addr, tx, tok, err := bindings.DeployTestToken(e.users[0], e.client, e.users[0].From, supply)
		if err != nil {
			t.Fatalf("deploying the test token: %v", err)
		}
		e.mine(tx)
		e.token = tok
		p.Token = addr
		for _, u := range e.users[1:] {
			tx, err := tok.Transfer(e.users[0], u.From, tokenFunds)
			if err != nil {
				t.Fatal(err)
			}
			e.mine(tx)
		}
	}

	addr, reg, tx, err := contracts.DeployRegistry(e.users[0], e.client, p)
	if err != nil {
		t.Fatalf("DeployRegistry: %v", err)
	}
	r := e.mine(tx)
	t.Logf("registry deployment: %d gas", r.GasUsed)
	e.reg, e.regAddr = reg, addr

	if withToken {
		for _, u := range e.users {
			tx, err := e.token.Approve(u, addr, tokenFunds)
			if err != nil {
				t.Fatal(err)
			}
			e.mine(tx)
		}
	}

	tree, err := merkle.New(20)
	if err != nil {
		t.Fatal(err)
	}
	e.tree = tree
	e.roots = []fr.Element{tree.Root()}
	e.check()
	return e
}

// mine seals a block and returns the transaction's receipt, which must
// report success.
func (e *env) mine(tx *types.Transaction) *types.Receipt {
	e.t.Helper()
	e.sim.Commit()
	r, err := e.client.TransactionReceipt(context.Background(), tx.Hash())
	if err != nil {
		e.t.Fatalf("receipt of %s: %v", tx.Hash(), err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		e.t.Fatalf("transaction %s failed (%d gas)", tx.Hash(), r.GasUsed)
	}
	return r
}

// advance moves the chain's clock forward.
func (e *env) advance(d time.Duration) {
	e.t.Helper()
	if err := e.sim.AdjustTime(d); err != nil {
		e.t.Fatalf("AdjustTime: %v", err)
	}
}

// event is one membership event of a receipt.
type event struct {
	kind  string // Registered, Expired, Erased, Extended
	id    *big.Int
	index uint32
}

// apply feeds the receipt's membership events to the mirror tree, as a
// syncing node would (leaf = Poseidon(idCommitment, rate limit) at index;
// 0 on expiry or erasure), and returns them in order. The registry's own
// view of the membership must agree with the event.
func (e *env) apply(r *types.Receipt) []event {
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
			info, err := e.reg.GetMembershipInfo(nil, ev.IdCommitment)
			if err != nil {
				e.t.Fatal(err)
			}
			if !ev.MembershipRateLimit.IsUint64() || ev.MembershipRateLimit.Uint64() > 1<<32-1 {
				e.t.Fatalf("MembershipRegistered rate limit %v is not a uint32", ev.MembershipRateLimit)
			}
			leaf := poseidon.Hash2(toFr(ev.IdCommitment), fromUint(ev.MembershipRateLimit.Uint64()))
			if uint64(info.RateLimit) != ev.MembershipRateLimit.Uint64() || info.Index != ev.Index || info.RateCommitment.Cmp(toBig(leaf)) != 0 {
				e.t.Fatalf("MembershipRegistered(rate %v, index %d): getMembershipInfo = %+v, want leaf %v",
					ev.MembershipRateLimit, ev.Index, info, toBig(leaf))
			}
			e.set(ev.Index, leaf)
			evs = append(evs, event{"Registered", ev.IdCommitment, ev.Index})
		case contracts.EventTopics.Expired:
			ev, err := e.reg.ParseMembershipExpired(*l)
			if err != nil {
				e.t.Fatal(err)
			}
			e.set(ev.Index, fr.Element{})
			evs = append(evs, event{"Expired", ev.IdCommitment, ev.Index})
		case contracts.EventTopics.Erased:
			ev, err := e.reg.ParseMembershipErased(*l)
			if err != nil {
				e.t.Fatal(err)
			}
			e.set(ev.Index, fr.Element{})
			evs = append(evs, event{"Erased", ev.IdCommitment, ev.Index})
		case contracts.EventTopics.Extended:
			ev, err := e.reg.ParseMembershipExtended(*l)
			if err != nil {
				e.t.Fatal(err)
			}
			evs = append(evs, event{"Extended", ev.IdCommitment, ev.Index})
		default:
			e.t.Fatalf("unknown registry event topic %s", l.Topics[0])
		}
	}
	return evs
}

func (e *env) set(i uint32, leaf fr.Element) {
	e.t.Helper()
	if err := e.tree.Set(uint64(i), leaf); err != nil {
		e.t.Fatalf("mirror tree Set(%d): %v", i, err)
	}
}

// register sends a registration from user u, mines it, mirrors its events
// and checks the tree.
func (e *env) register(u int, id *big.Int, rateLimit uint32, erase ...*big.Int) (*types.Receipt, []event) {
	e.t.Helper()
	tx, err := e.reg.Register(e.users[u], id, rateLimit, nonNil(erase))
	if err != nil {
		name, _ := contracts.RevertName(err)
		e.t.Fatalf("register(%v, %d): %v (%s)", id, rateLimit, err, name)
	}
	r := e.mine(tx)
	evs := e.apply(r)
	e.roots = append(e.roots, e.tree.Root())
	e.check()
	return r, evs
}

// registerBatch sends registerBatch from user u, mines it, mirrors its
// events and checks the tree (one recorded root for the batch).
func (e *env) registerBatch(u int, ids []*big.Int, rateLimit uint32) (*types.Receipt, []event) {
	e.t.Helper()
	tx, err := e.reg.RegisterBatch(e.users[u], nonNil(ids), rateLimit)
	if err != nil {
		name, _ := contracts.RevertName(err)
		e.t.Fatalf("registerBatch(%d ids, %d): %v (%s)", len(ids), rateLimit, err, name)
	}
	r := e.mine(tx)
	evs := e.apply(r)
	e.roots = append(e.roots, e.tree.Root())
	e.check()
	return r, evs
}

// erase sends eraseMemberships from user u, mines it, mirrors its events
// and checks the tree.
func (e *env) erase(u int, ids ...*big.Int) (*types.Receipt, []event) {
	e.t.Helper()
	tx, err := e.reg.EraseMemberships(e.users[u], nonNil(ids))
	if err != nil {
		name, _ := contracts.RevertName(err)
		e.t.Fatalf("eraseMemberships: %v (%s)", err, name)
	}
	r := e.mine(tx)
	evs := e.apply(r)
	e.roots = append(e.roots, e.tree.Root())
	e.check()
	return r, evs
}

// check compares the registry's tree with the mirror: root, recent roots,
// nextFreeIndex and the Merkle proofs of every used index, the next two and
// a few far ones.
func (e *env) check() {
	e.t.Helper()
	root, err := e.reg.Root(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if want := e.tree.Root(); toBig(want).Cmp(root) != 0 {
		e.t.Fatalf("root() = %v, mirror tree root %v", root, toBig(want))
	}
	recent, err := e.reg.GetRecentRoots(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k := range recent {
		want := new(big.Int)
		if k < len(e.roots) {
			want = toBig(e.roots[len(e.roots)-1-k])
		}
		if recent[k].Cmp(want) != 0 {
			e.t.Fatalf("getRecentRoots()[%d] = %v, want %v", k, recent[k], want)
		}
	}
	next, err := e.reg.NextFreeIndex(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if uint64(next) != e.tree.NextIndex() {
		e.t.Fatalf("nextFreeIndex() = %d, mirror tree has %d slots in use", next, e.tree.NextIndex())
	}
	if e.rootsOnly {
		return
	}
	n := uint64(next)
	indices := []uint64{1 << 19, 1<<19 + 1, 1<<20 - 1}
	if n <= 12 {
		for i := uint64(0); i <= n+1; i++ {
			indices = append(indices, i)
		}
	} else {
		// Larger trees: a sample (each proof costs ~20 Poseidon hashes
		// in the EVM, slow under -race).
		indices = append(indices, 0, 1, n/2, n/2+1, n-2, n-1, n, n+1)
	}
	for _, i := range indices {
		got, err := e.reg.GetMerkleProof(nil, new(big.Int).SetUint64(i))
		if err != nil {
			e.t.Fatalf("getMerkleProof(%d): %v", i, err)
		}
		want, err := e.tree.Proof(i)
		if err != nil {
			e.t.Fatal(err)
		}
		for l := range got {
			if toBig(want.PathElements[l]).Cmp(got[l]) != 0 {
				e.t.Fatalf("getMerkleProof(%d)[%d] = %v, want %v", i, l, got[l], toBig(want.PathElements[l]))
			}
		}
	}
}

// wantRevert checks that err is a revert with the registry's custom error
// name.
func wantRevert(t *testing.T, err error, name string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want revert %s", name)
	}
	got, ok := contracts.RevertName(err)
	if !ok || got != name {
		t.Fatalf("error %v (revert %q), want revert %s", err, got, name)
	}
}

func kinds(evs []event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.kind
	}
	return out
}

func wantEvents(t *testing.T, evs []event, want ...string) {
	t.Helper()
	if got := kinds(evs); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
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
