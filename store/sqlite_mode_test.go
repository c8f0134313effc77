//go:build unix

package store

import (
	"context"
	"database/sql"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
)

// recordingHandler keeps the records logged through it.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

// warnedPaths returns the "path" attribute of every warning.
func (h *recordingHandler) warnedPaths() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		if r.Level != slog.LevelWarn {
			continue
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "path" {
				out = append(out, a.Value.String())
			}
			return true
		})
	}
	slices.Sort(out)
	return out
}

func checkMode(t *testing.T, name string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", name, got, want)
	}
}

// TestSQLiteFileModes runs with umask 0, the worst case: what the driver
// creates is then exactly the mode it asks for. The umask is the process's,
// so this test is not parallel (parallel tests wait until it is over).
func TestSQLiteFileModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	t.Run("new file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "store.db")
		h := &recordingHandler{}
		s, err := OpenSQLite(path, SQLiteLogger(slog.New(h)))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		mustPut(t, s, []Stored{msg(testPubsub, "/app/1/a/proto", 1, 1), msg(testPubsub, "/app/1/a/proto", 2, 2)})
		for _, suffix := range []string{"", "-wal", "-shm"} {
			checkMode(t, path+suffix, 0o600)
		}
		if w := h.warnedPaths(); len(w) != 0 {
			t.Errorf("warnings for files created 0600: %v", w)
		}
	})

	t.Run("existing 0644 files", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "store.db")
		// Another program made the archive: the driver on its own, under
		// umask 0, creates 0644 files. Keep its connection open so that
		// its -wal and -shm files stay, with data in them.
		raw, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		raw.SetMaxOpenConns(1)
		if _, err := raw.Exec(`CREATE TABLE other (x INTEGER); INSERT INTO other VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			checkMode(t, path+suffix, 0o644)
		}

		h := &recordingHandler{}
		s, err := OpenSQLite(path, SQLiteLogger(slog.New(h)))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		mustPut(t, s, []Stored{msg(testPubsub, "/app/1/a/proto", 1, 1)})
		if _, err := raw.Exec(`INSERT INTO other VALUES (2)`); err != nil {
			t.Fatal(err)
		}
		mustPut(t, s, []Stored{msg(testPubsub, "/app/1/a/proto", 2, 2)})
		for _, suffix := range []string{"", "-wal", "-shm"} {
			checkMode(t, path+suffix, 0o600)
		}
		want := []string{path, path + "-shm", path + "-wal"}
		if w := h.warnedPaths(); !slices.Equal(w, want) {
			t.Errorf("warned about %v, want %v", w, want)
		}
	})

	t.Run("existing 0666 file without side files", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "store.db")
		s, err := OpenSQLite(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o666); err != nil {
			t.Fatal(err)
		}
		// A leftover empty -wal with loose bits.
		if err := os.WriteFile(path+"-wal", nil, 0o666); err != nil {
			t.Fatal(err)
		}
		h := &recordingHandler{}
		s, err = OpenSQLite(path, SQLiteLogger(slog.New(h)))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		mustPut(t, s, []Stored{msg(testPubsub, "/app/1/a/proto", 3, 3)})
		for _, suffix := range []string{"", "-wal", "-shm"} {
			checkMode(t, path+suffix, 0o600)
		}
		want := []string{path, path + "-wal"}
		if w := h.warnedPaths(); !slices.Equal(w, want) {
			t.Errorf("warned about %v, want %v", w, want)
		}
	})
}

func TestSQLiteRefusesNonRegularFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if s, err := OpenSQLite(dir); err == nil {
		s.Close()
		t.Fatal("opened a directory as the archive")
	}
}
