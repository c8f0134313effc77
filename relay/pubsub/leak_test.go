package pubsub

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rlnd/rlnd/internal/testnet"
)

// Close leaves no goroutine of the driver behind: its event loop, writers,
// stream readers and the posts of connection events end, with the hosts
// still up and their connections open (a reader waits for a frame without
// a deadline: a peer that keeps its stream open and idle is ended only by
// Close); and once the hosts close too, nothing the test started is left.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	// Registered first, so it runs after the cleanups that close the hosts
	// and the drivers.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	a, b, idler, light := newHost(t), newHost(t), newHost(t), newHost(t)
	connect(t, a, b)
	connect(t, idler, a)
	// What the hosts and their connections run; the drivers are checked
	// against it while the hosts stay up.
	hostsUp := goleak.IgnoreCurrent()

	psA, err := New(a, Config{Router: routerConfig(1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { psA.Close() })
	// A peer without a driver opens a pubsub stream to a, sends an empty
	// RPC and then nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	idle, err := idler.NewStream(ctx, a.ID(), WakuRelayID)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Reset()
	if _, err := idle.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, 10*time.Second, "the idle peer's RPC", func() bool { return psA.Stats().RPCsIn == 1 })
	psB, err := New(b, Config{Router: routerConfig(2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { psB.Close() })
	// A peer that speaks no pubsub connects and leaves while the drivers
	// run: connection events for the notifee, a writer whose stream fails.
	connect(t, light, a)
	light.Close()
	subA, err := psA.Subscribe(topic)
	if err != nil {
		t.Fatal(err)
	}
	subB, err := psB.Subscribe(topic)
	if err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, 10*time.Second, "mesh", func() bool { return len(psA.MeshPeers(topic)) == 1 && len(psB.MeshPeers(topic)) == 1 })
	if _, _, err := psA.Publish(topic, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-subB.C():
		if string(m.Data) != "hello" {
			t.Fatalf("got %q, want hello", m.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("message not delivered")
	}

	psA.Close()
	psB.Close()
	for _, s := range []*Subscription{subA, subB} {
		for range s.C() { // Close ended it: only buffered deliveries are left
		}
	}
	goleak.VerifyNone(t, hostsUp)
}
