package store

import (
	"fmt"
	"sync"

	"github.com/rlnd/rlnd/wire"
)

// DefaultMaxFullPages is how many full pages (100 messages of up to
// 150 KiB: about 15 MiB encoded) the service holds in flight at once by
// default: about 120 MiB at worst, whatever the number of queries.
const DefaultMaxFullPages = 8

// fullPageBytes is the worst-case encoding of one full page.
const fullPageBytes = wire.MaxStoreResponseSize

// entryOverhead bounds what one entry adds to a response besides its
// message: the hash, the pubsub topic and the field tags and lengths.
const entryOverhead = 32 + 2 + 64 + 16

// pageBudget bounds the bytes of responses in flight, counted from a
// query's worst case before the archive is read, then from the encoded
// response until it has been written.
type pageBudget struct {
	mu    sync.Mutex
	limit int64
	used  int64
}

func newPageBudget(fullPages int) *pageBudget {
	return &pageBudget{limit: int64(fullPages) * fullPageBytes}
}

// worstCase is the largest response a query with this page limit (0: the
// default) can get.
func worstCase(limit uint64, includeData bool) int64 {
	n := int64(DefaultPageSize)
	if limit > 0 {
		n = int64(min(limit, uint64(MaxPageSize)))
	}
	per := int64(entryOverhead)
	if includeData {
		per += wire.MaxMessageSize
	}
	// The encoder refuses more than a full page.
	return min(n*per+wire.EnvelopeOverhead, fullPageBytes)
}

// take reserves n bytes, or fails when they do not fit.
func (b *pageBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

// resize changes a reservation of from bytes to to bytes (to <= from).
func (b *pageBudget) resize(from, to int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= from - to
}

func (b *pageBudget) release(n int64) { b.resize(n, 0) }

func (b *pageBudget) busy() string {
	return fmt.Sprintf("busy: the service has %d full pages of responses in flight, its limit; retry shortly or use another store node", b.limit/fullPageBytes)
}
