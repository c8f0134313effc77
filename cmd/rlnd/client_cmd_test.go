package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/node"
)

// startServiceNode starts a devnet-preset node (cluster 66, 8 shards) with
// RLN off, on loopback, with no discovery, metrics or REST, changed by
// edit; it is closed when the test ends.
func startServiceNode(t *testing.T, edit func(*config.Config)) *node.Node {
	t.Helper()
	cfg, err := config.Preset("devnet")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RLN.Enabled = false
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Discovery = config.DiscoveryConfig{}
	cfg.Metrics.Enabled = false
	cfg.REST.Enabled = false
	cfg.Node.DataDir = t.TempDir()
	if edit != nil {
		edit(&cfg)
	}
	n, err := node.New(t.Context(), node.Options{Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// nodeAddr is n's first listen address with its peer id.
func nodeAddr(n *node.Node) string { return n.Addrs()[0].String() }

// link connects a to b within 10 s and waits (as long) until a has a relay
// peer on topic.
func linkRelay(t *testing.T, a, b *node.Node, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := a.Host().Connect(ctx, peer.AddrInfo{ID: b.Host().ID(), Addrs: b.Host().Libp2p().Addrs()}); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, 10*time.Second, "a relay peer on "+topic, func() bool { return len(a.Relay().PubSub().TopicPeers(topic)) != 0 })
}

// lightpush send: the cluster from --preset, the status printed with its
// name and the service's description, and a node without lightpush named
// with the setting that starts it.
func TestLightpushSendAnswers(t *testing.T) {
	t.Parallel()
	svc := startServiceNode(t, func(c *config.Config) { c.Lightpush.Enabled = true })
	plain := startServiceNode(t, nil)
	const ct = "/rlnd/1/cli-answers/proto"
	topic, err := autoshard.ShardFor(ct, 66, 8)
	if err != nil {
		t.Fatal(err)
	}
	send := []string{"lightpush", "send", "--content-topic", ct, "--payload", "hi", "--timeout", "20s"}

	// No relay peer yet: 505 with the service's description, found on
	// the devnet cluster without --cluster.
	code, stdout, stderr := runCLI(t, nil, append(send, "--preset", "devnet", "--peer", nodeAddr(svc))...)
	wantLine := "status 505 NO_PEERS_TO_RELAY (no relay peers on " + topic.String() + ")"
	if code != 1 || stdout != wantLine+"\n" {
		t.Fatalf("no relay peers: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	oneLine(t, stderr, "lightpush refused: "+wantLine)
	// The same cluster from the environment, and a shard the node does
	// not relay.
	code, stdout, stderr = runCLI(t, []string{"RLND_PRESET=devnet"}, append(send, "--peer", nodeAddr(svc), "--pubsub-topic", "/waku/2/rs/66/9")...)
	if code != 1 || stdout != "status 421 UNSUPPORTED_PUBSUB_TOPIC (this node does not relay /waku/2/rs/66/9)\n" {
		t.Fatalf("shard 9: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	// A node without lightpush.
	code, _, stderr = runCLI(t, nil, append(send, "--preset", "devnet", "--peer", nodeAddr(plain))...)
	if code != 1 {
		t.Fatalf("no lightpush: exit %d %s", code, stderr)
	}
	oneLine(t, stderr, "the peer "+plain.Host().ID().String()+" does not serve lightpush: start it with lightpush.enabled=true (rlnd node --lightpush-enabled; nwaku: --lightpush)")

	// With a relay peer, a message without a proof at a service that
	// attaches none (TestLightpushSendCommand has the 200).
	linkRelay(t, svc, plain, topic.String())
	code, stdout, _ = runCLI(t, nil, append(send, "--preset", "devnet", "--peer", nodeAddr(svc))...)
	if code != 1 || stdout != "status 420 INVALID_MESSAGE (message has no RLN proof and this node does not attach them)\n" {
		t.Fatalf("no proof: exit %d stdout %q", code, stdout)
	}
	// The Waku Network's cluster (no preset) is not the node's.
	code, _, stderr = runCLI(t, nil, append(send, "--peer", nodeAddr(svc))...)
	if code != 1 {
		t.Fatalf("cluster 1: exit %d %s", code, stderr)
	}
	// Which side notices first words it differently.
	oneLine(t, stderr, "peer is on another cluster: ")
	if !strings.Contains(stderr, "cluster 66, we are on 1 (this client's cluster is 1, from default): give the node's cluster with --preset, --config or --cluster") {
		t.Fatalf("cluster 1: %s", stderr)
	}

	// Out of range and malformed values are usage errors naming the range.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--num-shards", "0"}, "--num-shards 0: want 1 to 1024"},
		{[]string{"--cluster", "70000"}, "--cluster 70000: want 0 to 65535"},
		{[]string{"--timeout", "0s"}, "--timeout 0s: want a duration > 0"},
		{[]string{"--preset", "nope"}, `unknown preset "nope"`},
	} {
		code, _, stderr := runCLI(t, nil, append(append(send, "--peer", nodeAddr(svc)), tt.args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d %s", tt.args, code, stderr)
			continue
		}
		oneLine(t, stderr, tt.want)
	}
}
