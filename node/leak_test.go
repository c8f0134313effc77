package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// Two nodes exchange a message over relay, filter, store and lightpush;
// once both are closed, no goroutine either started is left. Close must
// have waited for them: the check gives goroutines no more time to wind
// down than goleak's retries (3 s, for goleveldb's pool drainer).
//
// Nothing is ignored besides what ran before the nodes: the libraries of
// a node start no process-wide workers (no opencensus or glog daemons are
// linked in; libp2p's hosts stop all of theirs on Close), so any goroutine
// left is a node's.
func TestNodeCloseLeavesNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	// Registered first, so it runs after the cleanups that close the nodes.
	// discv5's node database (goleveldb, in memory here) stops its pool
	// drainer up to a second after it is closed: the check polls goleak
	// for up to 3 s rather than its own half second of retries.
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			err := goleak.Find(before)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Error(err)
				return
			}
			time.Sleep(50 * time.Millisecond) // polling goleak, not synchronising
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	cfg, err := config.Preset("devnet")

	cfg.REST.Enabled = false // tests that want REST listen on a free port
	if err != nil {
		t.Fatal(err)
	}
	cfg.RLN.Enabled = false
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Metrics.Enabled, cfg.Metrics.Address = true, "127.0.0.1:0"
	cfg.Lightpush.Enabled = true
	cfg.Filter.Enabled = true
	cfg.Store.Enabled, cfg.Store.DBPath, cfg.Store.DBURL = true, filepath.Join(t.TempDir(), "store.db"), ""
	service, err := New(ctx, Options{Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { service.Close() })

	// The client node relays only, and keeps the service as a static peer.
	ccfg, err := config.Preset("devnet")
	ccfg.REST.Enabled = false // tests that want REST listen on a free port
	if err != nil {
		t.Fatal(err)
	}
	ccfg.RLN.Enabled = false
	ccfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	ccfg.Metrics.Enabled = false
	ccfg.Lightpush.Enabled, ccfg.Filter.Enabled, ccfg.Store.Enabled = false, false, false
	ccfg.P2P.StaticPeers = []string{service.Addrs()[0].String()}
	client, err := New(ctx, Options{Config: &ccfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	clientHost, serviceID := client.Host().Libp2p(), service.Host().ID()

	const contentTopic = "/app/1/leak/proto"
	topic, err := service.Relay().TopicFor(contentTopic)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(ctx, t, "the nodes to mesh", func() bool { return len(service.Relay().PubSub().MeshPeers(topic)) > 0 })

	fc := filter.NewClient(clientHost)
	t.Cleanup(fc.Close)
	if err := fc.Subscribe(ctx, serviceID, topic, []string{contentTopic}); err != nil {
		t.Fatal(err)
	}
	m := wire.NewMessage(contentTopic, []byte("leak check"), time.Now().UnixNano())
	if _, _, err := client.Relay().Publish(topic, m); err != nil {
		t.Fatal(err)
	}
	select {
	case env := <-fc.C():
		if string(env.Message.GetPayload()) != "leak check" {
			t.Fatalf("filter pushed %q", env.Message.GetPayload())
		}
	case <-ctx.Done():
		t.Fatal("the service did not push the message to the filter client")
	}
	waitUntil(ctx, t, "the message in the store", func() bool {
		resp, err := store.QueryPeer(ctx, clientHost, serviceID, &storepb.StoreQueryRequest{PubsubTopic: &topic, ContentTopics: []string{contentTopic}})
		return err == nil && len(resp.GetMessages()) == 1
	})
	// Without RLN the service attaches no proofs: it answers, which is all
	// this test needs of it.
	if _, err := lightpush.Push(ctx, clientHost, serviceID, topic, wire.NewMessage(contentTopic, []byte("pushed"), time.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	// A scrape, on a connection that is not kept alive for later requests.
	scraper := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := scraper.Get(fmt.Sprintf("http://%s/metrics", service.MetricsAddr()))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	fc.Close()
	closeWithin(t, "the client node", client.Close)
	closeWithin(t, "the service node", service.Close)
}

// closeWithin calls stop and fails the test if it does not return within
// 30 s (a goroutine Close waits for that was not stopped).
func closeWithin(t *testing.T, what string, stop func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- stop() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("close %s: %v", what, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("closing %s did not return within 30 s", what)
	}
}

// waitUntil polls cond until it holds or ctx ends.
func waitUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
