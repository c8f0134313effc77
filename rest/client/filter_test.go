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

const (
	cluster  = 66
	filterCT = "/client-test/1/filter/proto"
)

// startNode starts a node with RLN off on loopback, its REST API on a free
// port; edit changes its configuration first. It is closed when the test
// ends.
func startNode(t *testing.T, edit func(*config.Config)) *node.Node {
	t.Helper()
	cfg, err := config.Preset("devnet")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RLN.Enabled = false
	cfg.Network.ClusterID = cluster
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Discovery = config.DiscoveryConfig{}
	cfg.Metrics.Enabled = false
	cfg.REST.Enabled, cfg.REST.Address = true, "127.0.0.1:0"
	cfg.Node.DataDir = t.TempDir()
	if edit != nil {
		edit(&cfg)
	}
	n, err := node.New(t.Context(), node.Options{Config: &cfg, Version: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// The client's filter calls against a node whose filter service peer is
// another node: subscribe, ping, read in both forms, unsubscribe, and the
// failures as *Error with the node's FilterSubscriptionResponse.
func TestFilterCalls(t *testing.T) {
	t.Parallel()
	a := startNode(t, func(c *config.Config) { c.Filter.Enabled = true })
	service := a.Addrs()[0].String() + "/p2p/" + a.Host().ID().String()
	b := startNode(t, func(c *config.Config) { c.Filter.ServiceNode = service })
	c, err := client.New("http://"+b.RESTAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
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
	shard, err := autoshard.ShardFor(filterCT, cluster, 8)
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
