package gossipsub

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// The defaults: rlnd writes RPCs of at most the message size plus nwaku's
// 64 KiB protocol overhead, and accepts the 1 MiB RPCs go-libp2p-pubsub
// peers write.
func TestDefaultFrameBounds(t *testing.T) {
	p := DefaultParams()
	if p.MaxMessageSize != 150*1024 || p.MaxRPCSize != p.MaxMessageSize+64*1024 || p.MaxIncomingRPCSize != 1<<20 {
		t.Fatalf("message %d, RPC out %d, RPC in %d", p.MaxMessageSize, p.MaxRPCSize, p.MaxIncomingRPCSize)
	}
	bad := p
	bad.MaxIncomingRPCSize = p.MaxRPCSize - 1
	if err := bad.Validate(); !errors.Is(err, ErrInvalidParams) {
		t.Fatalf("an incoming bound below the outgoing one: %v", err)
	}
}

// A message whose own RPC would not fit MaxRPCSize is refused at publish
// with ErrTooLarge (a peer reading with that bound would drop the frame);
// the largest message of the defaults fits and is published.
func TestPublishRefusesWhatCannotFit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name        string
		msg, rpc    int
		size        int
		wantTooLong bool
	}{
		{"largest message, defaults", 0, 0, DefaultParams().MaxMessageSize, false},
		{"within the message bound, RPC over", 1000, 1000, 1000, true},
		{"fits both", 1000, 1000, 900, false},
		{"over the message bound", 1000, 2000, 1001, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			if tc.msg > 0 {
				p.MaxMessageSize, p.MaxRPCSize, p.MaxIncomingRPCSize = tc.msg, tc.rpc, tc.rpc
			}
			r, err := New(Config{Params: p, MsgID: testMsgID})
			if err != nil {
				t.Fatal(err)
			}
			r.Join(now, topic)
			r.AddPeer(now, "peer", WakuRelay, true, "10.0.0.1")
			r.HandleRPC(now, "peer", &gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{{Subscribe: ptr(true), Topicid: ptr(topic)}}})
			_ = r.Ready()
			_, _, err = r.Publish(now, topic, make([]byte, tc.size))
			if tc.wantTooLong != errors.Is(err, ErrTooLarge) || !tc.wantTooLong && err != nil {
				t.Fatalf("publish of %d bytes: %v", tc.size, err)
			}
			for _, s := range r.Ready().Sends {
				if n := proto.Size(s.RPC); n > p.MaxRPCSize {
					t.Fatalf("an RPC of %d bytes, bound %d", n, p.MaxRPCSize)
				}
			}
		})
	}
}

// Fields of a message the router does not know are not relayed: what it
// forwards, serves to IWANT and delivers is the data and the topic, so a
// peer cannot grow a message past the RPC bound on the way.
func TestForwardDropsUnknownFields(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	r, err := New(Config{Params: DefaultParams(), MsgID: testMsgID})
	if err != nil {
		t.Fatal(err)
	}
	r.Join(now, topic)
	sub := &gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{{Subscribe: ptr(true), Topicid: ptr(topic)}}}
	for _, id := range []PeerID{"sender", "asker"} {
		r.AddPeer(now, id, WakuRelay, true, "10.0.0.1")
		r.HandleRPC(now, id, sub)
	}
	_ = r.Ready()
	m := &gossipsubpb.Message{Data: []byte("hello"), Topic: ptr(topic)}
	var unknown []byte
	unknown = protowire.AppendTag(unknown, 99, protowire.BytesType)
	unknown = protowire.AppendBytes(unknown, make([]byte, 100_000))
	m.ProtoReflect().SetUnknown(unknown)
	r.HandleRPC(now, "sender", &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{m}})
	rd := r.Ready()
	if len(rd.Validations) != 1 {
		t.Fatalf("%d validations, want 1", len(rd.Validations))
	}
	id := rd.Validations[0].ID
	r.ValidationResult(now, id, Accept)
	r.HandleRPC(now, "asker", &gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Iwant: []*gossipsubpb.ControlIWant{{MessageIds: [][]byte{[]byte(id)}}}}})
	rd = r.Ready()
	relayed := 0
	for _, s := range rd.Sends {
		for _, pm := range s.RPC.GetPublish() {
			relayed++
			if len(pm.ProtoReflect().GetUnknown()) != 0 || string(pm.GetData()) != "hello" {
				t.Fatalf("relayed to %s with %d unknown bytes", s.To, len(pm.ProtoReflect().GetUnknown()))
			}
		}
	}
	for _, d := range rd.Deliveries {
		if len(d.Msg.ProtoReflect().GetUnknown()) != 0 {
			t.Fatal("delivered with unknown fields")
		}
	}
	if relayed == 0 || len(rd.Deliveries) != 1 {
		t.Fatalf("relayed %d times, delivered %d", relayed, len(rd.Deliveries))
	}
}
