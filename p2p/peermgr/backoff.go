package peermgr

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Backoff is an exponential backoff: after n consecutive failures the next
// attempt waits Initial * Factor^(n-1), at most Max.
type Backoff struct {
	Initial time.Duration
	Factor  float64
	Max     time.Duration
}

// Delay is the wait after n consecutive failures (zero for none).
func (b Backoff) Delay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := float64(b.Initial)
	for i := 1; i < n && d < float64(b.Max); i++ {
		d *= b.Factor
	}
	return min(time.Duration(d), b.Max)
}

func (b Backoff) validate(what string) error {
	if b.Initial <= 0 || b.Factor < 1 || b.Max < b.Initial {
		return fmt.Errorf("%w: %s backoff %v x %v up to %v: want initial > 0, factor >= 1, max >= initial", ErrInvalidConfig, what, b.Initial, b.Factor, b.Max)
	}
	return nil
}

// banTable remembers peers that must not be dialled, or kept connected,
// until a time: those graylisted for their gossipsub score and those found
// on another cluster. It holds at most size entries; when full, the entry
// that expires first makes room.
type banTable struct {
	size  int
	until map[peer.ID]ban
}

type ban struct {
	until  time.Time
	reason string
}

func newBanTable(size int) *banTable { return &banTable{size: size, until: map[peer.ID]ban{}} }

func (t *banTable) add(id peer.ID, until time.Time, reason string) {
	if b, ok := t.until[id]; ok && b.until.After(until) {
		return
	}
	if _, ok := t.until[id]; !ok && len(t.until) >= t.size {
		var first peer.ID
		var at time.Time
		for k, b := range t.until {
			if first == "" || b.until.Before(at) {
				first, at = k, b.until
			}
		}
		delete(t.until, first)
	}
	t.until[id] = ban{until: until, reason: reason}
}

// banned reports whether id is banned at now, forgetting an expired ban.
func (t *banTable) banned(id peer.ID, now time.Time) (ban, bool) {
	b, ok := t.until[id]
	if !ok {
		return ban{}, false
	}
	if !now.Before(b.until) {
		delete(t.until, id)
		return ban{}, false
	}
	return b, true
}

func (t *banTable) len() int { return len(t.until) }

// expire forgets the bans over at now.
func (t *banTable) expire(now time.Time) {
	for id, b := range t.until {
		if !now.Before(b.until) {
			delete(t.until, id)
		}
	}
}
