// Package gossipsub holds the parts of rlnd's gossipsub v1.1 router (with
// v1.2's IDONTWANT) that keep state over time. The router is an I/O-free
// state machine (DESIGN.md, principle 1): time comes in with each event, so
// everything here takes the current time as an argument and never reads a
// clock. Its random choices come from one generator, seeded by Config.Seed:
// from crypto/rand unless the caller fixes it (FixedSeed), so that the
// same seed and the same events give the same actions.
package gossipsub

import (
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// MessageCache keeps the messages of the last History heartbeats for
// IWANT replies, and tells which of them to advertise in IHAVE gossip
// (those of the last Gossip heartbeats), as the gossipsub spec's mcache.
// It also counts how often each peer asked for each message, so that a
// peer asking more than the retransmission limit is refused.
type MessageCache struct {
	gossip  int
	windows [][]cacheEntry // windows[0] is the current heartbeat's
	msgs    map[string]*cachedMessage
}

type cacheEntry struct {
	id    string
	topic string
}

type cachedMessage struct {
	msg   *gossipsubpb.Message
	asked map[string]int // peer -> IWANT requests served
}

// NewMessageCache keeps history heartbeats and gossips about the last
// gossip of them (nwaku and go-waku: 6 and 3). It panics unless
// 1 <= gossip <= history, a programming error.
func NewMessageCache(gossip, history int) *MessageCache {
	if gossip < 1 || gossip > history {
		panic("gossipsub: message cache wants 1 <= gossip <= history")
	}
	return &MessageCache{gossip: gossip, windows: make([][]cacheEntry, history), msgs: map[string]*cachedMessage{}}
}

// Put caches a message under its id in the current window. A message
// already cached is left where it is.
func (c *MessageCache) Put(id string, msg *gossipsubpb.Message) {
	if _, ok := c.msgs[id]; ok {
		return
	}
	c.msgs[id] = &cachedMessage{msg: msg}
	c.windows[0] = append(c.windows[0], cacheEntry{id: id, topic: msg.GetTopic()})
}

// Has reports whether the message is cached.
func (c *MessageCache) Has(id string) bool {
	_, ok := c.msgs[id]
	return ok
}

// Get returns a cached message.
func (c *MessageCache) Get(id string) (*gossipsubpb.Message, bool) {
	m, ok := c.msgs[id]
	if !ok {
		return nil, false
	}
	return m.msg, true
}

// GetForPeer returns a cached message for an IWANT from peer and counts
// the request; it returns the count too, so that the caller can refuse a
// peer that asked more than the retransmission limit.
func (c *MessageCache) GetForPeer(id, peer string) (*gossipsubpb.Message, int, bool) {
	m, ok := c.msgs[id]
	if !ok {
		return nil, 0, false
	}
	if m.asked == nil {
		m.asked = map[string]int{}
	}
	m.asked[peer]++
	return m.msg, m.asked[peer], true
}

// GossipIDs returns the ids of the topic's messages in the gossip
// windows, newest window first.
func (c *MessageCache) GossipIDs(topic string) []string {
	var ids []string
	for _, w := range c.windows[:c.gossip] {
		for _, e := range w {
			if e.topic == topic {
				ids = append(ids, e.id)
			}
		}
	}
	return ids
}

// Shift starts a new window (once per heartbeat) and forgets the messages
// of the oldest.
func (c *MessageCache) Shift() {
	last := len(c.windows) - 1
	for _, e := range c.windows[last] {
		delete(c.msgs, e.id)
	}
	copy(c.windows[1:], c.windows[:last])
	c.windows[0] = nil
}

// Len is the number of cached messages.
func (c *MessageCache) Len() int { return len(c.msgs) }
