package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"

	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// SQLite is the embedded archive backend (github.com/mattn/go-sqlite3).
//
// Durability: WAL journal with synchronous=FULL, so every committed
// transaction's WAL frames are fsynced before Put returns: an acknowledged
// message survives a process crash (SIGKILL) and a power loss.
//
// Writes go through one connection (SQLite has one writer at a time) with
// BEGIN IMMEDIATE; reads use a separate pool and see a consistent snapshot
// per query thanks to WAL.
type SQLite struct {
	w *sql.DB // single writer connection
	r *sql.DB // readers
}

// retainChunk is how many rows one retention transaction deletes at most,
// so that inserts interleave with a long retention run.
const retainChunk = 5000

// migrations is the ordered schema history; schema_version holds how many
// have been applied. Append only: never edit an applied migration.
var migrations = []string{
	// 1: messages, indexes, and running totals kept by triggers.
	`CREATE TABLE messages (
		id            INTEGER PRIMARY KEY,
		hash          BLOB    NOT NULL UNIQUE,
		pubsub_topic  TEXT    NOT NULL,
		content_topic TEXT    NOT NULL,
		timestamp     INTEGER NOT NULL,
		size          INTEGER NOT NULL,
		data          BLOB    NOT NULL
	);
	CREATE INDEX messages_topics_time ON messages (pubsub_topic, content_topic, timestamp, hash);
	CREATE INDEX messages_pubsub_time ON messages (pubsub_topic, timestamp, hash);
	CREATE INDEX messages_time ON messages (timestamp, hash);
	CREATE TABLE totals (
		id    INTEGER PRIMARY KEY CHECK (id = 0),
		count INTEGER NOT NULL,
		bytes INTEGER NOT NULL
	);
	INSERT INTO totals (id, count, bytes) VALUES (0, 0, 0);
	CREATE TRIGGER messages_insert AFTER INSERT ON messages BEGIN
		UPDATE totals SET count = count + 1, bytes = bytes + NEW.size WHERE id = 0;
	END;
	CREATE TRIGGER messages_delete AFTER DELETE ON messages BEGIN
		UPDATE totals SET count = count - 1, bytes = bytes - OLD.size WHERE id = 0;
	END;`,
}

// OpenSQLite opens (creating if needed) the archive at path and brings its
// schema up to date.
func OpenSQLite(path string) (*SQLite, error) { return openSQLite(path, "FULL") }

// openSQLite opens with a given synchronous level; only benchmarks use a
// level other than FULL, to measure what durability costs.
func openSQLite(path, synchronous string) (*SQLite, error) {
	params := url.Values{}
	params.Set("_journal_mode", "WAL")
	params.Set("_synchronous", synchronous)
	params.Set("_busy_timeout", "10000")
	params.Set("_cache_size", "-32000") // 32 MB page cache per connection
	wparams := url.Values{}
	for k, v := range params {
		wparams[k] = v
	}
	wparams.Set("_txlock", "immediate")

	dsn := func(p url.Values) string { return "file:" + url.PathEscape(path) + "?" + p.Encode() }
	w, err := sql.Open("sqlite3", dsn(wparams))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: migrate sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite3", dsn(params))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	if err := r.Ping(); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	return &SQLite{w: w, r: r}, nil
}

// SchemaVersion is the number of migrations the archive has applied.
func (s *SQLite) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	return v, err
}

func migrate(db *sql.DB) error {
	tx, err := db.Begin() // BEGIN IMMEDIATE: one migrator at a time
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var version int
	switch err := tx.QueryRow(`SELECT version FROM schema_version`).Scan(&version); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.Exec(`INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this binary knows (%d)", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.Exec(migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.Exec(`UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the database.
func (s *SQLite) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Put implements Archive.
func (s *SQLite) Put(ctx context.Context, msgs []Stored) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	type row struct {
		s    *Stored
		data []byte
	}
	rows := make([]row, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		data, err := wire.EncodeMessage(m.Message)
		if err != nil {
			return 0, fmt.Errorf("%w: message %d: %w", ErrInvalidMessage, i, err)
		}
		if h := wire.Hash(m.PubsubTopic, m.Message); h != m.Hash {
			return 0, fmt.Errorf("%w: message %d: hash %s does not match the message (%s)", ErrInvalidMessage, i, m.Hash, h)
		}
		rows[i] = row{m, data}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: put: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO messages
		(hash, pubsub_topic, content_topic, timestamp, size, data) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("store: put: %w", err)
	}
	defer stmt.Close()
	inserted := 0
	for _, r := range rows {
		res, err := stmt.ExecContext(ctx, r.s.Hash[:], r.s.PubsubTopic, r.s.Message.GetContentTopic(),
			r.s.Message.GetTimestamp(), len(r.data), r.data)
		if err != nil {
			return 0, fmt.Errorf("store: put: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("store: put: %w", err)
		}
		inserted += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: put: commit: %w", err)
	}
	return inserted, nil
}

// Query implements Archive.
func (s *SQLite) Query(ctx context.Context, q Query) (Page, error) {
	if err := q.Validate(); err != nil {
		return Page{}, err
	}
	limit := PageLimit(q.Limit)

	// One read transaction: the cursor lookup and the page see the same
	// snapshot.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Page{}, fmt.Errorf("store: query: %w", err)
	}
	defer tx.Rollback()

	// The cursor, resolved to its (timestamp, hash) position.
	var cursorTS int64
	if q.Cursor != nil {
		err := tx.QueryRowContext(ctx, `SELECT timestamp FROM messages WHERE hash = ?`, q.Cursor[:]).Scan(&cursorTS)
		if errors.Is(err, sql.ErrNoRows) {
			return Page{}, fmt.Errorf("%w: %s", ErrUnknownCursor, q.Cursor)
		}
		if err != nil {
			return Page{}, fmt.Errorf("store: query: cursor: %w", err)
		}
	}
	order := " ORDER BY timestamp ASC, hash ASC"
	if !q.Forward {
		order = " ORDER BY timestamp DESC, hash DESC"
	}
	// sel builds one SELECT over a range of an index; contentTopic nil
	// means no content topic filter.
	var args []any
	sel := func(contentTopic *string) string {
		var where []string
		if q.PubsubTopic != "" {
			where = append(where, "pubsub_topic = ?")
			args = append(args, q.PubsubTopic)
		}
		if contentTopic != nil {
			where = append(where, "content_topic = ?")
			args = append(args, *contentTopic)
		}
		if q.StartTime != nil {
			where = append(where, "timestamp >= ?")
			args = append(args, *q.StartTime)
		}
		if q.EndTime != nil {
			where = append(where, "timestamp < ?")
			args = append(args, *q.EndTime)
		}
		if len(q.Hashes) > 0 {
			where = append(where, "hash IN ("+placeholders(len(q.Hashes))+")")
			for _, h := range q.Hashes {
				args = append(args, h[:])
			}
		}
		if q.Cursor != nil {
			if q.Forward {
				where = append(where, "(timestamp, hash) > (?, ?)")
			} else {
				where = append(where, "(timestamp, hash) < (?, ?)")
			}
			args = append(args, cursorTS, q.Cursor[:])
		}
		stmt := "SELECT hash, pubsub_topic, data, timestamp FROM messages"
		if len(where) > 0 {
			stmt += " WHERE " + strings.Join(where, " AND ")
		}
		return stmt + order + " LIMIT ?"
	}
	var b strings.Builder
	switch topics := slices.Compact(slices.Sorted(slices.Values(q.ContentTopics))); len(topics) {
	case 0:
		b.WriteString(sel(nil))
	case 1:
		b.WriteString(sel(&topics[0]))
	default:
		// One index range per content topic, each limited, then merged:
		// a single IN would walk the pubsub topic's index and filter,
		// which is slow for rare content topics on a busy shard.
		for i := range topics {
			if i > 0 {
				b.WriteString(" UNION ALL ")
			}
			b.WriteString("SELECT * FROM (")
			b.WriteString(sel(&topics[i]))
			b.WriteString(")")
			args = append(args, limit+1)
		}
		if q.Forward {
			b.WriteString(" ORDER BY 4 ASC, 1 ASC LIMIT ?")
		} else {
			b.WriteString(" ORDER BY 4 DESC, 1 DESC LIMIT ?")
		}
	}
	args = append(args, limit+1) // one more tells whether a next page exists

	rows, err := tx.QueryContext(ctx, b.String(), args...)
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

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// Count implements Archive.
func (s *SQLite) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count FROM totals WHERE id = 0`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	return n, nil
}

// Bytes is the sum of the encoded sizes of the stored messages.
func (s *SQLite) Bytes(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT bytes FROM totals WHERE id = 0`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: bytes: %w", err)
	}
	return n, nil
}

// Retain implements Archive. It deletes in transactions of at most
// retainChunk rows so that concurrent Puts are not held up for long.
func (s *SQLite) Retain(ctx context.Context, r Retention) (int, error) {
	deleted := 0
	if r.MaxAge > 0 {
		cutoff := time.Now().Add(-r.MaxAge).UnixNano()
		n, err := s.deleteChunks(ctx, func(tx *sql.Tx) (int, error) {
			res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN
				(SELECT id FROM messages WHERE timestamp < ? ORDER BY timestamp, hash LIMIT ?)`, cutoff, retainChunk)
			if err != nil {
				return 0, err
			}
			n, err := res.RowsAffected()
			return int(n), err
		})
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("store: retain by age: %w", err)
		}
	}
	if r.MaxCount > 0 {
		n, err := s.deleteChunks(ctx, func(tx *sql.Tx) (int, error) {
			var count int
			if err := tx.QueryRowContext(ctx, `SELECT count FROM totals WHERE id = 0`).Scan(&count); err != nil {
				return 0, err
			}
			excess := min(count-r.MaxCount, retainChunk)
			if excess <= 0 {
				return 0, nil
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN
				(SELECT id FROM messages ORDER BY timestamp, hash LIMIT ?)`, excess)
			if err != nil {
				return 0, err
			}
			n, err := res.RowsAffected()
			return int(n), err
		})
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("store: retain by count: %w", err)
		}
	}
	if r.MaxBytes > 0 {
		n, err := s.deleteChunks(ctx, func(tx *sql.Tx) (int, error) {
			var total int64
			if err := tx.QueryRowContext(ctx, `SELECT bytes FROM totals WHERE id = 0`).Scan(&total); err != nil {
				return 0, err
			}
			excess := total - r.MaxBytes
			if excess <= 0 {
				return 0, nil
			}
			rows, err := tx.QueryContext(ctx, `SELECT id, size FROM messages ORDER BY timestamp, hash LIMIT ?`, retainChunk)
			if err != nil {
				return 0, err
			}
			var ids []any
			for rows.Next() && excess > 0 {
				var id, size int64
				if err := rows.Scan(&id, &size); err != nil {
					rows.Close()
					return 0, err
				}
				ids = append(ids, id)
				excess -= size
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return 0, err
			}
			if len(ids) == 0 {
				return 0, nil
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN (`+placeholders(len(ids))+`)`, ids...)
			if err != nil {
				return 0, err
			}
			n, err := res.RowsAffected()
			return int(n), err
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
func (s *SQLite) deleteChunks(ctx context.Context, step func(*sql.Tx) (int, error)) (int, error) {
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

var _ Archive = (*SQLite)(nil)
