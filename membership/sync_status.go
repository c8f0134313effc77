package membership

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// progressEvery is the least time between two progress lines of a step
// that reads many blocks (the history at start, or a long way behind).
const progressEvery = 10 * time.Second

var (
	// ErrCatchingUp is what Healthy reports before the sync first reaches
	// the chain's safe head: the window of roots is not current yet.
	ErrCatchingUp = errors.New("membership: catching up with the chain")
	// ErrSyncStalled is what Healthy reports when the sync has made no
	// progress for StallLimit: the endpoint keeps failing or hangs, and
	// the window of roots falls behind the chain.
	ErrSyncStalled = errors.New("membership: sync stalled")
	// ErrSyncStopped is what Healthy reports once an error retrying cannot
	// help (Err) stopped the loop; it wraps that error.
	ErrSyncStopped = errors.New("membership: sync stopped")
)

// syncStatus is what the health check and the metrics read of the sync. It
// has its own lock: readers must not wait for a step's tree writes.
type syncStatus struct {
	mu       sync.Mutex
	head     uint64    // latest chain head seen
	caughtUp bool      // a step has reached the safe head
	progress time.Time // last progress: a batch applied or a step done

	// every overrides progressEvery when set (tests; set before the
	// first step).
	every time.Duration
}

// historyRun is the reading of blocks by one step, for the progress lines.
// Only the holder of stepMu touches it.
type historyRun struct {
	start  time.Time
	from   uint64 // first block the step reads
	safe   uint64 // last block it reads
	head   uint64
	logged time.Time // when its last progress line was logged (zero: none)
}

// sawHead records the chain head a step saw.
func (g *GroupManager) sawHead(h uint64) {
	g.status.mu.Lock()
	defer g.status.mu.Unlock()
	g.status.head = h
}

// headBlock is the latest chain head seen (0 before any).
func (g *GroupManager) headBlock() uint64 {
	g.status.mu.Lock()
	defer g.status.mu.Unlock()
	return g.status.head
}

// Progress is the last block the sync applied and the latest chain head
// it saw (ProgressReporter).
func (g *GroupManager) Progress() (synced, head uint64) { return g.SyncedBlock(), g.headBlock() }

// beginRun starts the progress of a step that reads blocks next..safe
// (stepMu held).
func (g *GroupManager) beginRun(safe, head uint64) {
	g.history = &historyRun{start: time.Now(), from: g.next, safe: safe, head: head}
}

// batchApplied records the progress of a batch (stepMu held) and logs a
// progress line if the step has been reading for progressEvery since the
// last one.
func (g *GroupManager) batchApplied() {
	now := time.Now()
	g.status.mu.Lock()
	g.status.progress = now
	g.status.mu.Unlock()
	every := progressEvery
	if g.status.every > 0 {
		every = g.status.every
	}
	r := g.history
	if r == nil || now.Sub(r.start) < every || now.Sub(r.logged) < every {
		return
	}
	r.logged = now
	g.log.Info("membership sync progress", g.runAttrs(now)...)
}

// stepDone records a successful step (stepMu held). The first one, and one
// that logged progress, logs "membership sync caught up" with the run's
// figures.
func (g *GroupManager) stepDone() {
	now := time.Now()
	g.status.mu.Lock()
	first := !g.status.caughtUp
	g.status.caughtUp = true
	g.status.progress = now
	g.status.mu.Unlock()
	if first || (g.history != nil && !g.history.logged.IsZero()) {
		g.log.Info("membership sync caught up", g.runAttrs(now)...)
	}
	g.history = nil
}

// runAttrs are the log attributes of the current run at now: blocks done
// and to do, the head, the members and the rate (stepMu held).
func (g *GroupManager) runAttrs(now time.Time) []any {
	inUse, slots := g.members()
	synced := g.SyncedBlock()
	attrs := []any{"synced_block", synced, "members", inUse, "registered", slots}
	r := g.history
	if r == nil {
		return append(attrs, "head", g.headBlock())
	}
	done := g.next - r.from
	elapsed := now.Sub(r.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	return append(attrs, "blocks_done", done, "blocks_total", r.safe-r.from+1, "head", r.head,
		"blocks_per_s", fmt.Sprintf("%.0f", rate), "elapsed", elapsed.Round(time.Millisecond))
}

// members counts the leaves in use (registered, not erased or expired) and
// the leaf slots used so far (one past the highest index written: the
// registry's nextFreeIndex once synced). It reads every slot: for logs,
// not for every scrape.
func (g *GroupManager) members() (inUse, slots uint64) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	slots = g.tree.NextIndex()
	for i := range slots {
		if leaf, err := g.tree.Leaf(i); err == nil && !leaf.IsZero() {
			inUse++
		}
	}
	return inUse, slots
}

// registered is the number of leaf slots used so far (see members).
func (g *GroupManager) registered() uint64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.tree.NextIndex()
}

// StallLimit is how long the sync may make no progress before Healthy
// reports it stalled: ten poll intervals and the longest retry wait.
func (g *GroupManager) StallLimit() time.Duration {
	return 10*g.cfg.PollInterval + g.cfg.Retry.Max
}

// StaleLimit is how long the sync may make no progress before
// WindowTrusted reports the window frozen: one epoch of The Waku Network
// (10 minutes) or StallLimit, whichever is longer. Roots change only with
// registrations and erasures, so a window a few minutes old still judges
// nearly every message right, while ignoring every RLN message because an
// RPC endpoint hiccuped would stop the relay for all.
func (g *GroupManager) StaleLimit() time.Duration {
	return max(10*time.Minute, g.StallLimit())
}

// WindowTrusted reports whether the window of roots can still judge
// messages: like Healthy, but a stalled sync fails it only after
// StaleLimit.
func (g *GroupManager) WindowTrusted() error {
	return g.health(g.StaleLimit())
}

// Healthy reports whether the window of roots follows the chain: nil once
// a step has reached the safe head and the sync has made progress within
// StallLimit since; ErrCatchingUp before, ErrSyncStalled after no progress
// for longer, ErrSyncStopped (wrapping Err) once the loop stopped on an
// error retrying cannot help. A relay validator ignores messages while it
// fails (see HealthReporter).
func (g *GroupManager) Healthy() error {
	return g.health(g.StallLimit())
}

// health is Healthy with the given stall limit.
func (g *GroupManager) health(limit time.Duration) error {
	if err := g.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrSyncStopped, err)
	}
	g.status.mu.Lock()
	caughtUp, progress, head := g.status.caughtUp, g.status.progress, g.status.head
	g.status.mu.Unlock()
	if !caughtUp {
		return fmt.Errorf("%w: at block %d, chain head %d", ErrCatchingUp, g.SyncedBlock(), head)
	}
	if since := time.Since(progress); since > limit {
		return fmt.Errorf("%w: no progress for %v (limit %v), last synced block %d, chain head %d",
			ErrSyncStalled, since.Round(time.Millisecond), limit, g.SyncedBlock(), head)
	}
	return nil
}
