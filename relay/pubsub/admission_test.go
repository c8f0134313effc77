package pubsub

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// A peer that fails the host's metadata check (it does not speak the
// metadata protocol) opens its pubsub stream at once and sends a
// subscription and a message before the check has an outcome: with
// AwaitPeer the driver reads none of it, takes no peer and sends nothing;
// without it, the same peer is taken and its message received. A peer
// that passes the check is taken, and meshes.
func TestPeerTakenOnlyOnceAdmitted(t *testing.T) {
	const cluster = 7
	for _, tc := range []struct {
		name  string
		await bool
	}{{"admission awaited", true}, {"no admission", false}} {
		t.Run(tc.name, func(t *testing.T) {
			// Without admission the target is a plain host, which keeps
			// every peer: the control that the stranger's RPCs do arrive.
			var target *p2p.Host
			targetHost := newHost(t)
			cfg := Config{Router: routerConfig(1)}
			if tc.await {
				target = testnet.Host(t, cluster)
				targetHost = target.Libp2p()
				cfg.AwaitPeer = func(ctx context.Context, p peer.ID) error { _, err := target.WaitPeer(ctx, p); return err }
			}
			ps, err := New(targetHost, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ps.Close() })
			if _, err := ps.Subscribe(topic); err != nil {
				t.Fatal(err)
			}

			// The stranger: a plain libp2p host with no metadata protocol.
			stranger := newHost(t)
			wrote := make(chan struct{}, 1)
			stranger.SetStreamHandler(WakuRelayID, func(s network.Stream) {
				wrote <- struct{}{} // the target opened its stream to us
				_ = s.Reset()
			})
			connect(t, stranger, targetHost)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := stranger.NewStream(ctx, targetHost.ID(), WakuRelayID)
			if err == nil {
				body, err := proto.Marshal(&gossipsubpb.RPC{
					Subscriptions: []*gossipsubpb.SubOpts{{Subscribe: ptr(true), Topicid: ptr(topic)}},
					Publish:       []*gossipsubpb.Message{{Data: []byte("from a stranger"), Topic: ptr(topic)}},
				})
				if err != nil {
					t.Fatal(err)
				}
				_ = wire.WriteFrame(s, body)
				defer s.Reset()
			}
			if !tc.await {
				testnet.WaitFor(t, 10*time.Second, "the stranger's message received without admission", func() bool {
					return ps.Stats().MessagesReceived == 1
				})
				return
			}
			testnet.WaitFor(t, 15*time.Second, "the metadata check to reject the stranger", func() bool {
				_, rejected := target.Rejected(stranger.ID())
				return rejected && targetHost.Network().Connectedness(stranger.ID()) != network.Connected
			})
			if st := ps.Stats(); st.MessagesReceived != 0 || st.RPCsIn != 0 || st.Peers != 0 || len(wrote) != 0 {
				t.Fatalf("a peer that failed the metadata check was taken: %d messages, %d RPCs read, %d peers, stream opened to it %v",
					st.MessagesReceived, st.RPCsIn, st.Peers, len(wrote) != 0)
			}

			// A Waku peer of the cluster is admitted and taken.
			friend := testnet.Host(t, cluster)
			fps, err := New(friend.Libp2p(), Config{Router: routerConfig(2),
				AwaitPeer: func(ctx context.Context, p peer.ID) error { _, err := friend.WaitPeer(ctx, p); return err }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fps.Close() })
			if _, err := fps.Subscribe(topic); err != nil {
				t.Fatal(err)
			}
			testnet.Connect(t, friend, target)
			testnet.WaitFor(t, 10*time.Second, "the admitted peer in the mesh", func() bool {
				return len(ps.MeshPeers(topic)) == 1 && len(fps.MeshPeers(topic)) == 1
			})
		})
	}
}
