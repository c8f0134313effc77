package node

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/p2p/peerexchange"
	"github.com/rlnd/rlnd/relay/pubsub"
	"github.com/rlnd/rlnd/store"
)

// Every protocol a node serves or dials besides the host's own has one
// stream scope, with the bounds of the protocol's package.
func TestStreamLimits(t *testing.T) {
	t.Parallel()
	type bounds struct{ perPeer, total int }
	want := map[protocol.ID]bounds{
		lightpush.ProtocolV3: {32, 1024}, lightpush.ProtocolV2: {32, 1024}, store.Protocol: {32, 1024},
		filter.ProtocolSubscribe: {32, 1024}, filter.ProtocolPush: {32, 1024},
		pubsub.WakuRelayID: {4, 1024}, pubsub.Meshsub12ID: {4, 1024}, pubsub.Meshsub11ID: {4, 1024},
		peerexchange.Protocol: {8, 512},
	}
	got := map[protocol.ID]bounds{}
	for _, s := range streamLimits() {
		for _, id := range s.Protocols {
			if _, ok := got[id]; ok {
				t.Errorf("%s has two scopes", id)
			}
			got[id] = bounds{s.PerPeer, s.Total}
		}
	}
	if len(got) != len(want) {
		t.Errorf("scopes for %d protocols, want %d: %v", len(got), len(want), got)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %+v, want %+v", id, got[id], w)
		}
	}
}
