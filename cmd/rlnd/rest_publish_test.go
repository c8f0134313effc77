package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
)

// A member registers with `rlnd membership register`, starts `rlnd node`
// with that keystore (nwaku's --rln-relay-cred-path and
// --rln-relay-cred-password) and its REST API, and publishes through REST
// as nwaku's docs do; the two other nodes of a line deliver the message
// with a proof their RLN validators accepted, for the message's epoch, and
// the member's slot is recorded in its data directory (rln-slots).
func TestRegisterThenPublishThroughREST(t *testing.T) {
	t.Parallel()
	e := newChainEnv(t)
	if code, stdout, stderr := e.cli(e.registerArgs("--rate-limit", "20", "--dev-key", "1")...); code != 0 {
		t.Fatalf("register: exit %d %s%s", code, stdout, stderr)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var out, errOut testnet.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"node", "--preset", "devnet", "--chain-rpc-url", e.info.RPCURL, "--chain-contract", e.info.Contract,
			"--rln-relay-cred-path", e.ks, "--rln-relay-cred-password", "pw", "--data-dir", filepath.Join(e.dir, "member"),
			"--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--metrics-enabled=false", "--rest-address", "127.0.0.1:0"}, &out, &errOut, nil)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("rlnd node did not stop within 30 s of its context's end")
		}
	})
	restRE := regexp.MustCompile(`REST API on (http://\S+)`)
	listenRE := regexp.MustCompile(`listening on (/ip4/127\.0\.0\.1/tcp/\d+/p2p/\S+)`)
	testnet.WaitFor(t, 60*time.Second, "rlnd node to print its REST address", func() bool {
		select {
		case code := <-done:
			t.Fatalf("rlnd node exited %d: %s %s", code, out.String(), errOut.String())
		default:
		}
		return restRE.MatchString(out.String())
	})
	base := restRE.FindStringSubmatch(out.String())[1]
	memberAddr := listenRE.FindStringSubmatch(out.String())[1]

	// Two more nodes in a line: member - b - c.
	start := func(static string) *node.Node {
		cfg, err := config.Preset("devnet")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Chain.RPCURL, cfg.Chain.Contract = e.info.RPCURL, e.info.Contract
		cfg.P2P.Listen, cfg.P2P.StaticPeers = []string{"/ip4/127.0.0.1/tcp/0"}, []string{static}
		cfg.Discovery = config.DiscoveryConfig{}
		cfg.Metrics.Enabled, cfg.REST.Enabled = false, false
		cfg.Node.DataDir = t.TempDir()
		n, err := node.New(e.ctx, node.Options{Config: &cfg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	b := start(memberAddr)
	c := start(b.Addrs()[0].String())
	subs := []*relay.Subscription{b.Relay().Subscribe(), c.Relay().Subscribe()}
	const ct = "/rlnd/1/rest-member/proto"
	topic, err := b.Relay().TopicFor(ct)
	if err != nil {
		t.Fatal(err)
	}
	// A message reaches past b only once b's mesh has c: wait for the
	// meshes (a heartbeat or two).
	testnet.WaitFor(t, 30*time.Second, "b's mesh on "+topic+" to hold both neighbours, and c's b", func() bool {
		return len(b.Relay().PubSub().MeshPeers(topic)) == 2 && len(c.Relay().PubSub().MeshPeers(topic)) == 1
	})

	payload := "registered, then published through REST"
	body := fmt.Sprintf(`{"payload":%q,"contentTopic":%q,"timestamp":%d}`, base64.StdEncoding.EncodeToString([]byte(payload)), ct, time.Now().UnixNano())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/relay/v1/auto/messages", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(answer) != "OK" {
		t.Fatalf("publish: %d %q; node output: %s", resp.StatusCode, answer, errOut.String())
	}
	for i, sub := range subs {
		select {
		case env := <-sub.C():
			if string(env.Message.GetPayload()) != payload || len(env.Message.GetRateLimitProof()) == 0 {
				t.Fatalf("node %d delivered %q with a %d-byte proof, want the message with its proof", i+1, env.Message.GetPayload(), len(env.Message.GetRateLimitProof()))
			}
			p, err := rln.UnmarshalRateLimitProof(env.Message.GetRateLimitProof())
			if err != nil {
				t.Fatalf("node %d: the proof does not decode: %v", i+1, err)
			}
			if want := rln.Epoch(time.Unix(0, env.Message.GetTimestamp()), 10*time.Second); p.Epoch != want {
				t.Fatalf("node %d: the proof's epoch is %d, want the message's (%d)", i+1, p.Epoch, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("node %d did not deliver the message within 30 s", i+1)
		}
	}
	if _, err := os.Stat(filepath.Join(e.dir, "member", "rln-slots")); err != nil {
		t.Fatalf("the member's slot file: %v", err)
	}
}
