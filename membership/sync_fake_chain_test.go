package membership

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/rlnd/rlnd/rln/merkle"
	"github.com/rlnd/rlnd/rln/poseidon"
)

var _ ChainSource = (*ethclient.Client)(nil)
var _ ChainSource = (*fakeChain)(nil)

var (
	testContract = common.HexToAddress("0xB9cd878C90E49F797B4431fBF4fb333108CB90e6")
	testChainID  = uint64(59141)
	errInjected  = errors.New("fake: injected failure")
)

// fakeEvent is a registry event as the fake chain emits it.
type fakeEvent struct {
	kind  eventKind
	id    fr.Element
	rate  uint64
	index uint64
	// full makes a MembershipErased a full erasure (eraseMemberships(ids,
	// true)), which zeroes the leaf; else it is lazy and leaves it.
	full bool
	// indirect sends the event's transaction through another contract,
	// so its calldata does not tell lazy from full.
	indirect bool
}

func (e fakeEvent) leaf() fr.Element {
	if e.kind != eventRegistered {
		return fr.Element{}
	}
	return poseidon.Hash2(e.id, fr.NewElement(e.rate))
}

// writesLeaf mirrors the registry: registrations and full erasures write.
func (e fakeEvent) writesLeaf() bool {
	return e.kind == eventRegistered || (e.kind == eventErased && e.full)
}

// calldata is the registry call that emitted e.
func (e fakeEvent) calldata() []byte {
	switch e.kind {
	case eventErased, eventExpired:
		flag := uint64(0)
		if e.full {
			flag = 1
		}
		return slices.Concat(selEraseFull, word(64), word(flag), word(1), word(e.index))
	case eventExtended:
		return slices.Concat(crypto.Keccak256([]byte("extendMemberships(uint256[])"))[:4], word(32), word(0))
	}
	return slices.Concat(selRegister, word(1), word(e.rate), word(96), word(0))
}

type fakeBlock struct {
	header *types.Header
	hash   common.Hash
	logs   []types.Log
	events []fakeEvent
}

// fakeChain is an in-memory ChainSource: a chain of blocks with registry
// logs, a head that tests advance, reorgs, and injected failures.
type fakeChain struct {
	mu       sync.Mutex
	chainID  uint64
	contract common.Address
	blocks   []*fakeBlock // blocks[n] is block n; 0 is genesis
	fork     uint64       // salt of the current branch
	txs      map[common.Hash]*types.Transaction

	failEvery int  // > 0: every failEvery-th call fails
	maxLogs   int  // > 0: eth_getLogs with more results is refused
	sloppy    bool // ignore the address and topic filters
	calls     int
	failures  int
	ranges    [][2]uint64 // FromBlock, ToBlock of every eth_getLogs
	// onFilterLogs, if set, runs at the start of every eth_getLogs.
	onFilterLogs func(from, to uint64)
}

func newFakeChain() *fakeChain {
	c := &fakeChain{chainID: testChainID, contract: testContract, txs: map[common.Hash]*types.Transaction{}}
	c.appendBlock(nil, nil)
	return c
}

func word(v uint64) []byte {
	var w [32]byte
	binary.BigEndian.PutUint64(w[24:], v)
	return w[:]
}

// encodeEvent returns the log of e as the contract emits it.
func encodeEvent(e fakeEvent) types.Log {
	id := e.id.Bytes()
	l := types.Log{Data: slices.Concat(id[:], word(e.rate), word(e.index))}
	switch e.kind {
	case eventRegistered:
		l.Topics = []common.Hash{topicRegistered}
	case eventExpired:
		l.Topics = []common.Hash{topicExpired}
	case eventErased:
		l.Topics = []common.Hash{topicErased}
	case eventExtended:
		l.Topics = []common.Hash{topicExtended}
		l.Data = append(l.Data, word(1_700_000_000)...)
	}
	return l
}

// appendBlock adds a block with the given events and raw logs (raw logs get
// the block's number, hash and log index, and the contract address if
// they have none).
func (c *fakeChain) appendBlock(events []fakeEvent, raw []types.Log) uint64 {
	n := uint64(len(c.blocks))
	var parent common.Hash
	if n > 0 {
		parent = c.blocks[n-1].hash
	}
	h := &types.Header{
		ParentHash: parent,
		Number:     new(big.Int).SetUint64(n),
		Difficulty: new(big.Int),
		Time:       n,
		Extra:      binary.BigEndian.AppendUint64(nil, c.fork),
	}
	b := &fakeBlock{header: h, hash: h.Hash(), events: events}
	logs := make([]types.Log, 0, len(events)+len(raw))
	for k, e := range events {
		l := encodeEvent(e)
		// Each event is its own transaction.
		l.TxHash = crypto.Keccak256Hash(word(c.fork), word(n), word(uint64(k)))
		to := c.contract
		if e.indirect {
			to = common.HexToAddress("0x000000000000000000000000000000000000dEaD")
		}
		c.txs[l.TxHash] = types.NewTx(&types.LegacyTx{To: &to, Data: e.calldata()})
		logs = append(logs, l)
	}
	logs = append(logs, raw...)
	for k := range logs {
		l := &logs[k]
		if l.Address == (common.Address{}) {
			l.Address = c.contract
		}
		l.BlockNumber, l.BlockHash, l.Index = n, b.hash, uint(k)
	}
	b.logs = logs
	c.blocks = append(c.blocks, b)
	return n
}

// addBlock adds a block with events and returns its number.
func (c *fakeChain) addBlock(events ...fakeEvent) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.appendBlock(events, nil)
}

// addRawBlock adds a block with the given logs.
func (c *fakeChain) addRawBlock(logs ...types.Log) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.appendBlock(nil, logs)
}

// reorg replaces the last k blocks with blocks carrying the given events.
func (c *fakeChain) reorg(k int, blocks ...[]fakeEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blocks = c.blocks[:len(c.blocks)-k]
	c.fork++
	for _, evs := range blocks {
		c.appendBlock(evs, nil)
	}
}

func (c *fakeChain) head() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return uint64(len(c.blocks) - 1)
}

func (c *fakeChain) filterRanges() [][2]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ranges)
}

// enter counts a call and decides whether it fails.
func (c *fakeChain) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.calls++
	if c.failEvery > 0 && c.calls%c.failEvery == 0 {
		c.failures++
		return errInjected
	}
	return nil
}

func (c *fakeChain) ChainID(ctx context.Context) (*big.Int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter(ctx); err != nil {
		return nil, err
	}
	return new(big.Int).SetUint64(c.chainID), nil
}

func (c *fakeChain) HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter(ctx); err != nil {
		return nil, err
	}
	n := uint64(len(c.blocks) - 1)
	if number != nil {
		if !number.IsUint64() || number.Uint64() > n {
			return nil, ethereum.NotFound
		}
		n = number.Uint64()
	}
	return types.CopyHeader(c.blocks[n].header), nil
}

func (c *fakeChain) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	from, to := uint64(0), uint64(1<<63)
	if q.FromBlock != nil {
		from = q.FromBlock.Uint64()
	}
	if q.ToBlock != nil {
		to = q.ToBlock.Uint64()
	}
	c.mu.Lock()
	c.ranges = append(c.ranges, [2]uint64{from, to})
	hook := c.onFilterLogs
	c.mu.Unlock()
	if hook != nil {
		hook(from, to)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter(ctx); err != nil {
		return nil, err
	}
	if q.BlockHash != nil {
		return nil, errors.New("fake: BlockHash queries not supported")
	}
	if from > to {
		return nil, fmt.Errorf("fake: invalid block range %d..%d", from, to)
	}
	to = min(to, uint64(len(c.blocks)-1))
	var out []types.Log
	for n := from; n <= to && n < uint64(len(c.blocks)); n++ {
		for _, l := range c.blocks[n].logs {
			if c.sloppy || matchLog(&l, q) {
				l.Topics = slices.Clone(l.Topics)
				l.Data = slices.Clone(l.Data)
				out = append(out, l)
			}
		}
		if c.maxLogs > 0 && len(out) > c.maxLogs {
			return nil, fmt.Errorf("query returned more than %d results", c.maxLogs)
		}
	}
	return out, nil
}

func matchLog(l *types.Log, q ethereum.FilterQuery) bool {
	if len(q.Addresses) > 0 && !slices.Contains(q.Addresses, l.Address) {
		return false
	}
	for i, set := range q.Topics {
		if len(set) == 0 {
			continue
		}
		if i >= len(l.Topics) || !slices.Contains(set, l.Topics[i]) {
			return false
		}
	}
	return true
}

func (c *fakeChain) CodeAt(ctx context.Context, account common.Address, _ *big.Int) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter(ctx); err != nil {
		return nil, err
	}
	if account == c.contract {
		return []byte{0x60, 0x80, 0x60, 0x40, 0x52}, nil
	}
	return nil, nil
}

func (c *fakeChain) CallContract(ctx context.Context, call ethereum.CallMsg, blockNumber *big.Int) ([]byte, error) {
	c.mu.Lock()
	if err := c.enter(ctx); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	n := uint64(len(c.blocks) - 1)
	if blockNumber != nil {
		n = blockNumber.Uint64()
	}
	c.mu.Unlock()
	if call.To == nil || *call.To != c.contract || len(call.Data) < 4 {
		return nil, errors.New("fake: execution reverted")
	}
	tree, err := c.referenceTree(n)
	if err != nil {
		return nil, err
	}
	size := c.nextFreeIndex(n)
	switch sel := call.Data[:4]; {
	case bytes.Equal(call.Data, rootSelector):
		root := tree.Root()
		b := root.Bytes()
		return b[:], nil
	case bytes.Equal(call.Data, selNextFreeIndex):
		return word(size), nil
	case bytes.Equal(sel, selLeafRange) && len(call.Data) == 4+64:
		start := new(big.Int).SetBytes(call.Data[4:36]).Uint64()
		end := new(big.Int).SetBytes(call.Data[36:68]).Uint64()
		if start > end || end >= size {
			return nil, errors.New("fake: execution reverted: InvalidPaginationQuery")
		}
		out := slices.Concat(word(32), word(end-start+1))
		for i := start; i <= end; i++ {
			leaf, err := tree.Leaf(i)
			if err != nil {
				return nil, err
			}
			b := leaf.Bytes()
			out = append(out, b[:]...)
		}
		return out, nil
	}
	return nil, errors.New("fake: execution reverted")
}

// nextFreeIndex is the registry's nextFreeIndex after block upto: one past
// the highest index registered.
func (c *fakeChain) nextFreeIndex(upto uint64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n uint64
	for b := uint64(1); b <= upto && b < uint64(len(c.blocks)); b++ {
		for _, e := range c.blocks[b].events {
			if e.kind == eventRegistered {
				n = max(n, e.index+1)
			}
		}
	}
	return n
}

func (c *fakeChain) TransactionByHash(ctx context.Context, h common.Hash) (*types.Transaction, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter(ctx); err != nil {
		return nil, false, err
	}
	tx, ok := c.txs[h]
	if !ok {
		return nil, false, ethereum.NotFound
	}
	return tx, false, nil
}

// referenceTree is the registry's tree after block upto, written in one
// batch (the views' state; cheaper than reference's per-write roots).
func (c *fakeChain) referenceTree(upto uint64) (*merkle.Tree, error) {
	c.mu.Lock()
	var indices []uint64
	var leaves []fr.Element
	for n := uint64(1); n <= upto && n < uint64(len(c.blocks)); n++ {
		for _, e := range c.blocks[n].events {
			if e.writesLeaf() {
				indices, leaves = append(indices, e.index), append(leaves, e.leaf())
			}
		}
	}
	c.mu.Unlock()
	tree, err := newMembershipTree()
	if err != nil {
		return nil, err
	}
	return tree, tree.SetBatch(indices, leaves)
}

// reference replays the events of blocks 1..upto one by one into a fresh
// tree and returns it with every root it went through (the empty root
// first).
func (c *fakeChain) reference(upto uint64) (*merkle.Tree, []fr.Element, error) {
	c.mu.Lock()
	var events []fakeEvent
	for n := uint64(1); n <= upto && n < uint64(len(c.blocks)); n++ {
		events = append(events, c.blocks[n].events...)
	}
	c.mu.Unlock()
	tree, err := newMembershipTree()
	if err != nil {
		return nil, nil, err
	}
	roots := []fr.Element{tree.Root()}
	for _, e := range events {
		if !e.writesLeaf() {
			continue
		}
		if err := tree.Set(e.index, e.leaf()); err != nil {
			return nil, nil, err
		}
		roots = append(roots, tree.Root())
	}
	return tree, roots, nil
}

// eventGen makes deterministic registry events: new members at increasing
// indices, and now and then an erasure or expiry of a live one (whose
// index is reused later) or an extension.
type eventGen struct {
	rng  *rand.Rand
	next uint64
	live []uint64
	free []uint64
}

func newEventGen(seed uint64) *eventGen {
	return &eventGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *eventGen) randomElement() fr.Element {
	var b [32]byte
	for k := 0; k < 32; k += 8 {
		binary.LittleEndian.PutUint64(b[k:], g.rng.Uint64())
	}
	var e fr.Element
	e.SetBytes(b[:])
	return e
}

func (g *eventGen) register() fakeEvent {
	idx := g.next
	if len(g.free) > 0 && g.rng.IntN(2) == 0 {
		idx, g.free = g.free[0], g.free[1:]
	} else {
		g.next++
	}
	g.live = append(g.live, idx)
	return fakeEvent{kind: eventRegistered, id: g.randomElement(), rate: 20 + g.rng.Uint64N(580), index: idx}
}

// event returns the events of one transaction: a registration, an
// erasure (lazy or full; an expired one emits MembershipExpired first) or
// an extension.
func (g *eventGen) event(withChurn bool) []fakeEvent {
	if withChurn && len(g.live) > 4 {
		switch g.rng.IntN(10) {
		case 0, 1:
			k := g.rng.IntN(len(g.live))
			idx := g.live[k]
			g.live = slices.Delete(g.live, k, k+1)
			g.free = append(g.free, idx)
			id := g.randomElement()
			erased := fakeEvent{kind: eventErased, id: id, rate: 100, index: idx, full: g.rng.IntN(2) == 0}
			if g.rng.IntN(2) == 0 {
				return []fakeEvent{{kind: eventExpired, id: id, rate: 100, index: idx, full: erased.full}, erased}
			}
			return []fakeEvent{erased}
		case 2:
			return []fakeEvent{{kind: eventExtended, id: g.randomElement(), rate: 100, index: g.live[0]}}
		}
	}
	return []fakeEvent{g.register()}
}

// blocks returns n blocks of 0..maxPer events each.
func (g *eventGen) blocks(n, maxPer int, withChurn bool) [][]fakeEvent {
	out := make([][]fakeEvent, n)
	for i := range out {
		for range g.rng.IntN(maxPer + 1) {
			out[i] = append(out[i], g.event(withChurn)...)
		}
	}
	return out
}

func (c *fakeChain) addBlocks(blocks [][]fakeEvent) {
	for _, evs := range blocks {
		c.addBlock(evs...)
	}
}

// testSyncConfig is a config for the fake chain with fast retries.
func testSyncConfig(t testing.TB) SyncConfig {
	return SyncConfig{
		Contract:     testContract,
		ChainID:      testChainID,
		StartBlock:   1,
		BatchSize:    16,
		PollInterval: time.Millisecond,
		RootWindow:   10,
		ReorgDepth:   8,
		Retry:        RetryConfig{Initial: time.Microsecond, Max: 20 * time.Microsecond},
	}
}

func newTestManager(t testing.TB, src ChainSource, cfg SyncConfig) *GroupManager {
	t.Helper()
	g, err := NewGroupManager(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// checkMatchesReference checks g's root, proofs and window against the
// fake chain's events up to g's synced block.
func checkMatchesReference(t *testing.T, c *fakeChain, g *GroupManager, window int) {
	t.Helper()
	tree, roots, err := c.reference(g.SyncedBlock())
	if err != nil {
		t.Fatal(err)
	}
	got, want := g.Root(), tree.Root()
	if !got.Equal(&want) {
		t.Fatalf("root after block %d = %s, reference %s", g.SyncedBlock(), got.String(), want.String())
	}
	if r := g.repairs.Load(); r != 0 {
		t.Fatalf("the sync needed %d repairs to match; the events alone must do", r)
	}
	stride := max(1, tree.NextIndex()/32)
	for i := uint64(0); i < tree.NextIndex()+2; i += stride {
		p, err := g.Proof(i)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := tree.Leaf(i)
		if !merkle.VerifyProof(want, leaf, p) {
			t.Fatalf("proof of leaf %d does not verify against the reference root", i)
		}
	}
	wantWindow := roots[max(0, len(roots)-window):]
	gotWindow := g.ValidRoots()
	if !slices.Equal(gotWindow, wantWindow) {
		t.Fatalf("window has %d roots, want the last %d of the reference's %d intermediate roots:\n got %v\nwant %v",
			len(gotWindow), len(wantWindow), len(roots), shortRoots(gotWindow), shortRoots(wantWindow))
	}
	for _, r := range wantWindow {
		if !g.IsValidRoot(r) {
			t.Fatalf("IsValidRoot(%s) = false for a root of the window", r.String())
		}
	}
	if len(roots) > window {
		older := roots[len(roots)-window-1]
		if !slices.Contains(wantWindow, older) && g.IsValidRoot(older) {
			t.Fatalf("IsValidRoot accepts a root older than the window")
		}
	}
}

func shortRoots(rs []fr.Element) []string {
	out := make([]string, len(rs))
	for k, r := range rs {
		s := r.String()
		out[k] = s[:min(8, len(s))]
	}
	return out
}

func syncOnce(t *testing.T, g *GroupManager) {
	t.Helper()
	if err := g.SyncOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
}
