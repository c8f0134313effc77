package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/internal/relaytest"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// testCluster is the cluster of the store tests' relays.
const testCluster = 3

// A store node archives what its relay delivers (not ephemeral messages)
// and answers store v3 queries: paging in both directions returns every
// message once, hash lookups, and a 400 for an unknown or malformed cursor.
func TestStoreService(t *testing.T) {
	storeNode, pubNode := relaytest.Start(t, testCluster, nil), relaytest.Start(t, testCluster, nil)
	client := testnet.Host(t, testCluster)
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// arrivals sees the store node's deliveries in the order the
	// archiver's own subscription gets them (one delivery loop feeds both).
	arrivals := storeNode.Relay.Subscribe()
	ar, err := NewArchiver(storeNode.Relay, db, ArchiverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ar.Close)
	svc, err := NewService(storeNode.Host.Libp2p(), db, ServiceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const ct = "/rlnd/1/store-test/proto"
	topic, _ := pubNode.Relay.TopicFor(ct)
	relaytest.Link(t, 30*time.Second, pubNode, storeNode, topic)
	testnet.Connect(t, client, storeNode.Host)
	const n = 45
	base := time.Now().UnixNano()
	publish := func(m *messagepb.WakuMessage) wire.MessageHash {
		t.Helper()
		h, _, err := pubNode.Relay.Publish(topic, m)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	message := func(i int) *messagepb.WakuMessage {
		return wire.NewMessage(ct, []byte(fmt.Sprintf("message %d", i)), base+int64(i))
	}
	for i := range n - 1 {
		publish(message(i))
	}
	eph := wire.NewMessage(ct, []byte("ephemeral"), base+1000)
	eph.Ephemeral = proto.Bool(true)
	ephHash := publish(eph)
	// Once the store node delivered the ephemeral message, the archiver
	// has it before anything published after: when the last message is
	// archived, the ephemeral one was judged.
	for delivered := false; !delivered; {
		select {
		case env := <-arrivals.C():
			delivered = env.Hash == ephHash
		case <-ctx.Done():
			t.Fatal("the store node did not deliver the ephemeral message")
		}
	}
	last := publish(message(n - 1))
	testnet.WaitFor(t, 30*time.Second, "the last message to be archived", func() bool {
		p, err := db.Query(ctx, Query{Hashes: []wire.MessageHash{last}})
		return err == nil && len(p.Messages) == 1
	})
	if c, _ := db.Count(ctx); c != n {
		t.Fatalf("archived %d messages, want %d (no ephemeral)", c, n)
	}

	query := func(req *storepb.StoreQueryRequest) *storepb.StoreQueryResponse {
		t.Helper()
		resp, err := QueryPeer(ctx, client.Libp2p(), storeNode.Host.ID(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusDesc == nil {
			t.Fatal("no status_desc")
		}
		return resp
	}
	for _, forward := range []bool{true, false} {
		seen := map[string]bool{}
		var cursor []byte
		pages := 0
		for {
			resp := query(&storepb.StoreQueryRequest{IncludeData: true, PubsubTopic: &topic, ContentTopics: []string{ct},
				PaginationForward: forward, PaginationLimit: proto.Uint64(20), PaginationCursor: cursor})
			if StatusCode(resp.GetStatusCode()) != StatusOK {
				t.Fatalf("status %d %s", resp.GetStatusCode(), resp.GetStatusDesc())
			}
			pages++
			for i, kv := range resp.Messages {
				if seen[string(kv.MessageHash)] || kv.GetPubsubTopic() != topic || kv.Message == nil {
					t.Fatalf("page %d entry %d: %v", pages, i, kv)
				}
				seen[string(kv.MessageHash)] = true
				if i > 0 && resp.Messages[i-1].Message.GetTimestamp() > kv.Message.GetTimestamp() {
					t.Fatal("page not in ascending order")
				}
			}
			if resp.PaginationCursor == nil {
				break
			}
			cursor = resp.PaginationCursor
		}
		if len(seen) != n || pages != 3 {
			t.Fatalf("forward %v: %d messages in %d pages", forward, len(seen), pages)
		}
	}
	// Hash lookup without data.
	one := wire.Hash(topic, wire.NewMessage(ct, []byte("message 7"), base+7))
	resp := query(&storepb.StoreQueryRequest{MessageHashes: [][]byte{one[:]}})
	if StatusCode(resp.GetStatusCode()) != StatusOK || len(resp.Messages) != 1 || resp.Messages[0].Message != nil {
		t.Fatalf("hash lookup: %v", resp)
	}
	// js-waku's sdk sends the pubsub topic with the hashes: answered, and
	// a topic the message is not on narrows the lookup to nothing.
	if resp := query(&storepb.StoreQueryRequest{PubsubTopic: &topic, MessageHashes: [][]byte{one[:]}}); StatusCode(resp.GetStatusCode()) != StatusOK || len(resp.Messages) != 1 {
		t.Fatalf("hash lookup with its pubsub topic: %v", resp)
	}
	other := "/waku/2/rs/9/9"
	if resp := query(&storepb.StoreQueryRequest{PubsubTopic: &other, MessageHashes: [][]byte{one[:]}}); StatusCode(resp.GetStatusCode()) != StatusOK || len(resp.Messages) != 0 {
		t.Fatalf("hash lookup with another pubsub topic: %v", resp)
	}
	// An unknown cursor is an error, not everything; so is a malformed one.
	unknown := wire.Hash(topic, wire.NewMessage(ct, []byte("never sent"), base))
	if resp := query(&storepb.StoreQueryRequest{PubsubTopic: &topic, PaginationCursor: unknown[:]}); StatusCode(resp.GetStatusCode()) != StatusBadRequest || len(resp.Messages) != 0 {
		t.Fatalf("unknown cursor: %v", resp)
	}
	if resp := query(&storepb.StoreQueryRequest{PubsubTopic: &topic, PaginationCursor: []byte{1, 2, 3}}); StatusCode(resp.GetStatusCode()) != StatusBadRequest {
		t.Fatalf("short cursor: %v", resp)
	}
	if resp := query(&storepb.StoreQueryRequest{ContentTopics: []string{ct}}); StatusCode(resp.GetStatusCode()) != StatusBadRequest {
		t.Fatalf("content topic without pubsub topic: %v", resp)
	}
}

// js-waku's store client (0.0.27) pages without the answer's
// pagination_cursor: its next cursor is the message_hash of the last entry
// of a page going forward and of the first going backward, and it stops
// only at a page with no messages. Both must work here: every message once,
// pages in ascending order, and the request past the end answered 200 with
// an empty page (an error would fail the whole query in js-waku).
func TestServiceEntryCursorPaging(t *testing.T) {
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, err := NewService(testnet.Host(t, testCluster).Libp2p(), db, ServiceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic, ct := "/waku/2/rs/3/0", "/rlnd/1/paging/proto"
	base := time.Now().UnixNano()
	var all []Stored
	for i := range 25 {
		all = append(all, NewStored(topic, wire.NewMessage(ct, []byte(fmt.Sprintf("message %d", i)), base+int64(i)*1000)))
	}
	if n, err := db.Put(ctx, all); err != nil || n != len(all) {
		t.Fatalf("put %d of %d: %v", n, len(all), err)
	}
	for _, forward := range []bool{true, false} {
		var cursor []byte
		var sizes []int
		seen := map[string]int{}
		for len(sizes) < 10 {
			req := &storepb.StoreQueryRequest{RequestId: fmt.Sprint("page ", len(sizes)), IncludeData: true, PubsubTopic: &topic,
				ContentTopics: []string{ct}, PaginationForward: forward, PaginationLimit: proto.Uint64(10), PaginationCursor: cursor}
			resp := svc.Answer(ctx, req)
			if StatusCode(resp.GetStatusCode()) != StatusOK || resp.StatusDesc == nil || resp.GetRequestId() != req.RequestId {
				t.Fatalf("forward %v, request %d: %v", forward, len(sizes), resp)
			}
			sizes = append(sizes, len(resp.Messages))
			if len(resp.Messages) == 0 {
				break
			}
			for i, kv := range resp.Messages {
				seen[string(kv.GetMessage().GetPayload())]++
				if i > 0 && resp.Messages[i-1].GetMessage().GetTimestamp() >= kv.GetMessage().GetTimestamp() {
					t.Fatalf("forward %v: page %d not in ascending order", forward, len(sizes))
				}
			}
			edge := resp.Messages[len(resp.Messages)-1]
			if !forward {
				edge = resp.Messages[0]
			}
			cursor = edge.GetMessageHash()
		}
		if fmt.Sprint(sizes) != "[10 10 5 0]" || len(seen) != len(all) {
			t.Fatalf("forward %v: pages %v, %d distinct messages", forward, sizes, len(seen))
		}
		for p, n := range seen {
			if n != 1 {
				t.Fatalf("forward %v: %q returned %d times", forward, p, n)
			}
		}
	}
}
