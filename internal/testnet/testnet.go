// Package testnet holds the fixtures the network tests share: rlnd libp2p
// hosts on loopback (with the Waku metadata check, as a node runs them),
// connections between them, and WaitFor, the one way a test waits for a
// condition it cannot be told about.
//
// It imports p2p and nothing above it, so that relay's and pubsub's own
// tests can use it; relays on these hosts are internal/relaytest's. The
// tests of p2p and p2p/mplex cannot import it (p2p imports mplex): they
// wait on events of their own.
package testnet

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/p2p"
)

// pollEvery is how often WaitFor checks its condition.
const pollEvery = 10 * time.Millisecond

// WaitFor checks cond until it holds and fails tb if it does not within
// the given time: "timed out after <within> waiting for <what>". It is for
// conditions nothing signals (a peer count, a stats field, a row count);
// a test that can wait on a channel should. Like tb.Fatal, it must be
// called from the test's goroutine.
func WaitFor(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	if cond() {
		return
	}
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if cond() {
				return
			}
		case <-deadline.C:
			if cond() {
				return
			}
			tb.Fatalf("timed out after %v waiting for %s", within, what)
			return
		}
	}
}

// NewHost starts an rlnd libp2p host on cluster listening on ip (a random
// TCP port), and so dialling from it: on Linux all of 127.0.0.0/8 is
// loopback, so 127.0.1.x and 127.0.2.x are different /24 prefixes to the
// host dialled. The caller closes it; tests use Host or HostAt, which
// close it for them. For what runs without a testing.TB (a helper process,
// a goroutine that reports errors).
// A host serving a protocol under test is given that protocol's stream
// limits, as a node would be.
func NewHost(cluster uint16, ip string, limits ...p2p.StreamLimits) (*p2p.Host, error) {
	return p2p.NewHost(p2p.HostConfig{ClusterID: cluster, Listen: []string{fmt.Sprintf("/ip4/%s/tcp/0", ip)}, StreamLimits: limits})
}

// Host starts an rlnd libp2p host on cluster at 127.0.0.1, closed at the
// end of the test.
func Host(tb testing.TB, cluster uint16, limits ...p2p.StreamLimits) *p2p.Host {
	tb.Helper()
	return HostAt(tb, cluster, "127.0.0.1", limits...)
}

// HostAt starts an rlnd libp2p host on cluster at ip (see NewHost),
// closed at the end of the test.
func HostAt(tb testing.TB, cluster uint16, ip string, limits ...p2p.StreamLimits) *p2p.Host {
	tb.Helper()
	h, err := NewHost(cluster, ip, limits...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// connectWithin bounds Connect: a dial and two metadata exchanges on
// loopback.
const connectWithin = 10 * time.Second

// Connect connects a to b and waits until each has admitted the other
// (the metadata check of both sides passed), so that neither drops the
// connection afterwards.
func Connect(tb testing.TB, a, b *p2p.Host) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectWithin)
	defer cancel()
	if _, err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Libp2p().Addrs()}); err != nil {
		tb.Fatalf("connect %s to %s: %v", a.ID(), b.ID(), err)
	}
	if _, err := b.WaitPeer(ctx, a.ID()); err != nil {
		tb.Fatalf("%s admitting %s: %v", b.ID(), a.ID(), err)
	}
}

// Buffer is a bytes.Buffer that is safe to write from several goroutines
// while a test reads it: what a node's logger or a command writes.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
