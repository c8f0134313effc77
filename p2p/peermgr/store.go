package peermgr

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// KnownPeer is a record of the peer store: a peer we may dial.
type KnownPeer struct {
	ID    peer.ID
	Addrs []ma.Multiaddr
	// Source is where the peer was last offered from.
	Source string
	// Caps are its services (zero: unknown); learned from discovery and
	// updated from identify once connected.
	Caps Capabilities
	// ClusterKnown tells whether Cluster and Shards are known.
	ClusterKnown bool
	Cluster      uint16
	Shards       []uint16
	// LastSeen is when discovery last offered the peer or we were last
	// connected to it.
	LastSeen time.Time
	// Failures counts the dials that failed since the last one that
	// succeeded; LastFailure is the time of the last.
	Failures    int
	LastFailure time.Time
}

func (k KnownPeer) clone() KnownPeer {
	k.Addrs = slices.Clone(k.Addrs)
	k.Shards = slices.Clone(k.Shards)
	return k
}

// record is a store entry with what the store derives from it.
type record struct {
	KnownPeer
	prefix string // prefixKey of the addresses; "" when exempt
}

// peerStore holds the known peers: at most capacity of them (the least
// recently seen are evicted first) and at most perPrefix of one address
// prefix. The manager's lock guards it.
type peerStore struct {
	capacity  int
	perPrefix int
	exempt    []netip.Prefix
	peers     map[peer.ID]*record
	prefixes  map[string]int
	dirty     bool // changed since the last save
}

func newPeerStore(capacity, perPrefix int, exempt []netip.Prefix) *peerStore {
	return &peerStore{capacity: capacity, perPrefix: perPrefix, exempt: exempt, peers: map[peer.ID]*record{}, prefixes: map[string]int{}}
}

func (s *peerStore) len() int { return len(s.peers) }

func (s *peerStore) get(id peer.ID) *record { return s.peers[id] }

// prefixOf is the key a peer's addresses count under; "" for exempt
// addresses (and those without IP or DNS name, which cannot be dialled).
func (s *peerStore) prefixOf(addrs []ma.Multiaddr) string {
	key, ip := prefixKey(addrs)
	if exempt(s.exempt, ip) {
		return ""
	}
	return key
}

// upsert adds a normalised candidate or merges it into the peer's record.
// pinned peers (connected, dialling, static) are never evicted to make
// room.
func (s *peerStore) upsert(c Candidate, now time.Time, pinned func(peer.ID) bool) error {
	key := s.prefixOf(c.Info.Addrs)
	r := s.peers[c.Info.ID]
	if key != "" && s.perPrefix > 0 && s.prefixes[key] >= s.perPrefix && (r == nil || r.prefix != key) {
		return fmt.Errorf("%w: %d records of %s already, the most kept", ErrPrefixFull, s.prefixes[key], key)
	}
	if r == nil {
		if len(s.peers) >= s.capacity && !s.evictOne(pinned) {
			return ErrStoreFull
		}
		r = &record{KnownPeer: KnownPeer{ID: c.Info.ID, Source: c.Source}}
		s.peers[c.Info.ID] = r
	} else {
		s.unindex(r)
	}
	r.Addrs = slices.Clone(c.Info.Addrs)
	r.prefix = key
	s.index(r)
	if c.Source != "" {
		r.Source = c.Source
	}
	if c.Caps != 0 {
		r.Caps = c.Caps
	}
	if c.ClusterKnown {
		r.ClusterKnown, r.Cluster, r.Shards = true, c.Cluster, slices.Clone(c.Shards)
	}
	r.LastSeen = now
	s.dirty = true
	return nil
}

func (s *peerStore) index(r *record) {
	if r.prefix != "" {
		s.prefixes[r.prefix]++
	}
}

func (s *peerStore) unindex(r *record) {
	if r.prefix == "" {
		return
	}
	if s.prefixes[r.prefix]--; s.prefixes[r.prefix] <= 0 {
		delete(s.prefixes, r.prefix)
	}
}

// evictOne removes the least recently seen record that is not pinned.
func (s *peerStore) evictOne(pinned func(peer.ID) bool) bool {
	var victim *record
	for _, r := range s.peers {
		if pinned != nil && pinned(r.ID) {
			continue
		}
		if victim == nil || r.LastSeen.Before(victim.LastSeen) {
			victim = r
		}
	}
	if victim == nil {
		return false
	}
	s.remove(victim.ID)
	return true
}

func (s *peerStore) remove(id peer.ID) {
	if r := s.peers[id]; r != nil {
		s.unindex(r)
		delete(s.peers, id)
		s.dirty = true
	}
}

// seen refreshes a record's last-seen time.
func (s *peerStore) seen(id peer.ID, now time.Time) {
	if r := s.peers[id]; r != nil {
		r.LastSeen = now
		s.dirty = true
	}
}

// failed records a failed dial.
func (s *peerStore) failed(id peer.ID, now time.Time) {
	if r := s.peers[id]; r != nil {
		r.Failures++
		r.LastFailure = now
		s.dirty = true
	}
}

// connected records a connection: what the peer showed of itself (its
// cluster and shards unless it was admitted without metadata).
func (s *peerStore) connected(id peer.ID, caps Capabilities, clusterKnown bool, cluster uint16, shards []uint16, now time.Time) {
	r := s.peers[id]
	if r == nil {
		return
	}
	r.Failures, r.LastFailure, r.LastSeen = 0, time.Time{}, now
	if caps != 0 {
		r.Caps = caps
	}
	if clusterKnown {
		r.ClusterKnown, r.Cluster, r.Shards = true, cluster, slices.Clone(shards)
	}
	s.dirty = true
}

// snapshot copies the records, ordered by peer id.
func (s *peerStore) snapshot() []KnownPeer {
	out := make([]KnownPeer, 0, len(s.peers))
	for _, r := range s.peers {
		out = append(out, r.clone())
	}
	slices.SortFunc(out, func(a, b KnownPeer) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// load fills an empty store from saved records: the most recently seen
// first, as many as fit.
func (s *peerStore) load(saved []KnownPeer) (kept int) {
	saved = slices.Clone(saved)
	slices.SortStableFunc(saved, func(a, b KnownPeer) int { return b.LastSeen.Compare(a.LastSeen) })
	for _, k := range saved {
		if len(s.peers) >= s.capacity {
			break
		}
		if s.peers[k.ID] != nil {
			continue
		}
		key := s.prefixOf(k.Addrs)
		if key != "" && s.perPrefix > 0 && s.prefixes[key] >= s.perPrefix {
			continue
		}
		r := &record{KnownPeer: k.clone(), prefix: key}
		s.peers[k.ID] = r
		s.index(r)
		kept++
	}
	return kept
}
