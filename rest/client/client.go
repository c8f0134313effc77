// Package client is a Go client of rlnd's REST API, which is nwaku's: the
// same calls work against an nwaku node. Apps, the `rlnd relay` commands
// and the simulator's traffic driver use it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one call when the caller's context has no
// deadline.
const DefaultTimeout = 30 * time.Second

// maxAnswer bounds an answer's body: a page of store messages of the
// largest size fits.
const maxAnswer = 64 << 20

// ErrInvalidArgument wraps what is wrong with a method's arguments, found
// before any call is made (an empty topic, no topics at all).
var ErrInvalidArgument = errors.New("client: invalid argument")

// Error is an answer other than 2xx: its status and body (nwaku answers
// errors in plain text).
type Error struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *Error) Error() string {
	body := strings.TrimSpace(e.Body)
	if body == "" {
		body = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: %d: %s", e.Method, e.Path, e.Status, body)
}

// StatusOf is the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// Client calls one node's REST API.
type Client struct {
	base *url.URL
	http *http.Client
}

// New returns a client of the API at baseURL (http://host:port); hc nil
// uses a client of its own.
func New(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("client: base URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q: want http://host:port or https://host:port", baseURL)
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: u, http: hc}, nil
}

// Topic escapes a topic for a path: nwaku's paths carry topics
// URL-encoded, slashes included.
func Topic(t string) string { return url.PathEscape(t) }

// do makes one call: path (already escaped) with query, in and out as
// JSON (in nil: no body; out nil: the body is discarded; out *string: the
// body as text). A non-2xx answer is an *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	status, data, err := c.send(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return &Error{Method: method, Path: path, Status: status, Body: string(data)}
	}
	return decodeAnswer(method, path, data, out)
}

// decodeAnswer reads an answer's body into out as do describes.
func decodeAnswer(method, path string, data []byte, out any) error {
	switch o := out.(type) {
	case nil:
		return nil
	case *string:
		*o = string(data)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client: %s %s: answer is not the JSON expected: %w", method, path, err)
	}
	return nil
}

// send makes one call and returns the answer's status and body (at most
// maxAnswer bytes), whatever the status; err is for a call that got no
// answer.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any) (int, []byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	u := *c.base
	u.RawPath = c.base.Path + path
	u.Path, _ = url.PathUnescape(u.RawPath)
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, fmt.Errorf("client: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return 0, nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/plain")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return 0, nil, fmt.Errorf("client: %s %s: reading the answer: %w", method, path, err)
	}
	if len(data) > maxAnswer {
		return 0, nil, fmt.Errorf("client: %s %s: answer over %d bytes", method, path, maxAnswer)
	}
	return resp.StatusCode, data, nil
}
