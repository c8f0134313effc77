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
	// --preset devnet gives the node's cluster and shard count.
	code, out, errOut := runCLI(t, nil, "store", "query", "--peer", addr, "--content-topic", ct, "--preset", "devnet", "--all", "--page-size", "10", "--json")
	var msgs []storedJSON
	if code != 0 || json.Unmarshal([]byte(out), &msgs) != nil || len(msgs) != 25 || msgs[0].PubsubTopic != topic {
		t.Fatalf("exit %d, %d messages: %s %s", code, len(msgs), out, errOut)
	}
	// So does $RLND_PRESET.
	code, out, _ = runCLI(t, []string{"RLND_PRESET=devnet"}, "store", "query", "--peer", addr, "--hash", msgs[3].Hash)
	if code != 0 || !strings.Contains(out, `"stored 3"`) || !strings.Contains(out, "1 messages") {
		t.Fatalf("hash query: exit %d %s", code, out)
	}
	// A time range: start inclusive, end exclusive, in Unix ns or RFC 3339.
	code, out, errOut = runCLI(t, nil, "store", "query", "--peer", addr, "--content-topic", ct, "--preset", "devnet", "--json",
		"--start", fmt.Sprint(msgs[5].Timestamp), "--end", time.Unix(0, msgs[8].Timestamp).UTC().Format(time.RFC3339Nano))
	var ranged []storedJSON
	if code != 0 || json.Unmarshal([]byte(out), &ranged) != nil || len(ranged) != 3 || ranged[0].Hash != msgs[5].Hash {
		t.Fatalf("time range: exit %d %s %s", code, out, errOut)
	}
	// The publisher serves no store.
	code, _, errOut = runCLI(t, nil, "store", "query", "--peer", pub.Addrs()[0].String(), "--preset", "devnet", "--content-topic", ct)
	if code != 1 {
		t.Fatalf("no store: exit %d %s", code, errOut)
	}
	oneLine(t, errOut, "does not serve store: start it with store.enabled=true (rlnd node --store-enabled; nwaku: --store)")
}

// store query refuses, before it dials, what cannot be a query: each is
// one line naming the flag and what it wants.
func TestStoreQueryBadFlags(t *testing.T) {
	t.Parallel()
	// A peer that is never dialled.
	const addr = "/ip4/127.0.0.1/tcp/9/p2p/16Uiu2HAmGUcpJh3KJ8ovH4VQffQzBPXyUnpgyXNW6q25bhsFfN5D"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--hash", "0x12"}, "--hash 0x12"},
		{[]string{"--page-size", "0"}, "--page-size 0: want 1 to 100"},
		{[]string{"--page-size", "-5"}, "--page-size -5: want 1 to 100"},
		{[]string{"--page-size", "101"}, "--page-size 101: want 1 to 100"},
		{[]string{"--start", "12abc"}, `--start: "12abc" is not a time: want RFC 3339 (2006-01-02T15:04:05Z) or Unix nanoseconds (digits only)`},
		{[]string{"--end", " 12"}, `--end: " 12" is not a time`},
		{[]string{"--end", "-12"}, `--end: "-12" is not a time`},
		{[]string{"--start", "2026-06-01"}, `--start: "2026-06-01" is not a time`},
		{[]string{"--start", "99999999999999999999"}, `--start: "99999999999999999999" is past the largest Unix time in nanoseconds`},
		{[]string{"--start", "2000", "--end", "1000"}, "--start 2000 is not before --end 1000: the range is start inclusive, end exclusive, so it would hold nothing; want a start before the end"},
		{[]string{"--start", "2026-06-01T12:00:00Z", "--end", "2026-06-01T12:00:00Z"}, "--start 2026-06-01T12:00:00Z is not before --end 2026-06-01T12:00:00Z"},
		{[]string{"--start", "2026-06-01T15:00:00+02:00", "--end", "2026-06-01T12:00:00Z"}, "is not before --end"},
		{[]string{"--cluster", "-1"}, "--cluster -1: want 0 to 65535"},
		{[]string{"--num-shards", "2000"}, "--num-shards 2000: want 1 to 1024"},
		{[]string{"--timeout", "-1s"}, "--timeout -1s: want a duration > 0"},
		{[]string{"--config", "/nonexistent/rlnd.yaml"}, "cannot read config file"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, nil, append([]string{"store", "query", "--peer", addr, "--content-topic", "/rlnd/1/x/proto"}, tt.args...)...)
			if code != 2 {
				t.Fatalf("exit %d %q", code, stderr)
			}
			oneLine(t, stderr, tt.want)
		})
	}
}

// parseTime takes RFC 3339 or digits only.
func TestParseTime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"0": 0, "1748779200000000000": 1748779200000000000,
		"2025-06-01T12:00:00Z": 1748779200000000000, "2025-06-01T14:00:00.5+02:00": 1748779200500000000} {
		if got, err := parseTime(in); err != nil || got != want {
			t.Errorf("parseTime(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12abc", "abc", "1e9", "0x10", "+5", "12 ", "2025-06-01", "2025-06-01T12:00:00"} {
		if got, err := parseTime(in); err == nil {
			t.Errorf("parseTime(%q) = %d, want an error", in, got)
		}
	}
}
