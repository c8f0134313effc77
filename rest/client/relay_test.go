package client_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/rest/client"
)

const relayCT = "/client-test/1/chat/proto"

// topicOf is a content topic's pubsub topic on the test cluster.
func topicOf(t *testing.T, ct string) string {
	t.Helper()
	pt, err := autoshard.ShardFor(ct, testCluster, 8)
	if err != nil {
		t.Fatal(err)
	}
	return pt.String()
}

// msgOf is a message of payload text on content topic ct.
func msgOf(payload, ct string) api.Message {
	return api.Message{Payload: base64.StdEncoding.EncodeToString([]byte(payload)), ContentTopic: ct}
}

// Messages published through one node's API, on a pubsub topic and by
// autosharding, reach another node's API subscribers on the pubsub topic
// and on the content topic, with their fields; a read empties the node's
// cache; unsubscribed topics answer 404.
func TestClientRelay(t *testing.T) {
	t.Parallel()
	a, ca := startNode(t, nil)
	b, cb := startNode(t, nil)
	topic := topicOf(t, relayCT)
	link(t, a, b, topic)

	if err := cb.RelaySubscribe(ctx(t), topic); err != nil {
		t.Fatal(err)
	}
	if err := cb.RelayAutoSubscribe(ctx(t), relayCT); err != nil {
		t.Fatal(err)
	}
	// Subscribed, nothing yet: an empty list, not nil.
	if msgs, err := cb.RelayMessages(ctx(t), topic); err != nil || msgs == nil || len(msgs) != 0 {
		t.Fatalf("RelayMessages before any publish = %v %v, want an empty list", msgs, err)
	}

	ts := time.Now().UnixNano()
	eph := true
	first := msgOf("on the pubsub topic", relayCT)
	first.Timestamp, first.Meta, first.Ephemeral = &ts, base64.StdEncoding.EncodeToString([]byte("m1")), &eph
	if err := ca.RelayPublish(ctx(t), topic, first); err != nil {
		t.Fatalf("RelayPublish: %v", err)
	}
	if err := ca.RelayAutoPublish(ctx(t), msgOf("by autosharding", relayCT)); err != nil {
		t.Fatalf("RelayAutoPublish: %v", err)
	}

	var got []api.Message
	testnet.WaitFor(t, 20*time.Second, "both messages in b's pubsub topic cache", func() bool {
		page, err := cb.RelayMessages(ctx(t), topic)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		return len(got) >= 2
	})
	if len(got) != 2 {
		t.Fatalf("%d messages, want 2", len(got))
	}
	g := got[0]
	if g.Payload != first.Payload || g.ContentTopic != relayCT || g.Timestamp == nil || *g.Timestamp != ts || g.Meta != first.Meta ||
		g.Ephemeral == nil || !*g.Ephemeral {
		t.Fatalf("first message %+v, want %+v", g, first)
	}
	if got[1].Payload != msgOf("by autosharding", "").Payload || got[1].Timestamp == nil || *got[1].Timestamp == 0 {
		t.Fatalf("second message %+v, want the autosharded one, stamped by the node", got[1])
	}
	if msgs, err := cb.RelayMessages(ctx(t), topic); err != nil || len(msgs) != 0 {
		t.Fatalf("second read = %v %v, want nothing left", msgs, err)
	}
	byCT, err := cb.RelayAutoMessages(ctx(t), relayCT)
	if err != nil || len(byCT) != 2 || byCT[0].Payload != first.Payload {
		t.Fatalf("RelayAutoMessages = %+v %v, want both messages", byCT, err)
	}

	if err := cb.RelayUnsubscribe(ctx(t), topic); err != nil {
		t.Fatal(err)
	}
	if err := cb.RelayAutoUnsubscribe(ctx(t), relayCT); err != nil {
		t.Fatal(err)
	}
	_, err = cb.RelayMessages(ctx(t), topic)
	wantStatus(t, err, http.StatusNotFound, "Not subscribed to topic: "+topic)
	_, err = cb.RelayAutoMessages(ctx(t), relayCT)
	wantStatus(t, err, http.StatusNotFound, "Not subscribed to topic: "+relayCT)
}

// Bad input to the relay methods: what the node refuses is an *Error
// with its status and text; what is wrong before any call (no topic, an
// empty one) is ErrInvalidArgument.
func TestClientRelayBadInput(t *testing.T) {
	t.Parallel()
	_, c := startNode(t, nil)
	topic := topicOf(t, relayCT)
	unrelayed := fmt.Sprintf("/waku/2/rs/%d/9", testCluster)
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("/app/1/t%d/proto", i)
	}
	badB64 := msgOf("x", relayCT)
	badB64.Payload = "not base64!"
	bigMeta := msgOf("x", relayCT)
	bigMeta.Meta = base64.StdEncoding.EncodeToString(make([]byte, 65))

	tests := []struct {
		name   string
		call   func() error
		status int
		part   string
	}{
		{"subscribe to a shard not relayed", func() error { return c.RelaySubscribe(ctx(t), unrelayed) }, 400, "does not relay " + unrelayed},
		{"subscribe to a malformed pubsub topic", func() error { return c.RelaySubscribe(ctx(t), "chat") }, 400, "Failed to subscribe"},
		{"auto subscribe to a malformed content topic", func() error { return c.RelayAutoSubscribe(ctx(t), "/chat") }, 400, "Failed to subscribe"},
		{"too many topics at once", func() error { return c.RelayAutoSubscribe(ctx(t), many...) }, 400, "at most 100"},
		{"messages of a topic not subscribed", func() error { _, err := c.RelayMessages(ctx(t), topic); return err }, 404, "Not subscribed"},
		{"auto messages of a topic not subscribed", func() error { _, err := c.RelayAutoMessages(ctx(t), relayCT); return err }, 404, "Not subscribed"},
		{"publish an empty payload", func() error { return c.RelayPublish(ctx(t), topic, msgOf("", relayCT)) }, 400, "`payload` is missing or empty"},
		{"publish without a content topic", func() error { return c.RelayAutoPublish(ctx(t), msgOf("x", "")) }, 400, "`contentTopic` is missing or empty"},
		{"publish a payload not in base64", func() error { return c.RelayPublish(ctx(t), topic, badB64) }, 400, "`payload` is not base64"},
		{"publish meta over 64 bytes", func() error { return c.RelayAutoPublish(ctx(t), bigMeta) }, 400, "meta is 65 bytes"},
		{"publish on a shard not relayed", func() error { return c.RelayPublish(ctx(t), unrelayed, msgOf("x", relayCT)) }, 400, "Node not subscribed to topic: " + unrelayed},
		{"auto publish on a malformed content topic", func() error { return c.RelayAutoPublish(ctx(t), msgOf("x", "chat")) }, 400, "Autosharding error"},
		{"publish without relay peers", func() error { return c.RelayAutoPublish(ctx(t), msgOf("x", relayCT)) }, 503, "no relay peers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantStatus(t, tt.call(), tt.status, tt.part)
		})
	}

	invalid := map[string]func() error{
		"RelaySubscribe()":            func() error { return c.RelaySubscribe(ctx(t)) },
		"RelayUnsubscribe(\"\")":      func() error { return c.RelayUnsubscribe(ctx(t), topic, "") },
		"RelayAutoSubscribe()":        func() error { return c.RelayAutoSubscribe(ctx(t)) },
		"RelayAutoUnsubscribe(\" \")": func() error { return c.RelayAutoUnsubscribe(ctx(t), " ") },
		"RelayMessages(\"\")":         func() error { _, err := c.RelayMessages(ctx(t), ""); return err },
		"RelayAutoMessages(\"\")":     func() error { _, err := c.RelayAutoMessages(ctx(t), ""); return err },
		"RelayPublish(\"\")":          func() error { return c.RelayPublish(ctx(t), "", msgOf("x", relayCT)) },
	}
	for name, call := range invalid {
		if err := call(); !errors.Is(err, client.ErrInvalidArgument) || client.StatusOf(err) != 0 {
			t.Errorf("%s = %v, want ErrInvalidArgument", name, err)
		}
	}
}
