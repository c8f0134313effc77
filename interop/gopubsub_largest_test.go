package interop

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/interop/gopubsub"
	"github.com/rlnd/rlnd/wire"
)

// nwakuFrameLimit is the largest RPC frame nwaku reads: the 150 KiB
// message bound plus 64 KiB of protocol overhead.
const nwakuFrameLimit = 150<<10 + 64<<10

// TestGoPubsubLargestMessage: the largest message rlnd allows (an encoded
// WakuMessage of exactly wire.MaxMessageSize, proof included) published by
// an rlnd node reaches a go peer that reads frames with nwaku's limit.
func TestGoPubsubLargestMessage(t *testing.T) {
	r := newGPRLN(t, gpMembers)
	n := newGPNet(t, r.group, r.verifier, 1, 0, nil)
	R := n.all[0]
	G := &gpNode{name: "go-nwaku-limits", gp: gopubsub.Start(t, gopubsub.Config{ClusterID: gpCluster, Shards: []uint32{n.shard},
		IP: "127.0.4.1", Topics: []string{n.topic}, Protocols: gopubsub.ProtocolsV11, MaxMessageSize: nwakuFrameLimit})}
	n.link(t, R, G)
	n.waitTopicPeers(t, gpLinkWithin, [][2]*gpNode{{R, G}})

	// The payload that makes the encoded message exactly the bound: the
	// proof has a fixed size, so one correction after a first try.
	size := wire.MaxMessageSize - 2048
	m := r.message(t, n.topic, gpHonest, "largest", size)
	size += wire.MaxMessageSize - proto.Size(m.Msg)
	m = r.message(t, n.topic, gpHonest, "largest", size)
	if got := proto.Size(m.Msg); got != wire.MaxMessageSize {
		t.Fatalf("the message encodes to %d bytes, want exactly %d", got, wire.MaxMessageSize)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	R.publish(t, ctx, n.topic, m)
	n.waitDelivered(t, 20*time.Second, "the go peer with nwaku's frame limit to deliver rlnd's largest message", []*gpNode{G}, m)
	if st := R.rl.Relay().PubSub().Stats(); st.LargestFrameOut > nwakuFrameLimit || st.OversizeOut != 0 {
		t.Fatalf("rlnd wrote a frame of %d bytes (nwaku reads %d), %d refused", st.LargestFrameOut, nwakuFrameLimit, st.OversizeOut)
	}
}
