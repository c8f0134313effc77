package peerexchange

import (
	"container/list"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// Defaults of CacheConfig.
const (
	// DefaultCacheSize is go-waku's cache size. RFC 34 recommends at least
	// ten times the peers a request asks for (60), more when a refresh
	// cycle serves over 600 requests; answers are sampled at random, so a
	// larger cache makes answers overlap less.
	DefaultCacheSize = 1000
	// DefaultCacheTTL is how long a record stays without discovery seeing
	// it again. nwaku rebuilds its cache every 10 minutes from the peers
	// discv5 found that are not known to be unreachable; discovery that
	// keeps running re-adds the nodes it still finds.
	DefaultCacheTTL = 30 * time.Minute
)

// Errors of Cache.Add.
var (
	// ErrUnverified: the record's signature does not verify under the v4
	// identity scheme (also records made by enode.SignNull or enode.NewV4).
	ErrUnverified = errors.New("peerexchange: record signature does not verify")
	// ErrSelf: the record is our own (CacheConfig.Self).
	ErrSelf = errors.New("peerexchange: our own record")
	// ErrRejected: CacheConfig.Accept refused the record.
	ErrRejected = errors.New("peerexchange: record rejected")
	// ErrOlderRecord: the cache holds a record of the same node with a
	// higher sequence number.
	ErrOlderRecord = errors.New("peerexchange: older record than the one cached")
)

// CacheConfig configures a Cache.
type CacheConfig struct {
	// Size bounds the records held (default DefaultCacheSize). Adding a
	// new node to a full cache evicts the record seen longest ago.
	Size int
	// TTL is how long a record stays after it was last added (default
	// DefaultCacheTTL).
	TTL time.Duration
	// Self is our own node id (the ENR node id of the node key), never
	// cached. The zero ID means none.
	Self enode.ID
	// Accept, when set, decides which verified records are kept, for
	// example those of our cluster with a libp2p address (the Waku ENR
	// fields); an error refuses the record (Add wraps it in ErrRejected).
	Accept func(*enode.Node) error
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Registerer receives the waku_px_peers_cached gauge (nil: none).
	Registerer prometheus.Registerer
}

// Cache holds the signed ENRs that discovery found, for peer-exchange
// answers: at most Size, each for TTL after it was last added, each
// verified, never our own. It is safe for concurrent use.
type Cache struct {
	cfg CacheConfig

	mu      sync.Mutex
	byID    map[enode.ID]*cacheEntry
	byAge   *list.List    // of *cacheEntry, least recently added first
	entries []*cacheEntry // for sampling; entry.slot is its index
}

type cacheEntry struct {
	node  *enode.Node
	raw   []byte // the record's RLP encoding, sent as is
	added time.Time
	age   *list.Element
	slot  int
}

// NewCache returns an empty cache.
func NewCache(cfg CacheConfig) (*Cache, error) {
	if cfg.Size < 0 || cfg.TTL < 0 {
		return nil, fmt.Errorf("peerexchange: cache size %d and TTL %s, want both positive (0: the default)", cfg.Size, cfg.TTL)
	}
	if cfg.Size == 0 {
		cfg.Size = DefaultCacheSize
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultCacheTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cache{cfg: cfg, byID: map[enode.ID]*cacheEntry{}, byAge: list.New()}
	if cfg.Registerer != nil {
		g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "waku_px_peers_cached", Help: "Peer ENRs held in the peer-exchange cache.",
		}, func() float64 { return float64(c.Len()) })
		if _, err := promutil.Register(cfg.Registerer, g); err != nil {
			return nil, fmt.Errorf("peerexchange: cache metrics: %w", err)
		}
	}
	return c, nil
}

// Add puts n in the cache, or refreshes it: a record with a sequence number
// at least that of the cached one replaces it and starts its TTL again. It
// refuses (and changes nothing) records whose signature does not verify,
// our own, those refused by Accept, and ones older than the one held.
func (c *Cache) Add(n *enode.Node) error {
	if n == nil {
		return fmt.Errorf("%w: no record", ErrUnverified)
	}
	rec := n.Record()
	verified, err := enode.New(enode.ValidSchemes, rec)
	if err != nil {
		return fmt.Errorf("%w: node %s: %w", ErrUnverified, n.ID().TerminalString(), err)
	}
	// A signed record is at most MaxRecordSize (enr refuses to sign or
	// decode a larger one).
	raw, err := rlp.EncodeToBytes(rec)
	if err != nil {
		return fmt.Errorf("%w: node %s: %w", ErrUnverified, n.ID().TerminalString(), err)
	}
	id := verified.ID()
	if id == c.cfg.Self && c.cfg.Self != (enode.ID{}) {
		return ErrSelf
	}
	if c.cfg.Accept != nil {
		if err := c.cfg.Accept(verified); err != nil {
			return fmt.Errorf("%w: node %s: %w", ErrRejected, id.TerminalString(), err)
		}
	}
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked(now)
	if e := c.byID[id]; e != nil {
		if verified.Seq() < e.node.Seq() {
			return fmt.Errorf("%w: node %s: sequence %d, cached %d", ErrOlderRecord, id.TerminalString(), verified.Seq(), e.node.Seq())
		}
		e.node, e.raw, e.added = verified, raw, now
		c.byAge.MoveToBack(e.age)
		return nil
	}
	if len(c.entries) >= c.cfg.Size {
		c.removeLocked(c.byAge.Front().Value.(*cacheEntry))
	}
	e := &cacheEntry{node: verified, raw: raw, added: now, slot: len(c.entries)}
	e.age = c.byAge.PushBack(e)
	c.entries = append(c.entries, e)
	c.byID[id] = e
	return nil
}

// Remove drops the record of node id (discovery found it gone or
// unreachable); it reports whether the cache held one.
func (c *Cache) Remove(id enode.ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byID[id]
	if e == nil {
		return false
	}
	c.removeLocked(e)
	return true
}

// Len is the number of records held (expired ones dropped first).
func (c *Cache) Len() int {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked(now)
	return len(c.entries)
}

// Sample returns up to n records chosen uniformly at random without
// repetition, in random order.
func (c *Cache) Sample(n int) []*enode.Node {
	var out []*enode.Node
	c.sample(n, enode.ID{}, func(e *cacheEntry) { out = append(out, e.node) })
	return out
}

// sampleRaw is Sample of the encoded records, leaving out node exclude
// (the requester's own record; the zero ID leaves out none).
func (c *Cache) sampleRaw(n int, exclude enode.ID) [][]byte {
	var out [][]byte
	c.sample(n, exclude, func(e *cacheEntry) { out = append(out, e.raw) })
	return out
}

// sample calls fn on up to n distinct random entries other than exclude: a
// partial Fisher-Yates shuffle over the entry slots, its swaps kept in a
// map so that the entries themselves stay in place (O(n), not O(Size)).
func (c *Cache) sample(n int, exclude enode.ID, fn func(*cacheEntry)) {
	if n <= 0 {
		return
	}
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked(now)
	size := len(c.entries)
	swapped := make(map[int]int, min(n, size))
	at := func(i int) int {
		if j, ok := swapped[i]; ok {
			return j
		}
		return i
	}
	taken := 0
	for i := 0; i < size && taken < n; i++ {
		j := i + rand.IntN(size-i)
		pick := at(j)
		swapped[j] = at(i)
		e := c.entries[pick]
		if exclude != (enode.ID{}) && e.node.ID() == exclude {
			continue
		}
		fn(e)
		taken++
	}
}

// pruneLocked drops the records last added more than TTL before now.
func (c *Cache) pruneLocked(now time.Time) {
	for f := c.byAge.Front(); f != nil; f = c.byAge.Front() {
		e := f.Value.(*cacheEntry)
		if now.Sub(e.added) <= c.cfg.TTL {
			return
		}
		c.removeLocked(e)
	}
}

func (c *Cache) removeLocked(e *cacheEntry) {
	c.byAge.Remove(e.age)
	delete(c.byID, e.node.ID())
	last := len(c.entries) - 1
	c.entries[e.slot] = c.entries[last]
	c.entries[e.slot].slot = e.slot
	c.entries[last] = nil
	c.entries = c.entries[:last]
}
