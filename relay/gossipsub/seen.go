package gossipsub

import "time"

// SeenCache remembers message ids for a time to live (nwaku: 2 minutes),
// so that a message is validated and delivered once however many peers
// send it. Expired ids are swept in insertion order, so the cost is
// proportional to what expires.
type SeenCache struct {
	ttl time.Duration
	// ids are the ids remembered (a set: its slots are small, lookups
	// touch less memory); each has one entry in order, removed with it.
	ids   map[string]struct{}
	order []seenEntry // insertion order; head is order[head]
	head  int
}

type seenEntry struct {
	id string
	at time.Time
}

// NewSeenCache remembers ids for ttl.
func NewSeenCache(ttl time.Duration) *SeenCache {
	return &SeenCache{ttl: ttl, ids: map[string]struct{}{}}
}

// Add records id as seen at now and reports whether it was new (not seen
// within the time to live).
func (s *SeenCache) Add(id string, now time.Time) bool {
	s.sweep(now)
	if _, ok := s.ids[id]; ok {
		return false
	}
	s.ids[id] = struct{}{}
	s.order = append(s.order, seenEntry{id: id, at: now})
	return true
}

// Has reports whether id was seen within the time to live before now.
func (s *SeenCache) Has(id string, now time.Time) bool {
	s.sweep(now)
	_, ok := s.ids[id]
	return ok
}

// Len is the number of ids remembered.
func (s *SeenCache) Len() int { return len(s.ids) }

// sweep forgets the ids older than the time to live.
func (s *SeenCache) sweep(now time.Time) {
	for s.head < len(s.order) && now.Sub(s.order[s.head].at) >= s.ttl {
		// An id is added only when absent, and removed only here: this
		// entry is its only one.
		delete(s.ids, s.order[s.head].id)
		s.order[s.head] = seenEntry{}
		s.head++
	}
	// Reclaim the swept prefix once it is half the slice.
	if s.head > 0 && s.head*2 >= len(s.order) {
		s.order = append(s.order[:0], s.order[s.head:]...)
		s.head = 0
	}
}
