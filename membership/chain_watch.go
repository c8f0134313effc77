package membership

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// ErrChainUnreachable is returned by WatchedSource.Run when the endpoint
// answered nothing for the whole stall limit.
var ErrChainUnreachable = errors.New("membership: chain endpoint unreachable")

// WatchedSource is a ChainSource that remembers when the endpoint last
// answered and the last failure, so that a caller can bound how long it
// waits for an endpoint that does not answer (Run) without bounding how
// long a sync that makes progress may take. An answer is a result (or
// "not found"); a transport failure, an HTTP error status, a timeout or a
// JSON-RPC error (a refused or rate-limited call) is not.
type WatchedSource struct {
	src ChainSource

	mu       sync.Mutex
	answered time.Time
	lastErr  error
}

var _ ChainSource = (*WatchedSource)(nil)

// Watch wraps src.
func Watch(src ChainSource) *WatchedSource { return &WatchedSource{src: src} }

// note records the outcome of one call made with ctx. The failure of a
// call whose context ended is not recorded: it says nothing of the
// endpoint, and would hide the failure that made Run give up.
func (w *WatchedSource) note(ctx context.Context, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err == nil || errors.Is(err, ethereum.NotFound):
		w.answered = time.Now()
	case ctx.Err() == nil:
		w.lastErr = err
	}
}

// LastError is the last error a call returned (nil if none has failed).
func (w *WatchedSource) LastError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// lastAnswer is when the endpoint last answered (zero if never).
func (w *WatchedSource) lastAnswer() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.answered
}

// Run calls f with a context that is cancelled once the endpoint has not
// answered for stall, counted from Run's start or the last answer. It then
// returns ErrChainUnreachable with the last error; otherwise what f
// returns. stall <= 0 runs f unbounded.
func (w *WatchedSource) Run(ctx context.Context, stall time.Duration, f func(context.Context) error) error {
	if stall <= 0 {
		return f(ctx)
	}
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	done := make(chan struct{})
	watchdog := make(chan struct{})
	go func() {
		defer close(watchdog)
		t := time.NewTimer(stall)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			since := w.lastAnswer()
			if since.Before(start) {
				since = start
			}
			if left := stall - time.Since(since); left > 0 {
				t.Reset(left)
				continue
			}
			cancel(ErrChainUnreachable)
			return
		}
	}()
	err := f(fctx)
	close(done)
	<-watchdog
	// The watchdog may fire just after f succeeded: only a failure is
	// blamed on the endpoint.
	if err != nil && errors.Is(context.Cause(fctx), ErrChainUnreachable) && ctx.Err() == nil {
		last := w.LastError()
		if last == nil {
			last = err
		}
		return fmt.Errorf("%w: no answer for %v; last error: %v", ErrChainUnreachable, stall, last)
	}
	return err
}

// ChainID implements ChainSource.
func (w *WatchedSource) ChainID(ctx context.Context) (*big.Int, error) {
	id, err := w.src.ChainID(ctx)
	w.note(ctx, err)
	return id, err
}

// HeaderByNumber implements ChainSource.
func (w *WatchedSource) HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error) {
	h, err := w.src.HeaderByNumber(ctx, number)
	w.note(ctx, err)
	return h, err
}

// FilterLogs implements ChainSource.
func (w *WatchedSource) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	logs, err := w.src.FilterLogs(ctx, q)
	w.note(ctx, err)
	return logs, err
}

// CodeAt implements ChainSource.
func (w *WatchedSource) CodeAt(ctx context.Context, account common.Address, blockNumber *big.Int) ([]byte, error) {
	code, err := w.src.CodeAt(ctx, account, blockNumber)
	w.note(ctx, err)
	return code, err
}

// CallContract implements ChainSource.
func (w *WatchedSource) CallContract(ctx context.Context, call ethereum.CallMsg, blockNumber *big.Int) ([]byte, error) {
	out, err := w.src.CallContract(ctx, call, blockNumber)
	w.note(ctx, err)
	return out, err
}

// TransactionByHash implements ChainSource.
func (w *WatchedSource) TransactionByHash(ctx context.Context, hash common.Hash) (*types.Transaction, bool, error) {
	tx, pending, err := w.src.TransactionByHash(ctx, hash)
	w.note(ctx, err)
	return tx, pending, err
}
