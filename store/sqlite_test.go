package store

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rlnd/rlnd/internal/pgtest"
)

func openTestSQLite(t *testing.T) *SQLite {
	t.Helper()
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	testArchive(t, func(t *testing.T) Archive { return openTestSQLite(t) })
}

func TestSQLiteMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(sqliteMigrations) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(sqliteMigrations))
	}
	m := msg(testPubsub, "/app/1/a/proto", 5, 1)
	mustPut(t, s, []Stored{m})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening applies nothing twice and keeps the data.
	s, err = OpenSQLite(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(sqliteMigrations) {
		t.Fatalf("SchemaVersion after reopen = %d, %v; want %d", v, err, len(sqliteMigrations))
	}
	checkHashes(t, "after reopen", mustQuery(t, s, Query{Forward: true}).Messages, []Stored{m})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A database from a newer binary is refused, not modified.
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE schema_version SET version = ?`, len(sqliteMigrations)+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := OpenSQLite(path); err == nil {
		s.Close()
		t.Fatal("opened a database with a newer schema")
	}
}

func TestSQLiteJournalMode(t *testing.T) {
	t.Parallel()
	s := openTestSQLite(t)
	for _, db := range []*sql.DB{s.w, s.r} {
		var mode string
		var sync int
		if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
		}
		if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
			t.Fatalf("synchronous = %d, %v; want 2 (FULL)", sync, err)
		}
	}
}

func TestSQLitePageUsesIndex(t *testing.T) {
	t.Parallel()
	s := openTestSQLite(t)
	var plan string
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN SELECT hash, pubsub_topic, data FROM messages
		WHERE pubsub_topic = ? AND content_topic IN (?) AND (timestamp, hash) > (?, ?)
		ORDER BY timestamp ASC, hash ASC LIMIT 21`, "p", "c", 1, []byte{1})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail + "\n"
	}
	want := "SEARCH messages USING INDEX messages_topics_time (pubsub_topic=? AND content_topic=? AND (timestamp,hash)>(?,?))\n"
	if plan != want {
		t.Fatalf("query plan:\n%swant:\n%s", plan, want)
	}
}

// TestSIGKILL runs, for each backend, a child process that puts batches
// and reports each acknowledged batch on stdout, kills it with SIGKILL
// mid-stream, and checks that the archive opens and holds every
// acknowledged message.
func TestSIGKILL(t *testing.T) {
	if spec := os.Getenv("RLND_STORE_CRASH_CHILD"); spec != "" {
		crashChild(spec)
		return
	}
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testSIGKILL(t, "sqlite:"+filepath.Join(t.TempDir(), "store.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testSIGKILL(t, "postgres:"+pgtest.Schema(t))
	})
}

// openSpec opens "sqlite:PATH" or "postgres:URL".
func openSpec(ctx context.Context, spec string) (Archive, error) {
	if url, ok := strings.CutPrefix(spec, "postgres:"); ok {
		return OpenPostgres(ctx, url)
	}
	return OpenSQLite(strings.TrimPrefix(spec, "sqlite:"))
}

func testSIGKILL(t *testing.T, spec string) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILL$")
	cmd.Env = append(os.Environ(), "RLND_STORE_CRASH_CHILD="+spec)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			continue // test framework output
		}
		acked = n
		if acked >= 30 {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if acked < 30 {
		t.Fatalf("child acknowledged only %d batches", acked)
	}
	a, err := openSpec(t.Context(), spec)
	if err != nil {
		t.Fatalf("open after SIGKILL: %v", err)
	}
	defer a.Close()
	for b := 0; b <= acked; b++ {
		want := crashBatch(b)
		p, err := a.Query(context.Background(), Query{Hashes: hashesOf(want), Forward: true, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Messages) != len(want) {
			t.Fatalf("batch %d: %d of %d acknowledged messages survived SIGKILL", b, len(p.Messages), len(want))
		}
	}
	// The totals the triggers keep agree with the rows.
	n, err := a.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n < (acked+1)*len(crashBatch(0)) {
		t.Fatalf("Count = %d after %d acknowledged batches", n, acked+1)
	}
}

func crashBatch(b int) []Stored {
	out := make([]Stored, 50)
	for i := range out {
		out[i] = msg(testPubsub, "/app/1/crash/proto", int64(b*1000+i+1), b*1000+i)
	}
	return out
}

func crashChild(spec string) {
	a, err := openSpec(context.Background(), spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for b := 0; ; b++ {
		if _, err := a.Put(context.Background(), crashBatch(b)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(b) // acknowledged
	}
}
