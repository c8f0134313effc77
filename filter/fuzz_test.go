package filter

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/internal/relaytest"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/filterpb"
)

// checkState verifies the subscription tables agree with each other and
// with the limits.
func checkState(tb testing.TB, s *Service) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	for id, sub := range s.peers {
		if len(sub.criteria) == 0 || len(sub.criteria) > s.cfg.MaxCriteriaPerPeer {
			tb.Fatalf("peer %s has %d criteria", id, len(sub.criteria))
		}
		total += len(sub.criteria)
		for c := range sub.criteria {
			if s.index[c][id] != sub {
				tb.Fatalf("criterion %v of %s not indexed", c, id)
			}
		}
	}
	indexed := 0
	for c, m := range s.index {
		if len(m) == 0 {
			tb.Fatalf("empty index entry %v", c)
		}
		indexed += len(m)
	}
	if total != s.criteria || indexed != total || len(s.peers) > s.cfg.MaxPeers {
		tb.Fatalf("criteria %d, counted %d, indexed %d, peers %d", s.criteria, total, indexed, len(s.peers))
	}
}

// FuzzHandle feeds arbitrary request bytes, as the stream handler reads
// them, to the request core from a few peers: it never panics, answers
// with a known code and a description, and keeps its tables consistent.
func FuzzHandle(f *testing.F) {
	topic := "/waku/2/rs/7/3"
	for _, r := range []*filterpb.FilterSubscribeRequest{
		{RequestId: "1", FilterSubscribeType: filterpb.FilterSubscribeRequest_SUBSCRIBE, PubsubTopic: &topic, ContentTopics: []string{ctA, ctB}},
		{RequestId: "2", FilterSubscribeType: filterpb.FilterSubscribeRequest_SUBSCRIBE, ContentTopics: []string{ctA}},
		{RequestId: "3", FilterSubscribeType: filterpb.FilterSubscribeRequest_UNSUBSCRIBE, PubsubTopic: &topic, ContentTopics: []string{ctA}},
		{RequestId: "4", FilterSubscribeType: filterpb.FilterSubscribeRequest_UNSUBSCRIBE_ALL},
		{RequestId: "5", FilterSubscribeType: filterpb.FilterSubscribeRequest_SUBSCRIBER_PING},
		{RequestId: "6", FilterSubscribeType: 9, ContentTopics: []string{""}},
	} {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(0), b)
	}
	node := relaytest.Start(f, cluster, nil)
	s, err := NewService(node.Host.Libp2p(), ServiceConfig{Relay: node.Relay, MaxCriteriaPerPeer: 5, MaxPeers: 2, RequestBurst: -1, SweepInterval: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	var peers []peer.ID
	for i := range 3 {
		peers = append(peers, peer.ID(fmt.Sprintf("peer-%d", i)))
	}
	f.Fuzz(func(t *testing.T, who byte, b []byte) {
		var req filterpb.FilterSubscribeRequest
		if err := wire.Decode(b, &req); err != nil {
			return // the handler answers 400 without calling the core
		}
		resp := s.Handle(peers[int(who)%len(peers)], &req)
		switch resp.Status {
		case StatusOK, StatusBadRequest, StatusNotFound, StatusTooManyRequests, StatusUnavailable:
		default:
			t.Fatalf("status %d", resp.Status)
		}
		if resp.Description == "" {
			t.Fatal("no description")
		}
		checkState(t, s)
	})
}
