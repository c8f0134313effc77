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

// `rlnd node` runs on nwaku-compose's command line for The Waku Network
// (run_node.sh; its source and the whole line are quoted in config's
// nwaku_test.go, nwakuComposeRunNode), its variables expanded for a dev
// chain: RLN_RELAY_ETH_CLIENT_ADDRESS is the dev chain's RPC and the
// Postgres archive a SQLite file; there is no keystore, domain or node key.
// The nwaku flags that follow it keep the test on loopback and free ports
// and point the registry at the dev chain's (a later flag wins, as in
// nwaku), DNS discovery is off and, with rlnd's flag, the twn entry nodes.
// The node serves REST (/health, /debug/v1/info) and metrics and logs the
// flags it ignores.
func TestNodeCommandNwakuCommandLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, info, err := startDevchain(ctx, devchain.Config{HTTP: "127.0.0.1:0", BlockTime: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	args := []string{"node",
		// nwaku-compose's line.
		"--relay=true", "--filter=true", "--lightpush=true", "--keep-alive=true", "--max-connections=150", "--cluster-id=1",
		"--discv5-discovery=true", "--discv5-udp-port=9005", "--discv5-enr-auto-update=True", "--log-level=DEBUG",
		"--tcp-port=30304", "--metrics-server=True", "--metrics-server-port=8003", "--metrics-server-address=0.0.0.0",
		"--rest=true", "--rest-admin=true", "--rest-address=0.0.0.0", "--rest-port=8645",
		"--rest-allow-origin=waku-org.github.io", "--rest-allow-origin=localhost:*", "--nat=extip:203.0.113.7",
		"--store=true", "--store-message-db-url=sqlite://" + filepath.Join(dir, "store.sqlite3"),
		"--rln-relay-eth-client-address=" + info.RPCURL, "--rln-relay-tree-path=/etc/rln_tree",
		"--store-message-retention-policy=size:1GB",
		// The dev chain's registry, loopback, free ports, no DNS.
		"--rln-relay-eth-contract-address=" + devchain.RegistryAddress().Hex(), "--rln-relay-chain-id=1337",
		"--listen-address=127.0.0.1", "--tcp-port=0", "--websocket-port=0", "--discv5-udp-port=0",
		"--metrics-server-address=127.0.0.1", "--metrics-server-port=0", "--rest-address=127.0.0.1", "--rest-port=0",
		"--dns-discovery=false", "--discovery-entry-nodes=", "--data-dir=" + dir,
	}
	runCtx, stop := context.WithCancel(ctx)
	var out, errOut testnet.Buffer
	done := make(chan int, 1)
	go func() { done <- run(runCtx, args, &out, &errOut, nil) }()
	restAt := regexp.MustCompile(`REST API on (http://\S+)`)
	started := false
	defer func() {
		if !started {
			t.Logf("the node's output: %s %s", out.String(), errOut.String())
		}
	}()
	testnet.WaitFor(t, 30*time.Second, "the node to print its REST address", func() bool {
		select {
		case code := <-done:
			t.Fatalf("node exited %d", code)
		default:
		}
		return restAt.MatchString(out.String())
	})
	started = true
	base := restAt.FindStringSubmatch(out.String())[1]
	if !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") {
		t.Fatalf("REST API on %s; want a port of 127.0.0.1 the system chose", base)
	}
	get := func(path string) (int, []byte) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	// Ready once the registry is synced (bound 20 s).
	var health []byte
	testnet.WaitFor(t, 20*time.Second, "GET /health to answer 200", func() bool {
		var code int
		code, health = get("/health")
		return code == http.StatusOK
	})
	if !strings.Contains(string(health), `"nodeHealth":"Ready"`) {
		t.Errorf("/health = %s, want Ready", health)
	}
	code, body := get("/debug/v1/info")
	var dbg struct {
		ListenAddresses []string `json:"listenAddresses"`
		ENRUri          string   `json:"enrUri"`
	}
	if err := json.Unmarshal(body, &dbg); code != http.StatusOK || err != nil {
		t.Fatalf("/debug/v1/info = %d %s (%v)", code, body, err)
	}
	// nwaku's info lists the announced addresses: --nat's extip with the
	// ports the node listens on.
	var tcp, ws bool
	for _, a := range dbg.ListenAddresses {
		tcp = tcp || regexp.MustCompile(`^/ip4/203\.0\.113\.7/tcp/[1-9][0-9]*/p2p/`).MatchString(a)
		ws = ws || regexp.MustCompile(`^/ip4/203\.0\.113\.7/tcp/[1-9][0-9]*/ws/p2p/`).MatchString(a)
	}
	if !tcp || !ws || !strings.HasPrefix(dbg.ENRUri, "enr:") {
		t.Errorf("/debug/v1/info = %s; want TCP and websocket addresses announced on the extip and an ENR", body)
	}
	for _, l := range []string{`listening on /ip4/127\.0\.0\.1/tcp/[1-9][0-9]*/p2p/`, `listening on /ip4/127\.0\.0\.1/tcp/[1-9][0-9]*/ws/p2p/`} {
		if !regexp.MustCompile(l).MatchString(out.String()) {
			t.Errorf("the node printed %s; want it listening on loopback (%s)", out.String(), l)
		}
	}
	if !regexp.MustCompile(`metrics on http://127\.0\.0\.1:[1-9]`).MatchString(out.String()) {
		t.Errorf("no metrics on 127.0.0.1 printed: %s", out.String())
	}
	// The flags rlnd ignores are logged, once each.
	for _, flag := range []string{"--keep-alive", "--discv5-enr-auto-update", "--rln-relay-tree-path"} {
		if n := strings.Count(errOut.String(), "nwaku's "+flag); n != 1 {
			t.Errorf("the log names %s %d times, want one warning: %s", flag, n, errOut.String())
		}
	}
	stop()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("node did not stop")
	}
	if _, err := os.Stat(filepath.Join(dir, "store.sqlite3")); err != nil {
		t.Errorf("no archive where --store-message-db-url put it: %v", err)
	}
}

// An nwaku command line with a flag rlnd refuses, or one neither rlnd nor
// nwaku has, stops `rlnd node` at once with one line naming the flag.
func TestNodeCommandNwakuFlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{args: []string{"--relay=false"}, want: []string{"--relay=false is not supported", "rlnd always relays"}},
		{args: []string{"--rln-relay-eth-private-key=0x0123"}, want: []string{"--rln-relay-eth-private-key", "rlnd membership register"}},
		{args: []string{"--max-msg-size=1MiB"}, want: []string{"--max-msg-size", "allowed 150KiB"}},
		{args: []string{"--wakux-flag=1"}, want: []string{"unknown flag --wakux-flag", "neither an rlnd flag nor an nwaku flag rlnd knows"}},
		{args: []string{"--tcp-prot:60000"}, want: []string{"unknown flag --tcp-prot:60000", "did you mean --tcp-port?"}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, nil, append([]string{"node", "--cluster-id=1", "--data-dir", t.TempDir()}, tt.args...)...)
			if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and one line", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if strings.Contains(stderr, "0x0123") {
				t.Errorf("stderr %q quotes the private key", stderr)
			}
		})
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
}

// rlnd devnet refuses, with the range, what its package would replace
// with a default or cannot run.
func TestDevnetFlagRanges(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--nodes", "1"}, "--nodes 1: want 2 to 50"},
		{[]string{"--nodes", "0"}, "--nodes 0: want 2 to 50"},
		{[]string{"--nodes", "51"}, "--nodes 51: want 2 to 50"},
		{[]string{"--members", "0"}, "--members 0: want 1 to 100"},
		{[]string{"--members", "-3"}, "--members -3: want 1 to 100"},
		{[]string{"--members", "101"}, "--members 101: want 1 to 100"},
		{[]string{"--duration", "0s"}, "--duration 0s: want a duration > 0"},
		{[]string{"--duration", "-1s"}, "--duration -1s: want a duration > 0"},
	} {
		code, stdout, stderr := runCLI(t, nil, append([]string{"devnet"}, tt.args...)...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d %q", tt.args, code, stdout)
			continue
		}
		oneLine(t, stderr, tt.want)
	}
}

// `rlnd config show` prints what an nwaku command line makes of the
// configuration, and on stderr the nwaku flags it ignores.
func TestConfigShowNwakuCommandLine(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, nil, "config", "show", "--keep-alive=true", "--tcp-port:30304",
		"--rest-address=0.0.0.0", "--rest-port=8646", "--log-level=NOTICE")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"- /ip4/0.0.0.0/tcp/30304\n", "address: 0.0.0.0:8646\n", "level: info\n"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("config show printed %s; want %q in it", stdout, w)
		}
	}
	if stderr != "rlnd: warning: nwaku's --keep-alive=true is ignored: rlnd sends no keep-alive pings on idle connections\n" {
		t.Errorf("stderr %q, want the one warning", stderr)
	}
}
