package client_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/rest/client"
	"github.com/rlnd/rlnd/wire"
)

const filterCT = "/client-test/1/filter/proto"

// The client's filter calls against a node whose filter service peer is
// another node: subscribe, ping, read in both forms, unsubscribe, and the
// failures as *Error with the node's FilterSubscriptionResponse.
func TestFilterCalls(t *testing.T) {
	t.Parallel()
	a, _ := startNode(t, func(c *config.Config, _ *node.Options) { c.Filter.Enabled = true })
	service := a.Addrs()[0].String()
	_, c := startNode(t, func(c *config.Config, _ *node.Options) { c.Filter.ServiceNode = service })
	ctx := t.Context()

	r, err := c.FilterPing(ctx, "p0")
	if client.StatusOf(err) != http.StatusNotFound || r.RequestID != "p0" || r.StatusDesc != "peer has no subscriptions" {
		t.Fatalf("ping before subscribing: %+v, %v; want 404 with the node's answer", r, err)
	}
	r, err = c.FilterSubscribe(ctx, api.FilterSubscribeRequest{RequestID: "s", ContentFilters: []string{filterCT}})
	if err != nil || r != (api.FilterSubscriptionResponse{RequestID: "s", StatusDesc: "OK"}) {
		t.Fatalf("subscribe: %+v, %v", r, err)
	}
	if r, err = c.FilterPing(ctx, "p1"); err != nil || r.StatusDesc != "OK" {
		t.Fatalf("ping: %+v, %v", r, err)
	}
	if _, _, err := a.Relay().Publish("", wire.NewMessage(filterCT, []byte("hi"), time.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	var got []api.Message
	testnet.WaitFor(t, 15*time.Second, "the pushed message", func() bool {
		page, err := c.FilterMessages(ctx, "", filterCT)
		if err != nil {
			t.Fatalf("messages: %v", err)
		}
		got = append(got, page...)
		return len(got) > 0
	})
	if len(got) != 1 || got[0].ContentTopic != filterCT || got[0].Payload != "aGk=" {
		t.Fatalf("got %+v, want the one message", got)
	}
	shard, err := autoshard.ShardFor(filterCT, testCluster, 8)
	if err != nil {
		t.Fatal(err)
	}
	if page, err := c.FilterMessages(ctx, shard.String(), filterCT); err != nil || len(page) != 0 {
		t.Fatalf("by pair after the read: %+v, %v; want none", page, err)
	}
	if r, err = c.FilterUnsubscribe(ctx, api.FilterUnsubscribeRequest{RequestID: "u", ContentFilters: []string{filterCT}}); err != nil || r.RequestID != "u" {
		t.Fatalf("unsubscribe: %+v, %v", r, err)
	}
	if _, err := c.FilterMessages(ctx, "", filterCT); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("messages after unsubscribing: %v, want 404", err)
	}
	r, err = c.FilterUnsubscribeAll(ctx, "all")
	if client.StatusOf(err) != http.StatusNotFound || r.RequestID != "all" || r.StatusDesc != "peer has no subscriptions" {
		t.Fatalf("unsubscribe-all with none: %+v, %v; want 404", r, err)
	}
	r, err = c.FilterSubscribe(ctx, api.FilterSubscribeRequest{RequestID: "bad", ContentFilters: []string{"no-shard"}})
	if client.StatusOf(err) != http.StatusBadRequest || r.RequestID != "bad" || r.StatusDesc == "" {
		t.Fatalf("bad subscribe: %+v, %v; want 400 with a description", r, err)
	}
}
