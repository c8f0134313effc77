package gossipsub

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// A peer's score is its topic scores summed in one fixed order: float
// addition is not associative, so a sum in map order could change in its
// last bits from one call to the next, and between two routers with the
// same history. Two peers with the same counters, gained in opposite
// topic orders, score the same, every time.
func TestScoreSumInFixedOrder(t *testing.T) {
	t.Parallel()
	s := newScorer(DefaultScoreParams())
	start := time.Unix(1_700_000_000, 0)
	var topics []string
	for i := range 24 {
		topics = append(topics, fmt.Sprintf("/waku/2/rs/1/%d", i))
	}
	s.addPeer("a", "10.0.0.1")
	s.addPeer("b", "10.0.0.2")
	reversed := slices.Clone(topics)
	slices.Reverse(reversed)
	for _, p := range []struct {
		id     PeerID
		topics []string
	}{{"a", topics}, {"b", reversed}} {
		for _, tp := range p.topics {
			// Grafted at odd instants, so that each topic's time in mesh
			// is a fraction with a long mantissa.
			i, _ := slices.BinarySearch(topics, tp)
			s.graft(p.id, tp, start.Add(time.Duration(i)*1_234_567_891))
			for range i % 5 {
				s.firstDelivery(p.id, tp)
			}
		}
	}
	// Decay makes the first deliveries fractions too.
	s.tick(start)
	s.tick(start.Add(s.p.DecayInterval))
	now := start.Add(40 * time.Second)
	want := s.score("a", now)
	for range 200 {
		for _, id := range []PeerID{"a", "b"} {
			if got := s.score(id, now); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("score of %s: %v, then %v", id, want, got)
			}
		}
	}
}
