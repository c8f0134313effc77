package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

func serviceHost(t *testing.T) host.Host {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func serviceRelay(t *testing.T, h host.Host) *relay.Relay {
	v, err := relay.NewValidator(relay.ValidatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rc := relay.DefaultRouterConfig()
	rc.Params.HeartbeatInterval = 200 * time.Millisecond
	r, err := relay.New(h, relay.Config{ClusterID: 3, NumShards: 8, Validator: v, Router: &rc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// A store node archives what its relay delivers (not ephemeral messages)
// and answers store v3 queries: paging in both directions returns every
// message once, hash lookups, and a 400 for an unknown or malformed cursor.
func TestStoreService(t *testing.T) {
	storeHost, pubHost, client := serviceHost(t), serviceHost(t), serviceHost(t)
	storeRelay, pubRelay := serviceRelay(t, storeHost), serviceRelay(t, pubHost)
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ar, err := NewArchiver(storeRelay, db, ArchiverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ar.Close)
	svc, err := NewService(storeHost, db, ServiceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pubHost.Connect(ctx, peer.AddrInfo{ID: storeHost.ID(), Addrs: storeHost.Addrs()}); err != nil {
		t.Fatal(err)
	}
	if err := client.Connect(ctx, peer.AddrInfo{ID: storeHost.ID(), Addrs: storeHost.Addrs()}); err != nil {
		t.Fatal(err)
	}
	const ct = "/rlnd/1/store-test/proto"
	topic, _ := pubRelay.TopicFor(ct)
	for len(pubRelay.PubSub().TopicPeers(topic)) == 0 {
		if ctx.Err() != nil {
			t.Fatal("store node not subscribed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	const n = 45
	base := time.Now().UnixNano()
	for i := range n {
		m := wire.NewMessage(ct, []byte(fmt.Sprintf("message %d", i)), base+int64(i))
		if _, _, err := pubRelay.Publish(topic, m); err != nil {
			t.Fatal(err)
		}
	}
	eph := wire.NewMessage(ct, []byte("ephemeral"), base+1000)
	eph.Ephemeral = proto.Bool(true)
	if _, _, err := pubRelay.Publish(topic, eph); err != nil {
		t.Fatal(err)
	}
	for {
		c, _ := db.Count(ctx)
		if c == n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("archived %d of %d", c, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if c, _ := db.Count(ctx); c != n {
		t.Fatalf("archived %d messages, want %d (no ephemeral)", c, n)
	}

	query := func(req *storepb.StoreQueryRequest) *storepb.StoreQueryResponse {
		t.Helper()
		resp, err := QueryPeer(ctx, client, storeHost.ID(), req)
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
	svc, err := NewService(serviceHost(t), db, ServiceConfig{})
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
