package rln

import (
	"container/list"
	"sync"

	"github.com/rlnd/rlnd/rln/groth16"
)

// partialCache is a small LRU of partial proofs, one a member (see
// Prover.memberKey). It implements groth16.PartialCache.
type partialCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // front = most recent; values are *partialEntry
	byKey map[[32]byte]*list.Element
}

type partialEntry struct {
	key  [32]byte
	part *groth16.Partial
}

func newPartialCache(size int) *partialCache {
	return &partialCache{size: max(size, 1), order: list.New(), byKey: make(map[[32]byte]*list.Element)}
}

func (c *partialCache) Get(key [32]byte) (*groth16.Partial, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*partialEntry).part, true
}

// Put stores part under key, replacing the member's previous partial.
func (c *partialCache) Put(key [32]byte, part *groth16.Partial) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		e.Value.(*partialEntry).part = part
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(&partialEntry{key: key, part: part})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*partialEntry).key)
	}
}
