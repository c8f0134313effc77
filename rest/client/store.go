package client

import (
	"context"
	"net/http"

	"github.com/rlnd/rlnd/rest/api"
)

// StoreMessages queries a store node through the API (GET
// /store/v3/messages): the node at q.PeerAddr, else the node's store
// service. The answer carries the store node's status code: a query the
// store node refused is answered 200 with its code (400, 500, 503) in
// StatusCode; the API's own refusals (a bad parameter 400, no store peer
// 412, rate-limited 429, the store node unreachable 500) are an *Error.
func (c *Client) StoreMessages(ctx context.Context, q api.StoreQuery) (api.StoreQueryResponse, error) {
	var out api.StoreQueryResponse
	err := c.do(ctx, http.MethodGet, "/store/v3/messages", q.Values(), nil, &out)
	return out, err
}
