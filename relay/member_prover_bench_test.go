package relay

import (
	"fmt"
	"testing"
	"time"

	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// The proof a member makes right after another member's registration,
// beside its next proof on an unchanged path, through MemberProver as a
// lightpush service and a publishing node prove (witness included). The
// registration at leaf 2^level changes the member's (leaf 0) path from
// that level up. See BENCHMARKS.md, "RLN prover after a foreign
// registration".

// benchMessage is a message to prove, made before the timer runs.
func benchMessage(k int) *messagepb.WakuMessage {
	ts := time.Now().UnixNano()
	topic := "/rlnd/1/bench/proto"
	return &messagepb.WakuMessage{Payload: fmt.Appendf(nil, "bench %d", k), ContentTopic: &topic, Timestamp: &ts}
}

// registerOutsideTimer registers the k-th foreign member at leaf 2^level
// and returns the message to prove next, with the timer stopped.
func (c *memberProverCase) registerOutsideTimer(b *testing.B, level, k int) *messagepb.WakuMessage {
	b.StopTimer()
	defer b.StartTimer()
	c.register(b, 1<<level, k)
	return benchMessage(k)
}

// BenchmarkAttachNext: the member's next proof, path unchanged.
func BenchmarkAttachNext(b *testing.B) {
	c := newMemberProverCase(b, membership.DefaultRootWindow, "attach bench next", false)
	k := 0
	for b.Loop() {
		b.StopTimer()
		m := benchMessage(k)
		b.StartTimer()
		if _, err := c.mp.Attach(c.mem, ProofParams{}, m, uint64(k)%testLimit); err != nil {
			b.Fatal(err)
		}
		k++
	}
}

// BenchmarkAttachAfterForeignRegistration: the proof right after a
// registration, against the member's previous root; the refresh it starts
// runs after the timed proof, outside the timer, and its wall time is
// reported as refresh-ms/op (every iteration is a new registration).
func BenchmarkAttachAfterForeignRegistration(b *testing.B) {
	for _, level := range []int{19, 14, 9, 0} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			c := newMemberProverCase(b, membership.DefaultRootWindow, fmt.Sprintf("attach bench level %d", level), false)
			var refresh time.Duration
			k := 0
			for b.Loop() {
				m := c.registerOutsideTimer(b, level, k)
				p, err := c.mp.Attach(c.mem, ProofParams{}, m, uint64(k)%testLimit)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				start := time.Now()
				c.mp.Wait()
				refresh += time.Since(start)
				if cur := c.g.Root(); p.MerkleRoot.Equal(&cur) {
					b.Fatal("the proof right after a registration was made against the new root")
				}
				b.StartTimer()
				k++
			}
			b.ReportMetric(float64(refresh.Microseconds())/1e3/float64(k), "refresh-ms/op")
		})
	}
}

// BenchmarkAttachAfterForeignRegistrationSync: the same proof made against
// the new root (AttachProof), which updates the member's cached part on
// the way: what a proof costs when the previous root is too old to use.
func BenchmarkAttachAfterForeignRegistrationSync(b *testing.B) {
	for _, level := range []int{19, 14, 9, 0} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			c := newMemberProverCase(b, membership.DefaultRootWindow, fmt.Sprintf("attach bench sync level %d", level), false)
			k := 0
			for b.Loop() {
				m := c.registerOutsideTimer(b, level, k)
				if _, err := AttachProof(c.f.prover, c.g, c.mem, ProofParams{}, m, uint64(k)%testLimit); err != nil {
					b.Fatal(err)
				}
				k++
			}
		})
	}
}
