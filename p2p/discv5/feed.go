package discv5

import (
	"container/list"
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/netutil"

	"github.com/rlnd/rlnd/p2p/wakuenr"
)

// Limits bound the candidate feeds. Zero fields take the defaults.
type Limits struct {
	// PerSecond is how many candidates one feed yields a second at most
	// (default 10), after a first Burst (default 20).
	PerSecond float64
	Burst     int
	// SeenCache is how many node ids one feed remembers (default 1024):
	// a node it remembers is yielded again only with a newer record.
	// Past that the oldest is forgotten.
	SeenCache int
	// PerPrefix is how many of the nodes a feed remembers may share one
	// address prefix (/24 for IPv4, /48 for IPv6; default 8): a node
	// beyond that is skipped, so that a host making up node ids cannot
	// fill the feed. Addresses on the LAN or loopback (go-ethereum's
	// netutil.AddrIsLAN) are not limited, as in go-ethereum's table.
	PerPrefix int
	// MaxFeeds is how many feeds may run at once (default 4).
	MaxFeeds int
	// FeedBuffer is the capacity of a feed's channel (default 16).
	FeedBuffer int
	// MaxFindPeers is the most peers one FindPeers call may ask for
	// (default 256).
	MaxFindPeers int
}

// Defaults of Limits.
const (
	DefaultPerSecond    = 10
	DefaultBurst        = 20
	DefaultSeenCache    = 1024
	DefaultPerPrefix    = 8
	DefaultMaxFeeds     = 4
	DefaultFeedBuffer   = 16
	DefaultMaxFindPeers = 256
)

func (l Limits) withDefaults() (Limits, error) {
	if l.PerSecond < 0 || l.Burst < 0 || l.SeenCache < 0 || l.PerPrefix < 0 || l.MaxFeeds < 0 || l.FeedBuffer < 0 || l.MaxFindPeers < 0 {
		return l, fmt.Errorf("%w: negative limit in %+v", ErrInvalidConfig, l)
	}
	if l.PerSecond == 0 {
		l.PerSecond = DefaultPerSecond
	}
	if l.Burst == 0 {
		l.Burst = DefaultBurst
	}
	if l.SeenCache == 0 {
		l.SeenCache = DefaultSeenCache
	}
	if l.PerPrefix == 0 {
		l.PerPrefix = DefaultPerPrefix
	}
	if l.MaxFeeds == 0 {
		l.MaxFeeds = DefaultMaxFeeds
	}
	if l.FeedBuffer == 0 {
		l.FeedBuffer = DefaultFeedBuffer
	}
	if l.MaxFindPeers == 0 {
		l.MaxFindPeers = DefaultMaxFindPeers
	}
	return l, nil
}

// Reasons a node is not yielded (the reason label of
// rlnd_discv5_filtered_total).
const (
	ReasonMalformed    = "malformed"    // its record has a malformed Waku entry
	ReasonCluster      = "cluster"      // no shards, or another cluster
	ReasonShards       = "shards"       // no shard in common with ours
	ReasonCapabilities = "capabilities" // lacks a capability we require
	ReasonSeen         = "seen"         // yielded already, record not newer
	ReasonPrefix       = "prefix"       // its address prefix has PerPrefix nodes
	ReasonSelf         = "self"         // our own record
)

// match decides whether the peer of n fits us; reason says why not.
func (s *Service) match(n *enode.Node) (p wakuenr.Peer, reason string) {
	if n.ID() == s.ln.ID() {
		return p, ReasonSelf
	}
	p, err := wakuenr.Decode(n)
	if err != nil {
		s.logger.Debug("discv5: malformed record", "node", n.ID().TerminalString(), "err", err)
		return p, ReasonMalformed
	}
	shards, required := s.ours()
	if !p.Capabilities.Has(required) {
		return p, ReasonCapabilities
	}
	if shards != nil {
		if !p.HasShards || p.Shards.Cluster != shards.Cluster {
			return p, ReasonCluster
		}
		if len(shards.Indices) > 0 && !p.Shards.Overlaps(*shards) {
			return p, ReasonShards
		}
	}
	return p, ""
}

// Iterator is a random walk through the network (go-ethereum's
// RandomNodes) that yields only the nodes whose records fit us: a Waku
// record with the capabilities we require and, when our record has
// shards, the same cluster and (when ours lists any) a shard in common.
// It is not deduplicated or rate limited (Candidates is); it suits
// enode.FairMix and the like. Close it when done; it ends when the
// service closes.
func (s *Service) Iterator() (enode.Iterator, error) {
	udp, err := s.transport()
	if err != nil {
		return nil, err
	}
	return enode.Filter(udp.RandomNodes(), func(n *enode.Node) bool {
		_, reason := s.match(n)
		if reason != "" {
			s.metrics.filtered(reason)
		}
		return reason == ""
	}), nil
}

// Candidates starts a random walk and sends on the returned channel the
// peers that fit us (see Iterator), each node once unless its record
// changes, within the feed Limits. The channel is closed when ctx ends or
// the service closes. At most Limits.MaxFeeds feeds run at once
// (ErrTooManyFeeds).
func (s *Service) Candidates(ctx context.Context) (<-chan wakuenr.Peer, error) {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, ErrClosed
	case s.udp == nil:
		s.mu.Unlock()
		return nil, ErrNotStarted
	case s.feeds >= s.cfg.Limits.MaxFeeds:
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %d running, limit %d", ErrTooManyFeeds, s.feeds, s.cfg.Limits.MaxFeeds)
	}
	s.feeds++
	udp := s.udp
	s.wg.Add(1)
	s.mu.Unlock()

	out := make(chan wakuenr.Peer, s.cfg.Limits.FeedBuffer)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel) // Close ends the feed
	it := udp.RandomNodes()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			s.feeds--
			s.mu.Unlock()
		}()
		defer stop()
		defer cancel()
		s.runFeed(ctx, it, out)
	}()
	return out, nil
}

// FindPeers collects up to n candidates (at most Limits.MaxFindPeers) from
// a feed of its own. It returns when it has n, or when ctx ends with the
// ones found so far and ctx's error.
func (s *Service) FindPeers(ctx context.Context, n int) ([]wakuenr.Peer, error) {
	if n <= 0 || n > s.cfg.Limits.MaxFindPeers {
		return nil, fmt.Errorf("%w: FindPeers of %d, want 1 to %d", ErrInvalidConfig, n, s.cfg.Limits.MaxFindPeers)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feed, err := s.Candidates(ctx)
	if err != nil {
		return nil, err
	}
	var out []wakuenr.Peer
	for len(out) < n {
		select {
		case p, ok := <-feed:
			if !ok {
				if err := ctx.Err(); err != nil {
					return out, err
				}
				return out, ErrClosed
			}
			out = append(out, p)
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
	return out, nil
}

// runFeed walks it until ctx ends, sending what fits to out, which it
// closes. it is closed on return.
func (s *Service) runFeed(ctx context.Context, it enode.Iterator, out chan<- wakuenr.Peer) {
	defer close(out)
	defer it.Close()
	stopIt := context.AfterFunc(ctx, it.Close) // unblocks Next
	defer stopIt()

	lim := s.cfg.Limits
	seen := newSeenSet(lim.SeenCache, lim.PerPrefix)
	bucket := newTokenBucket(lim.PerSecond, lim.Burst, time.Now())
	for it.Next() {
		n := it.Node()
		p, reason := s.match(n)
		if reason == "" {
			reason = seen.admit(n)
		}
		if reason != "" {
			s.metrics.filtered(reason)
			continue
		}
		if wait := bucket.take(time.Now()); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		select {
		case out <- p:
			s.metrics.discovered.Inc()
		case <-ctx.Done():
			return
		}
	}
}

// seenSet remembers the last max nodes yielded (by id, with their record's
// sequence number) and how many of them share each address prefix.
type seenSet struct {
	max, perPrefix int
	order          *list.List // of *seenNode, oldest first
	byID           map[enode.ID]*list.Element
	prefixes       map[netip.Prefix]int
}

type seenNode struct {
	id     enode.ID
	seq    uint64
	prefix netip.Prefix // invalid when not limited
}

func newSeenSet(max, perPrefix int) *seenSet {
	return &seenSet{max: max, perPrefix: perPrefix, order: list.New(), byID: map[enode.ID]*list.Element{}, prefixes: map[netip.Prefix]int{}}
}

// addrPrefix is the prefix a node's address is limited by: /24 (IPv4),
// /48 (IPv6); not valid for LAN addresses, which are not limited.
func addrPrefix(n *enode.Node) netip.Prefix {
	ip := n.IPAddr()
	if !ip.IsValid() {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0) // no address: one shared bucket
	}
	if netutil.AddrIsLAN(ip) {
		return netip.Prefix{}
	}
	bitsLen := 48
	if ip.Is4() {
		bitsLen = 24
	}
	p, err := ip.Prefix(bitsLen)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// admit records n if it is new (or its record newer) and its prefix has
// room; otherwise it says why not.
func (s *seenSet) admit(n *enode.Node) string {
	if el, ok := s.byID[n.ID()]; ok {
		sn := el.Value.(*seenNode)
		if n.Seq() <= sn.seq {
			return ReasonSeen
		}
		sn.seq = n.Seq()
		s.order.MoveToBack(el)
		return ""
	}
	prefix := addrPrefix(n)
	if prefix.IsValid() && s.prefixes[prefix] >= s.perPrefix {
		return ReasonPrefix
	}
	if s.order.Len() >= s.max {
		s.forget(s.order.Front())
	}
	s.byID[n.ID()] = s.order.PushBack(&seenNode{id: n.ID(), seq: n.Seq(), prefix: prefix})
	if prefix.IsValid() {
		s.prefixes[prefix]++
	}
	return ""
}

func (s *seenSet) forget(el *list.Element) {
	sn := s.order.Remove(el).(*seenNode)
	delete(s.byID, sn.id)
	if sn.prefix.IsValid() {
		if s.prefixes[sn.prefix]--; s.prefixes[sn.prefix] <= 0 {
			delete(s.prefixes, sn.prefix)
		}
	}
}

// tokenBucket paces a feed: burst tokens, refilled at rate a second.
type tokenBucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, burst int, now time.Time) *tokenBucket {
	return &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// take spends a token and says how long to wait before using it (0: now).
func (b *tokenBucket) take(now time.Time) time.Duration {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}
