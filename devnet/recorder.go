package devnet

import (
	"slices"
	"sync"
	"time"

	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
)

// Kinds of hostile message.
const (
	kindSpam    = "spam"
	kindInvalid = "invalid"
)

// recorder keeps what was sent and what each node and client received.
type recorder struct {
	mu        sync.Mutex
	sent      map[wire.MessageHash]time.Time // valid relayed messages, by publish time
	hostile   map[wire.MessageHash]string    // kindSpam or kindInvalid
	lightpush map[wire.MessageHash]bool      // light clients' messages the service accepted
	got       []map[wire.MessageHash]int     // per node: deliveries of each message
	filtered  map[wire.MessageHash]bool      // streamed to the filter client
	latency   []time.Duration
	evidence  []rln.Evidence

	spamSent, invalidSent     int
	lpSent, lpAccepted, lp429 int

	// wg owns the goroutines that drain subscriptions; they end when the
	// relay or the filter client closes the channel.
	wg sync.WaitGroup
}

func newRecorder(nodes int) *recorder {
	r := &recorder{
		sent: map[wire.MessageHash]time.Time{}, hostile: map[wire.MessageHash]string{},
		lightpush: map[wire.MessageHash]bool{}, filtered: map[wire.MessageHash]bool{},
		got: make([]map[wire.MessageHash]int, nodes),
	}
	for i := range r.got {
		r.got[i] = map[wire.MessageHash]int{}
	}
	return r
}

// follow records what node i delivers until sub ends.
func (r *recorder) follow(i int, sub *relay.Subscription) {
	r.wg.Go(func() {
		for env := range sub.C() {
			r.mu.Lock()
			r.got[i][env.Hash]++
			if t, ok := r.sent[env.Hash]; ok && !env.Local {
				r.latency = append(r.latency, env.Received.Sub(t))
			}
			r.mu.Unlock()
		}
	})
}

// followFilter records what the filter client streams until c ends.
func (r *recorder) followFilter(c <-chan *relay.Envelope) {
	r.wg.Go(func() {
		for env := range c {
			r.mu.Lock()
			r.filtered[env.Hash] = true
			r.mu.Unlock()
		}
	})
}

func (r *recorder) addEvidence(ev rln.Evidence) {
	r.mu.Lock()
	r.evidence = append(r.evidence, ev)
	r.mu.Unlock()
}

// markSent records a valid message published at t; the caller holds mu,
// so that a delivery cannot be seen before its message is known.
func (r *recorder) markSent(h wire.MessageHash, t time.Time) { r.sent[h] = t }

func (r *recorder) markHostile(h wire.MessageHash, kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hostile[h] = kind
	if kind == kindSpam {
		r.spamSent++
	} else {
		r.invalidSent++
	}
}

// markLightpush records the service's answer to one light client's push.
func (r *recorder) markLightpush(h wire.MessageHash, accepted, tooMany bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lpSent++
	switch {
	case accepted:
		r.lpAccepted++
		r.lightpush[h] = true
	case tooMany:
		r.lp429++
	}
}

// delivered counts (node, valid relayed message) pairs delivered.
func (r *recorder) delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, got := range r.got {
		for h := range r.sent {
			if got[h] > 0 {
				n++
			}
		}
	}
	return n
}

// lightpushDelivered counts the accepted light clients' messages that
// reached every node.
func (r *recorder) lightpushDelivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for h := range r.lightpush {
		all := true
		for _, got := range r.got {
			all = all && got[h] > 0
		}
		if all {
			n++
		}
	}
	return n
}

// valid is every valid message: relayed ones and light clients' ones.
func (r *recorder) valid() map[wire.MessageHash]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := make(map[wire.MessageHash]bool, len(r.sent)+len(r.lightpush))
	for h := range r.sent {
		v[h] = true
	}
	for h := range r.lightpush {
		v[h] = true
	}
	return v
}

// filteredOf counts the messages of want the filter client received.
func (r *recorder) filteredOf(want map[wire.MessageHash]bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for h := range want {
		if r.filtered[h] {
			n++
		}
	}
	return n
}

// latencies returns the publish-to-delivery latencies, sorted.
func (r *recorder) latencies() []time.Duration {
	r.mu.Lock()
	lat := slices.Clone(r.latency)
	r.mu.Unlock()
	slices.Sort(lat)
	return lat
}
