package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/rlnd/rlnd/rest/api"
)

// Paths of health, debug and admin (nwaku's; the server's rest.Path*
// constants, which the client does not import).
const (
	pathHealth       = "/health"
	pathDebugInfo    = "/debug/v1/info"
	pathDebugVersion = "/debug/v1/version"
	pathAdminPeers   = "/admin/v1/peers"
)

// Health asks the node whether it is ready. The node answers its health
// as JSON (nwaku's shape: nodeHealth, protocolsHealth; rlnd adds reason)
// with 200 when ready and 503 when not: both are answers, returned as
// ready and the body, with a nil error. Any other answer (a 503 whose body
// is not JSON, as a node too busy to serve the request sends) is an
// *Error.
func (c *Client) Health(ctx context.Context) (ready bool, raw json.RawMessage, err error) {
	status, data, err := c.send(ctx, http.MethodGet, pathHealth, nil, nil)
	if err != nil {
		return false, nil, err
	}
	if (status == http.StatusOK || status == http.StatusServiceUnavailable) && json.Valid(data) {
		return status == http.StatusOK, json.RawMessage(data), nil
	}
	if status/100 == 2 {
		return false, nil, fmt.Errorf("client: GET %s: answer %d is not JSON: %.200q", pathHealth, status, data)
	}
	return false, nil, &Error{Method: http.MethodGet, Path: pathHealth, Status: status, Body: string(data)}
}

// DebugInfo is the node's listen addresses and ENR (/debug/v1/info).
func (c *Client) DebugInfo(ctx context.Context) (api.DebugInfo, error) {
	var info api.DebugInfo
	err := c.do(ctx, http.MethodGet, pathDebugInfo, nil, nil, &info)
	return info, err
}

// Version is the node's version string (/debug/v1/version, plain text).
func (c *Client) Version(ctx context.Context) (string, error) {
	var v string
	if err := c.do(ctx, http.MethodGet, pathDebugVersion, nil, nil, &v); err != nil {
		return "", err
	}
	return strings.TrimSpace(v), nil
}

// Peers lists the peers the node knows, connected or not
// (/admin/v1/peers; 404 unless the node serves the admin API, rlnd's
// rest.admin, nwaku's --rest-admin).
func (c *Client) Peers(ctx context.Context) ([]api.Peer, error) {
	var peers []api.Peer
	err := c.do(ctx, http.MethodGet, pathAdminPeers, nil, nil, &peers)
	return peers, err
}

// AddPeers asks the node to connect to the peers at multiaddrs (each with
// /p2p/<peer id>); the node answers once it dialled them, 400 naming
// those it could not reach.
func (c *Client) AddPeers(ctx context.Context, multiaddrs ...string) error {
	if len(multiaddrs) == 0 {
		return fmt.Errorf("%w: AddPeers needs at least one multiaddr", ErrInvalidArgument)
	}
	for _, a := range multiaddrs {
		if strings.TrimSpace(a) == "" {
			return fmt.Errorf("%w: AddPeers: an empty multiaddr", ErrInvalidArgument)
		}
	}
	return c.do(ctx, http.MethodPost, pathAdminPeers, nil, multiaddrs, nil)
}
