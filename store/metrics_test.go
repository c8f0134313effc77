package store

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/internal/relaytest"
	"github.com/rlnd/rlnd/internal/testnet"
)

// The archiver and the service of a node register one set of store
// metrics on its registry: whichever registers second records into the
// first's. Without a registry nothing is registered.
func TestStoreMetricsShared(t *testing.T) {
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg := prometheus.NewRegistry()
	ar, err := NewArchiver(relaytest.Start(t, testCluster, nil).Relay, db, ArchiverConfig{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ar.Close)
	svc, err := NewService(testnet.Host(t, testCluster).Libp2p(), db, ServiceConfig{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	if ar.m == nil || svc.m == nil || ar.m.queries != svc.m.queries || ar.m.archiveErrors != svc.m.archiveErrors {
		t.Fatal("the archiver and the service hold different store metrics")
	}
	ar.m.inserted(time.Millisecond)
	svc.m.queried(time.Millisecond)
	if got := testutil.CollectAndCount(reg, "waku_archive_insert_duration_seconds", "waku_archive_query_duration_seconds", "waku_store_queries"); got != 3 {
		t.Errorf("%d of the 3 store series gathered", got)
	}
	if m, err := newMetrics(nil, db); m != nil || err != nil {
		t.Errorf("no registry: metrics %v, err %v; want none", m, err)
	}
}
