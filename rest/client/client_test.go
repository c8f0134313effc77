package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/rest/client"
)

// testCluster is the cluster of the tests' nodes; the devnet preset's
// shard count (8) places content topics.
const testCluster = 66

// startNode starts a node built by node.New with RLN off, listening on
// loopback with discovery off, its REST API (admin on) on a free port;
// edit changes its configuration and options first. It returns the node
// and a client of its API, and closes the node when the test ends.
func startNode(t *testing.T, edit func(*config.Config, *node.Options)) (*node.Node, *client.Client) {
	t.Helper()
	cfg, err := config.Preset("devnet")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RLN.Enabled = false
	cfg.Network.ClusterID = testCluster
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Discovery = config.DiscoveryConfig{}
	cfg.Metrics.Enabled = false
	cfg.REST.Enabled, cfg.REST.Address, cfg.REST.Admin = true, "127.0.0.1:0", true
	cfg.Node.DataDir = t.TempDir()
	opts := node.Options{Config: &cfg, Version: "v0.0.0-test"}
	if edit != nil {
		edit(&cfg, &opts)
	}
	n, err := node.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	c, err := client.New("http://"+n.RESTAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return n, c
}

// link connects a to b and waits (up to 20 s) until each has the other as
// a relay peer on topic.
func link(t *testing.T, a, b *node.Node, topic string) {
	t.Helper()
	testnet.Connect(t, a.Host(), b.Host())
	testnet.WaitFor(t, 20*time.Second, "the nodes to be relay peers on "+topic, func() bool {
		return slices.Contains(a.Relay().TopicPeers(topic), b.Host().ID()) && slices.Contains(b.Relay().TopicPeers(topic), a.Host().ID())
	})
}

// ctx bounds one call of a test (10 s).
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// wantStatus fails unless err is an *client.Error with the status whose
// body contains part.
func wantStatus(t *testing.T, err error, status int, part string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want an *client.Error with status %d", err, status)
	}
	if e.Status != status || client.StatusOf(err) != status || !strings.Contains(e.Body, part) {
		t.Fatalf("error %d %q, want %d with %q", e.Status, e.Body, status, part)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(status)) || !strings.Contains(err.Error(), strings.TrimSpace(e.Body)) {
		t.Fatalf("error text %q does not give the status and the body", err)
	}
}

// closedURL is the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func TestNewBadBaseURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "127.0.0.1:8645", "ftp://127.0.0.1:8645", "http://", "http://[::1"} {
		if _, err := client.New(u, nil); err == nil || !strings.Contains(err.Error(), "base URL") {
			t.Errorf("New(%q) = %v, want an error naming the base URL", u, err)
		}
	}
	// A path prefix (a node behind a proxy) and a trailing slash are kept
	// and trimmed.
	if _, err := client.New("http://127.0.0.1:8645/waku/", nil); err != nil {
		t.Fatal(err)
	}
}

// A node that does not answer: each method fails with an error that is
// not an *Error (StatusOf 0) and names the call, within the context's
// bound.
func TestClientUnreachable(t *testing.T) {
	t.Parallel()
	c, err := client.New(closedURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(context.Context) error{
		"Health":           func(ctx context.Context) error { _, _, err := c.Health(ctx); return err },
		"Version":          func(ctx context.Context) error { _, err := c.Version(ctx); return err },
		"RelaySubscribe":   func(ctx context.Context) error { return c.RelaySubscribe(ctx, "/waku/2/rs/66/0") },
		"RelayAutoPublish": func(ctx context.Context) error { return c.RelayAutoPublish(ctx, msgOf("x", "/a/1/b/proto")) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := call(ctx(t))
			if err == nil || client.StatusOf(err) != 0 || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("%s against a closed port: %v, want a connection error", name, err)
			}
		})
	}
}

// Health's answers besides the node's: a 503 whose body is not JSON (a
// node refusing a request past its bound) is an *Error; a 200 that is
// not JSON is an error. The server is a stand-in for those two answers
// only, which a real node sends under load or never.
func TestClientHealthNotJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		body   string
	}{
		{http.StatusServiceUnavailable, "too many requests in progress, retry shortly"},
		{http.StatusOK, "OK"},
		{http.StatusNotFound, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			c, err := client.New(srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			ready, raw, err := c.Health(ctx(t))
			if ready || raw != nil || err == nil {
				t.Fatalf("Health = %v %s %v, want an error", ready, raw, err)
			}
			if tt.status != http.StatusOK {
				wantStatus(t, err, tt.status, tt.body)
			} else if client.StatusOf(err) != 0 || !strings.Contains(err.Error(), "not JSON") {
				t.Fatalf("200 with %q: %v, want an error saying it is not JSON", tt.body, err)
			}
		})
	}
}
