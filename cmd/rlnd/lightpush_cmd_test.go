package main

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/rln"
)

// `rlnd lightpush send` through a node whose lightpush service proves with
// a membership from its keystore; a relay peer receives the message.
func TestLightpushSendCommand(t *testing.T) {
	dir := t.TempDir()
	cred, err := membership.NewIdentityCredential(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := cred.Identity()
	if err != nil {
		t.Fatal(err)
	}
	ksPath := filepath.Join(dir, "keystore.json")
	m := membership.Membership{Contract: membership.Contract{ChainID: "0x539", Address: "0xa1C51e71CFb1dBB016dF743FD5dc48D62Ebb917B"},
		TreeIndex: 0, Identity: cred, UserMessageLimit: 3}
	if _, err := membership.AddToFile(ksPath, m, "pw", 2); err != nil {
		t.Fatal(err)
	}
	group, err := membership.NewStaticGroup([]fr.Element{id.RateCommitment(3)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := func(lp bool) *node.Node {
		cfg, _ := config.Preset("devnet")
		cfg.REST.Enabled = false // tests that want REST listen on a free port
		cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		cfg.Metrics.Enabled = false
		if lp {
			cfg.Lightpush = config.LightpushConfig{Enabled: true, Keystore: ksPath, KeystorePassword: "pw",
				SlotsFile: filepath.Join(dir, "slots"), PerPeerQuota: 5, Workers: 1}
		}
		n, err := node.New(context.Background(), node.Options{Config: &cfg, Group: group})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	svc, other := start(true), start(false)
	sub := other.Relay().Subscribe()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := other.Host().Connect(ctx, peer.AddrInfo{ID: svc.Host().ID(), Addrs: svc.Host().Libp2p().Addrs()}); err != nil {
		t.Fatal(err)
	}
	const ct = "/rlnd/1/cli-lightpush/proto"
	topic, _ := svc.Relay().TopicFor(ct)
	testnet.WaitFor(t, 30*time.Second, "the relay peer's subscription", func() bool { return len(svc.Relay().PubSub().TopicPeers(topic)) != 0 })
	addr := svc.Addrs()[0].String()
	// Devnet epochs are short (10 s): the slot is counted against the
	// epoch it was taken in, and a new epoch has all 3 again.
	dev, _ := config.Preset("devnet")
	dev.REST.Enabled = false // tests that want REST listen on a free port
	epochOf := func() uint64 { return rln.Epoch(time.Now(), dev.RLN.EpochPeriod) }
	before := epochOf()
	// --preset devnet gives the node's cluster and shard count.
	code, out, errOut := runCLI(t, nil, "lightpush", "send", "--peer", addr, "--content-topic", ct, "--payload", "hi from the CLI", "--preset", "devnet")
	if code != 0 || !strings.HasPrefix(out, "status 200 SUCCESS\n") || !strings.Contains(out, "relay peers 1") || !strings.Contains(out, "message hash 0x") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	select {
	case env := <-sub.C():
		if string(env.Message.GetPayload()) != "hi from the CLI" || env.Message.RateLimitProof == nil || !strings.Contains(out, env.Hash.String()) {
			t.Fatalf("relayed %v (hash %s), CLI printed %s", env.Message, env.Hash, out)
		}
	case <-ctx.Done():
		t.Fatal("the message was not relayed")
	}
	left := svc.Lightpush().SlotsLeft()
	if after := epochOf(); after == before && left != 2 {
		t.Fatalf("%d slots left of 3 in the epoch of the push", left)
	} else if after != before && left != 3 {
		t.Fatalf("%d slots left of 3 in the epoch after the push", left)
	}
	// Usage errors exit 2.
	if code, _, _ := runCLI(t, nil, "lightpush", "send", "--peer", addr, "--content-topic", ct); code != 2 {
		t.Fatalf("no payload: exit %d", code)
	}
}
