package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/contracts/devchain"
	"github.com/rlnd/rlnd/internal/testnet"
)

// `rlnd node` on the devnet preset syncs the registry of a dev chain,
// listens, serves metrics and its health, keeps its checkpoint in the
// default data directory ($XDG_STATE_HOME/rlnd, created 0700), and stops
// cleanly when its context ends (as on SIGINT/SIGTERM).
func TestNodeCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, info, err := startDevchain(ctx, devchain.Config{HTTP: "127.0.0.1:0", BlockTime: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	runCtx, stop := context.WithCancel(ctx)
	var out, errOut testnet.Buffer
	done := make(chan int, 1)
	state := t.TempDir()
	go func() {
		done <- run(runCtx, []string{"node", "--preset", "devnet", "--chain-rpc-url", info.RPCURL,
			"--p2p-listen", "/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/tcp/0/ws", "--metrics-address", "127.0.0.1:0", "--rest-address", "127.0.0.1:0"}, &out, &errOut,
			[]string{config.EnvXDGStateHome + "=" + state})
	}()
	metrics := regexp.MustCompile(`metrics on (http://\S+)`)
	started := false
	defer func() {
		if !started {
			t.Logf("the node's output: %s %s", out.String(), errOut.String())
		}
	}()
	testnet.WaitFor(t, 30*time.Second, "the node to print its metrics address", func() bool {
		select {
		case code := <-done:
			t.Fatalf("node exited %d", code)
		default:
		}
		return metrics.MatchString(out.String())
	})
	started = true
	if !strings.Contains(out.String(), "/ws/p2p/") || !strings.Contains(out.String(), "/tcp/") {
		t.Fatalf("listen addresses missing: %s", out.String())
	}
	resp, err := http.Get(metrics.FindStringSubmatch(out.String())[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"libp2p_peers", "waku_rln_membership_synced_block", "waku_node_messages_total",
		"waku_rln_number_registered_memberships", "rlnd_membership_sync_head_block", "rlnd_membership_sync_healthy 1"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("metrics lack %s", name)
		}
	}
	health := regexp.MustCompile(`health on (http://\S+)`).FindStringSubmatch(out.String())
	if health == nil {
		t.Fatalf("no health address printed: %s", out.String())
	}
	resp, err = http.Get(health[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"nodeHealth":"Ready"`) {
		t.Errorf("/health = %d %s, want 200 Ready", resp.StatusCode, body)
	}
	stop()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(out.String(), "stopped") {
			t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("node did not stop")
	}
	dataDir := filepath.Join(state, "rlnd")
	if st, err := os.Stat(dataDir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("default data directory %s: %v; want it created 0700", dataDir, err)
	}
	ckpt := filepath.Join(dataDir, "membership", "1337-"+strings.ToLower(info.Contract)+".ckpt")
	if _, err := os.Stat(ckpt); err != nil {
		t.Fatalf("no checkpoint in the default data directory: %v", err)
	}
	// The node key is in the data directory, 0600, and is the printed
	// identity.
	keyFile := filepath.Join(dataDir, "nodekey")
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("node key %s: %v; want it created 0600", keyFile, err)
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.UnmarshalSecp256k1PrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "rlnd node "+id.String()+"\n") || !strings.Contains(out.String(), "announcing /ip4/127.0.0.1/tcp/") {
		t.Fatalf("the node printed %s; want its identity %s and what it announces", out.String(), id)
	}
}

// An endpoint nothing listens on: `rlnd node` exits 1 after
// chain.start-timeout (1 s; bound checked 1 s + 10 s) with one line naming
// the endpoint, redacted, and the last error.
func TestNodeCommandUnreachableChain(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	const key = "9aa3d95b3bc440fa88ea12eaa4456161"
	start := time.Now()
	code, stdout, stderr := runCLI(t, nil, "node", "--preset", "devnet", "--chain-rpc-url", "http://"+addr+"/v3/"+key,
		"--chain-start-timeout", "1s", "--data-dir", t.TempDir(), "--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--metrics-enabled=false")
	took := time.Since(start)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != 1 || !strings.HasPrefix(last, "rlnd: node: chain http://"+addr+"/v3/redacted") || !strings.Contains(last, "connection refused") {
		t.Fatalf("exit %d, last line %q; want 1 and one line naming the endpoint and the error (stdout %s)", code, last, stdout)
	}
	if strings.Contains(stderr, key) {
		t.Fatalf("the API key is printed: %s", stderr)
	}
	if took < time.Second || took > 11*time.Second {
		t.Fatalf("exited after %v, want chain.start-timeout (1 s), at most 10 s more", took)
	}
}

// A data directory that cannot be created stops `rlnd node` with one line
// naming it.
func TestNodeCommandBadDataDir(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, nil, "node", "--preset", "devnet", "--data-dir", filepath.Join(file, "data"),
		"--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--metrics-enabled=false")
	if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "data directory "+filepath.Join(file, "data")) {
		t.Fatalf("exit %d, stderr %q; want 1 and one line naming the data directory", code, stderr)
	}
}

// `rlnd devnet --json` prints the report's keys and exits 0 on a pass.
func TestDevnetCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "devnet", "--nodes", "3", "--duration", "2s", "--members", "2", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	for _, k := range []string{"nodes", "published", "delivered_ratio", "p50_latency_ms", "p99_latency_ms", "spam_published",
		"spam_delivered", "invalid_published", "invalid_delivered", "double_signals_detected",
		"lightpush_sent", "lightpush_delivered", "lightpush_rejected_429", "proofs_attached", "store_offline_published", "store_retrieved", "filter_received"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("no %q in %s", k, stdout)
		}
	}
	if rep["nodes"].(float64) != 3 || rep["delivered_ratio"].(float64) != 1 || rep["spam_delivered"].(float64) != 0 {
		t.Fatalf("report %s", stdout)
	}
	if code, _, stderr := runCLI(t, nil, "devnet", "--nodes", "1"); code != 2 || !strings.Contains(stderr, "at least 2") {
		t.Fatalf("--nodes 1: exit %d %s", code, stderr)
	}
}
