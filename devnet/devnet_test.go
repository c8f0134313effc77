package devnet

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// A devnet of four nodes passes: every valid message everywhere, spam and
// invalid proofs stopped at the first hop, the spammer's secret recovered.
// When Run returns, nothing it started is left running: chain, nodes,
// clients and the recorder's goroutines have all stopped.
func TestDevnet(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		// go-ethereum's process-wide sender cache: one set of workers made
		// once (sync.OnceValue) for the life of the process.
		goleak.IgnoreTopFunction("github.com/ethereum/go-ethereum/core.(*txSenderCacher).cache"),
		// The dev chain's node database (goleveldb, in memory) is closed by
		// Close; goleveldb's pool drain then exits by itself within a second.
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	)
	rep, err := Run(context.Background(), Config{Nodes: 4, Duration: 5 * time.Second, Members: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *rep)
	if !rep.OK() {
		t.Fatalf("devnet failed: %+v", *rep)
	}
	// Each member and the spammer published (under -race a proof takes
	// several times longer, so the count varies).
	if rep.Published < 2 || rep.Expected != rep.Published*4 || rep.DeliveredRatio != 1 {
		t.Fatalf("published %d, expected %d, ratio %v", rep.Published, rep.Expected, rep.DeliveredRatio)
	}
	if rep.SpamPublished != 3 || rep.InvalidPublished != 3 || rep.DoubleSignalsDetected == 0 || !rep.SecretsRecovered {
		t.Fatalf("hostile traffic: %+v", *rep)
	}
	if rep.LightpushAccepted == 0 || rep.ProofsAttached != rep.LightpushAccepted || rep.LightpushDelivered != rep.LightpushAccepted {
		t.Fatalf("lightpush: %+v", *rep)
	}
	if rep.StoreOfflinePublished == 0 || rep.StoreRetrieved != rep.StoreOfflinePublished || rep.FilterReceived != rep.StoreOfflinePublished {
		t.Fatalf("store/filter: %+v", *rep)
	}
	if rep.P50LatencyMs <= 0 || rep.P99LatencyMs < rep.P50LatencyMs {
		t.Fatalf("latency p50 %v p99 %v", rep.P50LatencyMs, rep.P99LatencyMs)
	}
}
