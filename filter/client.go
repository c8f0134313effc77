package filter

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/filterpb"
)

// DefaultClientBuffer is the messages a client holds for its reader.
const DefaultClientBuffer = 1024

// Client is a filter client: it subscribes at service nodes and receives
// their pushes.
//
// A push is accepted only from a service peer the client holds a
// subscription with, and only for a (pubsub topic, content topic) it
// subscribed to there (any pubsub topic for content topics subscribed to
// without one, autosharded by the service). Other pushes are ignored and
// counted (Ignored): anyone can open a push stream, and a client must not
// take messages it never asked for, nor from a peer it did not choose. The
// client does not re-validate messages (RLN proofs): it trusts the
// services it chose.
type Client struct {
	h   host.Host
	log *slog.Logger
	c   chan *relay.Envelope

	dropped, ignored atomic.Uint64

	mu     sync.Mutex
	subs   map[peer.ID]map[criterion]struct{}
	closed bool
}

// NewClient serves the push protocol on h.
func NewClient(h host.Host) *Client {
	c := &Client{h: h, log: slog.New(slog.DiscardHandler), c: make(chan *relay.Envelope, DefaultClientBuffer), subs: map[peer.ID]map[criterion]struct{}{}}
	h.SetStreamHandler(ProtocolPush, c.handlePush)
	return c
}

// C is the channel of pushed messages (From is the service peer), closed
// by Close. When the reader falls DefaultClientBuffer behind, messages are
// dropped and counted (Dropped).
func (c *Client) C() <-chan *relay.Envelope { return c.c }

// Dropped counts messages dropped because C was full.
func (c *Client) Dropped() uint64 { return c.dropped.Load() }

// Ignored counts pushes ignored: from a peer without our subscription or
// for topics not subscribed to.
func (c *Client) Ignored() uint64 { return c.ignored.Load() }

// Close stops receiving pushes and closes C.
func (c *Client) Close() {
	c.h.RemoveStreamHandler(ProtocolPush)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.c)
	}
}

// Subscribe subscribes at service peer p to contentTopics on pubsubTopic,
// or, with an empty pubsubTopic, on each content topic's autosharded shard.
// An answer other than 200 is a *StatusError.
func (c *Client) Subscribe(ctx context.Context, p peer.ID, pubsubTopic string, contentTopics []string) error {
	// Accept pushes from now on: the service may push before we read its
	// answer.
	c.mu.Lock()
	set := c.subs[p]
	if set == nil {
		set = map[criterion]struct{}{}
		c.subs[p] = set
	}
	var added []criterion
	for _, ct := range contentTopics {
		k := criterion{pubsub: pubsubTopic, content: ct}
		if _, ok := set[k]; !ok {
			set[k] = struct{}{}
			added = append(added, k)
		}
	}
	c.mu.Unlock()
	err := c.request(ctx, p, filterpb.FilterSubscribeRequest_SUBSCRIBE, pubsubTopic, contentTopics)
	if err != nil {
		c.mu.Lock()
		if set := c.subs[p]; set != nil {
			for _, k := range added {
				delete(set, k)
			}
			if len(set) == 0 {
				delete(c.subs, p)
			}
		}
		c.mu.Unlock()
	}
	return err
}

// Unsubscribe ends the subscription at p to contentTopics on pubsubTopic
// (empty: as subscribed, autosharded). Pushes for them are ignored from
// now on, whatever the service answers.
func (c *Client) Unsubscribe(ctx context.Context, p peer.ID, pubsubTopic string, contentTopics []string) error {
	c.mu.Lock()
	if set := c.subs[p]; set != nil {
		for _, ct := range contentTopics {
			delete(set, criterion{pubsub: pubsubTopic, content: ct})
		}
		if len(set) == 0 {
			delete(c.subs, p)
		}
	}
	c.mu.Unlock()
	return c.request(ctx, p, filterpb.FilterSubscribeRequest_UNSUBSCRIBE, pubsubTopic, contentTopics)
}

// UnsubscribeAll ends every subscription at p; pushes from p are ignored
// from now on, whatever the service answers.
func (c *Client) UnsubscribeAll(ctx context.Context, p peer.ID) error {
	c.mu.Lock()
	delete(c.subs, p)
	c.mu.Unlock()
	return c.request(ctx, p, filterpb.FilterSubscribeRequest_UNSUBSCRIBE_ALL, "", nil)
}

// Ping refreshes the subscription at p; a *StatusError of 404 means p
// holds none (expired, or the service restarted): subscribe again.
func (c *Client) Ping(ctx context.Context, p peer.ID) error {
	return c.request(ctx, p, filterpb.FilterSubscribeRequest_SUBSCRIBER_PING, "", nil)
}

func (c *Client) request(ctx context.Context, p peer.ID, t filterpb.FilterSubscribeRequest_FilterSubscribeType, pubsubTopic string, contentTopics []string) error {
	st, err := c.h.NewStream(ctx, p, ProtocolSubscribe)
	if err != nil {
		return fmt.Errorf("filter: open a stream to %s: %w", p, err)
	}
	defer st.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	} else {
		_ = st.SetDeadline(time.Now().Add(streamTimeout))
	}
	req := &filterpb.FilterSubscribeRequest{RequestId: newRequestID(), FilterSubscribeType: t, ContentTopics: contentTopics}
	if pubsubTopic != "" {
		req.PubsubTopic = &pubsubTopic
	}
	if err := wire.WriteMsg(st, req); err != nil {
		_ = st.Reset()
		return fmt.Errorf("filter: send: %w", err)
	}
	_ = st.CloseWrite()
	var resp filterpb.FilterSubscribeResponse
	if err := wire.ReadMsg(st, &resp); err != nil {
		return fmt.Errorf("filter: read the answer: %w", err)
	}
	if resp.GetRequestId() != req.RequestId {
		return fmt.Errorf("filter: answer to request %q, sent %q", resp.GetRequestId(), req.RequestId)
	}
	if code := StatusCode(resp.GetStatusCode()); code != StatusOK {
		return &StatusError{Code: code, Description: resp.GetStatusDesc()}
	}
	return nil
}

// accept finds the pubsub topic of a push from p, if we subscribed to it.
func (c *Client) acceptLocked(p peer.ID, pubsubTopic, contentTopic string) (string, bool) {
	set := c.subs[p]
	if set == nil {
		return "", false
	}
	if pubsubTopic != "" {
		_, exact := set[criterion{pubsub: pubsubTopic, content: contentTopic}]
		_, auto := set[criterion{content: contentTopic}]
		return pubsubTopic, exact || auto
	}
	// A push without its pubsub topic (optional in the spec): take the
	// topic subscribed to for this content topic, when there is one.
	found, topic := false, ""
	for k := range set {
		if k.content == contentTopic {
			if found && k.pubsub != topic {
				topic = ""
			} else {
				topic = k.pubsub
			}
			found = true
		}
	}
	return topic, found
}

func (c *Client) handlePush(st network.Stream) {
	defer st.Close()
	from := st.Conn().RemotePeer()
	_ = st.SetDeadline(time.Now().Add(streamTimeout))
	var mp filterpb.MessagePush
	if err := wire.ReadMsg(st, &mp); err != nil {
		c.log.Debug("filter push does not decode", "peer", from, "err", err)
		_ = st.Reset()
		return
	}
	msg := mp.GetWakuMessage()
	c.mu.Lock()
	defer c.mu.Unlock()
	topic, ok := c.acceptLocked(from, mp.GetPubsubTopic(), msg.GetContentTopic())
	if !ok || c.closed {
		c.ignored.Add(1)
		return
	}
	env := &relay.Envelope{PubsubTopic: topic, Message: msg, From: from, Received: time.Now()}
	if topic != "" {
		env.Hash = wire.Hash(topic, msg)
	}
	select {
	case c.c <- env:
	default:
		c.dropped.Add(1)
	}
}
