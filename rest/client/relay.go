package client

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/rlnd/rlnd/rest/api"
)

// Relay paths (nwaku's waku_api/rest/relay).
const (
	pathRelaySubscriptions     = "/relay/v1/subscriptions"
	pathRelayMessages          = "/relay/v1/messages/"
	pathRelayAutoSubscriptions = "/relay/v1/auto/subscriptions"
	pathRelayAutoMessages      = "/relay/v1/auto/messages"
)

// RelaySubscribe asks the node to keep the messages it relays on the
// pubsub topics (/waku/2/rs/<cluster>/<shard>) for RelayMessages. The node
// keeps them per topic for every caller of its API alike: a subscription
// is the node's, not this client's. 400 for a topic the node does not
// relay.
func (c *Client) RelaySubscribe(ctx context.Context, pubsubTopics ...string) error {
	if err := checkTopics("RelaySubscribe", "pubsub", pubsubTopics); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, pathRelaySubscriptions, nil, pubsubTopics, nil)
}

// RelayUnsubscribe stops keeping the pubsub topics' messages; those kept
// are dropped.
func (c *Client) RelayUnsubscribe(ctx context.Context, pubsubTopics ...string) error {
	if err := checkTopics("RelayUnsubscribe", "pubsub", pubsubTopics); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, pathRelaySubscriptions, nil, pubsubTopics, nil)
}

// RelayAutoSubscribe asks the node to keep the messages of the content
// topics (/app/version/name/encoding), each on its shard by autosharding,
// for RelayAutoMessages. 400 for a malformed content topic or one whose
// shard the node does not relay.
func (c *Client) RelayAutoSubscribe(ctx context.Context, contentTopics ...string) error {
	if err := checkTopics("RelayAutoSubscribe", "content", contentTopics); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, pathRelayAutoSubscriptions, nil, contentTopics, nil)
}

// RelayAutoUnsubscribe stops keeping the content topics' messages.
func (c *Client) RelayAutoUnsubscribe(ctx context.Context, contentTopics ...string) error {
	if err := checkTopics("RelayAutoUnsubscribe", "content", contentTopics); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, pathRelayAutoSubscriptions, nil, contentTopics, nil)
}

// RelayMessages takes the messages the node kept for a subscribed pubsub
// topic since the last call, oldest first (an empty list when none came);
// the node forgets them. 404 when the topic is not subscribed.
func (c *Client) RelayMessages(ctx context.Context, pubsubTopic string) ([]api.Message, error) {
	if err := checkTopic("RelayMessages", "pubsub", pubsubTopic); err != nil {
		return nil, err
	}
	var out []api.Message
	if err := c.do(ctx, http.MethodGet, pathRelayMessages+Topic(pubsubTopic), nil, nil, &out); err != nil {
		return nil, err
	}
	return nonNilMessages(out), nil
}

// RelayAutoMessages is RelayMessages for a content topic subscribed with
// RelayAutoSubscribe.
func (c *Client) RelayAutoMessages(ctx context.Context, contentTopic string) ([]api.Message, error) {
	if err := checkTopic("RelayAutoMessages", "content", contentTopic); err != nil {
		return nil, err
	}
	var out []api.Message
	if err := c.do(ctx, http.MethodGet, pathRelayAutoMessages+"/"+Topic(contentTopic), nil, nil, &out); err != nil {
		return nil, err
	}
	return nonNilMessages(out), nil
}

// RelayPublish publishes m on a pubsub topic the node relays; the node
// stamps a message without a timestamp and proves it with its own
// membership when RLN is on. 400 for a message the node refuses (what is
// wrong with it, or over its membership's rate), 503 when it may pass
// later (no relay peers).
func (c *Client) RelayPublish(ctx context.Context, pubsubTopic string, m api.Message) error {
	if err := checkTopic("RelayPublish", "pubsub", pubsubTopic); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, pathRelayMessages+Topic(pubsubTopic), nil, m, nil)
}

// RelayAutoPublish publishes m on its content topic's shard by
// autosharding; answers as RelayPublish's.
func (c *Client) RelayAutoPublish(ctx context.Context, m api.Message) error {
	return c.do(ctx, http.MethodPost, pathRelayAutoMessages, nil, m, nil)
}

// checkTopics refuses an empty list of topics or an empty topic in it
// (kind: "pubsub" or "content").
func checkTopics(method, kind string, topics []string) error {
	if len(topics) == 0 {
		return fmt.Errorf("%w: %s needs at least one %s topic", ErrInvalidArgument, method, kind)
	}
	for _, t := range topics {
		if err := checkTopic(method, kind, t); err != nil {
			return err
		}
	}
	return nil
}

// checkTopic refuses an empty topic.
func checkTopic(method, kind, topic string) error {
	if strings.TrimSpace(topic) == "" {
		return fmt.Errorf("%w: %s: the %s topic is empty", ErrInvalidArgument, method, kind)
	}
	return nil
}

// nonNilMessages is msgs, or an empty list for a null answer.
func nonNilMessages(msgs []api.Message) []api.Message {
	if msgs == nil {
		return []api.Message{}
	}
	return msgs
}
