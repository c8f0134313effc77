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
	linkHosts(t, honest.h, victim.h)

	topic, _ := victim.r.TopicFor(netContent)
	// The flooder writes raw RPC frames (no router of its own, so that the
	// heap measured is the victim's) and discards what it is sent.
	floodHost := newNetHost(t)
	floodHost.SetStreamHandler(pubsub.WakuRelayID, func(s network.Stream) { _, _ = io.Copy(io.Discard, s) })
	linkHosts(t, floodHost, victim.h)
	stream, err := floodHost.NewStream(context.Background(), victim.h.ID(), pubsub.WakuRelayID)
	if err != nil {
		t.Fatal(err)
	}
	sub := &gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{{Subscribe: proto.Bool(true), Topicid: proto.String(topic)}}}
	if err := wire.WriteMsg(stream, sub); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(10*time.Second, func() bool {
		return len(victim.r.PubSub().TopicPeers(topic)) == 2 && len(honest.r.PubSub().MeshPeers(topic)) == 1
	}) {
		t.Fatal("peers did not join")
	}

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
	for _, h := range hashes {
		if !waitUntil(15*time.Second, func() bool { return victim.count(h) == 1 }) {
			t.Fatalf("honest message not delivered during the flood; stats %+v", victim.r.PubSub().Stats())
		}
	}
	// The flooder is graylisted: most of its flood is dropped unjudged.
	if !waitUntil(15*time.Second, func() bool { return victim.r.PubSub().Stats().GraylistedRPCs > 0 }) {
		t.Fatalf("flooder never graylisted: %+v", victim.r.PubSub().Stats())
	}
	st := victim.r.PubSub().Stats()
	if st.Rejected == 0 || st.Rejected > flood/2 {
		t.Errorf("verified and rejected %d of %d flood messages: graylisting should cut that short", st.Rejected, flood)
	}
	if s := victim.r.PubSub().Score(floodHost.ID()); s > DefaultRouterConfig().Thresholds.Graylist {
		t.Errorf("flooder's score %v above the graylist threshold", s)
	}
	stream.Close()
	floodHost.Close()
	time.Sleep(500 * time.Millisecond) // connection teardown is asynchronous
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
