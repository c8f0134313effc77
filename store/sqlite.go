package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"
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
type SQLite struct{ sqlArchive }

var sqliteDialect = &dialect{
	param:      func(int) string { return "?" },
	migrations: sqliteMigrations,
	readTx:     &sql.TxOptions{ReadOnly: true},
	totals:     `SELECT count, bytes FROM totals WHERE id = 0`,
	insert: func(ctx context.Context, tx *sql.Tx, rows []encoded) (int, error) {
		stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO messages
			(hash, pubsub_topic, content_topic, timestamp, size, data) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return 0, err
		}
		defer stmt.Close()
		inserted := 0
		for _, r := range rows {
			res, err := stmt.ExecContext(ctx, r.s.Hash[:], r.s.PubsubTopic, r.s.Message.GetContentTopic(),
				r.s.Message.GetTimestamp(), len(r.data), r.data)
			if err != nil {
				return 0, err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return 0, err
			}
			inserted += int(n)
		}
		return inserted, nil
	},
}

// sqliteMigrations is the ordered schema history; schema_version holds how many
// have been applied. Append only: never edit an applied migration.
var sqliteMigrations = []string{
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
	if err := sqliteDialect.migrate(w); err != nil {
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
	return &SQLite{sqlArchive{w: w, r: r, d: sqliteDialect}}, nil
}

var _ Archive = (*SQLite)(nil)
