package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/rlnd/rlnd/internal/redact"
)

// Postgres is the archive backend for several store nodes sharing one
// archive (github.com/jackc/pgx through database/sql).
//
// Durability is PostgreSQL's: Put returns after the commit, which with the
// server's default synchronous_commit=on means the WAL record is flushed.
// Each node's Puts, queries and retention run concurrently with the
// others': inserts ignore hashes already stored by anyone, migrations take
// an advisory lock, and the running totals are spread over totalSlots rows
// so that concurrent inserts rarely wait on one another's row lock.
type Postgres struct{ sqlArchive }

// totalSlots is how many rows the running totals are spread over; a
// transaction updates the row of its backend process.
const totalSlots = 16

// pgMigrationLock is the advisory lock key migrations hold ("rlnd" in
// ASCII).
const pgMigrationLock = 0x726c6e64

var pgDialect = &dialect{
	param:      func(i int) string { return "$" + strconv.Itoa(i) },
	migrations: pgMigrations,
	lock:       fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, pgMigrationLock),
	readTx:     &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	totals:     `SELECT COALESCE(SUM(count), 0), COALESCE(SUM(bytes), 0) FROM totals`,
	// One statement for the batch: the rows go as arrays, so a batch is one
	// round trip however large it is.
	insert: func(ctx context.Context, tx *sql.Tx, rows []encoded) (int, error) {
		hashes := make([][]byte, len(rows))
		pubsub := make([]string, len(rows))
		content := make([]string, len(rows))
		ts := make([]int64, len(rows))
		sizes := make([]int32, len(rows))
		data := make([][]byte, len(rows))
		for i, r := range rows {
			hashes[i] = r.s.Hash[:]
			pubsub[i] = r.s.PubsubTopic
			content[i] = r.s.Message.GetContentTopic()
			ts[i] = r.s.Message.GetTimestamp()
			sizes[i] = int32(len(r.data))
			data[i] = r.data
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO messages (hash, pubsub_topic, content_topic, timestamp, size, data)
			SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::bigint[], $5::integer[], $6::bytea[])
			ON CONFLICT (hash) DO NOTHING`, hashes, pubsub, content, ts, sizes, data)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		return int(n), err
	},
}

var pgMigrations = []string{
	// 1: messages, indexes, and running totals kept by statement triggers
	// over the transition tables (one update per statement, not per row).
	fmt.Sprintf(`CREATE TABLE messages (
		id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		hash          BYTEA   NOT NULL UNIQUE,
		pubsub_topic  TEXT    NOT NULL,
		content_topic TEXT    NOT NULL,
		timestamp     BIGINT  NOT NULL,
		size          INTEGER NOT NULL,
		data          BYTEA   NOT NULL
	);
	CREATE INDEX messages_topics_time ON messages (pubsub_topic, content_topic, timestamp, hash);
	CREATE INDEX messages_pubsub_time ON messages (pubsub_topic, timestamp, hash);
	CREATE INDEX messages_time ON messages (timestamp, hash);
	CREATE TABLE totals (
		slot  INTEGER PRIMARY KEY,
		count BIGINT NOT NULL,
		bytes BIGINT NOT NULL
	);
	INSERT INTO totals (slot, count, bytes) SELECT s, 0, 0 FROM generate_series(0, %[1]d - 1) AS s;
	CREATE FUNCTION messages_totals() RETURNS trigger LANGUAGE plpgsql AS $$
	DECLARE
		n BIGINT;
		b BIGINT;
	BEGIN
		IF TG_OP = 'INSERT' THEN
			SELECT COUNT(*), COALESCE(SUM(size), 0) INTO n, b FROM new_rows;
		ELSE
			SELECT -COUNT(*), -COALESCE(SUM(size), 0) INTO n, b FROM old_rows;
		END IF;
		IF n <> 0 THEN
			UPDATE totals SET count = count + n, bytes = bytes + b WHERE slot = pg_backend_pid() %% %[1]d;
		END IF;
		RETURN NULL;
	END $$;
	CREATE TRIGGER messages_insert AFTER INSERT ON messages
		REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_totals();
	CREATE TRIGGER messages_delete AFTER DELETE ON messages
		REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_totals();`, totalSlots),
}

// OpenPostgres connects to the archive at url (a PostgreSQL connection URL
// or key=value string, as libpq takes) and brings its schema up to date.
// Several store nodes may open the same database. ctx bounds the opening:
// the connection (at most 30 s of it) and the migration, which waits for
// another node's migration to finish. Its errors quote url only in
// redacted form (no password, no query).
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	p, err := openPostgres(ctx, url)
	return p, redact.Error(err, url)
}

func openPostgres(ctx context.Context, url string) (*Postgres, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres %s: %w", redact.URL(url), err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open postgres %s: %w", redact.URL(url), err)
	}
	if err := pgDialect.migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: migrate postgres %s: %w", redact.URL(url), err)
	}
	return &Postgres{sqlArchive{w: db, r: db, d: pgDialect}}, nil
}

var _ Archive = (*Postgres)(nil)
