package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/filterpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// rlnd filter subscribe streams what a filter service pushes, one line per
// message, and unsubscribes when done; a refusal and a node without
// filter are one line each.
func TestFilterSubscribeCommand(t *testing.T) {
	t.Parallel()
	svc := startServiceNode(t, func(c *config.Config) { c.Filter.Enabled = true })
	pub := startServiceNode(t, nil)
	const ct = "/rlnd/1/cli-filter/proto"
	pt, err := autoshard.ShardFor(ct, 66, 8)
	if err != nil {
		t.Fatal(err)
	}
	topic := pt.String()
	linkRelay(t, pub, svc, topic)
	sub := []string{"filter", "subscribe", "--peer", nodeAddr(svc), "--content-topic", ct}

	// Two messages, then the command ends by itself (--count), within
	// 30 s.
	ch := background(t.Context(), append(sub, "--preset", "devnet", "--count", "2", "--timeout", "30s")...)
	testnet.WaitFor(t, 10*time.Second, "the filter subscription", func() bool { return svc.Filter().Peers() == 1 })
	now := time.Now().UnixNano()
	text := wire.NewMessage(ct, []byte("hello filter"), now)
	binary := wire.NewMessage(ct, []byte{0, 1, 2, 0xff}, now+1)
	for _, m := range []*messagepb.WakuMessage{text, binary} {
		if _, _, err := pub.Relay().Publish(topic, m); err != nil {
			t.Fatal(err)
		}
	}
	r := waitResult(t, ch)
	want := time.Unix(0, now).UTC().Format(time.RFC3339Nano) + " " + ct + " hello filter " + wire.Hash(topic, text).String() + "\n" +
		time.Unix(0, now+1).UTC().Format(time.RFC3339Nano) + " " + ct + " base64:" + base64.StdEncoding.EncodeToString(binary.Payload) + " " + wire.Hash(topic, binary).String() + "\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d\nstdout %q\nwant   %q\nstderr %s", r.code, r.stdout, want, r.stderr)
	}
	if !strings.Contains(r.stderr, "subscribed to "+ct+" on "+topic) || !strings.HasSuffix(r.stderr, "2 messages; unsubscribed\n") {
		t.Fatalf("stderr %q", r.stderr)
	}
	testnet.WaitFor(t, 10*time.Second, "the unsubscription", func() bool { return svc.Filter().Peers() == 0 })

	// Stopped (SIGINT: the command's context ends): exit 0, unsubscribed.
	ctx, stop := context.WithCancel(t.Context())
	var out lockedBuffer
	ch = backgroundTo(ctx, &out, append(sub, "--preset", "devnet", "--json")...)
	testnet.WaitFor(t, 10*time.Second, "the second filter subscription", func() bool { return svc.Filter().Peers() == 1 })
	if _, _, err := pub.Relay().Publish(topic, wire.NewMessage(ct, []byte("json"), now+2)); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, 10*time.Second, "the message printed", func() bool { return strings.Contains(out.String(), `"payload":"anNvbg=="`) })
	stop()
	r = waitResult(t, ch)
	if r.code != 0 || !strings.Contains(out.String(), `"pubsubTopic":"`+topic+`"`) || !strings.HasSuffix(r.stderr, "1 messages; unsubscribed\n") {
		t.Fatalf("stopped: exit %d %q %q", r.code, out.String(), r.stderr)
	}
	testnet.WaitFor(t, 10*time.Second, "the second unsubscription", func() bool { return svc.Filter().Peers() == 0 })

	// --timeout (connecting included) before --count: exit 1.
	r = waitResult(t, background(t.Context(), append(sub, "--preset", "devnet", "--count", "1", "--timeout", "3s")...))
	if r.code != 1 || !strings.Contains(r.stderr, "filter subscribe: 0 of 1 messages within --timeout 3s") {
		t.Fatalf("timeout: exit %d %q", r.code, r.stderr)
	}

	// The service refuses a shard it does not relay, with its reason.
	code, _, stderr := runCLI(t, nil, append(sub, "--pubsub-topic", "/waku/2/rs/66/9", "--preset", "devnet")...)
	if code != 1 {
		t.Fatalf("shard 9: exit %d %s", code, stderr)
	}
	oneLine(t, stderr, "filter subscribe to "+ct+" on /waku/2/rs/66/9: the service refused: status 400 BAD_REQUEST (this node does not relay pubsub topic /waku/2/rs/66/9)")
	// A node without filter.
	code, _, stderr = runCLI(t, nil, "filter", "subscribe", "--peer", nodeAddr(pub), "--content-topic", ct, "--preset", "devnet")
	if code != 1 {
		t.Fatalf("no filter: exit %d %s", code, stderr)
	}
	oneLine(t, stderr, "does not serve filter: start it with filter.enabled=true (rlnd node --filter-enabled; nwaku: --filter)")
}

// A subscription the service lost (a ping answered 404) is made again,
// and messages flow on.
func TestFilterSubscribeResubscribes(t *testing.T) {
	t.Parallel()
	svc := startServiceNode(t, func(c *config.Config) { c.Filter.Enabled = true })
	pub := startServiceNode(t, nil)
	const ct = "/rlnd/1/cli-filter-ping/proto"
	pt, err := autoshard.ShardFor(ct, 66, 8)
	if err != nil {
		t.Fatal(err)
	}
	topic := pt.String()
	linkRelay(t, pub, svc, topic)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var out, errOut lockedBuffer
	ch := make(chan int, 1)
	go func() {
		ch <- run(ctx, []string{"filter", "subscribe", "--peer", nodeAddr(svc), "--content-topic", ct, "--preset", "devnet", "--ping-interval", "1s"}, &out, &errOut, nil)
	}()
	testnet.WaitFor(t, 10*time.Second, "the filter subscription", func() bool { return svc.Filter().Peers() == 1 })
	var client peer.ID
	for _, p := range svc.Host().Libp2p().Network().Peers() {
		if p != pub.Host().ID() {
			client = p
		}
	}
	// The service forgets it, as after its expiry or a restart.
	if r := svc.Filter().Handle(client, &filterpb.FilterSubscribeRequest{RequestId: "forget",
		FilterSubscribeType: filterpb.FilterSubscribeRequest_UNSUBSCRIBE_ALL}); r.Status != filter.StatusOK {
		t.Fatalf("unsubscribe all: %+v", r)
	}
	testnet.WaitFor(t, 10*time.Second, "the subscription made again after a ping (every 1 s)", func() bool {
		return svc.Filter().Subscribed(client) && strings.Contains(errOut.String(), "the service had lost the subscription (ping: 404 NOT_FOUND); subscribed again")
	})
	if _, _, err := pub.Relay().Publish(topic, wire.NewMessage(ct, []byte("after the ping"), time.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, 10*time.Second, "the message printed", func() bool { return strings.Contains(out.String(), " after the ping ") })
	stop()
	select {
	case code := <-ch:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not end within 30 s")
	}
}

// filter subscribe refuses bad flags before it dials, one line each.
func TestFilterSubscribeBadFlags(t *testing.T) {
	t.Parallel()
	const addr = "/ip4/127.0.0.1/tcp/9/p2p/16Uiu2HAmGUcpJh3KJ8ovH4VQffQzBPXyUnpgyXNW6q25bhsFfN5D"
	many := []string{}
	for range 101 {
		many = append(many, "--content-topic", "/a/1/b/proto")
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--peer", addr}, "--content-topic is required"},
		{[]string{"--content-topic", "/a/1/b/proto"}, "--peer is required"},
		{[]string{"--peer", "nope", "--content-topic", "/a/1/b/proto"}, `--peer "nope"`},
		{[]string{"--peer", addr, "--content-topic", "/a/b"}, "--content-topic (placed by autosharding without --pubsub-topic)"},
		{[]string{"--peer", addr, "--content-topic", "/a/1/b/proto", "--pubsub-topic", "/waku/2/x"}, "--pubsub-topic"},
		{[]string{"--peer", addr, "--content-topic", "/a/1/b/proto", "--ping-interval", "0s"}, "--ping-interval 0s: want 1s to 4m0s"},
		{[]string{"--peer", addr, "--content-topic", "/a/1/b/proto", "--ping-interval", "5m"}, "--ping-interval 5m0s: want 1s to 4m0s"},
		{[]string{"--peer", addr, "--content-topic", "/a/1/b/proto", "--count", "-1"}, "--count -1: want 0 (no limit) or more"},
		{[]string{"--peer", addr, "--content-topic", "/a/1/b/proto", "--timeout", "-1s"}, "--timeout -1s: want 0 (no limit) or more"},
		{[]string{"--peer", addr, "--content-topic", "/a/1/b/proto", "--num-shards", "0"}, "--num-shards 0: want 1 to 1024"},
		{append([]string{"--peer", addr}, many...), "--content-topic given 101 times: want 1 to 100 content topics"},
	} {
		code, _, stderr := runCLI(t, nil, append([]string{"filter", "subscribe"}, tt.args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d %q", tt.args, code, stderr)
			continue
		}
		oneLine(t, stderr, tt.want)
	}
}

// Content topics go to their shards, one subscription per shard, in the
// order given.
func TestFilterGroups(t *testing.T) {
	t.Parallel()
	fl := filterSubscribeFlags{peerAddr: "x", pingInterval: time.Minute,
		contentTopics: []string{"/toychat/2/huilong/proto", "/myapp/1/chat/proto", "/toychat/2/huilong/proto", "/myapp/1/other/proto"}}
	groups, err := filterGroups(fl, clientNetwork{cluster: 66, numShards: 8})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range groups {
		got = append(got, g.pubsubTopic+" "+strings.Join(g.contentTopics, ","))
	}
	for _, ct := range []string{"/toychat/2/huilong/proto", "/myapp/1/chat/proto", "/myapp/1/other/proto"} {
		pt, _ := autoshard.ShardFor(ct, 66, 8)
		found := false
		for _, g := range groups {
			if g.pubsubTopic == pt.String() && strings.Contains(strings.Join(g.contentTopics, ","), ct) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s is not on %s: %v", ct, pt, got)
		}
	}
	if len(got) < 1 || !strings.HasPrefix(got[0], "/waku/2/rs/66/3 /toychat/2/huilong/proto") {
		t.Errorf("groups %v: want the first content topic's first, without repeats", got)
	}
}

// lockedBuffer is a bytes.Buffer a command writes while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// backgroundTo runs a command line in a goroutine with its stdout going to
// out as it is written; the channel gets its exit status and stderr.
func backgroundTo(ctx context.Context, out io.Writer, args ...string) <-chan cliResult {
	ch := make(chan cliResult, 1)
	go func() {
		var errOut bytes.Buffer
		code := run(ctx, args, out, &errOut, nil)
		ch <- cliResult{code: code, stderr: errOut.String()}
	}()
	return ch
}
