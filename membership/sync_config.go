package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of SyncConfig.
const (
	DefaultBatchSize    = 10_000
	DefaultPollInterval = 2 * time.Second
	DefaultReorgDepth   = 64
	DefaultRetryInitial = 100 * time.Millisecond
	DefaultRetryMax     = 10 * time.Second
	defaultRetryFactor  = 2
	maxReorgDepth       = 1 << 20
	maxConfiguredWindow = 1 << 16
	maxConfiguredBatch  = 1 << 32
	minPollInterval     = time.Millisecond
)

// ErrInvalidSyncConfig is returned by NewGroupManager for a bad SyncConfig.
var ErrInvalidSyncConfig = errors.New("membership: invalid sync config")

// RetryConfig is the exponential backoff used between failed RPC calls:
// the n-th wait is drawn uniformly from [d/2, d] with d = Initial*2^(n-1)
// capped at Max. Retries go on while the context is alive.
type RetryConfig struct {
	Initial time.Duration // default DefaultRetryInitial
	Max     time.Duration // default DefaultRetryMax
}

// SyncConfig configures a GroupManager. Zero values mean the defaults.
type SyncConfig struct {
	// Contract is the address of the membership registry (required).
	Contract common.Address
	// ChainID is the expected chain; 0 accepts any.
	ChainID uint64
	// StartBlock is the contract's deployment block: history is read from
	// there.
	StartBlock uint64
	// Confirmations is how far behind the head a block must be before its
	// events are applied: the safe head is head - Confirmations.
	Confirmations uint64
	// BatchSize is the number of blocks per eth_getLogs call
	// (DefaultBatchSize). The range is halved when the endpoint refuses it
	// and grows back after successes.
	BatchSize uint64
	// PollInterval is the wait between steps once synced
	// (DefaultPollInterval).
	PollInterval time.Duration
	// RootWindow is the number of recent roots accepted
	// (DefaultRootWindow).
	RootWindow int
	// CheckpointPath is the file the sync state is persisted to; "" keeps
	// it in memory only.
	CheckpointPath string
	// ResyncOnCorrupt makes a corrupt checkpoint, or one written for
	// another chain or contract, a warning followed by a sync from
	// StartBlock instead of an error.
	ResyncOnCorrupt bool
	// ReorgDepth is how many blocks behind the safe head can still be
	// rolled back (DefaultReorgDepth); a deeper reorg is ErrReorgTooDeep.
	ReorgDepth uint64
	// Retry is the backoff between failed RPC calls.
	Retry RetryConfig
	// Logger receives the manager's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the manager's metrics (nil: not registered).
	Registerer prometheus.Registerer
}

// withDefaults fills in the defaults and checks the values.
func (c SyncConfig) withDefaults() (SyncConfig, error) {
	if c.Contract == (common.Address{}) {
		return c, fmt.Errorf("%w: no contract address", ErrInvalidSyncConfig)
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchSize > maxConfiguredBatch {
		return c, fmt.Errorf("%w: batch size %d blocks, want 1..%d", ErrInvalidSyncConfig, c.BatchSize, uint64(maxConfiguredBatch))
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.PollInterval < minPollInterval {
		return c, fmt.Errorf("%w: poll interval %v, want at least %v", ErrInvalidSyncConfig, c.PollInterval, minPollInterval)
	}
	if c.RootWindow == 0 {
		c.RootWindow = DefaultRootWindow
	}
	if c.RootWindow < 0 || c.RootWindow > maxConfiguredWindow {
		return c, fmt.Errorf("%w: root window %d, want 1..%d", ErrInvalidSyncConfig, c.RootWindow, maxConfiguredWindow)
	}
	if c.ReorgDepth == 0 {
		c.ReorgDepth = DefaultReorgDepth
	}
	if c.ReorgDepth > maxReorgDepth {
		return c, fmt.Errorf("%w: reorg depth %d, want 1..%d", ErrInvalidSyncConfig, c.ReorgDepth, maxReorgDepth)
	}
	if c.Retry.Initial == 0 {
		c.Retry.Initial = DefaultRetryInitial
	}
	if c.Retry.Max == 0 {
		c.Retry.Max = max(DefaultRetryMax, c.Retry.Initial)
	}
	if c.Retry.Initial < 0 || c.Retry.Max < c.Retry.Initial {
		return c, fmt.Errorf("%w: retry backoff %v..%v, want 0 < initial <= max", ErrInvalidSyncConfig, c.Retry.Initial, c.Retry.Max)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// backoff yields the waits of RetryConfig.
type backoff struct {
	cfg  RetryConfig
	next time.Duration
}

func newBackoff(cfg RetryConfig) *backoff { return &backoff{cfg: cfg, next: cfg.Initial} }

// wait returns the next wait, with jitter, and doubles the base.
func (b *backoff) wait() time.Duration {
	d := b.next
	if b.next > b.cfg.Max/defaultRetryFactor {
		b.next = b.cfg.Max
	} else {
		b.next *= defaultRetryFactor
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func (b *backoff) reset() { b.next = b.cfg.Initial }
