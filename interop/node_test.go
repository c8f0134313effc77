package interop

import (
	"context"
	"testing"
	"time"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
)

// startRlndNode builds a whole rlnd node (node.New, as `rlnd node` does) on
// loopback TCP and websocket, with the group given instead of synced from
// a chain and a short heartbeat. edit may change the configuration first
// (to turn services on, for example).
func startRlndNode(t *testing.T, cluster uint16, numShards int, group membership.Group, verifier *rln.Verifier, edit ...func(*config.Config)) (*node.Node, *config.Config) {
	t.Helper()
	return startRlndNodeWith(t, cluster, numShards, group, verifier, nil, edit...)
}

// startRlndNodeWith is startRlndNode with opts applied to the node's
// options (memberships and prover for proof as a service, say).
func startRlndNodeWith(t *testing.T, cluster uint16, numShards int, group membership.Group, verifier *rln.Verifier, opts func(*node.Options), edit ...func(*config.Config)) (*node.Node, *config.Config) {
	t.Helper()
	cfg, err := config.Preset("devnet")
	cfg.REST.Enabled = false // tests that want REST listen on a free port
	if err != nil {
		t.Fatal(err)
	}
	cfg.Network.ClusterID, cfg.Network.NumShards = cluster, numShards
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"}
	cfg.Metrics.Enabled = false
	for _, e := range edit {
		e(&cfg)
	}
	rc := relay.DefaultRouterConfig()
	rc.Params.HeartbeatInterval = 300 * time.Millisecond
	o := node.Options{Config: &cfg, Group: group, Verifier: verifier, Router: &rc}
	if opts != nil {
		opts(&o)
	}
	nd, err := node.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nd.Close() })
	return nd, &cfg
}
