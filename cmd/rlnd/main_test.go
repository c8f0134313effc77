package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/google/uuid"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/contracts/bindings"
	"github.com/rlnd/rlnd/contracts/devchain"
	"github.com/rlnd/rlnd/membership"
)

// runCLI runs one command line in-process with the given environment.
func runCLI(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut, env)
	return code, out.String(), errOut.String()
}

func TestShardCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	yamlFile := filepath.Join(dir, "net.yaml")
	if err := os.WriteFile(yamlFile, []byte("network:\n  cluster-id: 5\n  num-shards: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		env     []string
		code    int
		stdout  string
		errPart string
	}{
		{args: []string{"shard", "/myapp/1/chat/proto"}, stdout: "/waku/2/rs/1/0\n"},
		{args: []string{"shard", "/0/toychat/2/huilong/proto"}, stdout: "/waku/2/rs/1/3\n"},
		{args: []string{"shard", "/toychat/2/huilong/proto", "--cluster", "42", "--num-shards", "1"}, stdout: "/waku/2/rs/42/0\n"},
		// The cluster and shard count of a preset, a file or the
		// environment, as rlnd node reads them; flags win.
		{args: []string{"shard", "/toychat/2/huilong/proto", "--preset", "devnet"}, stdout: "/waku/2/rs/66/3\n"},
		{args: []string{"shard", "/toychat/2/huilong/proto"}, env: []string{"RLND_PRESET=devnet"}, stdout: "/waku/2/rs/66/3\n"},
		{args: []string{"shard", "/toychat/2/huilong/proto", "--preset", "devnet", "--cluster", "3"}, stdout: "/waku/2/rs/3/3\n"},
		{args: []string{"shard", "/toychat/2/huilong/proto", "--config", yamlFile}, stdout: "/waku/2/rs/5/0\n"},
		{args: []string{"shard", "/toychat/2/huilong/proto", "--config", yamlFile, "--num-shards", "8"}, stdout: "/waku/2/rs/5/3\n"},
		{args: []string{"shard", "/toychat/2/huilong/proto"}, env: []string{"RLND_NETWORK_CLUSTER_ID=9"}, stdout: "/waku/2/rs/9/3\n"},
		// The membership commands' password variable is no key, and no
		// error either.
		{args: []string{"shard", "/myapp/1/chat/proto"}, env: []string{"RLND_KEYSTORE_PASSWORD=pw"}, stdout: "/waku/2/rs/1/0\n"},
		// --shards, the old name, still works, with a notice.
		{args: []string{"shard", "/toychat/2/huilong/proto", "--cluster", "42", "--shards", "1"}, stdout: "/waku/2/rs/42/0\n",
			errPart: "--shards is deprecated: use --num-shards"},
		{args: []string{"shard", "/myapp/1/chat/proto", "--shards", "1", "--num-shards", "1"}, code: 2, errPart: "give one of them"},
		{args: []string{"shard", "/myapp/1/chat"}, code: 2, errPart: "has 3 parts"},
		{args: []string{"shard", "/1/myapp/1/chat/proto"}, code: 2, errPart: "generation 1 is not supported"},
		{args: []string{"shard", "/myapp//chat/proto"}, code: 2, errPart: "version (part 2) is empty"},
		{args: []string{"shard", "/myapp/1/chat/proto", "--num-shards", "0"}, code: 2, errPart: "--num-shards 0: want 1 to 1024"},
		{args: []string{"shard", "/myapp/1/chat/proto", "--num-shards", "1025"}, code: 2, errPart: "--num-shards 1025: want 1 to 1024"},
		{args: []string{"shard", "/myapp/1/chat/proto", "--cluster", "65536"}, code: 2, errPart: "--cluster 65536: want 0 to 65535"},
		{args: []string{"shard", "/myapp/1/chat/proto", "--cluster", "-1"}, code: 2, errPart: "--cluster -1: want 0 to 65535"},
		{args: []string{"shard", "/myapp/1/chat/proto", "--cluster", "x"}, code: 2, errPart: "invalid argument"},
		{args: []string{"shard", "/myapp/1/chat/proto", "--preset", "nope"}, code: 2, errPart: `unknown preset "nope"`},
		{args: []string{"shard", "/myapp/1/chat/proto"}, env: []string{"RLND_NETWORK_NUM_SHARDS=0"}, code: 2,
			errPart: "network.num-shards: 0 is out of range, allowed 1..1024"},
		{args: []string{"shard"}, code: 2, errPart: "accepts 1 arg(s)"},
		{args: []string{"shard", "a", "b"}, code: 2, errPart: "accepts 1 arg(s)"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append(tt.env, tt.args...), " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, tt.env, tt.args...)
			if code != tt.code || stdout != tt.stdout {
				t.Fatalf("exit %d stdout %q stderr %q; want exit %d stdout %q", code, stdout, stderr, tt.code, tt.stdout)
			}
			if tt.errPart == "" {
				if stderr != "" {
					t.Fatalf("unexpected stderr %q", stderr)
				}
				return
			}
			oneLine(t, stderr, tt.errPart)
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCLI(t, nil, "frobnicate")
	if code == 0 || !strings.Contains(stderr, "unknown command") {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
}

func TestConfigShow(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, nil, "config", "show")
	if code != 0 {
		t.Fatalf("config show: exit %d, %s", code, stderr)
	}
	for _, want := range []string{"cluster-id: 1", "num-shards: 8", "epoch-period: 10m0s", "user-message-limit: 100",
		"max-epoch-gap: 20s", "chain-id: 59141", "0xB9cd878C90E49F797B4431fBF4fb333108CB90e6"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("twn config lacks %q:\n%s", want, stdout)
		}
	}

	code, stdout, _ = runCLI(t, nil, "config", "show", "--preset", "devnet")
	if code != 0 || !strings.Contains(stdout, "epoch-period: 10s") || !strings.Contains(stdout, "chain-id: 1337") {
		t.Fatalf("devnet: exit %d\n%s", code, stdout)
	}

	// The output is itself a valid config file; file, env and flag layer on top.
	dir := t.TempDir()
	file := filepath.Join(dir, "rlnd.yaml")
	if err := os.WriteFile(file, []byte(stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"RLND_NETWORK_CLUSTER_ID=7"}
	code, layered, stderr := runCLI(t, env, "config", "show", "--config", file, "--rln-epoch-period", "60s")
	if code != 0 {
		t.Fatalf("layered: exit %d %s", code, stderr)
	}
	for _, want := range []string{"cluster-id: 7", "epoch-period: 1m0s", "chain-id: 1337"} {
		if !strings.Contains(layered, want) {
			t.Errorf("layered config lacks %q:\n%s", want, layered)
		}
	}
	// RLND_PRESET and RLND_CONFIG stand in for the flags.
	code, viaEnv, _ := runCLI(t, []string{"RLND_PRESET=devnet"}, "config", "show")
	if code != 0 || !strings.Contains(viaEnv, "chain-id: 1337") {
		t.Fatalf("RLND_PRESET: exit %d\n%s", code, viaEnv)
	}
}

func TestConfigShowErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("network:\n  clusterid: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     []string
		args    []string
		errPart string
	}{
		{"unknown preset", nil, []string{"--preset", "mainnet"}, "mainnet"},
		{"unknown file key", nil, []string{"--config", bad}, "clusterid"},
		{"missing file", nil, []string{"--config", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"bad flag value", nil, []string{"--network-cluster-id", "70000"}, "cluster-id"},
		{"bad env value", []string{"RLND_RLN_EPOCH_PERIOD=ten"}, nil, "epoch-period"},
		{"unknown env key", []string{"RLND_NETWORK_CLUSTERID=1"}, nil, "RLND_NETWORK_CLUSTERID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, tt.env, append([]string{"config", "show"}, tt.args...)...)
			if code != 2 || stdout != "" || !strings.Contains(stderr, tt.errPart) {
				t.Fatalf("exit %d stdout %q stderr %q; want exit 2 naming %q", code, stdout, stderr, tt.errPart)
			}
		})
	}
}

// rlnd rln bench --json prints every key the issue names, from real runs
// (one run each here; zerokit included).
func TestRLNBenchJSON(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "rln", "bench", "--json", "--runs", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, stdout)
	}
	if why, ok := res["zerokit_unavailable"]; ok {
		t.Fatalf("zerokit was not measured: %v", why)
	}
	for _, key := range []string{"prove_ms_p50", "verify_ms_p50", "batch64_verify_ms_per_proof",
		"zerokit_prove_ms_p50", "zerokit_verify_ms_p50", "prove_cold_ms_p50", "max_rss_mb"} {
		v, ok := res[key].(float64)
		if !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive figure", key, res[key])
		}
	}
	if code, _, stderr := runCLI(t, nil, "rln", "bench", "--runs", "0"); code != 2 || !strings.Contains(stderr, "--runs") {
		t.Fatalf("--runs 0: exit %d %s", code, stderr)
	}
}

// rlnd rln bench says before it starts that zerokit cannot run (here: an
// --interop folder without the harness's packages), measures rlnd alone
// and exits 0.
func TestRLNBenchWithoutZerokit(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	code, stdout, stderr := runCLI(t, nil, "rln", "bench", "--json", "--runs", "1", "--interop", dir)
	t.Logf("one run took %v", time.Since(start))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	why := "interop harness unavailable: " + dir + "/node_modules is missing @waku/zerokit-rln-wasm: run 'npm ci' there (make test does)"
	if _, err := exec.LookPath("node"); err != nil {
		why = "interop harness unavailable: node not found on PATH (install Node.js >= 20)"
	}
	oneLine(t, stderr, "rlnd: zerokit comparison unavailable, measuring rlnd alone: "+why)
	var res map[string]any
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, stdout)
	}
	if v, _ := res["prove_ms_p50"].(float64); v <= 0 {
		t.Errorf("prove_ms_p50 = %v", res["prove_ms_p50"])
	}
	if _, ok := res["zerokit_prove_ms_p50"]; ok || res["zerokit_unavailable"] != why {
		t.Errorf("zerokit: %s", stdout)
	}
}

func TestMembershipList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "ks.json")
	id, err := membership.NewIdentityCredential(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m := membership.Membership{Contract: membership.Contract{ChainID: "0x539", Address: "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
		TreeIndex: 4, Identity: id, UserMessageLimit: 20}
	if _, err := membership.AddToFile(path, m, "s3cret", 1000); err != nil {
		t.Fatal(err)
	}
	env := []string{"RLND_KEYSTORE_PASSWORD=s3cret"}
	code, stdout, stderr := runCLI(t, env, "membership", "list", "--keystore", path)
	commitment := commitmentHex(id) // big-endian, as nwaku prints it
	if code != 0 || !strings.Contains(stdout, m.Hash()) || !strings.Contains(stdout, "index 4") || !strings.Contains(stdout, commitment) {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, fmt.Sprintf("%x", id.IDSecretHash[:])) {
		t.Fatal("secret printed")
	}
	code, stdout, _ = runCLI(t, env, "membership", "list", "--keystore", path, "--json")
	var views []map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &views) != nil || len(views) != 1 || views[0]["treeIndex"] != float64(4) {
		t.Fatalf("json: exit %d %s", code, stdout)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("wrong\n"), 0o600)
	if code, _, stderr := runCLI(t, nil, "membership", "list", "--keystore", path, "--password-file", pw); code != 2 || !strings.Contains(stderr, "wrong password") {
		t.Fatalf("wrong password: exit %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, nil, "membership", "list", "--keystore", path); code != 2 || !strings.Contains(stderr, "RLND_KEYSTORE_PASSWORD") {
		t.Fatalf("no password: exit %d %s", code, stderr)
	}
}

// The dev chain serves JSON-RPC with the registry deployed where the devnet
// preset expects it.
func TestDevchain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, info, err := startDevchain(ctx, devchain.Config{HTTP: "127.0.0.1:0", BlockTime: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	preset, err := config.Preset("devnet")
	if err != nil {
		t.Fatal(err)
	}
	if info.Contract != devchain.RegistryAddress().Hex() || !strings.EqualFold(preset.Chain.Contract, info.Contract) || preset.Chain.ChainID != info.ChainID {
		t.Fatalf("registry at %s, devnet preset says %s on chain %d", info.Contract, preset.Chain.Contract, preset.Chain.ChainID)
	}
	cl, err := ethclient.DialContext(ctx, info.RPCURL)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	code, err := cl.CodeAt(ctx, common.HexToAddress(info.Contract), nil)
	if err != nil || len(code) == 0 {
		t.Fatalf("no registry code over JSON-RPC: %v", err)
	}
	reg, err := bindings.NewRlnRegistry(common.HexToAddress(info.Contract), cl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Root(&bind.CallOpts{Context: ctx}); err != nil {
		t.Fatalf("root(): %v", err)
	}
	var out bytes.Buffer
	printDevchainInfo(&out, info, true)
	var back devchainInfo
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || !reflect.DeepEqual(back, info) {
		t.Fatalf("--json output %q", out.String())
	}
}

// keygen, register on a dev chain (paying with a dev key), list: the
// membership lands in the keystore with its on-chain index.
func TestMembershipKeygenRegisterList(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, info, err := startDevchain(ctx, devchain.Config{HTTP: "127.0.0.1:0", BlockTime: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	idFile, ks := filepath.Join(dir, "id.json"), filepath.Join(dir, "ks.json")
	code, stdout, stderr := runCLI(t, nil, "membership", "keygen", "--out", idFile)
	if code != 0 || !strings.Contains(stdout, "identity commitment 0x") {
		t.Fatalf("keygen: exit %d %s%s", code, stdout, stderr)
	}
	if st, err := os.Stat(idFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode: %v %v", st.Mode(), err)
	}
	if code, _, _ := runCLI(t, nil, "membership", "keygen", "--out", idFile); code != 2 {
		t.Fatal("keygen overwrote an existing file")
	}
	env := []string{"RLND_KEYSTORE_PASSWORD=pw"}
	args := []string{"membership", "register", "--rpc", info.RPCURL, "--contract", info.Contract, "--keystore", ks, "--dev-key", "1", "--kdf-iterations", "1000"}
	for i, extra := range [][]string{{"--rate-limit", "20", "--identity", idFile}, {"--rate-limit", "100"}} {
		code, stdout, stderr = runCLI(t, env, append(args, extra...)...)
		if code != 0 || !strings.Contains(stdout, fmt.Sprintf("at index %d", i)) {
			t.Fatalf("register %d: exit %d %s%s", i, code, stdout, stderr)
		}
	}
	// The same identity again is refused by the contract; the keystore keeps two.
	if code, stdout, stderr = runCLI(t, env, append(args, "--rate-limit", "20", "--identity", idFile)...); code == 0 {
		t.Fatalf("duplicate registration succeeded: %s%s", stdout, stderr)
	}
	code, stdout, _ = runCLI(t, env, "membership", "list", "--keystore", ks, "--json")
	var views []map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &views) != nil || len(views) != 2 {
		t.Fatalf("list: exit %d %s", code, stdout)
	}
	if views[0]["chainId"] != "0x539" || views[0]["contract"] != info.Contract {
		t.Fatalf("stored contract %v", views[0])
	}
	// status: both memberships active, and a local sync from the registry's
	// events gives the contract's root.
	code, stdout, stderr = runCLI(t, env, "membership", "status", "--rpc", info.RPCURL, "--keystore", ks, "--json")
	var st []map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil || len(st) != 2 {
		t.Fatalf("status: exit %d %s%s", code, stdout, stderr)
	}
	for _, v := range st {
		if v["state"] != "active" || v["localRootMatchesChain"] != true {
			t.Fatalf("status %v", v)
		}
	}
	// Bad input: no payer, bad contract, wrong keystore password.
	for _, bad := range [][]string{
		{"--rate-limit", "20"},
		{"--rate-limit", "20", "--dev-key", "1", "--contract", "0x1234"},
	} {
		a := []string{"membership", "register", "--rpc", info.RPCURL, "--contract", info.Contract, "--keystore", ks}
		if code, _, _ := runCLI(t, env, append(a, bad...)...); code != 2 {
			t.Fatalf("%v: exit %d, want 2", bad, code)
		}
	}
	if code, _, stderr := runCLI(t, []string{"RLND_KEYSTORE_PASSWORD=nope"}, append(args, "--rate-limit", "20")...); code != 2 || !strings.Contains(stderr, "wrong password") {
		t.Fatalf("wrong password: exit %d %s", code, stderr)
	}

	// Paying from an Ethereum keystore (V3 key file) holding dev account 2.
	payer := devchain.DevKey(2)
	keyJSON, err := keystore.EncryptKey(&keystore.Key{
		Id: uuid.New(), Address: crypto.PubkeyToAddress(payer.PublicKey), PrivateKey: payer,
	}, "eth secret", keystore.LightScryptN, keystore.LightScryptP)
	if err != nil {
		t.Fatal(err)
	}
	ethKey, ethPw, badPw := filepath.Join(dir, "eth-key.json"), filepath.Join(dir, "eth-pw"), filepath.Join(dir, "eth-bad-pw")
	for f, b := range map[string][]byte{ethKey: keyJSON, ethPw: []byte("eth secret\n"), badPw: []byte("nope\n")} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ethArgs := []string{"membership", "register", "--rpc", info.RPCURL, "--contract", info.Contract, "--keystore", ks,
		"--kdf-iterations", "1000", "--rate-limit", "30", "--eth-keystore", ethKey}
	before, err := os.ReadFile(ks)
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, env, append(ethArgs, "--eth-password-file", badPw)...)
	if code != 2 || !strings.Contains(stderr, "--eth-keystore") {
		t.Fatalf("wrong Ethereum keystore password: exit %d %s", code, stderr)
	}
	if after, _ := os.ReadFile(ks); !bytes.Equal(before, after) {
		t.Fatal("a failed registration changed the RLN keystore")
	}
	code, stdout, stderr = runCLI(t, env, append(ethArgs, "--eth-password-file", ethPw)...)
	if code != 0 || !strings.Contains(stdout, "at index 2") {
		t.Fatalf("register with --eth-keystore: exit %d %s%s", code, stdout, stderr)
	}
	nonce, err := c.Client().NonceAt(ctx, crypto.PubkeyToAddress(payer.PublicKey), nil)
	if err != nil || nonce != 2 {
		t.Fatalf("the keystore's account sent %d transactions (%v), want 2 (approve, register)", nonce, err)
	}
	code, stdout, _ = runCLI(t, env, "membership", "list", "--keystore", ks, "--json")
	if code != 0 || json.Unmarshal([]byte(stdout), &views) != nil || len(views) != 3 {
		t.Fatalf("list after the keystore-paid registration: exit %d %s", code, stdout)
	}
}
