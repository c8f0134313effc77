package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/rest/client"
	"github.com/rlnd/rlnd/wire"
)

// relayCluster is the cluster of the relay commands' test nodes (8
// shards, the devnet preset's).
const relayCluster = 66

// startRESTNode starts a node with RLN off, on loopback, discovery off,
// its REST API on a free port; it returns the node, the API's URL and a
// client of it, and closes the node when the test ends.
func startRESTNode(t *testing.T) (*node.Node, string, *client.Client) {
	t.Helper()
	cfg, err := config.Preset("devnet")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RLN.Enabled = false
	cfg.Network.ClusterID = relayCluster
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Discovery = config.DiscoveryConfig{}
	cfg.Metrics.Enabled = false
	cfg.REST.Enabled, cfg.REST.Address = true, "127.0.0.1:0"
	cfg.Node.DataDir = t.TempDir()
	n, err := node.New(t.Context(), node.Options{Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	url := "http://" + n.RESTAddr()
	c, err := client.New(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n, url, c
}

// relayShard is a content topic's pubsub topic on relayCluster.
func relayShard(t *testing.T, ct string) string {
	t.Helper()
	pt, err := autoshard.ShardFor(ct, relayCluster, 8)
	if err != nil {
		t.Fatal(err)
	}
	return pt.String()
}

// runRelayCLI runs one command line as run does, with stdin and ctx.
func runRelayCLI(ctx context.Context, stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	cmd := newRootCmd(nil)
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(&errOut, "rlnd: %v\n", err)
		code = exitError
		var ue usageError
		if errors.As(err, &ue) {
			code = exitUsage
		}
	}
	return code, out.String(), errOut.String()
}

// cliResult is the outcome of a command run in the background.
type cliResult struct {
	code           int
	stdout, stderr string
}

// background runs a command line in a goroutine; the channel gets its
// result.
func background(ctx context.Context, args ...string) <-chan cliResult {
	ch := make(chan cliResult, 1)
	go func() {
		code, out, errOut := runRelayCLI(ctx, "", args...)
		ch <- cliResult{code, out, errOut}
	}()
	return ch
}

// waitResult waits up to 30 s for a background command.
func waitResult(t *testing.T, ch <-chan cliResult) cliResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not end within 30 s")
	}
	return cliResult{}
}

// waitSubscribed waits (up to 10 s) until the node's API has a
// subscription to topic (auto: a content topic): its messages answer 200.
// Nothing is published before, so the read takes no message.
func waitSubscribed(t *testing.T, c *client.Client, topic string, auto bool) {
	t.Helper()
	testnet.WaitFor(t, 10*time.Second, "the subscription to "+topic, func() bool {
		var err error
		if auto {
			_, err = c.RelayAutoMessages(t.Context(), topic)
		} else {
			_, err = c.RelayMessages(t.Context(), topic)
		}
		if err != nil && client.StatusOf(err) != 404 {
			t.Fatal(err)
		}
		return err == nil
	})
}

// wantUnsubscribed fails unless the node's API has no subscription to
// topic any more.
func wantUnsubscribed(t *testing.T, c *client.Client, topic string, auto bool) {
	t.Helper()
	var err error
	if auto {
		_, err = c.RelayAutoMessages(t.Context(), topic)
	} else {
		_, err = c.RelayMessages(t.Context(), topic)
	}
	if client.StatusOf(err) != 404 {
		t.Fatalf("after subscribe ended, reading %s: %v, want 404 (unsubscribed)", topic, err)
	}
}

// decodeLines reads one JSON object per line into v's elements.
func decodeLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var list []T
	for line := range strings.Lines(out) {
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		list = append(list, v)
	}
	return list
}

// `rlnd relay publish` on one node and `rlnd relay subscribe` on another:
// by content topic (--json, the payload from stdin), by pubsub topic with
// a content topic filter (the hashes agree), in text (printable payloads
// as text, others in base64), and stopped by its context; each
// subscription is gone after the command.
func TestRelayPublishSubscribeCommands(t *testing.T) {
	t.Parallel()
	a, aURL, _ := startRESTNode(t)
	b, bURL, cb := startRESTNode(t)
	const ct = "/cli-relay/1/chat/proto"
	topic := relayShard(t, ct)
	testnet.Connect(t, a.Host(), b.Host())
	testnet.WaitFor(t, 20*time.Second, "a and b relay peers on "+topic, func() bool {
		return slices.Contains(a.Relay().TopicPeers(topic), b.Host().ID()) && slices.Contains(b.Relay().TopicPeers(topic), a.Host().ID())
	})

	t.Run("content topic, json, payload from stdin", func(t *testing.T) {
		sub := background(t.Context(), "relay", "subscribe", "--rest", bURL, "--content-topic", ct, "--count", "1", "--json",
			"--interval", "100ms", "--timeout", "30s")
		waitSubscribed(t, cb, ct, true)
		code, out, errOut := runRelayCLI(t.Context(), "hello from stdin", "relay", "publish", "--rest", aURL, "--content-topic", ct, "--json")
		if code != 0 {
			t.Fatalf("publish: exit %d %s", code, errOut)
		}
		pub := decodeLines[publishedJSON](t, out)
		if len(pub) != 1 || !pub[0].Published || pub[0].PayloadBytes != 16 || pub[0].ContentTopic != ct || pub[0].PubsubTopic != "" || pub[0].Hash != "" {
			t.Fatalf("publish printed %q", out)
		}
		r := waitResult(t, sub)
		got := decodeLines[relayedJSON](t, r.stdout)
		if r.code != 0 || len(got) != 1 || got[0].ContentTopic != ct || got[0].Payload != base64.StdEncoding.EncodeToString([]byte("hello from stdin")) ||
			got[0].Timestamp == nil || *got[0].Timestamp == 0 {
			t.Fatalf("subscribe: exit %d stdout %q stderr %q, want the message published", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "1 messages; unsubscribed from "+ct) {
			t.Fatalf("subscribe stderr %q", r.stderr)
		}
		wantUnsubscribed(t, cb, ct, true)
	})

	t.Run("pubsub topic, content topic filter, hash", func(t *testing.T) {
		sub := background(t.Context(), "relay", "subscribe", "--rest", bURL, "--pubsub-topic", topic, "--content-topic", ct, "--count", "1", "--json",
			"--interval", "100ms", "--timeout", "30s")
		waitSubscribed(t, cb, topic, false)
		if code, _, errOut := runRelayCLI(t.Context(), "", "relay", "publish", "--rest", aURL, "--pubsub-topic", topic, "--content-topic", "/cli-relay/1/other/proto",
			"--payload", "filtered out"); code != 0 {
			t.Fatalf("publish of the other content topic: exit %d %s", code, errOut)
		}
		ts := strconv.FormatInt(time.Now().UnixNano(), 10)
		code, out, errOut := runRelayCLI(t.Context(), "", "relay", "publish", "--rest", aURL, "--pubsub-topic", topic, "--content-topic", ct,
			"--payload", "with meta", "--meta", "m1", "--ephemeral", "--timestamp", ts, "--json")
		if code != 0 {
			t.Fatalf("publish: exit %d %s", code, errOut)
		}
		pub := decodeLines[publishedJSON](t, out)
		if len(pub) != 1 || pub[0].PubsubTopic != topic || strconv.FormatInt(pub[0].Timestamp, 10) != ts || !strings.HasPrefix(pub[0].Hash, "0x") {
			t.Fatalf("publish printed %q, want the pubsub topic, the timestamp and the hash", out)
		}
		r := waitResult(t, sub)
		got := decodeLines[relayedJSON](t, r.stdout)
		if r.code != 0 || len(got) != 1 {
			t.Fatalf("subscribe: exit %d stdout %q stderr %q, want one message", r.code, r.stdout, r.stderr)
		}
		g := got[0]
		if g.ContentTopic != ct || g.PubsubTopic != topic || g.Hash != pub[0].Hash || g.Meta != base64.StdEncoding.EncodeToString([]byte("m1")) ||
			g.Ephemeral == nil || !*g.Ephemeral {
			t.Fatalf("subscribe printed %q, want the message published (hash %s) and not the other content topic's", r.stdout, pub[0].Hash)
		}
		wantUnsubscribed(t, cb, topic, false)
	})

	t.Run("text", func(t *testing.T) {
		sub := background(t.Context(), "relay", "subscribe", "--rest", bURL, "--content-topic", ct, "--count", "2", "--interval", "100ms", "--timeout", "30s")
		waitSubscribed(t, cb, ct, true)
		code, out, errOut := runRelayCLI(t.Context(), "", "relay", "publish", "--rest", aURL, "--content-topic", ct, "--payload", "hello world")
		if code != 0 || out != "published 11 bytes on content topic "+ct+" on the content topic's shard (the node's autosharding), stamped by the node\n" {
			t.Fatalf("publish: exit %d stdout %q stderr %q", code, out, errOut)
		}
		bin := filepath.Join(t.TempDir(), "payload.bin")
		if err := os.WriteFile(bin, []byte{0x00, 0xff, 0x10}, 0o600); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := runRelayCLI(t.Context(), "", "relay", "publish", "--rest", aURL, "--content-topic", ct, "--payload-file", bin); code != 0 {
			t.Fatalf("publish --payload-file: exit %d %s", code, errOut)
		}
		r := waitResult(t, sub)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if r.code != 0 || len(lines) != 2 {
			t.Fatalf("subscribe: exit %d stdout %q stderr %q, want two lines", r.code, r.stdout, r.stderr)
		}
		for i, want := range []string{" " + ct + " hello world", " " + ct + " base64:AP8Q"} {
			when, _, _ := strings.Cut(lines[i], " ")
			if _, err := time.Parse(time.RFC3339Nano, when); err != nil || !strings.HasSuffix(lines[i], want) {
				t.Fatalf("line %q, want an RFC 3339 time then %q", lines[i], want)
			}
		}
	})

	t.Run("stopped by its context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		sub := background(ctx, "relay", "subscribe", "--rest", bURL, "--content-topic", ct, "--interval", "100ms")
		waitSubscribed(t, cb, ct, true)
		cancel()
		r := waitResult(t, sub)
		if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "0 messages; unsubscribed") {
			t.Fatalf("subscribe stopped: exit %d stdout %q stderr %q, want exit 0, unsubscribed", r.code, r.stdout, r.stderr)
		}
		wantUnsubscribed(t, cb, ct, true)
	})
}

// What the node refuses, and a node that is not there: exit 1 with the
// HTTP status and the node's text, or saying nothing answered.
func TestRelayCommandNodeErrors(t *testing.T) {
	t.Parallel()
	_, url, c := startRESTNode(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	const ct = "/cli-relay/1/errors/proto"
	unrelayed := fmt.Sprintf("/waku/2/rs/%d/9", relayCluster)
	tests := []struct {
		name  string
		args  []string
		code  int
		parts []string
	}{
		{"publish without relay peers", []string{"publish", "--rest", url, "--content-topic", ct, "--payload", "x"}, 1,
			[]string{"publish: the node answered POST /relay/v1/auto/messages: 503: Failed to publish", "no relay peers"}},
		{"publish on a shard not relayed", []string{"publish", "--rest", url, "--pubsub-topic", unrelayed, "--content-topic", ct, "--payload", "x"}, 1,
			[]string{"400: Failed to publish: Node not subscribed to topic: " + unrelayed}},
		{"subscribe to a shard not relayed", []string{"subscribe", "--rest", url, "--pubsub-topic", unrelayed}, 1,
			[]string{"subscribe to " + unrelayed + ": the node answered POST /relay/v1/subscriptions: 400:", "does not relay " + unrelayed}},
		{"publish to no node", []string{"publish", "--rest", closed, "--content-topic", ct, "--payload", "x"}, 1,
			[]string{"no answer from the REST API at " + closed, "connection refused"}},
		{"subscribe to no node", []string{"subscribe", "--rest", closed, "--content-topic", ct}, 1,
			[]string{"no answer from the REST API at " + closed, "connection refused"}},
		{"subscribe --count 1 --timeout 300ms, nothing published", []string{"subscribe", "--rest", url, "--content-topic", ct, "--count", "1", "--timeout", "300ms", "--interval", "100ms"}, 1,
			[]string{"subscribe: 0 of 1 messages within --timeout 300ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runRelayCLI(t.Context(), "", append([]string{"relay"}, tt.args...)...)
			if code != tt.code || out != "" {
				t.Fatalf("exit %d stdout %q stderr %q, want exit %d", code, out, errOut, tt.code)
			}
			last := errOut[strings.LastIndex(strings.TrimSuffix(errOut, "\n"), "\n")+1:]
			for _, p := range tt.parts {
				if !strings.HasPrefix(last, "rlnd: ") || !strings.Contains(last, p) {
					t.Fatalf("stderr %q, want its last line to name %q", errOut, p)
				}
			}
		})
	}
	wantUnsubscribed(t, c, ct, true)

	// --timeout without --count is a normal end.
	code, out, errOut := runRelayCLI(t.Context(), "", "relay", "subscribe", "--rest", url, "--content-topic", ct, "--timeout", "300ms", "--interval", "100ms")
	if code != 0 || out != "" || !strings.Contains(errOut, "0 messages; unsubscribed from "+ct) {
		t.Fatalf("subscribe --timeout: exit %d stdout %q stderr %q", code, out, errOut)
	}
	wantUnsubscribed(t, c, ct, true)
}

// Bad flags exit 2 with one line naming the flag and what is expected,
// before any call to a node.
func TestRelayCommandBadFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, wire.MaxMessageSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	const ct = "/cli-relay/1/flags/proto"
	pub := func(args ...string) []string {
		return append([]string{"relay", "publish", "--content-topic", ct}, args...)
	}
	sub := func(args ...string) []string { return append([]string{"relay", "subscribe"}, args...) }
	tests := []struct {
		name  string
		args  []string
		stdin string
		part  string
	}{
		{"publish without a content topic", []string{"relay", "publish", "--payload", "x"}, "", "--content-topic is required"},
		{"publish, malformed content topic", []string{"relay", "publish", "--content-topic", "/chat", "--payload", "x"}, "", "--content-topic (placed by autosharding"},
		{"publish, malformed pubsub topic", pub("--pubsub-topic", "/waku/2/default-waku/proto", "--payload", "x"), "", "--pubsub-topic: "},
		{"publish, two payloads", pub("--payload", "x", "--payload-file", big), "", "--payload and --payload-file: give one"},
		{"publish, missing payload file", pub("--payload-file", filepath.Join(dir, "nope")), "", "--payload-file: open"},
		{"publish, payload file too big", pub("--payload-file", big), "", "over 153600 bytes"},
		{"publish, empty stdin", pub(), "", "the payload from stdin (no --payload or --payload-file) is empty"},
		{"publish, stdin too big", pub(), strings.Repeat("x", wire.MaxMessageSize+1), "payload from stdin: over 153600 bytes"},
		{"publish, meta too long", pub("--payload", "x", "--meta", strings.Repeat("m", 65)), "", "--meta is 65 bytes, at most 64"},
		{"publish, timestamp not a time", pub("--payload", "x", "--timestamp", "12abc"), "", `--timestamp "12abc": want RFC 3339`},
		{"publish, timestamp before 1970", pub("--payload", "x", "--timestamp", "-5"), "", "want a time after 1970"},
		{"publish, bad REST URL", pub("--payload", "x", "--rest", "127.0.0.1:8645"), "", "--rest: client: base URL"},
		{"publish, zero timeout", pub("--payload", "x", "--timeout", "0s"), "", "--timeout 0s: want a duration > 0"},
		{"publish, an argument", pub("--payload", "x", "extra"), "", "accepts 0 arg(s)"},
		{"subscribe without a topic", sub(), "", "--content-topic or --pubsub-topic is required"},
		{"subscribe, malformed content topic", sub("--content-topic", "chat"), "", "--content-topic (placed by autosharding"},
		{"subscribe, malformed pubsub topic", sub("--pubsub-topic", "/waku/2/rs/66"), "", "--pubsub-topic: "},
		{"subscribe, interval too short", sub("--content-topic", ct, "--interval", "50ms"), "", "--interval 50ms: want at least 100ms"},
		{"subscribe, negative count", sub("--content-topic", ct, "--count", "-1"), "", "--count -1: want 0 (no limit) or more"},
		{"subscribe, negative timeout", sub("--content-topic", ct, "--timeout", "-1s"), "", "--timeout -1s: want 0 (no limit) or more"},
		{"subscribe, bad REST URL", sub("--content-topic", ct, "--rest", "ftp://127.0.0.1:8645"), "", "--rest: client: base URL"},
		{"subscribe, interval not a duration", sub("--content-topic", ct, "--interval", "fast"), "", "invalid argument \"fast\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runRelayCLI(t.Context(), tt.stdin, tt.args...)
			if code != exitUsage || out != "" || !strings.Contains(errOut, tt.part) || strings.Count(errOut, "\n") != 1 {
				t.Fatalf("exit %d stdout %q stderr %q, want exit 2 and one line with %q", code, out, errOut, tt.part)
			}
		})
	}
}

func TestRelayPayloadText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		payload []byte
		want    string
	}{
		{[]byte("hello, world"), "hello, world"},
		{[]byte("héllo ✓"), "héllo ✓"},
		{[]byte("two\nlines"), "base64:dHdvCmxpbmVz"},
		{[]byte("tab\there"), "base64:dGFiCWhlcmU="},
		{[]byte{0xff, 0xfe}, "base64://4="},
		{[]byte{}, ""},
	}
	for _, tt := range tests {
		if got := payloadText(base64.StdEncoding.EncodeToString(tt.payload)); got != tt.want {
			t.Errorf("payloadText(%q) = %q, want %q", tt.payload, got, tt.want)
		}
	}
	if got := payloadText("not base64!"); got != "base64:not base64!" {
		t.Errorf("payloadText of bad base64 = %q", got)
	}
}
