package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// sqlArchive is the Archive both backends share, on database/sql: the
// schema (one messages table, indexes over (topics, timestamp, hash), and
// running totals kept by triggers), the queries and the retention are the
// same, and a dialect holds what differs.
type sqlArchive struct {
	w *sql.DB // writes: SQLite has one writer connection
	r *sql.DB // reads
	d *dialect
}

// dialect is what differs between the SQL backends.
type dialect struct {
	// param is the text of the i-th (1-based) positional parameter.
	param func(i int) string
	// migrations is the ordered schema history; schema_version holds how
	// many have been applied. Append only: never edit an applied one.
	migrations []string
	// lock, when not empty, runs first in the migration transaction so
	// that one process migrates at a time.
	lock string
	// readTx are the options of a query's transaction: the cursor lookup
	// and the page must see one snapshot.
	readTx *sql.TxOptions
	// insert stores the rows in tx, each hash once, and returns how many
	// were new.
	insert func(ctx context.Context, tx *sql.Tx, rows []encoded) (int, error)
	// totals selects (count, bytes) of the stored messages.
	totals string
}

// encoded is a message ready for insertion.
type encoded struct {
	s    *Stored
	data []byte
}

// retainChunk is how many rows one retention transaction deletes at most,
// so that inserts interleave with a long retention run.
const retainChunk = 5000

func (d *dialect) migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil) // SQLite: BEGIN IMMEDIATE, one migrator at a time
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d.lock != "" {
		if _, err := tx.ExecContext(ctx, d.lock); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var version int
	switch err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if version > len(d.migrations) {
		return fmt.Errorf("schema version %d is newer than this binary knows (%d)", version, len(d.migrations))
	}
	for i := version; i < len(d.migrations); i++ {
		if _, err := tx.ExecContext(ctx, d.migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = `+d.param(1), len(d.migrations)); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion is the number of migrations the archive has applied.
func (s *sqlArchive) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	return v, err
}

// Close closes the database.
func (s *sqlArchive) Close() error {
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// Put implements Archive.
func (s *sqlArchive) Put(ctx context.Context, msgs []Stored) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	rows := make([]encoded, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		data, err := wire.EncodeMessage(m.Message)
		if err != nil {
			return 0, fmt.Errorf("%w: message %d: %w", ErrInvalidMessage, i, err)
		}
		if h := wire.Hash(m.PubsubTopic, m.Message); h != m.Hash {
			return 0, fmt.Errorf("%w: message %d: hash %s does not match the message (%s)", ErrInvalidMessage, i, m.Hash, h)
		}
		rows[i] = encoded{m, data}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: put: %w", err)
	}
	defer tx.Rollback()
	inserted, err := s.d.insert(ctx, tx, rows)
	if err != nil {
		return 0, fmt.Errorf("store: put: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: put: commit: %w", err)
	}
	return inserted, nil
}

// Query implements Archive.
func (s *sqlArchive) Query(ctx context.Context, q Query) (Page, error) {
	if err := q.Validate(); err != nil {
		return Page{}, err
	}
	limit := PageLimit(q.Limit)

	tx, err := s.r.BeginTx(ctx, s.d.readTx)
	if err != nil {
		return Page{}, fmt.Errorf("store: query: %w", err)
	}
	defer tx.Rollback()

	// The cursor, resolved to its (timestamp, hash) position.
	var cursorTS int64
	if q.Cursor != nil {
		err := tx.QueryRowContext(ctx, `SELECT timestamp FROM messages WHERE hash = `+s.d.param(1), q.Cursor[:]).Scan(&cursorTS)
		if errors.Is(err, sql.ErrNoRows) {
			return Page{}, fmt.Errorf("%w: %s", ErrUnknownCursor, q.Cursor)
		}
		if err != nil {
			return Page{}, fmt.Errorf("store: query: cursor: %w", err)
		}
	}
	stmt, args := s.d.pageQuery(q, limit, cursorTS)
	rows, err := tx.QueryContext(ctx, stmt, args...)
	if err != nil {
		return Page{}, fmt.Errorf("store: query: %w", err)
	}
	defer rows.Close()
	var page Page
	more := false
	for rows.Next() {
		if len(page.Messages) == limit {
			more = true
			break
		}
		var hash, data []byte
		var ts int64
		var st Stored
		if err := rows.Scan(&hash, &st.PubsubTopic, &data, &ts); err != nil {
			return Page{}, fmt.Errorf("store: query: %w", err)
		}
		if len(hash) != len(st.Hash) {
			return Page{}, fmt.Errorf("store: query: stored hash is %d bytes", len(hash))
		}
		copy(st.Hash[:], hash)
		m := new(messagepb.WakuMessage)
		if err := wire.Decode(data, m); err != nil {
			return Page{}, fmt.Errorf("store: query: stored message %s: %w", st.Hash, err)
		}
		st.Message = m
		page.Messages = append(page.Messages, st)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("store: query: %w", err)
	}
	if more {
		next := page.Messages[len(page.Messages)-1].Hash
		page.Next = &next
	}
	if !q.Forward {
		slices.Reverse(page.Messages)
	}
	return page, nil
}

// pageQuery builds the SELECT of one page (limit+1 rows: one more tells
// whether a next page exists) in traversal order, and its arguments.
func (d *dialect) pageQuery(q Query, limit int, cursorTS int64) (string, []any) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return d.param(len(args))
	}
	order := " ORDER BY timestamp ASC, hash ASC"
	if !q.Forward {
		order = " ORDER BY timestamp DESC, hash DESC"
	}
	// sel is one SELECT over a range of an index; contentTopic nil means
	// no content topic filter.
	sel := func(contentTopic *string) string {
		var where []string
		if q.PubsubTopic != "" {
			where = append(where, "pubsub_topic = "+arg(q.PubsubTopic))
		}
		if contentTopic != nil {
			where = append(where, "content_topic = "+arg(*contentTopic))
		}
		if q.StartTime != nil {
			where = append(where, "timestamp >= "+arg(*q.StartTime))
		}
		if q.EndTime != nil {
			where = append(where, "timestamp < "+arg(*q.EndTime))
		}
		if len(q.Hashes) > 0 {
			ps := make([]string, len(q.Hashes))
			for i, h := range q.Hashes {
				ps[i] = arg(h[:])
			}
			where = append(where, "hash IN ("+strings.Join(ps, ",")+")")
		}
		if q.Cursor != nil {
			op := " < "
			if q.Forward {
				op = " > "
			}
			ts := arg(cursorTS)
			where = append(where, "(timestamp, hash)"+op+"("+ts+", "+arg(q.Cursor[:])+")")
		}
		stmt := "SELECT hash, pubsub_topic, data, timestamp FROM messages"
		if len(where) > 0 {
			stmt += " WHERE " + strings.Join(where, " AND ")
		}
		return stmt + order + " LIMIT " + arg(limit+1)
	}
	switch topics := slices.Compact(slices.Sorted(slices.Values(q.ContentTopics))); len(topics) {
	case 0:
		return sel(nil), args
	case 1:
		return sel(&topics[0]), args
	default:
		// One index range per content topic, each limited, then merged:
		// a single IN would walk the pubsub topic's index and filter,
		// which is slow for rare content topics on a busy shard.
		var b strings.Builder
		for i := range topics {
			if i > 0 {
				b.WriteString(" UNION ALL ")
			}
			fmt.Fprintf(&b, "SELECT * FROM (%s) AS t%d", sel(&topics[i]), i)
		}
		if q.Forward {
			b.WriteString(" ORDER BY 4 ASC, 1 ASC")
		} else {
			b.WriteString(" ORDER BY 4 DESC, 1 DESC")
		}
		b.WriteString(" LIMIT " + arg(limit+1))
		return b.String(), args
	}
}

// totals reads (count, bytes).
func (s *sqlArchive) totals(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (count, bytes int64, err error) {
	err = q.QueryRowContext(ctx, s.d.totals).Scan(&count, &bytes)
	return
}

// Count implements Archive.
func (s *sqlArchive) Count(ctx context.Context) (int, error) {
	n, _, err := s.totals(ctx, s.r)
	if err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	return int(n), nil
}

// Bytes is the sum of the encoded sizes of the stored messages.
func (s *sqlArchive) Bytes(ctx context.Context) (int64, error) {
	_, n, err := s.totals(ctx, s.r)
	if err != nil {
		return 0, fmt.Errorf("store: bytes: %w", err)
	}
	return n, nil
}

// Retain implements Archive. It deletes in transactions of at most
// retainChunk rows so that concurrent Puts are not held up for long.
// Several store nodes may retain one shared archive at once: each deletes
// the oldest rows, and rows another has deleted are skipped.
func (s *sqlArchive) Retain(ctx context.Context, r Retention) (int, error) {
	p := s.d.param
	deleteRows := func(tx *sql.Tx, query string, args ...any) (int, error) {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		return int(n), err
	}
	deleted := 0
	if r.MaxAge > 0 {
		cutoff := time.Now().Add(-r.MaxAge).UnixNano()
		n, err := s.deleteChunks(ctx, func(tx *sql.Tx) (int, error) {
			return deleteRows(tx, `DELETE FROM messages WHERE id IN
				(SELECT id FROM messages WHERE timestamp < `+p(1)+` ORDER BY timestamp, hash LIMIT `+p(2)+`)`, cutoff, retainChunk)
		})
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("store: retain by age: %w", err)
		}
	}
	if r.MaxCount > 0 {
		n, err := s.deleteChunks(ctx, func(tx *sql.Tx) (int, error) {
			count, _, err := s.totals(ctx, tx)
			if err != nil {
				return 0, err
			}
			excess := min(count-int64(r.MaxCount), retainChunk)
			if excess <= 0 {
				return 0, nil
			}
			return deleteRows(tx, `DELETE FROM messages WHERE id IN
				(SELECT id FROM messages ORDER BY timestamp, hash LIMIT `+p(1)+`)`, excess)
		})
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("store: retain by count: %w", err)
		}
	}
	if r.MaxBytes > 0 {
		n, err := s.deleteChunks(ctx, func(tx *sql.Tx) (int, error) {
			_, total, err := s.totals(ctx, tx)
			if err != nil {
				return 0, err
			}
			excess := total - r.MaxBytes
			if excess <= 0 {
				return 0, nil
			}
			rows, err := tx.QueryContext(ctx, `SELECT id, size FROM messages ORDER BY timestamp, hash LIMIT `+p(1), retainChunk)
			if err != nil {
				return 0, err
			}
			var ids []string
			var args []any
			for rows.Next() && excess > 0 {
				var id, size int64
				if err := rows.Scan(&id, &size); err != nil {
					rows.Close()
					return 0, err
				}
				args = append(args, id)
				ids = append(ids, p(len(args)))
				excess -= size
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return 0, err
			}
			if len(ids) == 0 {
				return 0, nil
			}
			return deleteRows(tx, `DELETE FROM messages WHERE id IN (`+strings.Join(ids, ",")+`)`, args...)
		})
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("store: retain by size: %w", err)
		}
	}
	return deleted, nil
}

// deleteChunks runs step in its own write transaction until it deletes
// nothing, and returns the total deleted.
func (s *sqlArchive) deleteChunks(ctx context.Context, step func(*sql.Tx) (int, error)) (int, error) {
	total := 0
	for {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return total, err
		}
		n, err := step(tx)
		if err != nil {
			tx.Rollback()
			return total, err
		}
		if err := tx.Commit(); err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			return total, nil
		}
	}
}
