package gossipsub

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

func msg(topic string) *gossipsubpb.Message {
	return &gossipsubpb.Message{Topic: proto.String(topic), Data: []byte(topic)}
}

// Messages are gossiped for gossip windows, served for history windows,
// then forgotten; IWANT requests are counted per peer.
func TestMessageCacheWindows(t *testing.T) {
	t.Parallel()
	c := NewMessageCache(3, 6)
	c.Put("a1", msg("a"))
	c.Put("b1", msg("b"))
	c.Put("a1", msg("a")) // again: no second entry
	c.Shift()
	c.Put("a2", msg("a"))
	if got := c.GossipIDs("a"); !slices.Equal(got, []string{"a2", "a1"}) {
		t.Fatalf("gossip ids %v, want newest first [a2 a1]", got)
	}
	if got := c.GossipIDs("c"); len(got) != 0 {
		t.Fatalf("gossip ids of an unknown topic: %v", got)
	}
	c.Shift()
	c.Shift() // a1 is now in window 3: no longer gossiped, still served
	if got := c.GossipIDs("a"); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("gossip ids %v, want [a2]", got)
	}
	if _, ok := c.Get("a1"); !ok {
		t.Fatal("a1 forgotten before the history ran out")
	}
	for want := 1; want <= 4; want++ {
		m, n, ok := c.GetForPeer("a1", "peerX")
		if !ok || n != want || m.GetTopic() != "a" {
			t.Fatalf("GetForPeer #%d = %v, %d, %v", want, m, n, ok)
		}
	}
	if _, n, _ := c.GetForPeer("a1", "peerY"); n != 1 {
		t.Fatalf("another peer's count starts at %d, want 1", n)
	}
	c.Shift()
	c.Shift()
	c.Shift() // a1 and b1 were put 6 heartbeats ago
	if c.Has("a1") || c.Has("b1") {
		t.Fatal("messages older than the history are still cached")
	}
	if !c.Has("a2") || c.Len() != 1 {
		t.Fatalf("a2 should remain alone, have %d messages", c.Len())
	}
	if _, _, ok := c.GetForPeer("b1", "peerX"); ok {
		t.Fatal("served a forgotten message")
	}
}

func TestMessageCacheBadParams(t *testing.T) {
	t.Parallel()
	for _, p := range [][2]int{{0, 6}, {7, 6}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("NewMessageCache(%d, %d) did not panic", p[0], p[1])
				}
			}()
			NewMessageCache(p[0], p[1])
		}()
	}
}

// Ids are new once per time to live; the cache forgets what expired and
// its memory follows.
func TestSeenCache(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	s := NewSeenCache(2 * time.Minute)
	if !s.Add("x", t0) || s.Add("x", t0.Add(time.Minute)) {
		t.Fatal("x: want new, then seen")
	}
	if !s.Has("x", t0.Add(2*time.Minute-time.Nanosecond)) {
		t.Fatal("x forgotten before its time to live")
	}
	if s.Has("x", t0.Add(2*time.Minute)) {
		t.Fatal("x remembered past its time to live")
	}
	if !s.Add("x", t0.Add(3*time.Minute)) {
		t.Fatal("x after expiry: want new again")
	}
	// A steady stream: 10 ids a second for 10 minutes keeps ~1,200.
	now := t0.Add(4 * time.Minute)
	for i := range 6000 {
		now = now.Add(100 * time.Millisecond)
		if !s.Add(strconv.Itoa(i), now) {
			t.Fatalf("id %d reported seen", i)
		}
	}
	if n := s.Len(); n < 1190 || n > 1210 {
		t.Fatalf("%d ids remembered, want about 1,200", n)
	}
	if cap(s.order) > 4*1200 {
		t.Fatalf("order slice holds %d slots for ~1,200 ids", cap(s.order))
	}
}
