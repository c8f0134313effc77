package rest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
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
// as it is, with contentType). It returns the status and the answer.
func call(t *testing.T, method, url string, body any) (int, string) {
	t.Helper()
	return callAs(t, method, url, "application/json", body)
}

// callAs is call with the request's Content-Type given.
func callAs(t *testing.T, method, url, contentType string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(out)
}

// decode reads a JSON answer into v.
func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("answer %q is not the JSON expected: %v", body, err)
	}
}
