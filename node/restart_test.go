package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p"
)

// Bounds of the restart tests. On loopback each takes well under a second;
// the bounds leave room for a loaded machine under -race.
const (
	// connectBound: two fresh nodes connect (static peer or stored peer,
	// dialled at once).
	connectBound = 20 * time.Second
	// goneBound: a node sees the connection of a closed peer end.
	goneBound = 10 * time.Second
	// reconnectBound: a restarted node is connected to again. A static
	// peer is redialled after 1 s, 2 s, 4 s... (peermgr's
	// DefaultStaticBackoff) while it is down, so within a few seconds of
	// its return; a stored peer is dialled at the restarted node's first
	// step.
	reconnectBound = 10 * time.Second
)

// B keeps A (on a fixed loopback port, with a data directory) as its
// static peer. A is closed and started again on the same data directory:
// it has the same peer id, listens on the same address, and B is
// connected to it again within reconnectBound with no new configuration.
// B dials no other peer id: its peer store stays empty (a static peer is
// kept outside it) and A is the only peer it is ever connected to.
func TestNodeRestartStaticPeerReconnects(t *testing.T) {
	t.Parallel()
	cfgA := isolatedConfig(t, filepath.Join(t.TempDir(), "a"))
	cfgA.P2P.Listen = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freeTCPPort(t))}
	a := startPeer(t, cfgA, Options{})
	idA, addrA := a.Host().ID(), fullAddr(t, a)

	cfgB := isolatedConfig(t, filepath.Join(t.TempDir(), "b"))
	cfgB.P2P.StaticPeers = []string{addrA}
	b := startPeer(t, cfgB, Options{})
	testnet.WaitFor(t, connectBound, "B to connect to its static peer A", func() bool { return admitted(b, idA) })

	closeWithin(t, "node A", a.Close)
	testnet.WaitFor(t, goneBound, "B to see A gone", func() bool { return disconnected(b, idA) })

	a = startPeer(t, cfgA, Options{})
	if got := a.Host().ID(); got != idA {
		t.Fatalf("A restarted with peer id %s, want %s (the data directory's key)", got, idA)
	}
	if got := fullAddr(t, a); got != addrA {
		t.Fatalf("A restarted on %s, want %s", got, addrA)
	}
	began := time.Now()
	testnet.WaitFor(t, reconnectBound, "B to reconnect to the restarted A", func() bool { return admitted(b, idA) })
	t.Logf("B reconnected to A %v after A's restart", time.Since(began).Round(time.Millisecond))

	if got := connectedPeers(b); !slices.Equal(got, []peer.ID{idA}) {
		t.Errorf("B is connected to %v, want only A %s", got, idA)
	}
	if known := knownIDs(b); len(known) != 0 {
		t.Errorf("B's peer store holds %v; B was given A as a static peer only, so it should hold none", known)
	}
	// Every dial of B's is to its one static peer or to a store record:
	// with the store empty, all of them went to A's id.
	if st := b.Peers().Stats(); st.Dials == 0 || st.Known != 0 {
		t.Errorf("B's peer manager: %d dials, %d known peers; want dials to A only", st.Dials, st.Known)
	}
}

// A learns of B from discovery (B is its entry node) and keeps it in the
// peer store in its data directory. Started again with no discovery and
// no static peer at all, A has B, and only B, in its store, and dials it
// by itself: one dial, which succeeds (no dial to a dead or other peer
// id), within reconnectBound. B knows nothing of A (no store, no
// discovery), so the connection is A's.
func TestNodeRestartRedialsStoredPeer(t *testing.T) {
	t.Parallel()
	b := startPeer(t, isolatedConfig(t, ""), Options{})
	idB := b.Host().ID()

	dirA := filepath.Join(t.TempDir(), "a")
	cfgA := isolatedConfig(t, dirA)
	cfgA.Discovery.EntryNodes = []string{fullAddr(t, b)}
	a := startPeer(t, cfgA, Options{})
	idA := a.Host().ID()
	testnet.WaitFor(t, connectBound, "A to connect to its entry node B", func() bool { return admitted(a, idB) })
	if known := a.Peers().Peers(); len(known) != 1 || known[0].ID != idB || known[0].Source != SourceEntry {
		t.Fatalf("A's peer store holds %+v, want B %s from %q", known, idB, SourceEntry)
	}
	closeWithin(t, "node A", a.Close)
	if _, err := os.Stat(filepath.Join(dirA, peerStoreFile)); err != nil {
		t.Fatalf("A's peer store file after Close: %v", err)
	}
	testnet.WaitFor(t, goneBound, "B to see A gone", func() bool { return disconnected(b, idA) })

	cfgA.Discovery = isolatedConfig(t, dirA).Discovery // no entry node now
	a = startPeer(t, cfgA, Options{})
	if got := a.Host().ID(); got != idA {
		t.Fatalf("A restarted with peer id %s, want %s", got, idA)
	}
	if known := knownIDs(a); !slices.Equal(known, []peer.ID{idB}) {
		t.Fatalf("A's peer store after the restart holds %v, want only B %s", known, idB)
	}
	began := time.Now()
	testnet.WaitFor(t, reconnectBound, "the restarted A to dial B from its peer store", func() bool { return admitted(a, idB) })
	t.Logf("A reconnected to B %v after its restart", time.Since(began).Round(time.Millisecond))
	if !dialedOut(a, idB) {
		t.Error("A's connection to B is not one A dialled")
	}
	if got := connectedPeers(a); !slices.Equal(got, []peer.ID{idB}) {
		t.Errorf("A is connected to %v, want only B %s", got, idB)
	}
	if st := a.Peers().Stats(); st.Dials != 1 || st.DialFailures != 0 {
		t.Errorf("A's peer manager after the restart: %d dials, %d failed; want the one dial to B", st.Dials, st.DialFailures)
	}
}

// A configured TCP listen address another socket holds fails New with
// one line naming the address (wrapping p2p.ErrListen and EADDRINUSE),
// even when the other listen address is free.
func TestNodeListenPortInUse(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	holder, err := lc.Listen(t.Context(), "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	taken := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", holder.Addr().(*net.TCPAddr).Port)

	cfg := isolatedConfig(t, "")
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0", taken}
	n, err := New(t.Context(), Options{Config: &cfg})
	if err == nil {
		n.Close()
		t.Fatalf("a node started on %s, which another socket listens on", taken)
	}
	if msg := err.Error(); !strings.Contains(msg, taken) || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming %s", msg, taken)
	}
	if !errors.Is(err, p2p.ErrListen) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("error %v does not wrap p2p.ErrListen and EADDRINUSE", err)
	}
}
