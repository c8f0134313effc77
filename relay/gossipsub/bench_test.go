package gossipsub

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// benchRouter is a router joined to topics topics, each with peers peers
// subscribed (every peer is on every topic), its meshes built.
func benchRouter(b *testing.B, topics, peers int) (*Router, []string, []PeerID, time.Time) {
	b.Helper()
	r, err := New(Config{Params: DefaultParams(), Score: DefaultScoreParams(), Thresholds: DefaultThresholds(), MsgID: testMsgID, Seed: FixedSeed(1)})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	ts := make([]string, topics)
	for i := range ts {
		ts[i] = fmt.Sprintf("/waku/2/rs/1/%d", i)
		r.Join(now, ts[i])
	}
	ids := make([]PeerID, peers)
	sub := &gossipsubpb.RPC{}
	for _, t := range ts {
		sub.Subscriptions = append(sub.Subscriptions, subOpts(t, true))
	}
	for i := range ids {
		ids[i] = PeerID(fmt.Sprintf("peer-%03d", i))
		r.AddPeer(now, ids[i], Meshsub12, i%2 == 0, fmt.Sprintf("10.0.%d.%d", i/250, i%250))
		r.HandleRPC(now, ids[i], sub)
	}
	now = now.Add(time.Second)
	r.Tick(now)
	r.Ready()
	return r, ts, ids, now
}

// Score of a peer in the mesh of 8 topics, with first deliveries on each:
// called for every peer on publish, gossip and every RPC's graylist check.
func BenchmarkScore(b *testing.B) {
	r, ts, _, now := benchRouter(b, 8, 50)
	id := r.Mesh(ts[0])[0]
	for i, t := range ts {
		data := fmt.Appendf(nil, "first delivery %d", i)
		r.HandleRPC(now, id, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{{Data: data, Topic: &t}}})
	}
	for _, v := range r.Ready().Validations {
		r.ValidationResult(now, v.ID, Accept)
	}
	r.Ready()
	now = now.Add(1500 * time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		r.Score(id, now)
	}
}

// A local message flood-published to the 50 peers of its topic, and the
// batch taken with Ready.
func BenchmarkPublishReady(b *testing.B) {
	r, ts, _, now := benchRouter(b, 8, 50)
	data := make([]byte, 256)
	var n uint64
	b.ReportAllocs()
	for b.Loop() {
		n++
		binary.BigEndian.PutUint64(data, n)
		if _, _, err := r.Publish(now, ts[0], data); err != nil {
			b.Fatal(err)
		}
		r.Ready()
		if n%1000 == 0 {
			now = now.Add(time.Second)
			r.Tick(now)
			r.Ready()
		}
	}
}

// A message from a mesh peer: validated, accepted, forwarded to the mesh.
func BenchmarkForward(b *testing.B) {
	r, ts, _, now := benchRouter(b, 8, 50)
	from := r.Mesh(ts[0])[0]
	t := ts[0]
	var n uint64
	b.ReportAllocs()
	for b.Loop() {
		n++
		data := binary.BigEndian.AppendUint64(make([]byte, 0, 256), n)
		data = data[:256]
		r.HandleRPC(now, from, &gossipsubpb.RPC{Publish: []*gossipsubpb.Message{{Data: data, Topic: &t}}})
		for _, v := range r.Ready().Validations {
			r.ValidationResult(now, v.ID, Accept)
		}
		r.Ready()
		if n%1000 == 0 {
			now = now.Add(time.Second)
			r.Tick(now)
			r.Ready()
		}
	}
}

// A heartbeat of a router on 20 topics with 50 peers each.
func BenchmarkTick(b *testing.B) {
	r, _, _, now := benchRouter(b, 20, 50)
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		r.Tick(now)
		r.Ready()
	}
}

// Peers connecting and leaving while the router has a batch queued.
func BenchmarkPeerChurn(b *testing.B) {
	r, ts, ids, now := benchRouter(b, 8, 50)
	sub := &gossipsubpb.RPC{}
	for _, t := range ts {
		sub.Subscriptions = append(sub.Subscriptions, subOpts(t, true))
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		id := ids[i%len(ids)]
		i++
		r.RemovePeer(now, id)
		r.AddPeer(now, id, Meshsub12, false, "10.1.0.1")
		r.HandleRPC(now, id, sub)
		if i%len(ids) == 0 {
			r.Ready()
		}
	}
}
