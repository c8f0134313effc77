package lightpush

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/internal/relaytest"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
)

// The crash test runs the lightpush service in a child process (this test
// binary, re-executed) so that it can be killed with SIGKILL.
const crashHelperEnv = "RLND_LIGHTPUSH_CRASH_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(crashHelperEnv) != "" {
		if err := runCrashHelper(); err != nil {
			fmt.Fprintln(os.Stderr, "crash helper:", err)
			os.Exit(3)
		}
		return
	}
	os.Exit(m.Run())
}

const crashLimit = 40 // per membership; the service holds two

// crashGroup is the group both processes build: members 0 and 1 are the
// service's.
func crashGroup() ([]relay.Member, *membership.StaticGroup, error) {
	var ms []relay.Member
	var leaves []fr.Element
	for i := range 2 {
		id := rln.IdentityFromSeed(fmt.Appendf(nil, "lightpush crash member %d", i))
		ms = append(ms, relay.Member{Identity: id, Index: uint64(i), UserMessageLimit: crashLimit})
		leaves = append(leaves, id.RateCommitment(crashLimit))
	}
	g, err := membership.NewStaticGroup(leaves, 0)
	return ms, g, err
}

// runCrashHelper is the child: a relay node with the lightpush service,
// linked to the observers, printing its address and serving until killed.
func runCrashHelper() error {
	p, err := rln.LoadProver(os.Getenv("RLND_ARTEFACTS"), rln.WakuRLNIdentifier)
	if err != nil {
		return err
	}
	v, err := p.Verifier()
	if err != nil {
		return err
	}
	ms, g, err := crashGroup()
	if err != nil {
		return err
	}
	h, err := testnet.NewHost(cluster, "127.0.0.1")
	if err != nil {
		return err
	}
	val, err := relay.NewValidator(relay.ValidatorConfig{Group: g, Verifier: v, RLN: true, Signal: rln.SignalTimestamped})
	if err != nil {
		return err
	}
	r, err := relay.New(h.Libp2p(), relay.Config{ClusterID: cluster, NumShards: relaytest.NumShards, Validator: val})
	if err != nil {
		return err
	}
	if _, err := NewService(h.Libp2p(), ServiceConfig{Relay: r, Prover: p, Group: g, Memberships: ms, Signal: rln.SignalTimestamped,
		SlotsPath: os.Getenv("RLND_SLOTS"), PerPeerQuota: 10_000, ReservedShare: -1, Workers: 2}); err != nil {
		return err
	}
	for _, s := range strings.Split(os.Getenv("RLND_OBSERVERS"), ",") {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = h.Connect(ctx, *ai)
		cancel()
		if err != nil {
			return err
		}
	}
	// Ready once both observers are relay peers on the topic (nothing
	// signals a subscription: poll, within the minute the test waits).
	topic, _ := r.TopicFor(contentTopic)
	deadline := time.After(time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for len(r.PubSub().TopicPeers(topic)) < 2 {
		select {
		case <-tick.C:
		case <-deadline:
			return fmt.Errorf("%d of the 2 observers subscribed after a minute", len(r.PubSub().TopicPeers(topic)))
		}
	}
	fmt.Printf("READY %s\n", h.Addrs()[0])
	select {}
}

// observer is an in-process relay that records every nullifier it accepts
// and any double-signal evidence.
type observer struct {
	*relaytest.Node
	mu        sync.Mutex
	seen      map[string]int  // epoch/nullifier -> deliveries
	payloads  map[string]bool // payloads delivered
	evidence  atomic.Int32
	delivered atomic.Int32
}

func startObserver(tb testing.TB, g membership.Group, v *rln.Verifier) *observer {
	o := &observer{seen: map[string]int{}, payloads: map[string]bool{}}
	val, err := relay.NewValidator(relay.ValidatorConfig{Group: g, Verifier: v, RLN: true, Signal: rln.SignalTimestamped,
		OnEvidence: func(string, rln.Evidence) { o.evidence.Add(1) }})
	if err != nil {
		tb.Fatal(err)
	}
	o.Node = relaytest.Start(tb, cluster, val)
	sub := o.Relay.Subscribe()
	go func() {
		for env := range sub.C() {
			p, err := rln.UnmarshalRateLimitProof(env.Message.RateLimitProof)
			if err != nil {
				continue
			}
			o.mu.Lock()
			o.seen[fmt.Sprintf("%d/%s", p.Epoch, p.Nullifier.String())]++
			o.payloads[string(env.Message.Payload)] = true
			o.mu.Unlock()
			o.delivered.Add(1)
		}
	}()
	return o
}

// linkObservers links the observers to each other: relays that see
// each other on the test's topic.
func linkObservers(tb testing.TB, obs []*observer) {
	tb.Helper()
	topic, _ := obs[0].Relay.TopicFor(contentTopic)
	relaytest.Link(tb, 10*time.Second, obs[0].Node, obs[1].Node, topic)
}

// nullifiersOnce checks that the observer saw no double signal and
// delivered every (epoch, nullifier) once, and returns them.
func (o *observer) nullifiersOnce(t *testing.T, i int) map[string]bool {
	t.Helper()
	if n := o.evidence.Load(); n != 0 {
		t.Fatalf("observer %d saw %d double signals", i, n)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	all := map[string]bool{}
	for k, n := range o.seen {
		if n != 1 {
			t.Errorf("observer %d: nullifier %s delivered %d times", i, k, n)
		}
		all[k] = true
	}
	return all
}

// got tells whether the observer delivered a message with payload.
func (o *observer) got(payload string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.payloads[payload]
}

func (o *observer) addr() string { return o.Host.Addrs()[0].String() }

// startHelper starts the service process and returns it with its address.
func startHelper(t *testing.T, slots string, observers []*observer) (*exec.Cmd, peer.AddrInfo) {
	t.Helper()
	var addrs []string
	for _, o := range observers {
		addrs = append(addrs, o.addr())
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"=1", "RLND_SLOTS="+slots, "RLND_OBSERVERS="+strings.Join(addrs, ","),
		"RLND_ARTEFACTS="+artefactsDir(t))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				line <- s
			}
		}
	}()
	select {
	case s := <-line:
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			t.Fatal(err)
		}
		return cmd, *ai
	case <-time.After(60 * time.Second):
		t.Fatal("service process did not start")
	}
	return nil, peer.AddrInfo{}
}

// SIGKILL the service in the middle of an epoch under load, restart it on
// the same slots file, and check across the relays that no nullifier was
// used twice: no relay saw a double signal, every delivered proof has its
// own nullifier, and the restarted service went on from the used slots.
func TestCrashNeverReusesNullifier(t *testing.T) {
	_, v := loadProver(t)
	_, g, err := crashGroup()
	if err != nil {
		t.Fatal(err)
	}
	observers := []*observer{startObserver(t, g, v), startObserver(t, g, v)}
	linkObservers(t, observers)
	slots := filepath.Join(t.TempDir(), "slots")

	var target atomic.Pointer[peer.AddrInfo]
	proc, ai := startHelper(t, slots, observers)
	target.Store(&ai)

	var ok atomic.Int32
	// Accepted pushes per epoch (of the message's timestamp): the test may
	// cross an epoch boundary, where every slot is new.
	var epochMu sync.Mutex
	perEpoch := map[uint64]int{}
	accepted := map[string]peer.ID{} // payload -> the service process that answered 200
	stop := make(chan struct{})
	// restartedCh is closed once the restarted service's address is in
	// target; slotsOut at the first 504.
	restartedCh, slotsOut := make(chan struct{}), make(chan struct{})
	var slotsOutOnce sync.Once
	var clients []*p2p.Host
	for range 4 {
		clients = append(clients, testnet.Host(t, cluster))
	}
	var wg sync.WaitGroup
	for c, h := range clients {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ai := *target.Load()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if _, err := h.Connect(ctx, ai); err != nil {
					cancel()
					// The service is down: wait until it is restarted
					// (once it is, a failed dial is tried again at once).
					select {
					case <-stop:
						return
					case <-restartedCh:
					}
					continue
				}
				m := message(fmt.Sprintf("client %d message %d", c, i))
				r, err := Push(ctx, h.Libp2p(), ai.ID, "", m)
				cancel()
				switch {
				case err != nil: // the service died under us
				case r.Status == StatusOK:
					ok.Add(1)
					epochMu.Lock()
					perEpoch[rln.Epoch(time.Unix(0, m.GetTimestamp()), relay.DefaultEpochPeriod)]++
					accepted[string(m.Payload)] = ai.ID
					epochMu.Unlock()
				case r.Status == StatusOutOfProofs:
					// Every slot is used: the test stops the clients.
					slotsOutOnce.Do(func() { close(slotsOut) })
					<-stop
					return
				}
			}
		})
	}
	testnet.WaitFor(t, 60*time.Second, "15 pushes accepted before the crash", func() bool { return ok.Load() >= 15 })
	// Killed with requests in flight: some slots are written, some proofs
	// made and not answered.
	if err := proc.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = proc.Wait()
	beforeCrash := ok.Load()
	// A new variable: the clients read the old address through target.
	_, restarted := startHelper(t, slots, observers)
	target.Store(&restarted)
	close(restartedCh)
	// Run the restarted service until every slot is used.
	select {
	case <-slotsOut:
	case <-time.After(90 * time.Second):
		t.Fatalf("slots never ran out: %d accepted", ok.Load())
	}
	close(stop)
	wg.Wait()
	// The last messages propagate: every one the restarted service
	// accepted reaches both observers.
	testnet.WaitFor(t, 30*time.Second, "the restarted service's messages to reach both observers", func() bool {
		for payload, by := range accepted {
			for _, o := range observers {
				if by == restarted.ID && !o.got(payload) {
					return false
				}
			}
		}
		return true
	})
	total := ok.Load()
	t.Logf("accepted %d before the crash, %d in all, by epoch %v; %d slots an epoch", beforeCrash, total, perEpoch, 2*crashLimit)
	for e, n := range perEpoch {
		if n > 2*crashLimit {
			t.Fatalf("epoch %d: %d proofs accepted from %d slots", e, n, 2*crashLimit)
		}
	}
	for i, o := range observers {
		o.nullifiersOnce(t, i)
		o.mu.Lock()
		// Every message the restarted service accepted reaches every
		// relay. Of those the killed one accepted, only the last few may
		// be lost: answered 200 after being handed to the router, with
		// the process killed before the frame left it.
		lostBeforeCrash := 0
		for payload, by := range accepted {
			if o.payloads[payload] {
				continue
			}
			if by == restarted.ID {
				t.Errorf("observer %d: %q was accepted by the restarted service and never delivered", i, payload)
			} else {
				lostBeforeCrash++
			}
		}
		if lostBeforeCrash > 4 {
			t.Errorf("observer %d: %d messages accepted before the crash were never delivered; at most the 4 in flight may be", i, lostBeforeCrash)
		}
		o.mu.Unlock()
	}
}

func artefactsDir(testing.TB) string { return artefacts.DefaultDir() }
