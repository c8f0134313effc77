package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/wire"
)

// `rlnd store query` pages through what a store node archived.
func TestStoreQueryCommand(t *testing.T) {
	start := func(storeOn bool) *node.Node {
		cfg, _ := config.Preset("devnet")
		cfg.REST.Enabled = false // tests that want REST listen on a free port
		cfg.RLN.Enabled = false
		cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		cfg.Metrics.Enabled = false
		cfg.Store.Enabled, cfg.Store.DBPath = storeOn, filepath.Join(t.TempDir(), "store.db")
		n, err := node.New(context.Background(), node.Options{Config: &cfg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	st, pub := start(true), start(false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := pub.Host().Connect(ctx, peer.AddrInfo{ID: st.Host().ID(), Addrs: st.Host().Libp2p().Addrs()}); err != nil {
		t.Fatal(err)
	}
	const ct = "/rlnd/1/cli-store/proto"
	topic, _ := pub.Relay().TopicFor(ct)
	testnet.WaitFor(t, 30*time.Second, "the store node's subscription", func() bool { return len(pub.Relay().PubSub().TopicPeers(topic)) != 0 })
	now := time.Now().UnixNano()
	for i := range 25 {
		if _, _, err := pub.Relay().Publish(topic, wire.NewMessage(ct, []byte(fmt.Sprintf("stored %d", i)), now+int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	testnet.WaitFor(t, 30*time.Second, "25 messages archived", func() bool {
		c, _ := st.Archive().Count(ctx)
		return c == 25
	})
	addr := st.Addrs()[0].String()
	code, out, errOut := runCLI(t, nil, "store", "query", "--peer", addr, "--content-topic", ct, "--cluster", "66", "--all", "--page-size", "10", "--json")
	var msgs []storedJSON
	if code != 0 || json.Unmarshal([]byte(out), &msgs) != nil || len(msgs) != 25 || msgs[0].PubsubTopic != topic {
		t.Fatalf("exit %d, %d messages: %s %s", code, len(msgs), out, errOut)
	}
	code, out, _ = runCLI(t, nil, "store", "query", "--peer", addr, "--hash", msgs[3].Hash, "--cluster", "66")
	if code != 0 || !strings.Contains(out, `"stored 3"`) || !strings.Contains(out, "1 messages") {
		t.Fatalf("hash query: exit %d %s", code, out)
	}
	if code, _, _ := runCLI(t, nil, "store", "query", "--peer", addr, "--hash", "0x12"); code != 2 {
		t.Fatalf("bad hash: exit %d", code)
	}
}
