package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// storeCase is one js-waku store query and what it must come to: the
// requests js-waku sends (one per page, then one more that gets an empty
// page) and the messages of each answer.
type storeCase struct {
	name    string
	q       WakuStoreQuery
	topics  []string // the content topics of the requests
	start   *int64   // time_start and time_end of the requests, ns
	end     *int64
	limit   uint64 // pagination_limit of the requests (0: absent)
	forward bool
	pages   [][]*messagepb.WakuMessage // each answer's messages, in wire order
}

// pagesOf splits sel (ascending) into the pages a store v3 service answers
// with for page size limit in the given direction; every page is in
// ascending order, and an empty page ends the list.
func pagesOf(sel []*messagepb.WakuMessage, limit int, forward bool) [][]*messagepb.WakuMessage {
	var out [][]*messagepb.WakuMessage
	if forward {
		for i := 0; i < len(sel); i += limit {
			out = append(out, sel[i:min(i+limit, len(sel))])
		}
	} else {
		for j := len(sel); j > 0; j -= limit {
			out = append(out, sel[max(0, j-limit):j])
		}
	}
	return append(out, nil)
}

// A store node archives messages with valid RLN proofs relayed to it while
// no js-waku node is around. Then a js-waku light node connects and reads
// them back with its store v3 client (/vac/waku/store-query/3.0.0), which
// pages by itself: the cursor of its next request is the hash of the last
// message it got (forward) or the first (backward), and it stops at the
// first empty page. Every message comes back exactly once and unchanged,
// proof included, paging forward and backward with pages of 10, the
// store's default page size, a time range (start inclusive, end
// exclusive), two content topics at once, and none for a content topic
// without messages.
func TestJSWakuStore(t *testing.T) {
	t.Parallel()
	const mainTopic = "/rlnd/1/interop-store/proto"
	const otherTopic = "/rlnd/1/interop-store-other/proto" // same shard
	const noneTopic = "/rlnd/1/interop-store-none/proto"
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	n := newServiceNet(t, ctx)

	// 25 messages on mainTopic, 3 on otherTopic among them, all before
	// js-waku starts.
	var msgs, others, all []*messagepb.WakuMessage
	for i := range 25 {
		m := n.publish(t, ctx, mainTopic, fmt.Sprintf("store message %d", i))
		msgs, all = append(msgs, m), append(all, m)
		if i%8 == 3 {
			o := n.publish(t, ctx, otherTopic, fmt.Sprintf("other message %d", i))
			others, all = append(others, o), append(all, o)
		}
	}
	if len(others) != 3 {
		t.Fatalf("%d other messages", len(others))
	}
	archive := n.svc.Archive()
	testnet.WaitFor(t, 30*time.Second, "the archive to hold every message", func() bool {
		c, err := archive.Count(ctx)
		return err == nil && c == len(all)
	})

	js, started := n.startLight(t, ctx, "store-peer")
	if !hasAll(started.RemoteProtocols, store.Protocol) {
		t.Fatalf("js-waku did not identify %s among %v", store.Protocol, started.RemoteProtocols)
	}

	ms := func(m *messagepb.WakuMessage) int64 { return m.GetTimestamp() / 1_000_000 }
	backward := false
	cases := []storeCase{
		{
			name: "forward, pages of 10", q: WakuStoreQuery{ContentTopics: []string{mainTopic}, PageSize: 10},
			topics: []string{mainTopic}, limit: 10, forward: true, pages: pagesOf(msgs, 10, true),
		},
		{
			name: "backward, pages of 10", q: WakuStoreQuery{ContentTopics: []string{mainTopic}, PageSize: 10, Forward: &backward},
			topics: []string{mainTopic}, limit: 10, forward: false, pages: pagesOf(msgs, 10, false),
		},
		{
			// No pagination_limit: the store's default of 20.
			name: "ordered callback, default page size", q: WakuStoreQuery{ContentTopics: []string{mainTopic}, API: "ordered-callback"},
			topics: []string{mainTopic}, forward: true, pages: pagesOf(msgs, store.DefaultPageSize, true),
		},
		{
			// [messages 5, 15): the bounds are timestamps of messages.
			name: "time range, pages of 4",
			q: WakuStoreQuery{ContentTopics: []string{mainTopic}, PageSize: 4,
				TimeStartMs: ptrTo(ms(msgs[5])), TimeEndMs: ptrTo(ms(msgs[15]))},
			topics: []string{mainTopic}, start: ptrTo(msgs[5].GetTimestamp()), end: ptrTo(msgs[15].GetTimestamp()),
			limit: 4, forward: true, pages: pagesOf(msgs[5:15], 4, true),
		},
		{
			name: "two content topics", q: WakuStoreQuery{ContentTopics: []string{mainTopic, otherTopic}, PageSize: 10},
			topics: []string{mainTopic, otherTopic}, limit: 10, forward: true, pages: pagesOf(all, 10, true),
		},
		{
			name: "a content topic without messages", q: WakuStoreQuery{ContentTopics: []string{noneTopic}, PubsubTopic: n.topic, PageSize: 10},
			topics: []string{noneTopic}, limit: 10, forward: true, pages: pagesOf(nil, 10, true),
		},
	}
	for _, c := range cases {
		c.q.Timeout = 60 * time.Second
		res, err := js.Store(ctx, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Logf("%s: ok %v in %d ms, %d messages, pages %v, %d requests", c.name, res.OK, res.Ms, len(res.Messages), res.Pages, len(res.Requests))
		checkStoreCase(t, n.topic, c, res)
	}
	if c, err := archive.Count(ctx); err != nil || c != len(all) {
		t.Fatalf("the archive holds %d messages (%v), want %d", c, err, len(all))
	}
}

// checkStoreCase checks js-waku's result of c and the exchange behind it.
func checkStoreCase(t *testing.T, topic string, c storeCase, res *WakuStoreResult) {
	t.Helper()
	if !res.OK || res.QueryError != "" || res.TimedOut || res.PubsubTopic != topic {
		t.Fatalf("%s: %+v", c.name, res)
	}
	// What js-waku delivered: every message of every page, in order,
	// each once.
	var want []*messagepb.WakuMessage
	var wantPages []int
	for _, p := range c.pages {
		want = append(want, p...)
		if len(p) > 0 {
			wantPages = append(wantPages, len(p))
		}
	}
	if len(res.Messages) != len(want) {
		t.Fatalf("%s: js-waku returned %d messages, want %d", c.name, len(res.Messages), len(want))
	}
	seen := map[string]bool{}
	for i, got := range res.Messages {
		checkStoredMessage(t, fmt.Sprintf("%s: message %d", c.name, i), topic, got, want[i])
		if seen[got.HashHex] {
			t.Fatalf("%s: message %d (%q) returned twice", c.name, i, got.Payload)
		}
		seen[got.HashHex] = true
	}
	if c.q.API != "ordered-callback" && !slices.Equal(res.Pages, wantPages) {
		t.Fatalf("%s: js-waku yielded pages of %v, want %v", c.name, res.Pages, wantPages)
	}

	// The exchange: one request per answer, each cursor taken from the
	// previous answer, each answer 200 with the expected page.
	if len(res.Requests) != len(c.pages) || len(res.Responses) != len(c.pages) {
		t.Fatalf("%s: %d requests and %d responses, want %d each", c.name, len(res.Requests), len(res.Responses), len(c.pages))
	}
	for i, page := range c.pages {
		var req storepb.StoreQueryRequest
		if err := proto.Unmarshal(res.Requests[i], &req); err != nil {
			t.Fatalf("%s: request %d: %v", c.name, i, err)
		}
		var wantCursor []byte
		if i > 0 {
			prev := c.pages[i-1]
			edge := prev[len(prev)-1]
			if !c.forward {
				edge = prev[0]
			}
			h := wire.Hash(topic, edge)
			wantCursor = h[:]
		}
		if req.GetRequestId() == "" || !req.GetIncludeData() || req.GetPubsubTopic() != topic ||
			!slices.Equal(req.GetContentTopics(), c.topics) || len(req.GetMessageHashes()) != 0 ||
			!equalPtr(req.TimeStart, c.start) || !equalPtr(req.TimeEnd, c.end) ||
			req.GetPaginationForward() != c.forward || (c.limit == 0) != (req.PaginationLimit == nil) || req.GetPaginationLimit() != c.limit ||
			!bytes.Equal(req.GetPaginationCursor(), wantCursor) {
			t.Fatalf("%s: request %d is %v; want cursor %x", c.name, i, &req, wantCursor)
		}
		var resp storepb.StoreQueryResponse
		if err := proto.Unmarshal(res.Responses[i], &resp); err != nil {
			t.Fatalf("%s: response %d: %v", c.name, i, err)
		}
		if resp.GetRequestId() != req.GetRequestId() || store.StatusCode(resp.GetStatusCode()) != store.StatusOK || resp.StatusDesc == nil ||
			len(resp.GetMessages()) != len(page) {
			t.Fatalf("%s: response %d to %q: status %d %q, %d messages, want %d", c.name, i, req.GetRequestId(),
				resp.GetStatusCode(), resp.GetStatusDesc(), len(resp.GetMessages()), len(page))
		}
		for j, kv := range resp.GetMessages() {
			h := wire.Hash(topic, page[j])
			if !bytes.Equal(kv.GetMessageHash(), h[:]) || kv.GetPubsubTopic() != topic || !proto.Equal(kv.GetMessage(), page[j]) {
				t.Fatalf("%s: response %d entry %d: %v, want hash %x of %v", c.name, i, j, kv, h, page[j])
			}
		}
	}
}

// checkStoredMessage checks a message js-waku's store client returned
// against the one published.
func checkStoredMessage(t *testing.T, what, topic string, got *WakuStoredMessage, want *messagepb.WakuMessage) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: js-waku's decoder refused it", what)
	}
	h := wire.Hash(topic, want)
	if got.PubsubTopic != topic || got.ContentTopic != want.GetContentTopic() || !bytes.Equal(got.Payload, want.GetPayload()) ||
		got.TimestampNs != strconv.FormatInt(want.GetTimestamp(), 10) || !bytes.Equal(got.RateLimitProof, want.GetRateLimitProof()) ||
		got.Ephemeral || len(got.Meta) != 0 || got.HashHex != hex.EncodeToString(h[:]) {
		t.Fatalf("%s: js-waku returned %+v, published %v (hash %x)", what, got, want, h)
	}
}

func ptrTo[T any](v T) *T { return &v }

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
