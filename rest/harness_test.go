package rest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/node"
)

// testCluster is the cluster of the tests' nodes; the devnet preset's
// shard count (8) places content topics.
const testCluster = 66

// startNode starts a node built by node.New with RLN off, listening on
// loopback, its REST API on a free port; edit changes its configuration
// first. It returns the node and the API's base URL, and closes the node
// when the test ends.
func startNode(t *testing.T, edit func(*config.Config)) (*node.Node, string) {
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
	if edit != nil {
		edit(&cfg)
	}
	n, err := node.New(t.Context(), node.Options{Config: &cfg, Version: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, "http://" + n.RESTAddr()
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

// call makes a request: body is sent as JSON unless it is a string (sent
// as it is, with contentType). It returns the status and the answer. The
// request and the answer are checked against the OpenAPI document
// (openapi.yaml): a mismatch fails the test.
func call(t *testing.T, method, url string, body any) (int, string) {
	t.Helper()
	return callAs(t, method, url, "application/json", body)
}

// callAs is call with the request's Content-Type given.
func callAs(t *testing.T, method, url, contentType string, body any) (int, string) {
	t.Helper()
	return exchange(t, method, url, contentType, body, true)
}

// callBad is callAs for a request the test makes wrong on purpose
// (malformed or out-of-bounds input, an unknown path or method): the
// request is not checked, the answer still is.
func callBad(t *testing.T, method, url, contentType string, body any) (int, string) {
	t.Helper()
	return exchange(t, method, url, contentType, body, false)
}

// callJSON is call, or callBad with a JSON body when the request is wrong
// on purpose (bad), for tables that mix both.
func callJSON(t *testing.T, method, url string, body any, bad bool) (int, string) {
	t.Helper()
	if bad {
		return callBad(t, method, url, "application/json", body)
	}
	return call(t, method, url, body)
}

// exchange makes the request and checks it (when checkRequest) and its
// answer against the OpenAPI document.
func exchange(t *testing.T, method, url, contentType string, body any, checkRequest bool) (int, string) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		raw = enc
	}
	newRequest := func() *http.Request {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(raw)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
		if err != nil {
			t.Fatal(err)
		}
		if body != nil && contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return req
	}
	if checkRequest {
		if err := checkRequestAgainstDoc(newRequest()); err != nil {
			t.Fatalf("%s %s: the request does not match openapi.yaml (use callBad for a request wrong on purpose): %v", method, url, err)
		}
	}
	resp, err := http.DefaultClient.Do(newRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkResponseAgainstDoc(newRequest(), resp.StatusCode, resp.Header, out); err != nil {
		t.Fatalf("%s %s: the answer (%d %q) does not match openapi.yaml: %v", method, url, resp.StatusCode, clip(out), err)
	}
	return resp.StatusCode, string(out)
}

// clip shortens an answer for a failure message.
func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// decode reads a JSON answer into v.
func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("answer %q is not the JSON expected: %v", body, err)
	}
}
