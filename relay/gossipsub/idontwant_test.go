package gossipsub

import (
	"testing"
	"time"

	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// IDONTWANT goes, as nwaku sends it, to the mesh peers on Waku relay's id
// and on gossipsub v1.2, not to those on v1.1, and only for messages
// larger than 512 bytes and ten times their id.
func TestIDontWantByProtocol(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	r, err := New(Config{Params: DefaultParams(), MsgID: testMsgID})
	if err != nil {
		t.Fatal(err)
	}
	r.Join(now, topic)
	peers := map[PeerID]Protocol{"relay": WakuRelay, "v12": Meshsub12, "v11": Meshsub11, "sender": WakuRelay}
	for id, proto := range peers {
		r.AddPeer(now, id, proto, true, "10.0.0.1")
		r.HandleRPC(now, id, &gossipsubpb.RPC{
			Subscriptions: []*gossipsubpb.SubOpts{{Subscribe: ptr(true), Topicid: ptr(topic)}},
			Control:       &gossipsubpb.ControlMessage{Graft: []*gossipsubpb.ControlGraft{{TopicId: ptr(topic)}}},
		})
	}
	_ = r.Ready()
	if got := len(r.Mesh(topic)); got != len(peers) {
		t.Fatalf("mesh of %d, want %d", got, len(peers))
	}
	for _, tc := range []struct {
		size int
		want map[PeerID]bool
	}{
		{512, map[PeerID]bool{}},
		{513, map[PeerID]bool{"relay": true, "v12": true}},
	} {
		data := make([]byte, tc.size)
		data[0] = byte(tc.size)
		r.HandleRPC(now, "sender", &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{{Data: data, Topic: ptr(topic)}}})
		got := map[PeerID]bool{}
		for _, s := range r.Ready().Sends {
			if len(s.RPC.GetControl().GetIdontwant()) > 0 {
				got[s.To] = true
			}
		}
		if len(got) != len(tc.want) || got["relay"] != tc.want["relay"] || got["v12"] != tc.want["v12"] {
			t.Errorf("a message of %d bytes: IDONTWANT to %v, want %v", tc.size, got, tc.want)
		}
	}
}
