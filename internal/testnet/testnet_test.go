package testnet

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/rlnd/rlnd/p2p"
)

// failTB records a Fatalf instead of ending the test.
type failTB struct {
	testing.TB
	failed string
}

func (f *failTB) Helper() {}

func (f *failTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestWaitFor(t *testing.T) {
	t.Parallel()
	// A condition that comes true is waited for, and checked no more.
	var calls atomic.Int32
	WaitFor(t, 10*time.Second, "the third check", func() bool { return calls.Add(1) == 3 })
	if n := calls.Load(); n != 3 {
		t.Fatalf("condition checked %d times, want 3", n)
	}
	// One that never does fails, saying what was waited for and how long.
	f := &failTB{TB: t}
	start := time.Now()
	WaitFor(f, 50*time.Millisecond, "nothing", func() bool { return false })
	if want := "timed out after 50ms waiting for nothing"; f.failed != want {
		t.Fatalf("failure %q, want %q", f.failed, want)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Fatalf("gave up after %v, before the 50ms", took)
	}
}

// Connected hosts have admitted each other, and a host at another
// loopback address dials from it; a host on another cluster is refused.
func TestConnect(t *testing.T) {
	t.Parallel()
	a, b := Host(t, 5), HostAt(t, 5, "127.0.2.1")
	Connect(t, b, a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, p := range []struct{ h, peer *p2p.Host }{{a, b}, {b, a}} {
		if md, err := p.h.WaitPeer(ctx, p.peer.ID()); err != nil || md.ClusterID != 5 {
			t.Fatalf("%s on %s: %+v, %v", p.h.ID(), p.peer.ID(), md, err)
		}
	}
	for _, c := range a.Libp2p().Network().ConnsToPeer(b.ID()) {
		if ip, err := manet.ToIP(c.RemoteMultiaddr()); err != nil || ip.String() != "127.0.2.1" {
			t.Fatalf("a sees b's connection from %s (%v), want 127.0.2.1", c.RemoteMultiaddr(), err)
		}
	}
	f := &failTB{TB: t}
	Connect(f, Host(t, 6), a)
	if !strings.Contains(f.failed, p2p.ErrClusterMismatch.Error()) {
		t.Fatalf("a host on another cluster: failure %q, want a cluster mismatch", f.failed)
	}
}
