package rest_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/wire"
)

const (
	filterCT  = "/rest-test/1/filter-one/proto"
	filterCT2 = "/rest-test/1/filter-two/proto"
	// filterWait bounds a filter subscription or push between two nodes
	// on loopback.
	filterWait = 15 * time.Second
)

// shardOf is a content topic's pubsub topic on the test cluster.
func shardOf(t *testing.T, ct string) string {
	t.Helper()
	pt, err := autoshard.ShardFor(ct, testCluster, 8)
	if err != nil {
		t.Fatal(err)
	}
	return pt.String()
}

// addrOf is n's full multiaddr (with /p2p/<id>).
func addrOf(t *testing.T, n *node.Node) string {
	t.Helper()
	addrs := n.Addrs()
	if len(addrs) == 0 {
		t.Fatal("the node has no address")
	}
	return addrs[0].String() // with its /p2p/<id>
}

// filterPair starts a filter service node a and a node b whose REST API
// has a as its filter service node (filter.service-node, not connected
// yet); edit changes b's configuration.
func filterPair(t *testing.T, edit func(*config.Config)) (a, b *node.Node, bURL string) {
	t.Helper()
	a, _ = startNode(t, func(c *config.Config) { c.Filter.Enabled = true })
	service := addrOf(t, a)
	b, bURL = startNode(t, func(c *config.Config) {
		c.Filter.ServiceNode = service
		if edit != nil {
			edit(c)
		}
	})
	return a, b, bURL
}

// filterCall makes a filter subscription call and reads its JSON answer.
func filterCall(t *testing.T, method, url string, body any) (int, api.FilterSubscriptionResponse) {
	t.Helper()
	code, text := call(t, method, url, body)
	var r api.FilterSubscriptionResponse
	decode(t, text, &r)
	return code, r
}

// publishOn publishes a message with payload on n's relay, on ct's shard.
func publishOn(t *testing.T, n *node.Node, ct, payload string) {
	t.Helper()
	if _, _, err := n.Relay().Publish("", wire.NewMessage(ct, []byte(payload), time.Now().UnixNano())); err != nil {
		t.Fatalf("publish %q: %v", payload, err)
	}
}

// payloads reads a messages answer's payloads.
func payloads(t *testing.T, body string) []string {
	t.Helper()
	var msgs []api.Message
	decode(t, body, &msgs)
	out := make([]string, len(msgs))
	for i, m := range msgs {
		b, err := base64.StdEncoding.DecodeString(m.Payload)
		if err != nil {
			t.Fatalf("payload %q is not base64: %v", m.Payload, err)
		}
		out[i] = string(b)
	}
	return out
}

// collect reads url until want messages arrived (within filterWait) and
// returns their payloads in the order read.
func collect(t *testing.T, url string, want int) []string {
	t.Helper()
	var got []string
	testnet.WaitFor(t, filterWait, fmt.Sprintf("%d messages at %s", want, url), func() bool {
		code, body := call(t, http.MethodGet, url, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %q", url, code, body)
		}
		got = append(got, payloads(t, body)...)
		return len(got) >= want
	})
	return got
}

// A subscription over REST (autosharded by POST, on a pubsub topic by
// PUT, which nwaku serves as a subscribe too) makes the service node push
// what it relays; both GET forms return what was pushed once, as nwaku's
// JSON, and the read empties the cache.
func TestFilterSubscribeAndReceive(t *testing.T) {
	t.Parallel()
	a, b, bURL := filterPair(t, nil)
	code, r := filterCall(t, http.MethodPost, bURL+"/filter/v2/subscriptions",
		map[string]any{"requestId": "sub-1", "contentFilters": []string{filterCT}})
	if code != http.StatusOK || r != (api.FilterSubscriptionResponse{RequestID: "sub-1", StatusDesc: "OK"}) {
		t.Fatalf("subscribe: %d %+v, want 200 {sub-1 OK}", code, r)
	}
	shard2 := shardOf(t, filterCT2)
	code, r = filterCall(t, http.MethodPut, bURL+"/filter/v2/subscriptions",
		api.FilterSubscribeRequest{RequestID: "sub-2", ContentFilters: []string{filterCT2}, PubsubTopic: shard2})
	if code != http.StatusOK || r.RequestID != "sub-2" || r.StatusDesc != "OK" {
		t.Fatalf("PUT subscribe: %d %+v", code, r)
	}
	if !a.Filter().Subscribed(b.Host().ID()) {
		t.Fatal("the service node does not hold the subscription after 200")
	}

	publishOn(t, a, filterCT, "one")
	publishOn(t, a, filterCT, "two")
	publishOn(t, a, filterCT2, "three")
	byCT := bURL + "/filter/v2/messages/" + url.PathEscape(filterCT)
	if got := collect(t, byCT, 2); len(got) != 2 || got[0] != "one" || got[1] != "two" {
		t.Fatalf("by content topic: %q, want [one two]", got)
	}
	byPair := bURL + "/filter/v2/messages/" + url.PathEscape(shard2) + "/" + url.PathEscape(filterCT2)
	if got := collect(t, byPair, 1); len(got) != 1 || got[0] != "three" {
		t.Fatalf("by pubsub and content topic: %q, want [three]", got)
	}
	// Read once: empty now, in both forms.
	for _, u := range []string{byCT, byPair, bURL + "/filter/v2/messages/" + url.PathEscape(shardOf(t, filterCT)) + "/" + url.PathEscape(filterCT)} {
		if code, body := call(t, http.MethodGet, u, nil); code != http.StatusOK || body != "[]" {
			t.Fatalf("second read of %s: %d %q, want 200 []", u, code, body)
		}
	}
	// The message is nwaku's JSON: base64 payload, content topic, version,
	// timestamp.
	publishOn(t, a, filterCT, "four")
	var msgs []api.Message
	testnet.WaitFor(t, filterWait, "the fourth message", func() bool {
		_, body := call(t, http.MethodGet, byCT, nil)
		decode(t, body, &msgs)
		return len(msgs) > 0
	})
	m := msgs[0]
	if m.Payload != base64.StdEncoding.EncodeToString([]byte("four")) || m.ContentTopic != filterCT || m.Version == nil || m.Timestamp == nil || *m.Timestamp == 0 {
		t.Fatalf("message %+v, want nwaku's fields", m)
	}
	// A pair that is not subscribed: 404, though its content topic is.
	elsewhere := fmt.Sprintf("/waku/2/rs/%d/0", testCluster)
	if elsewhere == shardOf(t, filterCT) {
		elsewhere = fmt.Sprintf("/waku/2/rs/%d/1", testCluster)
	}
	other := bURL + "/filter/v2/messages/" + url.PathEscape(elsewhere) + "/" + url.PathEscape(filterCT)
	if code, body := call(t, http.MethodGet, other, nil); code != http.StatusNotFound || !strings.Contains(body, "Not subscribed to topic") {
		t.Fatalf("unsubscribed pair: %d %q, want 404", code, body)
	}
}

// A ping asks the service peer whether it holds the subscriptions: 404
// with its "peer has no subscriptions" before and after, 200 while
// subscribed. The request id is echoed, known or not, as nwaku does.
func TestFilterPing(t *testing.T) {
	t.Parallel()
	_, _, bURL := filterPair(t, nil)
	ping := func(id string) (int, api.FilterSubscriptionResponse) {
		return filterCall(t, http.MethodGet, bURL+"/filter/v2/subscriptions/"+url.PathEscape(id), nil)
	}
	if code, r := ping("before"); code != http.StatusNotFound || r.RequestID != "before" || r.StatusDesc != "peer has no subscriptions" {
		t.Fatalf("ping before subscribing: %d %+v, want 404 peer has no subscriptions", code, r)
	}
	if code, r := filterCall(t, http.MethodPost, bURL+"/filter/v2/subscriptions",
		api.FilterSubscribeRequest{RequestID: "s", ContentFilters: []string{filterCT}}); code != http.StatusOK {
		t.Fatalf("subscribe: %d %+v", code, r)
	}
	for _, id := range []string{"s", "never-used id/with slash"} {
		if code, r := ping(id); code != http.StatusOK || r != (api.FilterSubscriptionResponse{RequestID: id, StatusDesc: "OK"}) {
			t.Fatalf("ping %q while subscribed: %d %+v, want 200 OK", id, code, r)
		}
	}
	if code, r := filterCall(t, http.MethodDelete, bURL+"/filter/v2/subscriptions/all", api.FilterUnsubscribeAllRequest{RequestID: "u"}); code != http.StatusOK {
		t.Fatalf("unsubscribe all: %d %+v", code, r)
	}
	if code, r := ping("after"); code != http.StatusNotFound || r.StatusDesc != "peer has no subscriptions" {
		t.Fatalf("ping after unsubscribing: %d %+v, want 404", code, r)
	}
}

// Unsubscribing ends the subscription at the service peer and drops the
// topic here (404 from then on); the service answers 404 for topics it
// does not hold. Unsubscribe-all ends the rest.
func TestFilterUnsubscribe(t *testing.T) {
	t.Parallel()
	a, b, bURL := filterPair(t, nil)
	if code, r := filterCall(t, http.MethodPost, bURL+"/filter/v2/subscriptions",
		api.FilterSubscribeRequest{RequestID: "s", ContentFilters: []string{filterCT, filterCT2}}); code != http.StatusOK {
		t.Fatalf("subscribe: %d %+v", code, r)
	}
	code, r := filterCall(t, http.MethodDelete, bURL+"/filter/v2/subscriptions",
		api.FilterUnsubscribeRequest{RequestID: "u1", ContentFilters: []string{filterCT}})
	if code != http.StatusOK || r != (api.FilterSubscriptionResponse{RequestID: "u1", StatusDesc: "OK"}) {
		t.Fatalf("unsubscribe: %d %+v", code, r)
	}
	if code, _ := call(t, http.MethodGet, bURL+"/filter/v2/messages/"+url.PathEscape(filterCT), nil); code != http.StatusNotFound {
		t.Fatalf("read of the unsubscribed topic: %d, want 404", code)
	}
	if code, body := call(t, http.MethodGet, bURL+"/filter/v2/messages/"+url.PathEscape(filterCT2), nil); code != http.StatusOK || body != "[]" {
		t.Fatalf("read of the topic still subscribed: %d %q", code, body)
	}
	if !a.Filter().Subscribed(b.Host().ID()) {
		t.Fatal("the service dropped the whole subscription for one topic")
	}
	// Only the remaining topic is pushed.
	publishOn(t, a, filterCT, "gone")
	publishOn(t, a, filterCT2, "kept")
	if got := collect(t, bURL+"/filter/v2/messages/"+url.PathEscape(filterCT2), 1); len(got) != 1 || got[0] != "kept" {
		t.Fatalf("after unsubscribing one topic: %q, want [kept]", got)
	}
	// Again: the service holds no such subscription, and says so.
	code, r = filterCall(t, http.MethodDelete, bURL+"/filter/v2/subscriptions",
		api.FilterUnsubscribeRequest{RequestID: "u2", ContentFilters: []string{filterCT}})
	if code != http.StatusNotFound || r.RequestID != "u2" || !strings.Contains(r.StatusDesc, "no subscription") {
		t.Fatalf("second unsubscribe: %d %+v, want the service's 404", code, r)
	}
	code, r = filterCall(t, http.MethodDelete, bURL+"/filter/v2/subscriptions/all", api.FilterUnsubscribeAllRequest{RequestID: "all"})
	if code != http.StatusOK || r != (api.FilterSubscriptionResponse{RequestID: "all", StatusDesc: "OK"}) {
		t.Fatalf("unsubscribe all: %d %+v", code, r)
	}
	if a.Filter().Subscribed(b.Host().ID()) {
		t.Fatal("the service still holds a subscription after unsubscribe-all")
	}
	if code, _ := call(t, http.MethodGet, bURL+"/filter/v2/messages/"+url.PathEscape(filterCT2), nil); code != http.StatusNotFound {
		t.Fatalf("read after unsubscribe-all: %d, want 404", code)
	}
	code, r = filterCall(t, http.MethodDelete, bURL+"/filter/v2/subscriptions/all", api.FilterUnsubscribeAllRequest{RequestID: "again"})
	if code != http.StatusNotFound || r.StatusDesc != "peer has no subscriptions" {
		t.Fatalf("unsubscribe-all with none: %d %+v, want 404", code, r)
	}
}

// Bad requests get nwaku's 400: a FilterSubscriptionResponse whose
// statusDesc says what was wrong (request id "unknown" when the body could
// not be read), before any service peer is looked for.
func TestFilterBadInput(t *testing.T) {
	t.Parallel()
	_, bURL := startNode(t, nil)
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("/app/1/t%d/proto", i)
	}
	cases := []struct {
		name, method, path, contentType string
		body                            any
		status                          int
		id, want                        string
	}{
		{"malformed JSON", http.MethodPost, "/filter/v2/subscriptions", "application/json", `{"requestId": "x",`, 400, "unknown", "BAD_REQUEST: Failed to decode request: "},
		{"not an object", http.MethodPost, "/filter/v2/subscriptions", "application/json", `["a"]`, 400, "unknown", "want a JSON object"},
		{"no requestId", http.MethodPost, "/filter/v2/subscriptions", "application/json", `{"contentFilters": ["/a/1/b/proto"]}`, 400, "unknown", "field `requestId` is missing"},
		{"no contentFilters", http.MethodPut, "/filter/v2/subscriptions", "application/json", `{"requestId": "x"}`, 400, "unknown", "field `contentFilters` is missing"},
		{"empty contentFilters", http.MethodDelete, "/filter/v2/subscriptions", "application/json", `{"requestId": "x", "contentFilters": []}`, 400, "unknown", "field `contentFilters` is empty"},
		{"unsubscribe-all without requestId", http.MethodDelete, "/filter/v2/subscriptions/all", "application/json", `{}`, 400, "unknown", "field `requestId` is missing"},
		{"no body", http.MethodPost, "/filter/v2/subscriptions", "application/json", "", 400, "unknown", "Missing content body"},
		{"wrong content type", http.MethodPost, "/filter/v2/subscriptions", "text/plain", `{"requestId": "x", "contentFilters": ["/a/1/b/proto"]}`, 400, "unknown", "expected application/json"},
		{"too many content topics", http.MethodPost, "/filter/v2/subscriptions", "application/json",
			api.FilterSubscribeRequest{RequestID: "x", ContentFilters: many}, 400, "x", "BAD_REQUEST: exceeds maximum content topics: 100"},
		{"empty content topic", http.MethodPost, "/filter/v2/subscriptions", "application/json",
			api.FilterSubscribeRequest{RequestID: "x", ContentFilters: []string{filterCT, ""}}, 400, "x", "contentFilters[1] is empty"},
		{"content topic not autoshardable", http.MethodPost, "/filter/v2/subscriptions", "application/json",
			api.FilterSubscribeRequest{RequestID: "x", ContentFilters: []string{"not-a-content-topic"}}, 400, "x", "cannot be autosharded"},
		{"content topic too long", http.MethodPost, "/filter/v2/subscriptions", "application/json",
			api.FilterSubscribeRequest{RequestID: "x", ContentFilters: []string{"/a/1/" + strings.Repeat("b", 300) + "/proto"}}, 400, "x", "at most 256 allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var body any = tc.body
			if s, ok := tc.body.(string); ok && s == "" {
				body = nil
			}
			code, text := callBad(t, tc.method, bURL+tc.path, tc.contentType, body)
			var r api.FilterSubscriptionResponse
			decode(t, text, &r)
			if code != tc.status || r.RequestID != tc.id || !strings.Contains(r.StatusDesc, tc.want) {
				t.Fatalf("%d %+v, want %d, request id %q, statusDesc with %q", code, r, tc.status, tc.id, tc.want)
			}
		})
	}

	// Topics in paths are URL-encoded; an empty one is refused.
	paths := []struct{ path, want string }{
		{"/filter/v2/messages/%20", "contentTopic is empty"},
		{"/filter/v2/messages/%2Fwaku%2F2%2Frs%2F66%2F0/%20", "contentTopic is empty"},
		{"/filter/v2/messages/%20/%2Fa%2F1%2Fb%2Fproto", "pubsubTopic is empty"},
	}
	for _, p := range paths {
		if code, body := callBad(t, http.MethodGet, bURL+p.path, "", nil); code != http.StatusBadRequest || !strings.Contains(body, p.want) {
			t.Fatalf("GET %s: %d %q, want 400 with %q", p.path, code, body, p.want)
		}
	}
	// A path that is not valid URL encoding at all is refused by the HTTP
	// server itself (400) before it is routed.
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(bURL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET /filter/v2/messages/%zz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(text), "Bad Request") {
		t.Fatalf("bad escape: %d %q, want 400", resp.StatusCode, text)
	}
}

// Without a service peer (none configured, none connected; the node's
// own filter service does not count) every call gets nwaku's 503.
func TestFilterNoServicePeer(t *testing.T) {
	t.Parallel()
	_, bURL := startNode(t, func(c *config.Config) { c.Filter.Enabled = true })
	calls := []struct {
		method, path string
		body         any
		id           string
	}{
		{http.MethodPost, "/filter/v2/subscriptions", api.FilterSubscribeRequest{RequestID: "1", ContentFilters: []string{filterCT}}, "1"},
		{http.MethodPut, "/filter/v2/subscriptions", api.FilterSubscribeRequest{RequestID: "2", ContentFilters: []string{filterCT}}, "2"},
		{http.MethodDelete, "/filter/v2/subscriptions", api.FilterUnsubscribeRequest{RequestID: "3", ContentFilters: []string{filterCT}}, "3"},
		{http.MethodDelete, "/filter/v2/subscriptions/all", api.FilterUnsubscribeAllRequest{RequestID: "4"}, "4"},
		{http.MethodGet, "/filter/v2/subscriptions/5", nil, "5"},
	}
	for _, c := range calls {
		code, r := filterCall(t, c.method, bURL+c.path, c.body)
		want := api.FilterSubscriptionResponse{RequestID: c.id, StatusDesc: "SERVICE_UNAVAILABLE: No suitable service peer & no discovery method"}
		if code != http.StatusServiceUnavailable || r != want {
			t.Fatalf("%s %s: %d %+v, want 503 %+v", c.method, c.path, code, r, want)
		}
	}
	if code, _ := call(t, http.MethodGet, bURL+"/filter/v2/messages/"+url.PathEscape(filterCT), nil); code != http.StatusNotFound {
		t.Fatalf("messages without a subscription: %d, want 404", code)
	}
}

// The service peer's refusal is answered with its status and description;
// a service peer that cannot be dialled is nwaku's 504.
func TestFilterServiceRefuses(t *testing.T) {
	t.Parallel()
	_, _, bURL := filterPair(t, nil)
	code, r := filterCall(t, http.MethodPost, bURL+"/filter/v2/subscriptions",
		api.FilterSubscribeRequest{RequestID: "r", ContentFilters: []string{filterCT}, PubsubTopic: "/waku/2/rs/99/0"})
	if code != http.StatusBadRequest || r.RequestID != "r" || !strings.Contains(r.StatusDesc, "does not relay pubsub topic /waku/2/rs/99/0") {
		t.Fatalf("subscribe on a shard the service does not relay: %d %+v, want its 400", code, r)
	}
	if code, _ := call(t, http.MethodGet, bURL+"/filter/v2/messages/"+url.PathEscape(filterCT), nil); code != http.StatusNotFound {
		t.Fatalf("a refused subscription is kept: read %d, want 404", code)
	}

	// Past its request rate (a burst of 50) the service answers 429.
	limited := false
	for i := 0; i < 60 && !limited; i++ {
		code, r := filterCall(t, http.MethodGet, bURL+"/filter/v2/subscriptions/rate", nil)
		switch code {
		case http.StatusNotFound:
		case http.StatusTooManyRequests:
			if !strings.Contains(r.StatusDesc, "too many requests") {
				t.Fatalf("429 with %+v", r)
			}
			limited = true
		default:
			t.Fatalf("ping %d: %d %+v", i, code, r)
		}
	}
	if !limited {
		t.Fatal("60 pings in a row were never refused with 429")
	}

	// A service node nobody listens at.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	_, cURL := startNode(t, func(c *config.Config) {
		c.Filter.ServiceNode = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, id)
	})
	code, r = filterCall(t, http.MethodPost, cURL+"/filter/v2/subscriptions",
		api.FilterSubscribeRequest{RequestID: "d", ContentFilters: []string{filterCT}})
	if code != http.StatusGatewayTimeout || r.RequestID != "d" || !strings.Contains(r.StatusDesc, id.String()) {
		t.Fatalf("subscribe at an unreachable service node: %d %+v, want 504 naming the peer", code, r)
	}
}

// A connected filter service serves when none is configured.
func TestFilterConnectedService(t *testing.T) {
	t.Parallel()
	a, _ := startNode(t, func(c *config.Config) { c.Filter.Enabled = true })
	b, bURL := startNode(t, nil)
	testnet.Connect(t, b.Host(), a.Host())
	testnet.WaitFor(t, filterWait, "identify to tell b that a serves filter", func() bool {
		ps, err := b.Host().Libp2p().Peerstore().SupportsProtocols(a.Host().ID(), "/vac/waku/filter-subscribe/2.0.0-beta1")
		return err == nil && len(ps) > 0
	})
	if code, r := filterCall(t, http.MethodPost, bURL+"/filter/v2/subscriptions",
		api.FilterSubscribeRequest{RequestID: "c", ContentFilters: []string{filterCT}}); code != http.StatusOK {
		t.Fatalf("subscribe through a connected service: %d %+v", code, r)
	}
	if !a.Filter().Subscribed(b.Host().ID()) {
		t.Fatal("the connected service does not hold the subscription")
	}
	publishOn(t, a, filterCT, "via connected")
	if got := collect(t, bURL+"/filter/v2/messages/"+url.PathEscape(filterCT), 1); got[0] != "via connected" {
		t.Fatalf("got %q", got)
	}
}

// counter reads a counter from a registry (0 when absent).
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			total := 0.0
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
			return total
		}
	}
	return 0
}

// A subscription's cache keeps at most rest.relay-cache-capacity messages:
// past it, the oldest go, counted.
func TestFilterCacheBound(t *testing.T) {
	t.Parallel()
	a, b, bURL := filterPair(t, func(c *config.Config) { c.REST.RelayCacheCapacity = 3 })
	if code, r := filterCall(t, http.MethodPost, bURL+"/filter/v2/subscriptions",
		api.FilterSubscribeRequest{RequestID: "s", ContentFilters: []string{filterCT}}); code != http.StatusOK {
		t.Fatalf("subscribe: %d %+v", code, r)
	}
	const dropped = "rlnd_rest_filter_cache_dropped_total"
	// Four messages, each pushed before the next is published; then a
	// fifth once the fourth has pushed the first out: the fifth is the
	// newest for certain.
	for i := range 4 {
		publishOn(t, a, filterCT, fmt.Sprintf("m%d", i))
		testnet.WaitFor(t, filterWait, fmt.Sprintf("push %d", i), func() bool { return a.Filter().Pushed() >= uint64(i+1) })
	}
	testnet.WaitFor(t, filterWait, "one message dropped", func() bool { return counter(t, b.Registry(), dropped) == 1 })
	publishOn(t, a, filterCT, "m4")
	testnet.WaitFor(t, filterWait, "two messages dropped", func() bool { return counter(t, b.Registry(), dropped) == 2 })
	code, body := call(t, http.MethodGet, bURL+"/filter/v2/messages/"+url.PathEscape(filterCT), nil)
	got := payloads(t, body)
	if code != http.StatusOK || len(got) != 3 || got[2] != "m4" {
		t.Fatalf("read: %d %q, want the 3 newest ending with m4", code, got)
	}
	seen := map[string]bool{}
	for _, p := range got {
		if seen[p] || !strings.HasPrefix(p, "m") {
			t.Fatalf("read %q: duplicates or unknown messages", got)
		}
		seen[p] = true
	}
}

// Closing the node's REST API ends its subscriptions at the service.
func TestFilterCloseUnsubscribes(t *testing.T) {
	t.Parallel()
	a, b, bURL := filterPair(t, nil)
	if code, r := filterCall(t, http.MethodPost, bURL+"/filter/v2/subscriptions",
		api.FilterSubscribeRequest{RequestID: "s", ContentFilters: []string{filterCT}}); code != http.StatusOK {
		t.Fatalf("subscribe: %d %+v", code, r)
	}
	if !a.Filter().Subscribed(b.Host().ID()) {
		t.Fatal("not subscribed")
	}
	b.Close()
	if a.Filter().Subscribed(b.Host().ID()) {
		t.Fatal("the service still holds the subscription of a node that closed")
	}
}

// The API holds at most rest.DefaultMaxSubscriptions (256) filter
// subscriptions: a request past it is refused whole (503), before the
// service peer is asked, and the ones held stay.
func TestFilterSubscriptionBound(t *testing.T) {
	t.Parallel()
	a, _, bURL := filterPair(t, nil)
	shard := shardOf(t, filterCT)
	batch := func(n int) []string {
		out := make([]string, 100)
		for i := range out {
			out[i] = fmt.Sprintf("/rest-test/1/bound-%d-%d/proto", n, i)
		}
		return out
	}
	for n := range 2 {
		if code, r := filterCall(t, http.MethodPost, bURL+"/filter/v2/subscriptions",
			api.FilterSubscribeRequest{RequestID: "ok", ContentFilters: batch(n), PubsubTopic: shard}); code != http.StatusOK {
			t.Fatalf("batch %d: %d %+v", n, code, r)
		}
	}
	code, r := filterCall(t, http.MethodPost, bURL+"/filter/v2/subscriptions",
		api.FilterSubscribeRequest{RequestID: "over", ContentFilters: batch(2), PubsubTopic: shard})
	if code != http.StatusServiceUnavailable || r.RequestID != "over" || !strings.Contains(r.StatusDesc, "holds 200 filter subscriptions, the request adds 100, at most 256") {
		t.Fatalf("past the bound: %d %+v, want 503 naming the bound", code, r)
	}
	// Topics already held do not count again.
	if code, r := filterCall(t, http.MethodPut, bURL+"/filter/v2/subscriptions",
		api.FilterSubscribeRequest{RequestID: "again", ContentFilters: batch(1), PubsubTopic: shard}); code != http.StatusOK {
		t.Fatalf("subscribing again to held topics: %d %+v", code, r)
	}
	byPair := bURL + "/filter/v2/messages/" + url.PathEscape(shard) + "/" + url.PathEscape(batch(2)[0])
	if code, _ := call(t, http.MethodGet, byPair, nil); code != http.StatusNotFound {
		t.Fatalf("a topic of the refused request: %d, want 404", code)
	}
	if _, _, err := a.Relay().Publish(shard, wire.NewMessage(batch(0)[7], []byte("held"), time.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, bURL+"/filter/v2/messages/"+url.PathEscape(batch(0)[7]), 1); got[0] != "held" {
		t.Fatalf("got %q", got)
	}
}
