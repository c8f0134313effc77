// Package relaytest starts Waku relays on testnet hosts for the tests of
// the protocols that run beside relay (store, filter, lightpush), and
// links them. (relay's own tests cannot import it, as it imports relay;
// they use testnet's hosts.)
package relaytest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/relay"
)

// NumShards is the shard count of the test relays' cluster: each relays
// all of them.
const NumShards = 8

// Heartbeat is the test relays' gossipsub heartbeat, shorter than Waku's
// second so that meshes form and heal quickly.
const Heartbeat = 200 * time.Millisecond

// New starts a relay on h, on h's cluster with NumShards shards and a
// Heartbeat heartbeat, validating with v (nil: a validator without RLN,
// which checks the messages' form only). It is closed at the end of the
// test. Like a node's, it takes a peer only once the host's metadata
// check admitted it.
func New(tb testing.TB, h *p2p.Host, v *relay.Validator) *relay.Relay {
	tb.Helper()
	if v == nil {
		var err error
		if v, err = relay.NewValidator(relay.ValidatorConfig{}); err != nil {
			tb.Fatal(err)
		}
	}
	rc := relay.DefaultRouterConfig()
	rc.Params.HeartbeatInterval = Heartbeat
	r, err := relay.New(h.Libp2p(), relay.Config{ClusterID: h.ClusterID(), NumShards: NumShards, Validator: v, Router: &rc,
		AwaitPeer: func(ctx context.Context, p peer.ID) error { _, err := h.WaitPeer(ctx, p); return err }})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// Node is a test host and the relay on it.
type Node struct {
	Host  *p2p.Host
	Relay *relay.Relay
}

// Start starts a host on cluster at 127.0.0.1 and a relay on it (see New).
func Start(tb testing.TB, cluster uint16, v *relay.Validator) *Node {
	tb.Helper()
	h := testnet.Host(tb, cluster)
	return &Node{Host: h, Relay: New(tb, h, v)}
}

// Link connects a to b and waits, for at most within, until each relay
// has the other among its peers on every one of topics: from then on
// what either publishes there reaches the other.
func Link(tb testing.TB, within time.Duration, a, b *Node, topics ...string) {
	tb.Helper()
	testnet.Connect(tb, a.Host, b.Host)
	testnet.WaitFor(tb, within, fmt.Sprintf("%s and %s to see each other on %v", a.Host.ID(), b.Host.ID(), topics), func() bool {
		for _, t := range topics {
			if !slices.Contains(a.Relay.PubSub().TopicPeers(t), b.Host.ID()) || !slices.Contains(b.Relay.PubSub().TopicPeers(t), a.Host.ID()) {
				return false
			}
		}
		return true
	})
}
