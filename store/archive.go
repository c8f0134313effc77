// Package store holds the message archive behind 13/WAKU2-STORE v3: the
// Archive interface every backend implements, and the SQLite backend.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// Page size limits, as nwaku applies them: a limit of zero (or less) means
// DefaultPageSize and a limit above MaxPageSize is clamped to MaxPageSize,
// not refused.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
	// MaxContentTopics is the most content topics one query may name.
	MaxContentTopics = 10
)

var (
	// ErrUnknownCursor is returned when a query's cursor names no stored
	// message (never seen, or removed by retention since the last page).
	ErrUnknownCursor = errors.New("store: unknown cursor")
	// ErrInvalidQuery is returned for a query whose filters do not go
	// together or whose cursor is malformed.
	ErrInvalidQuery = errors.New("store: invalid query")
	// ErrInvalidMessage is returned by Put for a message that cannot be
	// archived (fails wire.CheckMessage, too large, or a wrong hash).
	ErrInvalidMessage = errors.New("store: invalid message")
)

// Stored is one archived message with its deterministic hash and the pubsub
// topic it was received on.
type Stored struct {
	Hash        wire.MessageHash
	PubsubTopic string
	Message     *messagepb.WakuMessage
}

// NewStored builds a Stored with its hash computed.
func NewStored(pubsubTopic string, m *messagepb.WakuMessage) Stored {
	return Stored{Hash: wire.Hash(pubsubTopic, m), PubsubTopic: pubsubTopic, Message: m}
}

// Query selects one page of archived messages. Messages are ordered by
// (timestamp, hash) ascending.
type Query struct {
	// PubsubTopic and ContentTopics go together: content topics need the
	// pubsub topic. A pubsub topic alone selects every message on it.
	PubsubTopic   string
	ContentTopics []string
	// StartTime is inclusive, EndTime exclusive; Unix nanoseconds.
	StartTime, EndTime *int64
	// Hashes looks messages up by hash; the filters above, when given too,
	// narrow the lookup (js-waku's sdk sends the pubsub topic with the
	// hashes, and nwaku answers it).
	Hashes []wire.MessageHash
	// Cursor is the hash of a stored message, excluded from the page.
	Cursor *wire.MessageHash
	// Forward pages from the oldest message towards the newest; backward
	// (false) pages from the newest towards the oldest.
	Forward bool
	// Limit is the page size: <= 0 means DefaultPageSize, above
	// MaxPageSize is clamped to MaxPageSize.
	Limit int
}

// Page is one page of a query's result.
type Page struct {
	// Messages are always in forward (ascending) order, whatever the
	// direction of paging.
	Messages []Stored
	// Next is the cursor for the next page in the same direction, nil when
	// there are no more messages. As in nwaku, it is the hash of the last
	// message included in traversal order: the newest message of the page
	// when going forward, the oldest (Messages[0]) when going backward.
	Next *wire.MessageHash
}

// Retention bounds the archive. Zero fields are not applied.
type Retention struct {
	// MaxAge removes messages whose timestamp is older than now - MaxAge.
	MaxAge time.Duration
	// MaxCount keeps at most this many messages, removing the oldest.
	MaxCount int
	// MaxBytes keeps the sum of encoded message sizes at most this many
	// bytes, removing the oldest. It counts the encoded WakuMessages, not
	// the database file (indexes and free pages are not included).
	MaxBytes int64
}

// Archive is the message archive of a store node. Implementations are safe
// for concurrent use.
type Archive interface {
	// Put stores the messages, each hash once: duplicates (already stored,
	// or repeated in the batch) are ignored. It returns how many were newly
	// stored, after they are durable (committed). The batch is atomic.
	Put(ctx context.Context, msgs []Stored) (inserted int, err error)
	// Query returns one page.
	Query(ctx context.Context, q Query) (Page, error)
	// Retain removes the messages that fall outside r, oldest first.
	Retain(ctx context.Context, r Retention) (deleted int, err error)
	// Count is the number of stored messages.
	Count(ctx context.Context) (int, error)
	Close() error
}

// PageLimit is the page size a query gets for the limit it asks.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > MaxPageSize:
		return MaxPageSize
	}
	return limit
}

// Validate checks that a query's parts go together.
func (q Query) Validate() error {
	if len(q.ContentTopics) > 0 && q.PubsubTopic == "" {
		return fmt.Errorf("%w: content topics need the pubsub topic", ErrInvalidQuery)
	}
	if len(q.ContentTopics) > MaxContentTopics {
		return fmt.Errorf("%w: %d content topics, at most %d allowed", ErrInvalidQuery, len(q.ContentTopics), MaxContentTopics)
	}
	if q.Cursor != nil && *q.Cursor == (wire.MessageHash{}) {
		return fmt.Errorf("%w: the cursor is all zeroes", ErrInvalidQuery)
	}
	return nil
}

// ParseCursor reads a pagination cursor received from a peer: absent (nil
// or empty) means no cursor; otherwise it must be a 32-byte message hash,
// not all zeroes.
func ParseCursor(b []byte) (*wire.MessageHash, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) != len(wire.MessageHash{}) {
		return nil, fmt.Errorf("%w: cursor is %d bytes, expected a 32-byte message hash", ErrInvalidQuery, len(b))
	}
	var h wire.MessageHash
	copy(h[:], b)
	if h == (wire.MessageHash{}) {
		return nil, fmt.Errorf("%w: the cursor is all zeroes", ErrInvalidQuery)
	}
	return &h, nil
}
