package membership

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// header fetches a header (nil = latest) with retries. A missing block is
// errChainMoved.
func (g *GroupManager) header(ctx context.Context, number *big.Int) (*types.Header, error) {
	h, err := retryCall(ctx, g, "eth_getBlockByNumber", func(ctx context.Context) (*types.Header, error) {
		return g.src.HeaderByNumber(ctx, number)
	})
	if errors.Is(err, ethereum.NotFound) {
		return nil, fmt.Errorf("%w: block %v not found", errChainMoved, number)
	}
	if err != nil {
		return nil, err
	}
	if h == nil || h.Number == nil || (number != nil && h.Number.Cmp(number) != 0) {
		return nil, fmt.Errorf("%w: asked for block %v, got a header for another", errChainMoved, number)
	}
	return h, nil
}

// fetchLogs reads the registry logs of [from, to], shrinking the range
// while the endpoint refuses it. It returns the logs and the range's end.
func (g *GroupManager) fetchLogs(ctx context.Context, from, to uint64) ([]types.Log, uint64, error) {
	var retry *backoff
	for attempt := 1; ; attempt++ {
		to = min(to, from+g.batch-1)
		logs, err := g.src.FilterLogs(ctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(from),
			ToBlock:   new(big.Int).SetUint64(to),
			Addresses: []common.Address{g.cfg.Contract},
			Topics:    [][]common.Hash{registryTopics},
		})
		if err == nil {
			return logs, to, nil
		}
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("membership: eth_getLogs %d..%d: %w (last error: %v)", from, to, ctx.Err(), err)
		}
		shrunk := false
		if to > from {
			g.batch = max(1, (to-from+1)/2)
			shrunk = true
		}
		if shrunk && rangeTooLarge(err) {
			g.log.Debug("eth_getLogs range refused; halving it", "from", from, "to", to, "new_batch", g.batch, "err", err)
			continue
		}
		if retry == nil {
			retry = newBackoff(g.cfg.Retry)
		}
		wait := retry.wait()
		g.log.Warn("eth_getLogs failed; retrying", "from", from, "to", to, "attempt", attempt, "batch", g.batch, "retry_in", wait, "err", err)
		if serr := sleepCtx(ctx, wait); serr != nil {
			return nil, 0, fmt.Errorf("membership: eth_getLogs %d..%d: %w (last error: %v)", from, to, serr, err)
		}
	}
}

// rangeTooLarge recognises endpoints' "too many results" and "block range
// too large" answers, which call for a smaller range right away.
func rangeTooLarge(err error) bool {
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) && coded.ErrorCode() == -32005 {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"too many", "more than", "limit exceeded", "response size", "range", "exceed"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// retryCall runs call until it succeeds, ctx ends or it returns
// ethereum.NotFound, waiting with backoff between attempts.
func retryCall[T any](ctx context.Context, g *GroupManager, what string, call func(context.Context) (T, error)) (T, error) {
	var retry *backoff
	for attempt := 1; ; attempt++ {
		v, err := call(ctx)
		if err == nil {
			return v, nil
		}
		if errors.Is(err, ethereum.NotFound) {
			return v, fmt.Errorf("membership: %s: %w", what, err)
		}
		if ctx.Err() != nil {
			return v, fmt.Errorf("membership: %s: %w (last error: %v)", what, ctx.Err(), err)
		}
		if retry == nil {
			retry = newBackoff(g.cfg.Retry)
		}
		wait := retry.wait()
		g.log.Warn("RPC call failed; retrying", "call", what, "attempt", attempt, "retry_in", wait, "err", err)
		if serr := sleepCtx(ctx, wait); serr != nil {
			return v, fmt.Errorf("membership: %s: %w (last error: %v)", what, serr, err)
		}
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
