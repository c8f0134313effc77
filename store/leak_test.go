package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rlnd/rlnd/internal/relaytest"
)

// stuckRetention is an archive whose retention pass runs until its context
// ends, as a long DELETE on a large archive would.
type stuckRetention struct {
	Archive
	once    sync.Once
	started chan struct{} // closed when the first pass starts
	// ended is set, without synchronisation, as a pass returns: the test
	// reads it after Close, which must have waited for the pass (under
	// -race, a Close that does not wait is a data race, whatever the
	// timing).
	ended bool
}

func (s *stuckRetention) Retain(ctx context.Context, _ Retention) (int, error) {
	s.once.Do(func() { close(s.started) })
	<-ctx.Done()
	s.ended = true
	return 0, ctx.Err()
}

// Closing an archiver stops its retention pass and waits for it: when
// Close returns the pass has ended, and once the relay, the host and the
// database are closed too, no goroutine the test started is left.
func TestArchiverCloseStopsRetention(t *testing.T) {
	// Registered first, so it runs after the cleanups that close the
	// host, the relay and the database.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	r := relaytest.Start(t, testCluster, nil).Relay
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := &stuckRetention{Archive: db, started: make(chan struct{})}
	ar, err := NewArchiver(r, a, ArchiverConfig{Retention: Retention{MaxCount: 1}, RetentionInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.started:
	case <-time.After(30 * time.Second):
		ar.Close()
		t.Fatal("no retention pass started")
	}
	closed := make(chan struct{})
	go func() {
		ar.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return: the retention pass was not stopped")
	}
	if !a.ended {
		t.Fatal("Close returned while the retention pass was still running")
	}
}
