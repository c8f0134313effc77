package api

import (
	"errors"
	"fmt"
)

// ErrBadFilterRequest wraps what is wrong with a filter subscription
// request's body.
var ErrBadFilterRequest = errors.New("bad filter request")

// FilterSubscribeRequest is the body of POST and PUT
// /filter/v2/subscriptions (nwaku's FilterSubscribeRequest): the caller's
// request id, echoed in the answer, the content topics, and the pubsub
// topic they are on (empty: each content topic's autosharded shard).
type FilterSubscribeRequest struct {
	RequestID      string   `json:"requestId"`
	ContentFilters []string `json:"contentFilters"`
	PubsubTopic    string   `json:"pubsubTopic,omitempty"`
}

// FilterUnsubscribeRequest is the body of DELETE /filter/v2/subscriptions
// (nwaku's FilterUnsubscribeRequest); its fields are a subscription's.
type FilterUnsubscribeRequest struct {
	RequestID      string   `json:"requestId"`
	ContentFilters []string `json:"contentFilters"`
	PubsubTopic    string   `json:"pubsubTopic,omitempty"`
}

// FilterUnsubscribeAllRequest is the body of DELETE
// /filter/v2/subscriptions/all.
type FilterUnsubscribeAllRequest struct {
	RequestID string `json:"requestId"`
}

// FilterSubscriptionResponse is the answer to every filter subscription
// call, success or not (nwaku's FilterSubscriptionResponse): the request
// id (the path's for a ping, "unknown" when the body could not be read)
// and "OK" or what went wrong. nwaku answers with these two fields since
// it dropped statusCode; the HTTP status carries the outcome.
type FilterSubscriptionResponse struct {
	RequestID  string `json:"requestId"`
	StatusDesc string `json:"statusDesc"`
}

// filterBody is a subscription body as sent: absent and null fields are
// nil.
type filterBody struct {
	RequestID      *string   `json:"requestId"`
	ContentFilters *[]string `json:"contentFilters"`
	PubsubTopic    *string   `json:"pubsubTopic"`
}

// decodeFilterBody reads a filter body as nwaku reads one: a JSON object
// with a requestId (a string, possibly empty); unknown fields are ignored.
func decodeFilterBody(b []byte, want string) (filterBody, error) {
	var fb filterBody
	if err := DecodeJSON(b, &fb); err != nil {
		return fb, fmt.Errorf("%w: want a JSON object %s: %w", ErrBadFilterRequest, want, err)
	}
	if fb.RequestID == nil {
		return fb, fmt.Errorf("%w: field `requestId` is missing", ErrBadFilterRequest)
	}
	return fb, nil
}

// contentFilters checks a body's contentFilters: present and not empty.
func (fb filterBody) contentFilters() ([]string, error) {
	if fb.ContentFilters == nil {
		return nil, fmt.Errorf("%w: field `contentFilters` is missing", ErrBadFilterRequest)
	}
	if len(*fb.ContentFilters) == 0 {
		return nil, fmt.Errorf("%w: field `contentFilters` is empty", ErrBadFilterRequest)
	}
	return *fb.ContentFilters, nil
}

// DecodeFilterSubscribe reads a subscribe request's body: requestId and a
// non-empty contentFilters are required, pubsubTopic is optional (null or
// "" mean none).
func DecodeFilterSubscribe(b []byte) (FilterSubscribeRequest, error) {
	fb, err := decodeFilterBody(b, `{"requestId": string, "contentFilters": [string], "pubsubTopic": string}`)
	if err != nil {
		return FilterSubscribeRequest{}, err
	}
	cts, err := fb.contentFilters()
	if err != nil {
		return FilterSubscribeRequest{}, err
	}
	req := FilterSubscribeRequest{RequestID: *fb.RequestID, ContentFilters: cts}
	if fb.PubsubTopic != nil {
		req.PubsubTopic = *fb.PubsubTopic
	}
	return req, nil
}

// DecodeFilterUnsubscribe reads an unsubscribe request's body, checked as
// a subscription's.
func DecodeFilterUnsubscribe(b []byte) (FilterUnsubscribeRequest, error) {
	req, err := DecodeFilterSubscribe(b)
	return FilterUnsubscribeRequest(req), err
}

// DecodeFilterUnsubscribeAll reads an unsubscribe-all request's body:
// requestId is required.
func DecodeFilterUnsubscribeAll(b []byte) (FilterUnsubscribeAllRequest, error) {
	fb, err := decodeFilterBody(b, `{"requestId": string}`)
	if err != nil {
		return FilterUnsubscribeAllRequest{}, err
	}
	return FilterUnsubscribeAllRequest{RequestID: *fb.RequestID}, nil
}
