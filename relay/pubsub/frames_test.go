package pubsub

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// A peer that bundles several messages in one frame of up to 1 MiB, as
// go-libp2p-pubsub answers an IWANT, has every one of them delivered, and
// keeps its stream: a second bundle on it is delivered too.
func TestBundledFrameDelivered(t *testing.T) {
	a, b := newHost(t), newHost(t)
	ps, err := New(b, Config{Router: routerConfig(1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	sub, err := ps.Subscribe(topic)
	if err != nil {
		t.Fatal(err)
	}
	// a speaks pubsub: b opens its stream to a, and keeps a as a peer.
	a.SetStreamHandler(WakuRelayID, func(s network.Stream) { _, _ = io.Copy(io.Discard, s) })
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := a.NewStream(ctx, b.ID(), WakuRelayID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	maxMsg := routerConfig(1).Params.MaxMessageSize
	const perFrame = 6
	for frame := range 2 {
		rpc := &gossipsubpb.RPC{}
		for i := range perFrame {
			data := bytes.Repeat([]byte{byte('a' + frame*perFrame + i)}, maxMsg)
			rpc.Publish = append(rpc.Publish, &gossipsubpb.Message{Data: data, Topic: ptr(topic)})
		}
		body, err := proto.Marshal(rpc)
		if err != nil {
			t.Fatal(err)
		}
		if len(body) <= 5*maxMsg || len(body) > ps.maxFrame() {
			t.Fatalf("a frame of %d bytes: not the bundle meant (over 5 messages, at most %d)", len(body), ps.maxFrame())
		}
		if err := wire.WriteFrame(s, body); err != nil {
			t.Fatal(err)
		}
		for i := range perFrame {
			select {
			case m := <-sub.C():
				if len(m.Data) != maxMsg {
					t.Fatalf("delivered %d bytes", len(m.Data))
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("frame %d: %d of %d bundled messages delivered within 10 s (%+v)", frame, i, perFrame, ps.Stats())
			}
		}
	}
	if st := ps.Stats(); st.BadFrames != 0 || st.Accepted != 2*perFrame {
		t.Fatalf("bad frames %d, accepted %d", st.BadFrames, st.Accepted)
	}
}

// A peer asking with one IWANT for many cached messages gets them bundled
// in frames, none larger than MaxRPCSize (the bound nwaku reads with), as
// it sees them on its stream; and drivers exchanging bursts of the largest
// messages never write a larger frame either.
func TestFramesOutBounded(t *testing.T) {
	a, b := newHost(t), newHost(t)
	cfg := routerConfig(1)
	cfg.Params.HeartbeatInterval = time.Second // the cache keeps 6 s of messages
	ps, err := New(b, Config{Router: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	p := cfg.Params
	const count = 12
	size := p.MaxMessageSize / 3
	type frame struct{ size, msgs int }
	frames := make(chan frame, 4*count)
	a.SetStreamHandler(WakuRelayID, func(s network.Stream) {
		br := bufio.NewReader(s)
		for {
			body, err := wire.ReadFrame(br, 1<<20)
			if err != nil {
				return
			}
			rpc := &gossipsubpb.RPC{}
			if proto.Unmarshal(body, rpc) == nil && len(rpc.Publish) > 0 {
				frames <- frame{len(body), len(rpc.Publish)}
			}
		}
	})
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := a.NewStream(ctx, b.ID(), WakuRelayID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	testnet.WaitFor(t, 10*time.Second, "the asker to be the driver's peer", func() bool { return ps.Stats().Peers == 1 })
	want := &gossipsubpb.ControlIWant{}
	for k := range count {
		data := bytes.Repeat([]byte{byte(k)}, size)
		id, _, err := ps.Publish(topic, data)
		if err != nil {
			t.Fatal(err)
		}
		want.MessageIds = append(want.MessageIds, []byte(id))
	}
	body, err := proto.Marshal(&gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Iwant: []*gossipsubpb.ControlIWant{want}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wire.WriteFrame(s, body); err != nil {
		t.Fatal(err)
	}
	got, bundled := 0, false
	for got < count {
		select {
		case f := <-frames:
			if f.size > p.MaxRPCSize {
				t.Fatalf("a frame of %d bytes, bound %d", f.size, p.MaxRPCSize)
			}
			got += f.msgs
			bundled = bundled || f.msgs > 1
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d asked messages within 10 s", got, count)
		}
	}
	if !bundled {
		t.Fatal("no frame bundled several messages: the split was not exercised")
	}
	if st := ps.Stats(); st.OversizeOut != 0 || st.LargestFrameOut > p.MaxRPCSize {
		t.Fatalf("%d RPCs over the bound, the largest written %d bytes", st.OversizeOut, st.LargestFrameOut)
	}
	t.Run("largest messages between drivers", func(t *testing.T) { burstOfLargest(t) })
}

// burstOfLargest has four drivers publish the largest messages to each
// other at once; every message arrives and no frame exceeds MaxRPCSize.
func burstOfLargest(t *testing.T) {
	const nodes, perNode = 4, 6
	var pss []*PubSub
	var subs []*Subscription
	for i := range nodes {
		h := newHost(t)
		ps, err := New(h, Config{Router: routerConfig(uint64(i + 1))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ps.Close() })
		sub, err := ps.Subscribe(topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range pss {
			connect(t, h, o.h)
		}
		pss, subs = append(pss, ps), append(subs, sub)
	}
	for i, ps := range pss {
		testnet.WaitFor(t, 10*time.Second, fmt.Sprintf("node %d's mesh", i), func() bool { return len(ps.MeshPeers(topic)) == nodes-1 })
	}
	p := routerConfig(1).Params
	for k := range perNode {
		for i, ps := range pss {
			data := bytes.Repeat([]byte{byte(k)}, p.MaxMessageSize)
			copy(data, fmt.Sprintf("node %d message %d", i, k))
			if _, _, err := ps.Publish(topic, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, sub := range subs {
		for got := 0; got < nodes*perNode; got++ {
			select {
			case <-sub.C():
			case <-time.After(30 * time.Second):
				t.Fatalf("node %d: %d of %d messages within 30 s", i, got, nodes*perNode)
			}
		}
	}
	for i, ps := range pss {
		if st := ps.Stats(); st.OversizeOut != 0 || st.LargestFrameOut > p.MaxRPCSize || st.LargestFrameOut <= p.MaxMessageSize {
			t.Fatalf("node %d: %d RPCs over the bound, the largest written %d bytes, bound %d", i, st.OversizeOut, st.LargestFrameOut, p.MaxRPCSize)
		}
	}
}
