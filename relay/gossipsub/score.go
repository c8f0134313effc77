package gossipsub

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// scorer keeps the v1.1 peer score counters. Scores of disconnected peers
// are retained for RetainScore so that a misbehaving peer cannot reset its
// score by reconnecting.
type scorer struct {
	p         ScoreParams
	peers     map[PeerID]*peerScore
	ips       map[string]map[PeerID]struct{}
	lastDecay time.Time
	// retained counts the disconnected peers whose scores are kept.
	retained int
}

type peerScore struct {
	connected bool
	expires   time.Time // when disconnected: forget after this
	ip        string
	// topics are the peer's counters per topic, sorted by topic name. The
	// score sums them in this order: float addition is not associative,
	// and a sum in map order could differ in its last bits from one call
	// to the next and between two routers with one history.
	topics    []*topicScore
	behaviour float64
}

type topicScore struct {
	topic           string
	inMesh          bool
	graftTime       time.Time
	meshTime        time.Duration
	firstDeliveries float64
	invalid         float64
}

func newScorer(p ScoreParams) *scorer {
	return &scorer{p: p, peers: map[PeerID]*peerScore{}, ips: map[string]map[PeerID]struct{}{}}
}

// addPeer marks a peer connected and returns its counters, which stay
// its own while it is connected.
func (s *scorer) addPeer(id PeerID, ip string) *peerScore {
	ps := s.peers[id]
	if ps == nil {
		ps = &peerScore{}
		s.peers[id] = ps
	} else if !ps.connected {
		s.retained--
	}
	ps.connected = true
	s.setIP(id, ps, ip)
	return ps
}

func (s *scorer) setIP(id PeerID, ps *peerScore, ip string) {
	if ps.ip != "" {
		if set := s.ips[ps.ip]; set != nil {
			delete(set, id)
			if len(set) == 0 {
				delete(s.ips, ps.ip)
			}
		}
	}
	ps.ip = ""
	if ip == "" || s.whitelisted(ip) {
		return
	}
	ps.ip = ip
	if s.ips[ip] == nil {
		s.ips[ip] = map[PeerID]struct{}{}
	}
	s.ips[ip][id] = struct{}{}
}

func (s *scorer) whitelisted(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.p.IPColocationWhitelist {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *scorer) removePeer(id PeerID, now time.Time) {
	ps := s.peers[id]
	if ps == nil {
		return
	}
	s.setIP(id, ps, "")
	for _, ts := range ps.topics {
		if ts.inMesh {
			ts.meshTime = now.Sub(ts.graftTime)
			ts.inMesh = false
		}
	}
	// A peer that never did anything to its score is forgotten at once.
	if s.score(id, now) >= 0 {
		delete(s.peers, id)
		return
	}
	ps.connected = false
	ps.expires = now.Add(s.p.RetainScore)
	s.retained++
}

func (s *scorer) topic(id PeerID, topic string) *topicScore {
	ps := s.peers[id]
	if ps == nil {
		return nil
	}
	i, ok := slices.BinarySearchFunc(ps.topics, topic, func(ts *topicScore, t string) int { return strings.Compare(ts.topic, t) })
	if !ok {
		ps.topics = slices.Insert(ps.topics, i, &topicScore{topic: topic})
	}
	return ps.topics[i]
}

func (s *scorer) graft(id PeerID, topic string, now time.Time) {
	if ts := s.topic(id, topic); ts != nil {
		ts.inMesh, ts.graftTime, ts.meshTime = true, now, 0
	}
}

func (s *scorer) prune(id PeerID, topic string, now time.Time) {
	if ts := s.topic(id, topic); ts != nil && ts.inMesh {
		ts.inMesh = false
		ts.meshTime = now.Sub(ts.graftTime)
	}
}

func (s *scorer) firstDelivery(id PeerID, topic string) {
	if ts := s.topic(id, topic); ts != nil {
		ts.firstDeliveries++
		if c := s.p.Topic.FirstMessageDeliveriesCap; c > 0 && ts.firstDeliveries > c {
			ts.firstDeliveries = c
		}
	}
}

func (s *scorer) invalid(id PeerID, topic string) {
	if ts := s.topic(id, topic); ts != nil {
		ts.invalid++
	}
}

func (s *scorer) penalty(id PeerID, n float64) {
	if ps := s.peers[id]; ps != nil {
		ps.behaviour += n
	}
}

// score computes a peer's score at now, summing its topic scores in topic
// order.
func (s *scorer) score(id PeerID, now time.Time) float64 {
	return s.scoreOf(s.peers[id], now)
}

// scoreOf is the score of a peer's counters (nil: none kept, 0).
func (s *scorer) scoreOf(ps *peerScore, now time.Time) float64 {
	if ps == nil {
		return 0
	}
	tp := s.p.Topic
	var topics float64
	for _, ts := range ps.topics {
		var t float64
		if tp.TimeInMeshQuantum > 0 {
			d := ts.meshTime
			if ts.inMesh {
				d = now.Sub(ts.graftTime)
			}
			q := float64(d) / float64(tp.TimeInMeshQuantum)
			if q > tp.TimeInMeshCap {
				q = tp.TimeInMeshCap
			}
			if ts.inMesh {
				t += q * tp.TimeInMeshWeight
			}
		}
		t += ts.firstDeliveries * tp.FirstMessageDeliveriesWeight
		t += ts.invalid * ts.invalid * tp.InvalidMessageDeliveriesWeight
		topics += t * tp.TopicWeight
	}
	if s.p.TopicScoreCap > 0 && topics > s.p.TopicScoreCap {
		topics = s.p.TopicScoreCap
	}
	sc := topics
	if ps.ip != "" {
		if n := len(s.ips[ps.ip]); n > s.p.IPColocationFactorThreshold {
			surplus := float64(n - s.p.IPColocationFactorThreshold)
			sc += surplus * surplus * s.p.IPColocationFactorWeight
		}
	}
	if ps.behaviour > s.p.BehaviourPenaltyThreshold {
		ex := ps.behaviour - s.p.BehaviourPenaltyThreshold
		sc += ex * ex * s.p.BehaviourPenaltyWeight
	}
	return sc
}

// tick decays the counters once per DecayInterval and forgets the retained
// scores that expired.
func (s *scorer) tick(now time.Time) {
	if s.lastDecay.IsZero() {
		s.lastDecay = now
	}
	if s.p.DecayInterval > 0 {
		for now.Sub(s.lastDecay) >= s.p.DecayInterval {
			s.lastDecay = s.lastDecay.Add(s.p.DecayInterval)
			s.decay()
		}
	}
	if s.retained == 0 {
		return
	}
	for id, ps := range s.peers {
		if !ps.connected && !now.Before(ps.expires) {
			delete(s.peers, id)
			s.retained--
		}
	}
}

func (s *scorer) decay() {
	tp := s.p.Topic
	zero := func(v float64) float64 {
		if v < s.p.DecayToZero && v > -s.p.DecayToZero {
			return 0
		}
		return v
	}
	for _, ps := range s.peers {
		for _, ts := range ps.topics {
			ts.firstDeliveries = zero(ts.firstDeliveries * tp.FirstMessageDeliveriesDecay)
			ts.invalid = zero(ts.invalid * tp.InvalidMessageDeliveriesDecay)
		}
		ps.behaviour = zero(ps.behaviour * s.p.BehaviourPenaltyDecay)
	}
}
