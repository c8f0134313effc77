package relay

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rlnd/rlnd/relay/gossipsub"
)

// plainValidator checks form and timestamp only (RLN off), with a fixed
// clock: cheap, so the pipeline's mechanics are what the tests see.
func plainValidator(tb testing.TB) *Validator {
	tb.Helper()
	v, err := NewValidator(ValidatorConfig{Now: func() time.Time { return testNow }})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// gate pauses a pipeline's workers: each batch a worker takes is reported
// on taken, then the worker waits for release.
type gate struct {
	taken   chan int
	release chan struct{}
	mu      sync.Mutex
	sizes   []int
}

func newGate() *gate {
	return &gate{taken: make(chan int, 100), release: make(chan struct{})}
}

func (g *gate) onBatch(n int) {
	g.mu.Lock()
	g.sizes = append(g.sizes, n)
	g.mu.Unlock()
	g.taken <- n
	<-g.release
}

func (g *gate) batchSizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.sizes)
}

// collector records done calls.
type collector struct {
	mu       sync.Mutex
	outcomes map[any]Outcome
	calls    int
	all      chan struct{}
	want     int
}

func newCollector(want int) *collector {
	return &collector{outcomes: make(map[any]Outcome), all: make(chan struct{}), want: want}
}

func (c *collector) done(id any, o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.outcomes[id]; dup {
		panic(fmt.Sprintf("done called twice for %v", id))
	}
	c.outcomes[id] = o
	c.calls++
	if c.calls == c.want {
		close(c.all)
	}
}

func (c *collector) get(id any) (Outcome, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.outcomes[id]
	return o, ok
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// recv waits for ch, failing the test instead of hanging when it never
// comes.
func recv[T any](tb testing.TB, ch <-chan T) {
	tb.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		tb.Fatal("timed out waiting")
	}
}

func good(tb testing.TB, i int) Item {
	return Item{Topic: testTopic, Data: plain(tb, fmt.Sprint(i), testNow.UnixNano())}
}

func TestPipelineDefaults(t *testing.T) {
	t.Parallel()
	p := NewPipeline(plainValidator(t), PipelineConfig{}, nil)
	defer p.Close()
	if cap(p.queue) != DefaultPipelineQueue || p.maxBatch != DefaultPipelineMaxBatch {
		t.Errorf("queue %d, max batch %d", cap(p.queue), p.maxBatch)
	}
	// Both default workers can hold a batch at once.
	g := newGate()
	c := newCollector(2)
	p2 := NewPipeline(plainValidator(t), PipelineConfig{Workers: -1, QueueSize: -5, MaxBatch: 0, onBatch: g.onBatch}, c.done)
	for i := range 2 {
		if !p2.Submit(i, good(t, i)) {
			t.Fatal("refused")
		}
		recv(t, g.taken) // the next one can only be taken by another worker
	}
	close(g.release)
	recv(t, c.all)
	p2.Close()
}

func TestPipelineOutcomes(t *testing.T) {
	t.Parallel()
	const n = 300
	c := newCollector(n)
	p := NewPipeline(plainValidator(t), PipelineConfig{Workers: 3, QueueSize: n}, c.done)
	defer p.Close()
	for i := range n {
		it := good(t, i)
		if i%3 == 1 {
			it.Data = []byte{0xff, byte(i)}
		}
		if !p.Submit(i, it) {
			t.Fatalf("item %d refused with an empty queue of %d", i, n)
		}
	}
	recv(t, c.all)
	for i := range n {
		o, _ := c.get(i)
		if i%3 == 1 {
			checkOutcome(t, fmt.Sprint(i), o, gossipsub.Reject, ReasonMalformed)
		} else {
			checkOutcome(t, fmt.Sprint(i), o, gossipsub.Accept, ReasonValid)
			if string(o.Msg.GetPayload()) != fmt.Sprint(i) {
				t.Fatalf("id %d got the outcome of payload %q", i, o.Msg.GetPayload())
			}
		}
	}
}

func TestPipelineBackPressure(t *testing.T) {
	t.Parallel()
	g := newGate()
	c := newCollector(5)
	p := NewPipeline(plainValidator(t), PipelineConfig{Workers: 1, QueueSize: 4, MaxBatch: 1, onBatch: g.onBatch}, c.done)
	defer p.Close()
	if !p.Submit(0, good(t, 0)) {
		t.Fatal("first refused")
	}
	recv(t, g.taken) // the only worker holds item 0 and waits
	for i := 1; i <= 4; i++ {
		if !p.Submit(i, good(t, i)) {
			t.Fatalf("item %d refused with room in the queue", i)
		}
	}
	if p.Len() != 4 {
		t.Errorf("Len %d, want 4", p.Len())
	}
	if p.Submit(5, good(t, 5)) {
		t.Fatal("accepted with the queue full")
	}
	if c.count() != 0 {
		t.Error("done called while the worker is paused")
	}
	close(g.release)
	recv(t, c.all)
	if _, ok := c.get(5); ok {
		t.Error("done called for a refused item")
	}
	// Room again.
	c2 := newCollector(1)
	p2 := NewPipeline(plainValidator(t), PipelineConfig{Workers: 1, QueueSize: 1}, c2.done)
	defer p2.Close()
	if !p2.Submit("x", good(t, 0)) {
		t.Fatal("refused")
	}
	recv(t, c2.all)
}

func TestPipelineBatchesUnderLoad(t *testing.T) {
	t.Parallel()
	g := newGate()
	c := newCollector(21)
	p := NewPipeline(plainValidator(t), PipelineConfig{Workers: 1, QueueSize: 100, MaxBatch: 8, onBatch: g.onBatch}, c.done)
	defer p.Close()
	p.Submit(0, good(t, 0))
	recv(t, g.taken) // a lone message is validated at once, in a batch of one
	for i := 1; i <= 20; i++ {
		if !p.Submit(i, good(t, i)) {
			t.Fatal("refused")
		}
	}
	close(g.release)
	recv(t, c.all)
	if got, want := g.batchSizes(), []int{1, 8, 8, 4}; !slices.Equal(got, want) {
		t.Errorf("batch sizes %v, want %v", got, want)
	}
}

// The real validator through the pipeline: RLN proofs in batches.
func TestPipelineRLN(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	g := newGate()
	c := newCollector(4)
	p := NewPipeline(f.validator(t, nil), PipelineConfig{Workers: 1, onBatch: g.onBatch}, c.done)
	defer p.Close()
	p.Submit("first", Item{testTopic, f.msg(t, key(0, 0, "hello"))})
	recv(t, g.taken)
	p.Submit("ds1", Item{testTopic, f.msg(t, key(3, 0, "x"))})
	p.Submit("ds2", Item{testTopic, f.msg(t, key(3, 0, "y"))})
	p.Submit("dup", Item{testTopic, f.msg(t, key(0, 0, "hello"))})
	close(g.release)
	recv(t, c.all)
	for _, w := range []struct {
		id     string
		result gossipsub.Result
		reason string
	}{
		{"first", gossipsub.Accept, ReasonValid},
		{"ds1", gossipsub.Accept, ReasonValid},
		{"ds2", gossipsub.Reject, ReasonSpam},
		{"dup", gossipsub.Ignore, ReasonDuplicate},
	} {
		o, _ := c.get(w.id)
		checkOutcome(t, w.id, o, w.result, w.reason)
	}
	if got := g.batchSizes(); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("batch sizes %v, want [1 3]", got)
	}
}

func TestPipelineClose(t *testing.T) {
	t.Parallel()
	g := newGate()
	c := newCollector(4)
	p := NewPipeline(plainValidator(t), PipelineConfig{Workers: 1, MaxBatch: 1, onBatch: g.onBatch}, c.done)
	for i := range 4 {
		if !p.Submit(i, good(t, i)) {
			t.Fatal("refused")
		}
	}
	recv(t, g.taken) // the worker holds item 0; 1..3 are queued
	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	recv(t, p.quit) // Close has begun
	if p.Submit(9, good(t, 9)) {
		t.Error("Submit accepted while closing")
	}
	select {
	case <-closed:
		t.Fatal("Close returned before the worker finished its batch")
	default:
	}
	close(g.release)
	recv(t, closed)
	recv(t, c.all)
	o, _ := c.get(0)
	checkOutcome(t, "taken before Close", o, gossipsub.Accept, ReasonValid)
	for i := 1; i <= 3; i++ {
		o, _ := c.get(i)
		checkOutcome(t, fmt.Sprint("queued ", i), o, gossipsub.Ignore, ReasonShutdown)
	}
	if sizes := g.batchSizes(); len(sizes) != 1 {
		t.Errorf("workers took %v after Close", sizes)
	}
	if p.Submit(10, good(t, 10)) {
		t.Error("Submit accepted after Close")
	}
	p.Close() // twice is fine
	if p.Len() != 0 {
		t.Errorf("Len %d after Close", p.Len())
	}
}

// Submitting from many goroutines while closing: every accepted message
// gets exactly one done call (collector panics on a second), none after
// Close returns.
func TestPipelineConcurrentSubmitAndClose(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	accepted := map[any]bool{}
	c := newCollector(-1)
	p := NewPipeline(plainValidator(t), PipelineConfig{Workers: 2, QueueSize: 64, MaxBatch: 8}, c.done)
	item := good(t, 0)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			<-start
			for i := range 500 {
				id := [2]int{w, i}
				if p.Submit(id, item) {
					mu.Lock()
					accepted[id] = true
					mu.Unlock()
				}
			}
		})
	}
	close(start)
	p.Close()
	after := c.count()
	wg.Wait()
	if c.count() != after {
		t.Error("done called after Close returned")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(accepted) != after {
		t.Errorf("%d accepted, %d done calls", len(accepted), after)
	}
	for id := range accepted {
		if _, ok := c.get(id); !ok {
			t.Fatalf("accepted %v never completed", id)
		}
	}
}

// Two workers verify in parallel, but nullifiers are recorded in arrival
// order: the first message of a double-signal pair is the one accepted
// even when its worker is the slower one.
func TestPipelineRecordsInArrivalOrder(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	c := newCollector(2)
	var calls atomic.Int32
	taken := make(chan struct{})
	slowFirst := func(int) {
		if calls.Add(1) == 1 {
			close(taken)
			// Deliberately slow, so that the other worker verifies the
			// second message first: nothing marks the end of its
			// verification (it then waits to record), so wall time must
			// pass.
			time.Sleep(300 * time.Millisecond)
		}
	}
	p := NewPipeline(f.validator(t, nil), PipelineConfig{Workers: 2, MaxBatch: 1, onBatch: slowFirst}, c.done)
	defer p.Close()
	p.Submit("first", Item{testTopic, f.msg(t, key(5, 0, "first"))})
	recv(t, taken) // the first worker has taken it
	p.Submit("second", Item{testTopic, f.msg(t, key(5, 0, "second"))})
	recv(t, c.all)
	o, _ := c.get("first")
	checkOutcome(t, "first", o, gossipsub.Accept, ReasonValid)
	o, _ = c.get("second")
	checkOutcome(t, "second", o, gossipsub.Reject, ReasonSpam)
}
