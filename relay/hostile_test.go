package relay

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/relay/pubsub"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// A peer floods a node with messages carrying bad proofs (valid form,
// fresh content, broken y share) while an honest member publishes through
// another peer. The node keeps delivering the honest messages, verifies
// only until the flooder is graylisted, drops the rest of its flood
// unverified, and its heap stays bounded.
func TestBadProofFlood(t *testing.T) {
	f := loadFixture(t)
	victim := startNetNode(t, f)
	honest := startNetNode(t, f)
	testnet.Connect(t, honest.h, victim.h)

	topic, _ := victim.r.TopicFor(netContent)
	// The flooder writes raw RPC frames (no router of its own, so that the
	// heap measured is the victim's) and discards what it is sent.
	floodHost := testnet.Host(t, netCluster)
	floodHost.Libp2p().SetStreamHandler(pubsub.WakuRelayID, func(s network.Stream) { _, _ = io.Copy(io.Discard, s) })
	testnet.Connect(t, floodHost, victim.h)
	stream, err := floodHost.Libp2p().NewStream(context.Background(), victim.h.ID(), pubsub.WakuRelayID)
	if err != nil {
		t.Fatal(err)
	}
	sub := &gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{{Subscribe: proto.Bool(true), Topicid: proto.String(topic)}}}
	if err := wire.WriteMsg(stream, sub); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, 10*time.Second, "the flooder and the honest peer to join", func() bool {
		return len(victim.r.PubSub().TopicPeers(topic)) == 2 && len(honest.r.PubSub().MeshPeers(topic)) == 1
	})

	// One real proof, then copies with distinct payloads and broken shares:
	// every copy is a new message id that must be judged.
	base := provenMessage(t, f, 9, 0, "flood")
	p, err := rln.UnmarshalRateLimitProof(base.RateLimitProof)
	if err != nil {
		t.Fatal(err)
	}
	p.ShareY.SetUint64(1)
	bad := p.Marshal()

	// The honest messages are proved before the baseline: the prover's
	// tables are the test's, not the node's.
	var honestMsgs []*messagepb.WakuMessage
	for i := range 5 {
		honestMsgs = append(honestMsgs, provenMessage(t, f, 10, uint64(i), fmt.Sprintf("honest %d", i)))
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	const flood = 100_000
	done := make(chan error, 1)
	go func() {
		for i := range flood {
			m := wire.NewMessage(netContent, []byte(fmt.Sprintf("flood %d", i)), time.Now().UnixNano())
			m.RateLimitProof = bad
			b, err := wire.EncodeMessage(m)
			if err != nil {
				done <- err
				return
			}
			rpc := &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{{Data: b, Topic: proto.String(topic)}}}
			if err := wire.WriteMsg(stream, rpc); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	// Honest traffic during the flood.
	var hashes []wire.MessageHash
	for _, m := range honestMsgs {
		h, _, err := honest.r.Publish(topic, m)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("victim's stats %+v", victim.r.PubSub().Stats())
		}
	}()
	for i, h := range hashes {
		testnet.WaitFor(t, 15*time.Second, fmt.Sprintf("honest message %d to be delivered during the flood", i), func() bool { return victim.count(h) == 1 })
	}
	// The flooder is graylisted: most of its flood is dropped unjudged.
	testnet.WaitFor(t, 15*time.Second, "the flooder to be graylisted", func() bool { return victim.r.PubSub().Stats().GraylistedRPCs > 0 })
	st := victim.r.PubSub().Stats()
	if st.Rejected == 0 || st.Rejected > flood/2 {
		t.Errorf("verified and rejected %d of %d flood messages: graylisting should cut that short", st.Rejected, flood)
	}
	if s := victim.r.PubSub().Score(floodHost.ID()); s > DefaultRouterConfig().Thresholds.Graylist {
		t.Errorf("flooder's score %v above the graylist threshold", s)
	}
	stream.Close()
	floodHost.Close()
	// Connection teardown is asynchronous: the victim lets go of the
	// flooder, and finishes judging what it had of the flood.
	testnet.WaitFor(t, 10*time.Second, "the victim to drop the flooder and finish its validations", func() bool {
		st := victim.r.PubSub().Stats()
		return st.Peers == 1 && st.Pending == 0 && st.FramesInFlight == 0
	})
	runtime.GC()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("flood of %d bad proofs: %d rejected, %d RPCs graylisted, heap %+d KiB; stats %+v", flood, st.Rejected, st.GraylistedRPCs, growth/1024, victim.r.PubSub().Stats())
	// 100,000 messages of ~560 bytes are ~56 MB on the wire; a node that
	// kept them, or a record of each, would grow well past this.
	if growth > 16<<20 {
		t.Errorf("heap grew by %d MiB", growth>>20)
	}
}
