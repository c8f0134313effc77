package rest_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/wire"
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

// Bad relay requests get 400 with a message, as nwaku answers; a topic
// the node does not relay is refused naming the shards it relays.
func TestRelayBadInput(t *testing.T) {
	t.Parallel()
	_, base := startNode(t, func(c *config.Config) { c.Network.Shards = []int{0, 1} })
	relayed := "/waku/2/rs/66/0"
	good := `{"payload":"aGk=","contentTopic":"` + relayCT + `"}`
	many := make([]string, 101)
	for i := range many {
		many[i] = relayed
	}
	for _, tc := range []struct {
		name, method, path, ctype string
		body                      any
		want                      int
		says                      string
	}{
		{"subscribe: not a list", http.MethodPost, "/relay/v1/subscriptions", "application/json", `{"topic":1}`, 400, "Failed to decode"},
		{"subscribe: no body", http.MethodPost, "/relay/v1/subscriptions", "application/json", nil, 400, "no body"},
		{"subscribe: form content type", http.MethodPost, "/relay/v1/subscriptions", "application/x-www-form-urlencoded", `["` + relayed + `"]`, 400, "want application/json"},
		{"subscribe: not a pubsub topic", http.MethodPost, "/relay/v1/subscriptions", "application/json", []string{"/waku/2/default-waku/proto"}, 400, "Failed to subscribe"},
		{"subscribe: a shard not relayed", http.MethodPost, "/relay/v1/subscriptions", "application/json", []string{"/waku/2/rs/66/5"}, 400, "/waku/2/rs/66/0"},
		{"subscribe: too many", http.MethodPost, "/relay/v1/subscriptions", "application/json", many, 400, "at most 100"},
		{"auto subscribe: bad content topic", http.MethodPost, "/relay/v1/auto/subscriptions", "application/json", []string{"chat"}, 400, "Failed to subscribe"},
		{"publish: topic not relayed", http.MethodPost, "/relay/v1/messages/" + url.PathEscape("/waku/2/rs/66/7"), "application/json", good, 400, "Node not subscribed to topic"},
		{"publish: no payload", http.MethodPost, "/relay/v1/messages/" + url.PathEscape(relayed), "application/json", `{"contentTopic":"` + relayCT + `"}`, 400, "payload"},
		{"publish: no content topic", http.MethodPost, "/relay/v1/messages/" + url.PathEscape(relayed), "application/json", `{"payload":"aGk="}`, 400, "contentTopic"},
		{"publish: payload not base64", http.MethodPost, "/relay/v1/messages/" + url.PathEscape(relayed), "application/json", `{"payload":"%%%","contentTopic":"` + relayCT + `"}`, 400, "not base64"},
		{"publish: meta too long", http.MethodPost, "/relay/v1/messages/" + url.PathEscape(relayed), "application/json",
			`{"payload":"aGk=","contentTopic":"` + relayCT + `","meta":"` + base64.StdEncoding.EncodeToString(make([]byte, 65)) + `"}`, 400, "meta"},
		{"publish: negative timestamp", http.MethodPost, "/relay/v1/messages/" + url.PathEscape(relayed), "application/json", `{"payload":"aGk=","contentTopic":"` + relayCT + `","timestamp":-5}`, 400, "timestamp"},
		{"publish: trailing data", http.MethodPost, "/relay/v1/messages/" + url.PathEscape(relayed), "application/json", good + good, 400, "after the JSON"},
		{"publish: body over 1 MiB", http.MethodPost, "/relay/v1/messages/" + url.PathEscape(relayed), "application/json", `{"payload":"` + strings.Repeat("A", 1<<20) + `"}`, 413, "over"},
		{"auto publish: bad content topic", http.MethodPost, "/relay/v1/auto/messages", "application/json", `{"payload":"aGk=","contentTopic":"chat"}`, 400, "Autosharding"},
		{"publish: no peers", http.MethodPost, "/relay/v1/messages/" + url.PathEscape(relayed), "application/json", good, 503, "no relay peers"},
		{"get: not subscribed", http.MethodGet, "/relay/v1/messages/" + url.PathEscape(relayed), "", nil, 404, "Not subscribed"},
		{"auto get: not subscribed", http.MethodGet, "/relay/v1/auto/messages/" + url.PathEscape(relayCT), "", nil, 404, "Not subscribed"},
	} {
		code, body := callBad(t, tc.method, base+tc.path, tc.ctype, tc.body)
		if code != tc.want || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %q, want %d saying %q", tc.name, code, body, tc.want, tc.says)
		}
	}
}

// The cache keeps at most rest.relay-cache-capacity messages per topic,
// the newest, and the topics subscribed through the API are bounded.
func TestRelayCacheBound(t *testing.T) {
	t.Parallel()
	a, _ := startNode(t, nil)
	b, bURL := startNode(t, func(c *config.Config) { c.REST.RelayCacheCapacity = 3 })
	topic := relayTopic(t)
	link(t, a, b, topic)
	if code, body := call(t, http.MethodPost, bURL+"/relay/v1/auto/subscriptions", []string{relayCT}); code != 200 {
		t.Fatalf("subscribe: %d %q", code, body)
	}
	delivered := b.Relay().Subscribe()
	defer delivered.Cancel()
	const sent = 7
	for i := range sent {
		m := wire.NewMessage(relayCT, []byte{byte(i)}, time.Now().UnixNano())
		if _, _, err := a.Relay().Publish(topic, m); err != nil {
			t.Fatal(err)
		}
	}
	for range sent {
		select {
		case <-delivered.C():
		case <-time.After(20 * time.Second):
			t.Fatal("b did not receive the messages within 20 s")
		}
	}
	var got []api.Message
	testnet.WaitFor(t, 10*time.Second, "b's cache to hold the newest 3", func() bool {
		code, body := call(t, http.MethodGet, bURL+"/relay/v1/auto/messages/"+url.PathEscape(relayCT), nil)
		if code != 200 {
			t.Fatalf("get: %d %q", code, body)
		}
		var page []api.Message
		decode(t, body, &page)
		got = append(got, page...)
		return len(got) >= 3
	})
	want := []string{"BA==", "BQ==", "Bg=="} // payloads 4, 5, 6
	if len(got) != 3 || got[0].Payload != want[0] || got[1].Payload != want[1] || got[2].Payload != want[2] {
		t.Fatalf("cache kept %+v, want the newest three (payloads 4, 5, 6)", got)
	}
}
