package rest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/rest/client"
)

const lpCT = "/rest-lightpush/1/chat/proto"

// fakeProof is a proof field the relays of RLN-off nodes carry unchecked:
// the lightpush service publishes a message that has one as it is (one
// without it, it would have to prove, and these services have no
// memberships).
var fakeProof = base64.StdEncoding.EncodeToString([]byte("not checked: RLN is off"))

// lpTopic is lpCT's pubsub topic on the test cluster.
func lpTopic(t *testing.T) string {
	t.Helper()
	pt, err := autoshard.ShardFor(lpCT, testCluster, 8)
	if err != nil {
		t.Fatal(err)
	}
	return pt.String()
}

// pushBody is a push request for payload; topic may be empty.
func pushBody(topic, payload string, proof bool) map[string]any {
	m := map[string]any{"payload": base64.StdEncoding.EncodeToString([]byte(payload)), "contentTopic": lpCT}
	if proof {
		m["proof"] = fakeProof
	}
	body := map[string]any{"message": m}
	if topic != "" {
		body["pubsubTopic"] = topic
	}
	return body
}

// arrivals reads a node's REST relay cache of a topic, keeping every
// payload seen.
type arrivals struct {
	url  string
	seen map[string]bool
}

func newArrivals(t *testing.T, baseURL, topic string) *arrivals {
	t.Helper()
	if code, body := call(t, http.MethodPost, baseURL+"/relay/v1/subscriptions", []string{topic}); code != 200 {
		t.Fatalf("subscribe the receiver: %d %q", code, body)
	}
	return &arrivals{url: baseURL + "/relay/v1/messages/" + url.PathEscape(topic), seen: map[string]bool{}}
}

// wait waits (up to 20 s) until payload has arrived.
func (a *arrivals) wait(t *testing.T, payload string) {
	t.Helper()
	testnet.WaitFor(t, 20*time.Second, fmt.Sprintf("%q at the receiving node", payload), func() bool {
		code, body := call(t, http.MethodGet, a.url, nil)
		if code != 200 {
			t.Fatalf("read the receiver's cache: %d %q", code, body)
		}
		var msgs []api.Message
		decode(t, body, &msgs)
		for _, m := range msgs {
			b, _ := base64.StdEncoding.DecodeString(m.Payload)
			a.seen[string(b)] = true
		}
		return a.seen[payload]
	})
}

// pushV3 posts to /lightpush/v3/message and decodes the JSON answer; bad
// marks a request wrong on purpose (sent with callBad).
func pushV3(t *testing.T, baseURL string, body any, bad bool) (int, api.PushResponse, string) {
	t.Helper()
	code, raw := callJSON(t, http.MethodPost, baseURL+"/lightpush/v3/message", body, bad)
	var r api.PushResponse
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("v3 answer %d %q is not JSON: %v", code, raw, err)
	}
	return code, r, raw
}

// Messages pushed through the REST API reach a third node: through the
// node's own lightpush service, through its configured lightpush service
// node, through a connected lightpush peer; with v3 (JSON answer with the
// relay peer count) and v1 (text OK); with the pubsub topic or by
// autosharding; with the Go client.
func TestLightpushDelivery(t *testing.T) {
	t.Parallel()
	topic := lpTopic(t)
	svc, svcURL := startNode(t, func(c *config.Config) { c.Lightpush.Enabled = true })
	recv, recvURL := startNode(t, nil)
	link(t, svc, recv, topic)
	got := newArrivals(t, recvURL, topic)
	_, viaConfigURL := startNode(t, func(c *config.Config) { c.Lightpush.ServiceNode = addrOf(t, svc) })
	connected, viaConnectedURL := startNode(t, nil)
	testnet.Connect(t, connected.Host(), svc.Host())
	testnet.WaitFor(t, 10*time.Second, "the service's lightpush protocols to be known", func() bool {
		p, err := connected.Host().Libp2p().Peerstore().SupportsProtocols(svc.Host().ID(), lightpush.ProtocolV3, lightpush.ProtocolV2)
		return err == nil && len(p) == 2
	})

	for _, tt := range []struct {
		name, url string
		topic     bool
	}{
		{"own service", svcURL, true},
		{"own service, autosharded", svcURL, false},
		{"configured service node", viaConfigURL, true},
		{"configured service node, autosharded", viaConfigURL, false},
		{"connected service peer", viaConnectedURL, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pt := ""
			if tt.topic {
				pt = topic
			}
			payload := "v3 via " + tt.name
			code, r, raw := pushV3(t, tt.url, pushBody(pt, payload, true), false)
			if code != http.StatusOK || r.StatusCode != 200 || r.RelayPeerCount == nil || *r.RelayPeerCount < 1 || r.StatusDesc != "" {
				t.Fatalf("v3 push: %d %s, want 200 with a relay peer count", code, raw)
			}
			got.wait(t, payload)
			payload = "v1 via " + tt.name
			if code, body := call(t, http.MethodPost, tt.url+"/lightpush/v1/message", pushBody(pt, payload, true)); code != http.StatusOK || body != "OK" {
				t.Fatalf("v1 push: %d %q, want 200 OK", code, body)
			}
			got.wait(t, payload)
		})
	}
	t.Run("Go client", func(t *testing.T) {
		c, err := client.New(viaConfigURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		msg := &api.Message{Payload: base64.StdEncoding.EncodeToString([]byte("client v3")), ContentTopic: lpCT, Proof: fakeProof}
		r, err := c.Lightpush(t.Context(), api.PushRequest{PubsubTopic: topic, Message: msg})
		if err != nil || r.RelayPeerCount == nil || *r.RelayPeerCount < 1 {
			t.Fatalf("client v3 push: %+v, %v", r, err)
		}
		got.wait(t, "client v3")
		msg.Payload = base64.StdEncoding.EncodeToString([]byte("client v1"))
		if err := c.LightpushV1(t.Context(), api.PushRequest{Message: msg}); err != nil {
			t.Fatalf("client v1 push: %v", err)
		}
		got.wait(t, "client v1")
	})
}

// Refusals, each with nwaku's status: bad bodies (400; v3 in JSON with the
// lightpush code, 420 answered 400; a body over the bound 413), a topic the
// service does not relay (421), no relay peers (505), no service peer (v3
// 503 JSON, v1 503 text), a service node that cannot be dialled (v3 505,
// v1 503); the Go client returns the decoded answer with the error.
func TestLightpushErrors(t *testing.T) {
	t.Parallel()
	topic := lpTopic(t)
	svc, svcURL := startNode(t, func(c *config.Config) { c.Lightpush.Enabled = true })
	recv, _ := startNode(t, nil)
	link(t, svc, recv, topic)
	_, lonelyURL := startNode(t, func(c *config.Config) { c.Lightpush.Enabled = true })
	_, nobodyURL := startNode(t, nil)
	_, unreachableURL := startNode(t, func(c *config.Config) {
		c.Lightpush.ServiceNode = "/ip4/127.0.0.1/tcp/1/p2p/16Uiu2HAmVFXtAfSj4EiR7mL2KvL4EE2wztuQgUSBoj2Jx2KeXFLN"
	})
	huge := `{"message":{"payload":"` + strings.Repeat("A", 2<<20) + `","contentTopic":"` + lpCT + `"}}`

	// bad: the request is wrong on purpose (outside the OpenAPI
	// document); the others are well-formed requests the node refuses.
	v3 := []struct {
		name, url string
		body      any
		bad       bool
		status    int
		code      lightpush.StatusCode
		desc      string
	}{
		{"not JSON", svcURL, "{not json", true, 400, lightpush.StatusBadRequest, "Invalid push request!"},
		{"no message", svcURL, `{"pubsubTopic":"` + topic + `"}`, true, 400, lightpush.StatusBadRequest, "`message` is missing"},
		{"no payload", svcURL, `{"message":{"contentTopic":"` + lpCT + `"}}`, true, 400, lightpush.StatusBadRequest, "Invalid message! "},
		{"payload not base64", svcURL, `{"message":{"payload":"%%%","contentTopic":"` + lpCT + `"}}`, true, 400, lightpush.StatusBadRequest, "payload"},
		{"no content topic", svcURL, `{"message":{"payload":"aGk="}}`, true, 400, lightpush.StatusBadRequest, "contentTopic"},
		{"body over the bound", svcURL, huge, true, 413, lightpush.StatusTooLarge, "over"},
		{"no proof, none attached", svcURL, pushBody(topic, "no proof", false), false, 400, lightpush.StatusInvalidMessage, "RLN proof"},
		{"topic not relayed", svcURL, pushBody("/waku/2/rs/66/9", "shard 9", true), false, 421, lightpush.StatusUnsupportedTopic, "/waku/2/rs/66/9"},
		{"not a pubsub topic", svcURL, pushBody("chat", "bad topic", true), false, 400, lightpush.StatusBadRequest, "chat"},
		{"no relay peers", lonelyURL, pushBody(topic, "alone", true), false, 505, lightpush.StatusNoPeers, "no relay peers"},
		{"no service peer", nobodyURL, pushBody(topic, "nobody", true), false, 503, lightpush.StatusUnavailable, "No suitable service peer"},
		{"service node unreachable", unreachableURL, pushBody(topic, "unreachable", true), false, 505, lightpush.StatusNoPeers, "dial_failure"},
	}
	for _, tt := range v3 {
		t.Run("v3 "+tt.name, func(t *testing.T) {
			t.Parallel()
			code, r, raw := pushV3(t, tt.url, tt.body, tt.bad)
			if code != tt.status || r.StatusCode != uint32(tt.code) || !strings.Contains(r.StatusDesc, tt.desc) || r.RelayPeerCount != nil {
				t.Fatalf("%d %.300s, want %d with lightpush code %d and %q", code, raw, tt.status, tt.code, tt.desc)
			}
		})
	}
	t.Run("v3 wrong content type", func(t *testing.T) {
		t.Parallel()
		code, raw := callBad(t, http.MethodPost, svcURL+"/lightpush/v3/message", "text/xml", "<message/>")
		if code != 400 || !strings.Contains(raw, `"statusCode":400`) || !strings.Contains(raw, "Content-Type") {
			t.Fatalf("%d %q, want 400 JSON naming the Content-Type", code, raw)
		}
	})

	v1 := []struct {
		name, url string
		body      any
		bad       bool
		status    int
		desc      string
	}{
		{"not JSON", svcURL, "{not json", true, 400, "decode"},
		{"no message", svcURL, `{}`, true, 400, "`message` is missing"},
		{"bad message", svcURL, `{"message":{"contentTopic":"` + lpCT + `"}}`, true, 400, "Invalid message: "},
		{"no proof, none attached", svcURL, pushBody(topic, "v1 no proof", false), false, 503, "Failed to request a message push: "},
		{"no relay peers", lonelyURL, pushBody(topic, "v1 alone", true), false, 503, "no relay peers"},
		{"no service peer", nobodyURL, pushBody(topic, "v1 nobody", true), false, 503, "No suitable service peer"},
		{"service node unreachable", unreachableURL, pushBody(topic, "v1 unreachable", true), false, 503, "dial_failure"},
	}
	for _, tt := range v1 {
		t.Run("v1 "+tt.name, func(t *testing.T) {
			t.Parallel()
			code, body := callJSON(t, http.MethodPost, tt.url+"/lightpush/v1/message", tt.body, tt.bad)
			if code != tt.status || !strings.Contains(body, tt.desc) {
				t.Fatalf("%d %q, want %d with %q", code, body, tt.status, tt.desc)
			}
		})
	}

	t.Run("Go client", func(t *testing.T) {
		t.Parallel()
		c, err := client.New(svcURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		msg := &api.Message{Payload: base64.StdEncoding.EncodeToString([]byte("client no proof")), ContentTopic: lpCT}
		r, err := c.Lightpush(t.Context(), api.PushRequest{Message: msg})
		if client.StatusOf(err) != 400 || r.StatusCode != uint32(lightpush.StatusInvalidMessage) || r.StatusDesc == "" {
			t.Fatalf("client v3 push without proof: %+v, %v; want a 400 error with code 420", r, err)
		}
		if err := c.LightpushV1(t.Context(), api.PushRequest{Message: msg}); client.StatusOf(err) != 503 {
			t.Fatalf("client v1 push without proof: %v, want a 503 error", err)
		}
	})
}
