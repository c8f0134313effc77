package discv5

import (
	"crypto/ecdsa"
	"fmt"
	"os"
	"testing"
	"time"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	ma "github.com/multiformats/go-multiaddr"
	"go.uber.org/goleak"

	"github.com/rlnd/rlnd/p2p/wakuenr"
)

// leakDeadline bounds the wait for goroutines to end after the tests: a
// closed node database's (goleveldb) memory pool drainer ends up to 1 s
// after Close.
const leakDeadline = 5 * time.Second

// Every test leaves no goroutine behind: services' Close waits for theirs
// and for go-ethereum's.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := waitNoLeaks(leakDeadline); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left after the tests (waited %v): %v\n", leakDeadline, err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitNoLeaks polls goleak until no unexpected goroutine is left, or
// returns its last finding at the deadline.
func waitNoLeaks(deadline time.Duration, opts ...goleak.Option) error {
	end := time.Now().Add(deadline)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(end) {
			return err
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := gethcrypto.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// spec is what a test node says about itself.
type spec struct {
	cluster uint16
	shards  []uint16 // nil: no shard entry
	caps    wakuenr.Capabilities
}

func (s spec) record(tb testing.TB) wakuenr.LocalRecord {
	tb.Helper()
	rec := wakuenr.LocalRecord{TCP: 60000, Capabilities: s.caps}
	if s.shards != nil {
		sh, err := wakuenr.NewShards(s.cluster, s.shards...)
		if err != nil {
			tb.Fatal(err)
		}
		rec.Shards = &sh
	}
	return rec
}

// newService makes a service on 127.0.0.1 (a free port) that the test
// closes; edit adjusts its config. It is not started.
func newService(tb testing.TB, s spec, boot []*enode.Node, edit func(*Config)) *Service {
	tb.Helper()
	cfg := Config{
		PrivKey:   newKey(tb),
		Listen:    "127.0.0.1:0",
		Bootnodes: boot,
		Record:    s.record(tb),
	}
	if edit != nil {
		edit(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	return svc
}

// startService is newService, started.
func startService(tb testing.TB, s spec, boot []*enode.Node, edit func(*Config)) *Service {
	tb.Helper()
	svc := newService(tb, s, boot, edit)
	if err := svc.Start(); err != nil {
		tb.Fatal(err)
	}
	return svc
}

func enrEntry(key string, v []byte) enr.Entry { return enr.WithEntry(key, v) }

type multiaddr = ma.Multiaddr

func newMultiaddr(s string) (ma.Multiaddr, error) { return ma.NewMultiaddr(s) }
