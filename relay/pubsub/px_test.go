package pubsub

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// signedRecord is h's signed peer record, signed with key.
func signedRecord(t *testing.T, h host.Host, key crypto.PrivKey) []byte {
	t.Helper()
	env, err := record.Seal(peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}), key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A PRUNE offering a peer we have never heard of, with its signed peer
// record, leads to a connection to it; a record not signed by the offered
// peer is refused, counted, and dials nothing.
func TestPXSignedRecordDialed(t *testing.T) {
	a, b := newHost(t), newHost(t)
	offered, forger := newHost(t), newHost(t)
	cfg := routerConfig(1)
	cfg.Thresholds.AcceptPX = 0 // a new peer's PX is taken
	ps, err := New(b, Config{Router: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	a.SetStreamHandler(WakuRelayID, func(s network.Stream) { _ = s.Reset() })
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := a.NewStream(ctx, b.ID(), WakuRelayID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	prune := func(rec []byte) {
		t.Helper()
		body, err := proto.Marshal(&gossipsubpb.RPC{
			Subscriptions: []*gossipsubpb.SubOpts{{Subscribe: ptr(true), Topicid: ptr(topic)}},
			Control: &gossipsubpb.ControlMessage{Prune: []*gossipsubpb.ControlPrune{{
				TopicId: ptr(topic), Peers: []*gossipsubpb.PeerInfo{{PeerId: []byte(offered.ID()), SignedPeerRecord: rec}},
			}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := wire.WriteFrame(s, body); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.Peerstore().Addrs(offered.ID())) != 0 {
		t.Fatal("b knows the offered peer's addresses already")
	}
	prune(signedRecord(t, offered, forger.Peerstore().PrivKey(forger.ID())))
	testnet.WaitFor(t, 10*time.Second, "the forged record to be refused", func() bool { return ps.Stats().PXBadRecords == 1 })
	if st := ps.Stats(); st.PXDials != 0 || b.Network().Connectedness(offered.ID()) == network.Connected {
		t.Fatalf("a forged record was dialled (%d dials)", st.PXDials)
	}
	prune(signedRecord(t, offered, offered.Peerstore().PrivKey(offered.ID())))
	testnet.WaitFor(t, 10*time.Second, "a connection to the offered peer", func() bool {
		return b.Network().Connectedness(offered.ID()) == network.Connected
	})
}

// The PRUNEs a driver sends carry the signed peer records identify gave it
// of the peers it offers; a peer gone takes its record with it.
func TestPXRecordsAttached(t *testing.T) {
	b, c := newHost(t), newHost(t)
	ps, err := New(b, Config{Router: routerConfig(1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	connect(t, b, c)
	testnet.WaitFor(t, 10*time.Second, "identify to give b c's signed record", func() bool {
		has := false
		_ = ps.do(func(time.Time) { has = ps.records[c.ID()] != nil })
		return has
	})
	rpc := &gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Prune: []*gossipsubpb.ControlPrune{{
		TopicId: ptr(topic), Peers: []*gossipsubpb.PeerInfo{{PeerId: []byte(c.ID())}, {PeerId: []byte("not a peer id")}},
	}}}}
	if err := ps.do(func(time.Time) { ps.attachPeerRecords(rpc) }); err != nil {
		t.Fatal(err)
	}
	pis := rpc.Control.Prune[0].Peers
	if err := ps.consumePeerRecord(c.ID(), pis[0].SignedPeerRecord); err != nil || len(pis[0].SignedPeerRecord) == 0 {
		t.Fatalf("c's record: %d bytes, %v", len(pis[0].SignedPeerRecord), err)
	}
	if len(pis[1].SignedPeerRecord) != 0 {
		t.Fatal("a record for an id that is none")
	}
}

// A disconnected peer's record is forgotten (records stay bounded by the
// connected peers).
func TestPXRecordForgotten(t *testing.T) {
	b, c := newHost(t), newHost(t)
	ps, err := New(b, Config{Router: routerConfig(1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	connect(t, b, c)
	count := func() int {
		n := 0
		_ = ps.do(func(time.Time) { n = len(ps.records) })
		return n
	}
	testnet.WaitFor(t, 10*time.Second, "c's record", func() bool { return count() == 1 })
	c.Close()
	testnet.WaitFor(t, 10*time.Second, "c's record forgotten once it left", func() bool { return count() == 0 })
}
