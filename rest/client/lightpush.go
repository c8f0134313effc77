package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/rlnd/rlnd/rest/api"
)

// Lightpush pushes a message with lightpush v3 through the node's
// lightpush service (POST /lightpush/v3/message). On success the answer
// has the relay peers the message reached; otherwise err is an *Error
// whose status is the lightpush code's (nwaku answers 420 with 400), and
// the answer its JSON body, as far as it decodes (StatusDesc says why).
func (c *Client) Lightpush(ctx context.Context, req api.PushRequest) (api.PushResponse, error) {
	var out api.PushResponse
	err := c.do(ctx, http.MethodPost, "/lightpush/v3/message", nil, req, &out)
	var e *Error
	if errors.As(err, &e) {
		_ = json.Unmarshal([]byte(e.Body), &out)
	}
	return out, err
}

// LightpushV1 pushes a message with the legacy API (POST
// /lightpush/v1/message, lightpush v2-beta1 to the service): nil on
// success; otherwise an *Error (400 a bad message, 429 rate-limited, 503
// the push failed, with the reason in its body).
func (c *Client) LightpushV1(ctx context.Context, req api.PushRequest) error {
	return c.do(ctx, http.MethodPost, "/lightpush/v1/message", nil, req, nil)
}
