package lightpush

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/p2p/admission"
)

// Quotas of proof as a service. Every count belongs to the epoch of the
// slot the request would take (its message's epoch), never to the epoch
// of the clock: a message stamped in another epoch changes nobody's count
// in this one. A client is limited by its peer id, its IP address and its
// address prefix (/24 or /56, admission's rule), so new peer ids from one place share that place's quota;
// and a share of each epoch's slots is kept for clients (by peer id and by
// prefix) not yet served in it, so early clients cannot take them all.

// client is who asked: its peer id and the address its connection comes
// from ("" when unknown, e.g. a local caller).
type client struct {
	peer   peer.ID
	ip     string
	prefix string
}

func newClient(p peer.ID, ip net.IP) client {
	c := client{peer: p}
	if addr, ok := netip.AddrFromSlice(ip); ok {
		addr = addr.Unmap()
		c.ip, c.prefix = addr.String(), admission.PrefixOfAddr(addr).String()
	}
	return c
}

// QuotaConfig bounds what one client gets per epoch.
type QuotaConfig struct {
	PerPeer, PerIP, PerPrefix int // 0: no bound of that kind
	Global                    int // proofs per epoch in all; 0: the slots' bound
	// ReservedShare of each epoch's slots (0 to 1) only clients not yet
	// served in the epoch may take.
	ReservedShare float64
}

// Refusal reasons, as counted and logged.
const (
	reasonPeerQuota   = "peer-quota"
	reasonIPQuota     = "ip-quota"
	reasonPrefixQuota = "prefix-quota"
	reasonGlobalCap   = "global-cap"
	reasonReserved    = "reserved-for-new-clients"
)

type epochUse struct {
	peers    map[peer.ID]int
	ips      map[string]int
	prefixes map[string]int
	total    int
	inflight int // admitted, slot not yet taken
}

type quotas struct {
	cfg    QuotaConfig
	mu     sync.Mutex
	epochs map[uint64]*epochUse
}

func newQuotas(cfg QuotaConfig) *quotas {
	return &quotas{cfg: cfg, epochs: map[uint64]*epochUse{}}
}

// take admits c for one slot of epoch, given the slots left in it and the
// slots of an epoch. On success the caller must call taken or release.
func (q *quotas) take(c client, epoch uint64, left, capacity int) (reason, desc string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.epochs[epoch]
	if u == nil {
		u = &epochUse{peers: map[peer.ID]int{}, ips: map[string]int{}, prefixes: map[string]int{}}
		q.epochs[epoch] = u
	}
	cfg := q.cfg
	switch {
	case cfg.PerPeer > 0 && u.peers[c.peer] >= cfg.PerPeer:
		return reasonPeerQuota, fmt.Sprintf("quota of %d proofs per epoch per client used", cfg.PerPeer), false
	case cfg.PerIP > 0 && c.ip != "" && u.ips[c.ip] >= cfg.PerIP:
		return reasonIPQuota, fmt.Sprintf("quota of %d proofs per epoch per IP address used", cfg.PerIP), false
	case cfg.PerPrefix > 0 && c.prefix != "" && u.prefixes[c.prefix] >= cfg.PerPrefix:
		return reasonPrefixQuota, fmt.Sprintf("quota of %d proofs per epoch per address prefix used", cfg.PerPrefix), false
	case cfg.Global > 0 && u.total >= cfg.Global:
		return reasonGlobalCap, "the service's proofs for this epoch are used", false
	}
	// With no slot left for anyone, the slot store's answer (504) stands.
	served := u.peers[c.peer] > 0 || (c.prefix != "" && u.prefixes[c.prefix] > 0)
	if free, reserve := left-u.inflight, int(math.Ceil(cfg.ReservedShare*float64(capacity))); served && free > 0 && free-1 < reserve {
		return reasonReserved, "the rest of this epoch's proofs are kept for clients not yet served in it", false
	}
	u.peers[c.peer]++
	if c.ip != "" {
		u.ips[c.ip]++
		u.prefixes[c.prefix]++
	}
	u.total++
	u.inflight++
	return "", "", true
}

// taken: the admitted request got its slot.
func (q *quotas) taken(epoch uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if u := q.epochs[epoch]; u != nil {
		u.inflight--
	}
}

// release gives back what take counted, for a request refused before it
// got a slot.
func (q *quotas) release(c client, epoch uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.epochs[epoch]
	if u == nil {
		return
	}
	u.inflight--
	u.total--
	dec := func(m map[string]int, k string) {
		if m[k]--; m[k] <= 0 {
			delete(m, k)
		}
	}
	if u.peers[c.peer]--; u.peers[c.peer] <= 0 {
		delete(u.peers, c.peer)
	}
	if c.ip != "" {
		dec(u.ips, c.ip)
		dec(u.prefixes, c.prefix)
	}
}

// used is what c got in epoch (for tests and logs).
func (q *quotas) used(c client, epoch uint64) (peerN, prefixN int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if u := q.epochs[epoch]; u != nil {
		return u.peers[c.peer], u.prefixes[c.prefix]
	}
	return 0, 0
}

// prune forgets epochs before minEpoch.
func (q *quotas) prune(minEpoch uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for e := range q.epochs {
		if e < minEpoch {
			delete(q.epochs, e)
		}
	}
}
