package rest

import (
	"errors"
	"fmt"
	"sync"

	"github.com/rlnd/rlnd/relay"
)

// errTooManyTopics is a subscription past the API's MaxSubscriptions.
var errTooManyTopics = errors.New("too many subscribed topics")

// messageCache keeps the relayed messages of the topics subscribed
// through the API until they are fetched: per pubsub topic and per content
// topic, at most capacity each (the oldest go first), for at most
// maxTopics topics in all.
type messageCache struct {
	capacity, maxTopics int
	mu                  sync.Mutex
	pubsub              map[string]*ring // by pubsub topic
	content             map[string]*ring // by content topic
}

// ring is one topic's messages, oldest first.
type ring struct {
	msgs []*relay.Envelope
}

func newMessageCache(capacity, maxTopics int) *messageCache {
	return &messageCache{capacity: capacity, maxTopics: maxTopics, pubsub: map[string]*ring{}, content: map[string]*ring{}}
}

// table is the pubsub (auto false) or content topic (auto true) table.
func (c *messageCache) table(auto bool) map[string]*ring {
	if auto {
		return c.content
	}
	return c.pubsub
}

// subscribe starts keeping the topics' messages; topics already kept are
// left as they are. Either all are subscribed or, past maxTopics, none.
func (c *messageCache) subscribe(auto bool, topics []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.table(auto)
	added := map[string]bool{}
	for _, topic := range topics {
		if t[topic] == nil {
			added[topic] = true
		}
	}
	if have := len(c.pubsub) + len(c.content); have+len(added) > c.maxTopics {
		return fmt.Errorf("%w: %d kept, %d more asked, at most %d", errTooManyTopics, have, len(added), c.maxTopics)
	}
	for topic := range added {
		t[topic] = &ring{}
	}
	return nil
}

// unsubscribe stops keeping the topics' messages and drops those kept.
func (c *messageCache) unsubscribe(auto bool, topics []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.table(auto)
	for _, topic := range topics {
		delete(t, topic)
	}
}

// add keeps a relayed message under its pubsub topic and its content
// topic, where subscribed. It returns how many older messages it pushed
// out of full rings.
func (c *messageCache) add(env *relay.Envelope) (dropped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range []*ring{c.pubsub[env.PubsubTopic], c.content[env.Message.GetContentTopic()]} {
		if r == nil {
			continue
		}
		if len(r.msgs) == c.capacity {
			copy(r.msgs, r.msgs[1:])
			r.msgs = r.msgs[:len(r.msgs)-1]
			dropped++
		}
		r.msgs = append(r.msgs, env)
	}
	return dropped
}

// take returns the topic's kept messages, oldest first, and forgets them;
// ok is false when the topic is not subscribed.
func (c *messageCache) take(auto bool, topic string) (msgs []*relay.Envelope, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.table(auto)[topic]
	if r == nil {
		return nil, false
	}
	msgs, r.msgs = r.msgs, nil
	return msgs, true
}

// feedCache keeps what the relay delivers until the server closes.
func (s *Server) feedCache(sub *relay.Subscription) {
	defer s.wg.Done()
	defer sub.Cancel()
	for {
		select {
		case <-s.ctx.Done():
			return
		case env, open := <-sub.C():
			if !open {
				return
			}
			if n := s.cache.add(env); n > 0 {
				s.m.dropped.Add(float64(n))
			}
		}
	}
}
