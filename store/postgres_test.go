package store

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rlnd/rlnd/internal/pgtest"
	"github.com/rlnd/rlnd/wire"
)

func openTestPostgres(tb testing.TB, url string) *Postgres {
	tb.Helper()
	p, err := OpenPostgres(tb.Context(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Error(err)
		}
	})
	return p
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	testArchive(t, func(t *testing.T) Archive { return openTestPostgres(t, pgtest.Schema(t)) })
}

func TestPostgresMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.Schema(t)
	// Several nodes opening one new database at once: one migrates, the
	// others find it done.
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			p, err := OpenPostgres(t.Context(), u)
			if err == nil {
				err = p.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
	p := openTestPostgres(t, u)
	if v, err := p.SchemaVersion(ctx); err != nil || v != len(pgMigrations) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(pgMigrations))
	}
	m := msg(testPubsub, "/app/1/a/proto", 5, 1)
	mustPut(t, p, []Stored{m})
	// A second node on the same archive sees the message, and does not
	// store it again.
	p2 := openTestPostgres(t, u)
	checkHashes(t, "second node", mustQuery(t, p2, Query{Forward: true}).Messages, []Stored{m})
	if n := mustPut(t, p2, []Stored{m}); n != 0 {
		t.Fatalf("second node stored a duplicate: %d", n)
	}
	if n, err := p2.Count(ctx); err != nil || n != 1 {
		t.Fatalf("Count = %d, %v; want 1", n, err)
	}

	// A database from a newer binary is refused, not modified.
	if _, err := p.w.Exec(`UPDATE schema_version SET version = $1`, len(pgMigrations)+1); err != nil {
		t.Fatal(err)
	}
	if p3, err := OpenPostgres(t.Context(), u); err == nil {
		p3.Close()
		t.Fatal("opened a database with a newer schema")
	}
}

// TestPostgresPageUsesIndex checks that, on an analysed archive, a page by
// content topic is one index range per topic (the cursor is part of the
// index condition, no sort), merged when several topics are asked.
func TestPostgresPageUsesIndex(t *testing.T) {
	t.Parallel()
	p := openTestPostgres(t, pgtest.Schema(t))
	var batch []Stored
	for i := range 20000 {
		batch = append(batch, NewStored(testPubsub, wire.NewMessage(fmt.Sprintf("/app/1/t%d/proto", i%50),
			[]byte{byte(i), byte(i >> 8)}, int64(1000+i))))
	}
	mustPut(t, p, batch)
	if _, err := p.w.Exec(`ANALYZE messages`); err != nil {
		t.Fatal(err)
	}
	cursor := batch[503]
	for _, q := range []Query{
		{PubsubTopic: testPubsub, ContentTopics: []string{"/app/1/t3/proto"}, Cursor: &cursor.Hash, Forward: true},
		{PubsubTopic: testPubsub, ContentTopics: []string{"/app/1/t3/proto", "/app/1/t4/proto"}, Cursor: &cursor.Hash},
	} {
		stmt, args := pgDialect.pageQuery(q, 20, cursor.Message.GetTimestamp())
		rows, err := p.w.Query("EXPLAIN "+stmt, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		scans := strings.Count(text, "using messages_topics_time")
		conds := strings.Count(text, `ROW("timestamp", hash)`)
		if scans != len(q.ContentTopics) || conds != len(q.ContentTopics) || strings.Contains(text, "Sort  ") || strings.Contains(text, "Filter:") {
			t.Fatalf("%d content topics: want that many index ranges on messages_topics_time with the cursor in the index condition, got:\n%s",
				len(q.ContentTopics), text)
		}
	}
}
