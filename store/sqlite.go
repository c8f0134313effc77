package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"

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

// SQLiteOption configures OpenSQLite.
type SQLiteOption func(*sqliteOptions)

type sqliteOptions struct {
	log *slog.Logger
}

// SQLiteLogger sets the logger that is told when OpenSQLite tightens the
// mode of an archive file; by default nothing is logged.
func SQLiteLogger(l *slog.Logger) SQLiteOption {
	return func(o *sqliteOptions) {
		if l != nil {
			o.log = l
		}
	}
}

// sqliteFileMode is the mode of the archive and of its -wal, -shm and
// -journal files: messages and their senders' metadata are the operator's
// alone.
const sqliteFileMode fs.FileMode = 0o600

// sqliteSideFiles are the suffixes of the files SQLite keeps beside the
// database.
var sqliteSideFiles = []string{"-wal", "-shm", "-journal"}

// OpenSQLite opens (creating if needed) the archive at path and brings its
// schema up to date.
//
// The database file and its -wal, -shm and -journal files are 0600 whatever
// the umask: SQLite (in the unix VFS of github.com/mattn/go-sqlite3) creates
// the database file with 0644 less the umask, and the other three with
// exactly the database file's permission bits. So OpenSQLite creates the
// database file as 0600 itself before SQLite sees it, and when it or one of
// the others already exists with other bits it sets them to 0600 and logs a
// warning.
func OpenSQLite(path string, opts ...SQLiteOption) (*SQLite, error) {
	return openSQLite(path, "FULL", opts...)
}

// openSQLite opens with a given synchronous level; only benchmarks use a
// level other than FULL, to measure what durability costs.
func openSQLite(path, synchronous string, opts ...SQLiteOption) (*SQLite, error) {
	o := sqliteOptions{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	if err := prepareSQLiteFiles(path, o.log); err != nil {
		return nil, err
	}
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
	// OpenSQLite takes no context: the file is local, and the migration
	// waits at most the busy timeout for another process's.
	if err := sqliteDialect.migrate(context.Background(), w); err != nil {
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
	// SQLite has made its -wal and -shm files by now, with the database
	// file's bits; check them all once more.
	if err := tightenSQLiteFiles(path, o.log); err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	return &SQLite{sqlArchive{w: w, r: r, d: sqliteDialect}}, nil
}

// prepareSQLiteFiles creates the database file with mode 0600 when it does
// not exist, and sets the mode of the files that do to 0600.
func prepareSQLiteFiles(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, sqliteFileMode)
	switch {
	case err == nil:
		// The umask can only take bits away from 0600; set it exactly
		// anyway, so that what SQLite copies to the -wal and -shm files
		// is 0600 too.
		err = f.Chmod(sqliteFileMode)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("store: create sqlite %s with mode %v: %w", path, sqliteFileMode, err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("store: create sqlite %s: %w", path, err)
	}
	return tightenSQLiteFiles(path, log)
}

// tightenSQLiteFiles sets the database file and those of its side files
// that exist to mode 0600, with a warning for each it changes.
func tightenSQLiteFiles(path string, log *slog.Logger) error {
	for _, suffix := range append([]string{""}, sqliteSideFiles...) {
		name := path + suffix
		fi, err := os.Stat(name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && suffix != "" {
				continue
			}
			return fmt.Errorf("store: sqlite file mode: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("store: sqlite %s is not a regular file (%v)", name, fi.Mode())
		}
		if perm := fi.Mode().Perm(); perm != sqliteFileMode {
			if err := os.Chmod(name, sqliteFileMode); err != nil {
				return fmt.Errorf("store: sqlite %s has mode %v, want %v: %w", name, perm, sqliteFileMode, err)
			}
			log.Warn("store: tightened the mode of an archive file", "path", name, "was", perm.String(), "now", sqliteFileMode.String())
		}
	}
	return nil
}

var _ Archive = (*SQLite)(nil)
