package lightpush

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/rlnd/rlnd/internal/relaytest"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
)

// The slot store's faults seen from outside: after each fault and a
// restart in the same epoch under load, the relays never see one
// (epoch, nullifier) twice: no double signal, no recovered secret.

const faultLimit = 3 // per membership; the service holds two: 6 slots an epoch

// faultTestBound is how long a fault test may take: it counts the slots
// of one epoch, so it must not run across an epoch boundary (a CI run met
// one: the slots of the new epoch were counted with the old one's).
const faultTestBound = 2 * time.Minute

// inOneEpoch returns once at least d is left of the current epoch (of
// relay.DefaultEpochPeriod, 10 min), waiting for the next epoch to begin
// if need be: wall time must pass, the clock being what is waited for.
func inOneEpoch(t *testing.T, d time.Duration) {
	t.Helper()
	period := relay.DefaultEpochPeriod
	next := rln.EpochStart(rln.Epoch(time.Now(), period)+1, period)
	if left := time.Until(next); left < d {
		t.Logf("%s left of this epoch, less than the test's %s: waiting for the next", left.Round(time.Second), d)
		time.Sleep(left + 100*time.Millisecond)
	}
}

// faultWorld is a service node and two observing relays, all fresh.
type faultWorld struct {
	members []relay.Member
	group   *membership.StaticGroup
	node    *relaytest.Node
	svcHost host.Host
	relay   *relay.Relay
	obs     []*observer
	clients []host.Host
	svc     *Service
}

func newFaultWorld(t *testing.T) *faultWorld {
	t.Helper()
	_, v := loadProver(t)
	w := &faultWorld{}
	var leaves []fr.Element
	for i := range 2 {
		id := rln.IdentityFromSeed(fmt.Appendf(nil, "lightpush fault member %d", i))
		w.members = append(w.members, relay.Member{Identity: id, Index: uint64(i), UserMessageLimit: faultLimit})
		leaves = append(leaves, id.RateCommitment(faultLimit))
	}
	g, err := membership.NewStaticGroup(leaves, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.group = g
	val, err := relay.NewValidator(relay.ValidatorConfig{Group: g, Verifier: v, RLN: true, Signal: rln.SignalTimestamped})
	if err != nil {
		t.Fatal(err)
	}
	w.node = relaytest.Start(t, cluster, val)
	w.svcHost, w.relay = w.node.Host.Libp2p(), w.node.Relay
	w.obs = []*observer{startObserver(t, g, v), startObserver(t, g, v)}
	linkObservers(t, w.obs)
	topic, _ := w.relay.TopicFor(contentTopic)
	for _, o := range w.obs {
		relaytest.Link(t, 10*time.Second, o.Node, w.node, topic)
	}
	for range 2 {
		c := testnet.Host(t, cluster)
		testnet.Connect(t, c, w.node.Host)
		w.clients = append(w.clients, c.Libp2p())
	}
	return w
}

func (w *faultWorld) start(t *testing.T, path string, fs SlotFS) {
	t.Helper()
	if w.svc != nil {
		w.svc.Close()
	}
	p, _ := loadProver(t)
	s, err := NewService(w.svcHost, ServiceConfig{Relay: w.relay, Prover: p, Group: w.group, Memberships: w.members,
		Signal: rln.SignalTimestamped, SlotsPath: path, SlotFS: fs, PerPeerQuota: 1000, ReservedShare: -1})
	if err != nil {
		t.Fatal(err)
	}
	w.svc = s
	t.Cleanup(s.Close)
}

// push sends one message from client c and returns its status.
func (w *faultWorld) push(t *testing.T, c int, payload string) StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Push(ctx, w.clients[c], w.svcHost.ID(), "", message(payload))
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

// load pushes from every client at once until each is answered 504 (or a
// refusal other than 200) and returns the payloads accepted.
func (w *faultWorld) load(t *testing.T, tag string) []string {
	t.Helper()
	var mu sync.Mutex
	var accepted []string
	var wg sync.WaitGroup
	for c := range w.clients {
		wg.Go(func() {
			for i := 0; i < 2*faultLimit*len(w.members)+1; i++ {
				p := fmt.Sprintf("%s client %d message %d", tag, c, i)
				if st := w.push(t, c, p); st != StatusOK {
					return
				}
				mu.Lock()
				accepted = append(accepted, p)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return accepted
}

// settle waits until both observers delivered n messages.
func (w *faultWorld) settle(t *testing.T, n int) {
	t.Helper()
	for i, o := range w.obs {
		testnet.WaitFor(t, 20*time.Second, fmt.Sprintf("observer %d to deliver %d messages", i, n), func() bool { return int(o.delivered.Load()) >= n })
	}
}

// nullifiers are the (epoch, nullifier) keys both observers delivered,
// after checking that each was delivered once and no double signal was
// seen.
func (w *faultWorld) nullifiers(t *testing.T) map[string]bool {
	t.Helper()
	all := map[string]bool{}
	for i, o := range w.obs {
		for k := range o.nullifiersOnce(t, i) {
			all[k] = true
		}
	}
	return all
}

// A corrupted byte in every record (and the header), and a cut at every
// byte of the last two records, of a file whose first records' proofs are
// out on the relays and whose last two were taken by pushes that died
// before proving: restarted in the same epoch under load, the service
// never proves with a nullifier the relays saw before.
func TestSlotFileFaultsAcrossRelays(t *testing.T) {
	inOneEpoch(t, faultTestBound)
	const published, inFlight = 3, 2
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	w := newFaultWorld(t)
	w.start(t, base, nil)
	for i := range published {
		if st := w.push(t, 0, fmt.Sprintf("base %d", i)); st != StatusOK {
			t.Fatalf("base push %d: %d", i, st)
		}
	}
	w.settle(t, published)
	before := w.nullifiers(t)
	epoch := rln.Epoch(time.Now(), relay.DefaultEpochPeriod)
	for range inFlight {
		if _, err := w.svc.slots.Take(epoch); err != nil {
			t.Fatal(err)
		}
	}
	w.svc.Close()
	good, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(good) != headerSize+(published+inFlight)*recordSize {
		t.Fatalf("base file of %d bytes", len(good))
	}

	check := func(t *testing.T, name string, file []byte, wantProofs int) {
		w := newFaultWorld(t)
		path := filepath.Join(t.TempDir(), "slots")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		w.start(t, path, nil)
		accepted := w.load(t, name)
		if len(accepted) != wantProofs {
			t.Fatalf("%s: %d proofs after the restart, want %d", name, len(accepted), wantProofs)
		}
		w.settle(t, len(accepted))
		for k := range w.nullifiers(t) {
			if before[k] {
				t.Fatalf("%s: nullifier %s proved again after the restart", name, k)
			}
		}
	}
	capacity := faultLimit * 2
	t.Run("corrupt", func(t *testing.T) {
		for r := -1; r < published+inFlight; r++ {
			bad := bytes.Clone(good)
			pos := 3 // r = -1: the header
			if r >= 0 {
				pos += headerSize + r*recordSize
			}
			bad[pos] ^= 0x01
			check(t, fmt.Sprintf("record %d corrupt", r), bad, 0)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		for cut := len(good) - inFlight*recordSize; cut < len(good); cut++ {
			whole := (cut - headerSize) / recordSize
			check(t, fmt.Sprintf("cut at %d", cut), good[:cut], capacity-whole)
		}
	})
}

// A failed write (cut short) and a failed sync at a push, with and
// without a failed rollback, and a kill between write and sync: the push
// is refused and published nowhere, and after a restart in the same epoch
// under load the relays see every nullifier once.
func TestPushFaultsAcrossRelays(t *testing.T) {
	inOneEpoch(t, faultTestBound)
	type fault struct {
		name         string
		partial      int
		write, sync  bool
		rollbackFail bool
		kill         bool
	}
	faults := []fault{
		{name: "write cut at 0", write: true}, {name: "write cut at 1", write: true, partial: 1},
		{name: "write cut at 12", write: true, partial: 12}, {name: "write cut at 23", write: true, partial: 23},
		{name: "sync", sync: true}, {name: "write, rollback fails", write: true, partial: 7, rollbackFail: true},
		{name: "sync, rollback fails", sync: true, rollbackFail: true}, {name: "kill between write and sync", kill: true},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			w := newFaultWorld(t)
			path := filepath.Join(t.TempDir(), "slots")
			fs := &faultFS{}
			w.start(t, path, fs)
			if st := w.push(t, 0, "before the fault"); st != StatusOK {
				t.Fatalf("first push: %d", st)
			}
			var snapshot atomic.Pointer[[]byte]
			fs.mu.Lock()
			switch {
			case f.write:
				fs.failWrite, fs.partial = fs.writes+1, f.partial
			case f.sync:
				fs.failSync = fs.syncs + 1
			case f.kill:
				// The process dies as the record reaches the page cache:
				// the file as it is then is what a restart reads.
				n := fs.syncs + 1
				fs.failSync = n
				fs.onSync = func(k int) {
					if k == n {
						b, _ := os.ReadFile(path)
						snapshot.Store(&b)
					}
				}
			}
			fs.failTruncate = f.rollbackFail
			fs.mu.Unlock()
			if st := w.push(t, 0, "at the fault"); st != StatusInternal {
				t.Fatalf("push at the fault: %d, want %d", st, StatusInternal)
			}
			fs.mu.Lock()
			fs.failTruncate, fs.onSync = false, nil
			fs.mu.Unlock()
			next := w.push(t, 1, "after the fault")
			switch {
			case f.rollbackFail && next != StatusInternal:
				t.Fatalf("push after a failed rollback: %d, want %d (the store stops)", next, StatusInternal)
			case f.kill:
			case !f.rollbackFail && next != StatusOK:
				t.Fatalf("push after the rollback: %d", next)
			}
			delivered := 1
			if next == StatusOK {
				delivered++
			}
			if f.kill {
				// Restart from the file as the kill left it.
				b := snapshot.Load()
				if b == nil {
					t.Fatal("the kill hook never ran")
				}
				path = filepath.Join(t.TempDir(), "slots")
				if err := os.WriteFile(path, *b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			w.start(t, path, nil)
			if d := w.svc.slots.Damage(); d != nil {
				t.Fatalf("restart found damage: %v", d)
			}
			accepted := w.load(t, "after restart")
			w.settle(t, delivered+len(accepted))
			w.nullifiers(t)
			for i, o := range w.obs {
				if o.got("at the fault") {
					t.Fatalf("observer %d got the message whose slot write failed", i)
				}
			}
		})
	}
}

// The nullifiers rebuilt from the slot file guard the publish even when
// the slot store itself would hand a used slot out again (here its memory
// is made to forget the epoch after a restart).
func TestNullifierLogGuardsReuse(t *testing.T) {
	w := newFaultWorld(t)
	path := filepath.Join(t.TempDir(), "slots")
	w.start(t, path, nil)
	if st := w.push(t, 0, "first"); st != StatusOK {
		t.Fatalf("first push: %d", st)
	}
	w.start(t, path, nil)
	s := w.svc.slots
	s.mu.Lock()
	clear(s.next)
	s.mu.Unlock()
	if st := w.push(t, 0, "reusing"); st != StatusInternal {
		t.Fatalf("push on a forgotten slot: %d, want %d", st, StatusInternal)
	}
	if st := w.push(t, 1, "next slot"); st != StatusOK {
		t.Fatalf("push on the next slot: %d", st)
	}
	w.settle(t, 2)
	w.nullifiers(t)
	for i, o := range w.obs {
		if o.got("reusing") {
			t.Fatalf("observer %d got the message proved on a used slot", i)
		}
	}
}
