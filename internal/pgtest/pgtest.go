// Package pgtest gives tests a PostgreSQL database of their own on the
// server `make test` starts (.ci/with-postgres).
//
// RLND_TEST_POSTGRES is a connection URL to a database the tests may create
// schemas in. Without it the tests that need PostgreSQL are skipped, unless
// RLND_REQUIRE_POSTGRES is set (make test sets it), in which case they
// fail.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// URL is the server's connection URL, or skips (or fails) the test when
// there is none.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("RLND_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("RLND_REQUIRE_POSTGRES") != "" {
			tb.Fatal("RLND_TEST_POSTGRES is not set: run the tests under .ci/with-postgres (make test does)")
		}
		tb.Skip("RLND_TEST_POSTGRES is not set (make test starts a PostgreSQL server for these tests)")
	}
	return u
}

// Schema creates an empty schema, dropped by the test's cleanup, and
// returns the URL of the database with that schema first on the search
// path: everything opened on the URL shares it, and nothing else does.
func Schema(tb testing.TB) string {
	tb.Helper()
	u, drop, err := NewSchema(URL(tb))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := drop(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return u
}

// NewSchema creates an empty schema in the database at base and returns
// the URL with that schema first on the search path, and a function that
// drops it.
func NewSchema(base string) (string, func() error, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	schema := "t_" + hex.EncodeToString(b[:])
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		return "", nil, err
	}
	drop := func() error {
		defer admin.Close()
		_, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		return err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}
