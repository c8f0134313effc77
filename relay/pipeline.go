package relay

import (
	"sync"

	"github.com/rlnd/rlnd/relay/gossipsub"
)

// Defaults of PipelineConfig.
const (
	DefaultPipelineWorkers  = 2
	DefaultPipelineQueue    = 1024
	DefaultPipelineMaxBatch = 64
)

// PipelineConfig sizes a Pipeline; zero or negative values mean the
// defaults.
type PipelineConfig struct {
	// Workers is how many goroutines validate batches concurrently.
	Workers int
	// QueueSize bounds the messages waiting for a worker.
	QueueSize int
	// MaxBatch bounds the messages one worker validates at once.
	MaxBatch int

	// onBatch, when set (tests only), is called by a worker with the size
	// of each batch it took, before validating it; it may block to pause
	// the worker.
	onBatch func(n int)
}

type job struct {
	id any
	it Item
}

// Pipeline is a bounded validation queue in front of a Validator. Submit
// never blocks: when the queue is full the message is refused, and the
// caller counts it as throttled and ignores it (back-pressure). Workers
// batch naturally: each takes one message, then whatever else is already
// queued (up to MaxBatch) without waiting, so batches grow with the load
// and a lone message is validated at once.
//
// Every message Submit accepted gets exactly one done call: from a worker
// with its outcome, or from Close with Ignore "shutdown" if it was still
// queued.
type Pipeline struct {
	v        *Validator
	done     func(id any, o Outcome)
	maxBatch int
	onBatch  func(n int)

	queue chan job
	quit  chan struct{}
	wg    sync.WaitGroup

	mu     sync.RWMutex // closed, and Submit's sends against Close
	closed bool
	once   sync.Once

	// Workers verify batches concurrently but record nullifiers in the
	// order the batches were taken from the queue, which is the order the
	// messages arrived: of two messages with one nullifier, the first to
	// arrive is accepted and the later one is the double signal.
	takeMu   sync.Mutex // one worker takes a batch at a time
	taken    uint64     // batches taken
	seqMu    sync.Mutex
	seqCond  *sync.Cond
	recorded uint64 // batches recorded
}

// NewPipeline starts the workers. done is called for each message, from a
// worker goroutine, in the order of each batch; it must not block for long
// (the worker waits) and must not call Close.
func NewPipeline(v *Validator, cfg PipelineConfig, done func(id any, o Outcome)) *Pipeline {
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultPipelineWorkers
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultPipelineQueue
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultPipelineMaxBatch
	}
	if done == nil {
		done = func(any, Outcome) {}
	}
	p := &Pipeline{
		v:        v,
		done:     done,
		maxBatch: cfg.MaxBatch,
		onBatch:  cfg.onBatch,
		queue:    make(chan job, cfg.QueueSize),
		quit:     make(chan struct{}),
	}
	p.seqCond = sync.NewCond(&p.seqMu)
	p.wg.Add(cfg.Workers)
	for range cfg.Workers {
		go p.work()
	}
	return p
}

// Submit queues a message for validation. It returns false, without
// blocking, when the queue is full or the pipeline is closed; done is then
// never called for id.
func (p *Pipeline) Submit(id any, it Item) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return false
	}
	select {
	case p.queue <- job{id: id, it: it}:
		return true
	default:
		return false
	}
}

// Len is the number of messages queued and not yet taken by a worker.
func (p *Pipeline) Len() int { return len(p.queue) }

// Close refuses further messages, waits for the workers to finish the
// batches they took, then completes the messages still queued with Ignore
// "shutdown". It is safe to call more than once.
func (p *Pipeline) Close() {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.quit)
		p.wg.Wait()
		for {
			select {
			case j := <-p.queue:
				p.done(j.id, Outcome{Result: gossipsub.Ignore, Reason: ReasonShutdown})
			default:
				return
			}
		}
	})
}

func (p *Pipeline) work() {
	defer p.wg.Done()
	ids := make([]any, 0, p.maxBatch)
	items := make([]Item, 0, p.maxBatch)
	for {
		// Once closed, take nothing more, even if messages are queued.
		select {
		case <-p.quit:
			return
		default:
		}
		p.takeMu.Lock()
		var first job
		select {
		case <-p.quit:
			p.takeMu.Unlock()
			return
		case first = <-p.queue:
		}
		ids = append(ids[:0], first.id)
		items = append(items[:0], first.it)
	drain:
		for len(items) < p.maxBatch {
			select {
			case j := <-p.queue:
				ids = append(ids, j.id)
				items = append(items, j.it)
			default:
				break drain
			}
		}
		ticket := p.taken
		p.taken++
		p.takeMu.Unlock()
		if p.onBatch != nil {
			p.onBatch(len(items))
		}
		c := p.v.check(items)
		p.seqMu.Lock()
		for p.recorded != ticket {
			p.seqCond.Wait()
		}
		out := p.v.record(c)
		p.recorded++
		p.seqCond.Broadcast()
		p.seqMu.Unlock()
		for k, o := range out {
			p.done(ids[k], o)
		}
		clear(ids)
		clear(items)
	}
}
