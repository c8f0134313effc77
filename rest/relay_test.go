package rest_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/rest/api"
)

const relayCT = "/rest-test/1/chat/proto"

// relayTopic is relayCT's pubsub topic on the test cluster.
func relayTopic(t *testing.T) string {
	t.Helper()
	pt, err := autoshard.ShardFor(relayCT, testCluster, 8)
	if err != nil {
		t.Fatal(err)
	}
	return pt.String()
}

// A message published through one node's REST API, as nwaku's docs send
// it (base64 payload, nanosecond timestamp, URL-encoded topic), is
// delivered to the other node's REST subscribers on the pubsub topic and
// on the content topic, once, as nwaku's JSON; the cache is emptied by the
// read.
func TestRelayPublishAndReceive(t *testing.T) {
	t.Parallel()
	a, aURL := startNode(t, nil)
	b, bURL := startNode(t, nil)
	topic := relayTopic(t)
	link(t, a, b, topic)
	esc := url.PathEscape(topic)

	if code, body := call(t, http.MethodPost, bURL+"/relay/v1/subscriptions", []string{topic}); code != 200 || body != "OK" {
		t.Fatalf("subscribe: %d %q", code, body)
	}
	if code, body := call(t, http.MethodPost, bURL+"/relay/v1/auto/subscriptions", []string{relayCT}); code != 200 || body != "OK" {
		t.Fatalf("auto subscribe: %d %q", code, body)
	}
	ts := time.Now().UnixNano()
	msg := `{"payload":"` + base64.StdEncoding.EncodeToString([]byte("hello over REST")) + `","contentTopic":"` + relayCT + `","timestamp":` + strconv.FormatInt(ts, 10) + `}`
	if code, body := call(t, http.MethodPost, aURL+"/relay/v1/messages/"+esc, msg); code != 200 || body != "OK" {
		t.Fatalf("publish: %d %q", code, body)
	}
	auto := `{"payload":"` + base64.StdEncoding.EncodeToString([]byte("second, by autosharding")) + `","contentTopic":"` + relayCT + `"}`
	if code, body := call(t, http.MethodPost, aURL+"/relay/v1/auto/messages", auto); code != 200 || body != "OK" {
		t.Fatalf("auto publish: %d %q", code, body)
	}
	var got []api.Message
	testnet.WaitFor(t, 20*time.Second, "both messages on b's pubsub topic cache", func() bool {
		code, body := call(t, http.MethodGet, bURL+"/relay/v1/messages/"+esc, nil)
		if code != 200 {
			t.Fatalf("get: %d %q", code, body)
		}
		var page []api.Message
		decode(t, body, &page)
		got = append(got, page...)
		return len(got) >= 2
	})
	if len(got) != 2 {
		t.Fatalf("got %d messages, want 2", len(got))
	}
	if got[0].Payload != base64.StdEncoding.EncodeToString([]byte("hello over REST")) || got[0].ContentTopic != relayCT || got[0].Timestamp == nil || *got[0].Timestamp != ts {
		t.Fatalf("first message %+v, want the one published with its timestamp", got[0])
	}
	if got[1].Timestamp == nil || *got[1].Timestamp == 0 {
		t.Fatalf("a message without a timestamp was not stamped: %+v", got[1])
	}
	// Read once: the cache is empty now; the content topic's has both.
	if code, body := call(t, http.MethodGet, bURL+"/relay/v1/messages/"+esc, nil); code != 200 || body != "[]" {
		t.Fatalf("second read: %d %q, want an empty list", code, body)
	}
	code, body := call(t, http.MethodGet, bURL+"/relay/v1/auto/messages/"+url.PathEscape(relayCT), nil)
	var byCT []api.Message
	decode(t, body, &byCT)
	if code != 200 || len(byCT) != 2 {
		t.Fatalf("content topic read: %d, %d messages, want 2", code, len(byCT))
	}
	// Unsubscribed: 404, as nwaku answers.
	if code, _ := call(t, http.MethodDelete, bURL+"/relay/v1/subscriptions", []string{topic}); code != 200 {
		t.Fatalf("unsubscribe: %d", code)
	}
	if code, _ := call(t, http.MethodGet, bURL+"/relay/v1/messages/"+esc, nil); code != 404 {
		t.Fatalf("read after unsubscribe: %d, want 404", code)
	}
}
