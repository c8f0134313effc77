package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/relay"
)

// Relay is what the archiver needs of a relay; *relay.Relay has it.
type Relay interface {
	// Subscribe gives every message the relay delivers (validated ones).
	Subscribe() *relay.Subscription
}

// ArchiverConfig configures an Archiver.
type ArchiverConfig struct {
	// MaxGap: messages whose timestamp is further than this from the
	// clock are not archived (the node passes rln.max-epoch-gap; default
	// relay.DefaultMaxEpochGap).
	MaxGap time.Duration
	// Batch and Flush bound how many messages and how long wait before a
	// Put (defaults 256 and 20 ms).
	Batch int
	Flush time.Duration
	// MaxPending bounds the messages kept while the archive is failing (a
	// shared PostgreSQL restarting, a full disk): they are put again with
	// a backoff, and beyond this many the oldest are dropped and counted
	// (default 64 x Batch).
	MaxPending int
	// Retention, applied every RetentionInterval (default 1 min) in the
	// background, never blocking inserts.
	Retention         Retention
	RetentionInterval time.Duration
	Now               func() time.Time
	Logger            *slog.Logger
	// Registerer receives the store metrics (nil: not registered); the
	// node's store service registers the same set on the same registry.
	Registerer prometheus.Registerer
}

// Archiver stores what a relay delivers: only messages that passed relay
// validation, not ephemeral ones, not ones whose timestamp is off by more
// than MaxGap.
type Archiver struct {
	cfg  ArchiverConfig
	m    *metrics
	a    Archive
	sub  *relay.Subscription
	done chan struct{} // closed when run returns
	// ctx is the archiver's life: Puts run under it, and Close cancels it
	// once run has made its last Put. retain, under ctx, is what a
	// retention pass runs under: Close cancels it first, so that a long
	// pass does not hold up the last Put. passes counts the passes in
	// progress (at most one), for Close to wait for.
	ctx          context.Context
	cancel       context.CancelFunc
	retain       context.Context
	cancelRetain context.CancelFunc
	passes       sync.WaitGroup
}

// Backoff between Puts while the archive fails.
const (
	minRetry = 100 * time.Millisecond
	maxRetry = 5 * time.Second
)

// NewArchiver starts archiving r's deliveries into a.
func NewArchiver(r Relay, a Archive, cfg ArchiverConfig) (*Archiver, error) {
	if cfg.MaxGap <= 0 {
		cfg.MaxGap = relay.DefaultMaxEpochGap
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.Flush <= 0 {
		cfg.Flush = 20 * time.Millisecond
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 64 * cfg.Batch
	}
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer, a)
	if err != nil {
		return nil, fmt.Errorf("store: archiver metrics: %w", err)
	}
	ar := &Archiver{cfg: cfg, m: m, a: a, sub: r.Subscribe(), done: make(chan struct{})}
	ar.ctx, ar.cancel = context.WithCancel(context.Background())
	ar.retain, ar.cancelRetain = context.WithCancel(ar.ctx)
	go ar.run()
	return ar, nil
}

// pending is what the archiver has received and not yet stored, and when
// to try again after a failed Put.
type pending struct {
	ar      *Archiver
	batch   []Stored
	retryAt time.Time
	backoff time.Duration
	dropped int // since the last failed Put's log line
}

// put stores the pending messages unless the archive failed recently. A
// message the archive refuses (ErrInvalidMessage) is logged and dropped
// alone; on any other error everything is kept for the next try.
func (p *pending) put(force bool) {
	if len(p.batch) == 0 || (!force && time.Now().Before(p.retryAt)) {
		return
	}
	ar, m := p.ar, p.ar.m
	ctx, cancel := context.WithTimeout(ar.ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := ar.a.Put(ctx, p.batch)
	if errors.Is(err, ErrInvalidMessage) {
		// Find the refused ones: each message alone.
		var kept []Stored
		for _, s := range p.batch {
			switch _, err1 := ar.a.Put(ctx, []Stored{s}); {
			case errors.Is(err1, ErrInvalidMessage):
				ar.cfg.Logger.Error("archive refused a message", "hash", s.Hash, "err", err1)
				m.error("invalid_message")
			case err1 != nil:
				kept, err = append(kept, s), err1
			}
		}
		p.batch = append(p.batch[:0], kept...)
		if len(kept) == 0 {
			err = nil
		}
	}
	if err == nil {
		m.inserted(time.Since(start))
		p.batch, p.backoff = p.batch[:0], 0
		return
	}
	m.error("insert_failure")
	p.backoff = min(max(2*p.backoff, minRetry), maxRetry)
	p.retryAt = time.Now().Add(p.backoff)
	p.trim()
	ar.cfg.Logger.Warn("archive failing: will try again", "pending", len(p.batch), "retry-in", p.backoff,
		"dropped", p.dropped, "err", err)
	p.dropped = 0
}

// add queues a message, dropping the oldest beyond MaxPending (counted,
// and logged at the next failed Put).
func (p *pending) add(s Stored) {
	p.batch = append(p.batch, s)
	p.trim()
}

func (p *pending) trim() {
	if over := len(p.batch) - p.ar.cfg.MaxPending; over > 0 {
		p.batch = append(p.batch[:0], p.batch[over:]...)
		p.ar.m.dropped(over)
		p.dropped += over
	}
}

func (ar *Archiver) run() {
	defer close(ar.done)
	p := &pending{ar: ar}
	flush := time.NewTicker(ar.cfg.Flush)
	defer flush.Stop()
	retain := time.NewTicker(ar.cfg.RetentionInterval)
	defer retain.Stop()
	retaining := make(chan struct{}, 1) // holds a token while a pass runs
	for {
		select {
		case env, ok := <-ar.sub.C():
			if !ok {
				p.put(true)
				return
			}
			m := env.Message
			if m.GetEphemeral() || m.Timestamp == nil {
				continue
			}
			if d := ar.cfg.Now().Sub(time.Unix(0, m.GetTimestamp())); d > ar.cfg.MaxGap || d < -ar.cfg.MaxGap {
				continue
			}
			p.add(Stored{Hash: env.Hash, PubsubTopic: env.PubsubTopic, Message: m})
			if len(p.batch) >= ar.cfg.Batch {
				p.put(false)
			}
		case <-flush.C:
			p.put(false)
		case <-retain.C:
			r := ar.cfg.Retention
			if r == (Retention{}) {
				continue
			}
			select {
			case retaining <- struct{}{}:
				// Close waits for run to end before it waits for the
				// passes, so this Add comes before that Wait.
				ar.passes.Add(1)
				go func() {
					defer ar.passes.Done()
					defer func() { <-retaining }()
					ctx, cancel := context.WithTimeout(ar.retain, time.Minute)
					defer cancel()
					n, err := ar.a.Retain(ctx, r)
					ar.m.retained(n)
					if ar.retain.Err() != nil {
						return // stopped by Close: not a failure
					}
					if err != nil {
						ar.cfg.Logger.Error("retention", "err", err)
						ar.m.error("retention_failure")
					}
				}()
			default: // the previous pass is still running
			}
		}
	}
}

// Close stops archiving (after trying once more to store what was
// received): it stops a retention pass in progress, and returns once the
// archiver's goroutines have ended.
func (ar *Archiver) Close() {
	ar.cancelRetain()
	ar.sub.Cancel()
	<-ar.done
	ar.passes.Wait()
	ar.cancel()
}
