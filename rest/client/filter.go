package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/rlnd/rlnd/rest/api"
)

// filterCall makes a filter subscription call. Its answer, a
// FilterSubscriptionResponse, is returned on failure too when the node
// sent one (its statusDesc says what the service peer answered), beside
// the *Error.
func (c *Client) filterCall(ctx context.Context, method, path string, in any) (api.FilterSubscriptionResponse, error) {
	var out api.FilterSubscriptionResponse
	err := c.do(ctx, method, path, nil, in, &out)
	var e *Error
	if errors.As(err, &e) {
		_ = json.Unmarshal([]byte(e.Body), &out)
	}
	return out, err
}

// FilterSubscribe subscribes the node, as a filter client of its service
// peer, to req's content topics (on req.PubsubTopic, or autosharded when
// it is empty); the node keeps what is pushed for FilterMessages.
func (c *Client) FilterSubscribe(ctx context.Context, req api.FilterSubscribeRequest) (api.FilterSubscriptionResponse, error) {
	return c.filterCall(ctx, http.MethodPost, "/filter/v2/subscriptions", req)
}

// FilterUnsubscribe ends the subscription to req's content topics and
// drops their kept messages.
func (c *Client) FilterUnsubscribe(ctx context.Context, req api.FilterUnsubscribeRequest) (api.FilterSubscriptionResponse, error) {
	return c.filterCall(ctx, http.MethodDelete, "/filter/v2/subscriptions", req)
}

// FilterUnsubscribeAll ends all of the node's filter subscriptions.
func (c *Client) FilterUnsubscribeAll(ctx context.Context, requestID string) (api.FilterSubscriptionResponse, error) {
	return c.filterCall(ctx, http.MethodDelete, "/filter/v2/subscriptions/all", api.FilterUnsubscribeAllRequest{RequestID: requestID})
}

// FilterPing asks whether the node's service peer still holds its
// subscriptions: an *Error of status 404 when it holds none.
func (c *Client) FilterPing(ctx context.Context, requestID string) (api.FilterSubscriptionResponse, error) {
	return c.filterCall(ctx, http.MethodGet, "/filter/v2/subscriptions/"+Topic(requestID), nil)
}

// FilterMessages returns the messages pushed for contentTopic since the
// last call, oldest first (the node forgets them): those on pubsubTopic,
// or on any pubsub topic when it is empty. An *Error of status 404 means
// the node is not subscribed.
func (c *Client) FilterMessages(ctx context.Context, pubsubTopic, contentTopic string) ([]api.Message, error) {
	path := "/filter/v2/messages/" + Topic(contentTopic)
	if pubsubTopic != "" {
		path = "/filter/v2/messages/" + Topic(pubsubTopic) + "/" + Topic(contentTopic)
	}
	var out []api.Message
	if err := c.do(ctx, http.MethodGet, path, nil, nil, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []api.Message{}
	}
	return out, nil
}
