package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/rlnd/rlnd/contracts/bindings"
	"github.com/rlnd/rlnd/contracts/devchain"
)

// A busy --http port is one line naming it, not a panic.
func TestDevchainBusyPort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	code, stdout, stderr := runCLI(t, nil, "devchain", "--http", addr)
	if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "rlnd: devchain: "+addr+" is in use: ") {
		t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	oneLine(t, stderr, "address already in use")
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--accounts", "0"}, "--accounts 0: want 1 to 1000"},
		{[]string{"--accounts", "-1"}, "--accounts -1: want 1 to 1000"},
		{[]string{"--accounts", "1001"}, "--accounts 1001: want 1 to 1000"},
		{[]string{"--http", "0.0.0.0:8545"}, "http"},
		{[]string{"--block-time", "-1s"}, "block-time"},
	} {
		code, _, stderr := runCLI(t, nil, append([]string{"devchain", "--http", "127.0.0.1:0"}, bad.args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d %q", bad.args, code, stderr)
		}
		oneLine(t, stderr, bad.want)
	}
}

// runDevchain runs `rlnd devchain --json` with args until stop is called,
// and returns what it printed.
func runDevchain(t *testing.T, args ...string) (info devchainInfo, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"devchain", "--json", "--http", "127.0.0.1:0", "--block-time", "50ms"}, args...), pw, &stderr, nil)
		pw.Close()
		done <- code
	}()
	if err := json.NewDecoder(pr).Decode(&info); err != nil {
		cancel()
		<-done
		t.Fatalf("devchain %v: %v: %s", args, err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	return info, func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("devchain %v: exit %d: %s", args, code, stderr.String())
		}
	}
}

// devchain --datadir keeps the chain: after a restart the registry is where
// it was, not deployed again, and status shows the membership registered
// before.
func TestDevchainDataDirRestart(t *testing.T) {
	t.Parallel()
	dir, data := t.TempDir(), filepath.Join(t.TempDir(), "chain")
	ks, env := filepath.Join(dir, "ks.json"), []string{"RLND_KEYSTORE_PASSWORD=pw"}
	info, stop := runDevchain(t, "--datadir", data, "--accounts", "4")
	if info.RestartedAt != 0 || info.DataDir != data || info.FundedAccounts != 4 || info.Contract != devchain.RegistryAddress().Hex() {
		t.Fatalf("new chain: %+v", info)
	}
	code, stdout, stderr := runCLI(t, env, "membership", "register", "--rpc", info.RPCURL, "--contract", info.Contract,
		"--keystore", ks, "--kdf-iterations", "1000", "--rate-limit", "20", "--dev-key", "2")
	if code != 0 {
		t.Fatalf("register: %s%s", stdout, stderr)
	}
	stop()

	again, stop := runDevchain(t, "--datadir", data)
	defer stop()
	if again.RestartedAt == 0 || again.Contract != info.Contract || again.DeployedBlock != info.DeployedBlock ||
		again.Token != info.Token || again.FundedAccounts != 4 {
		t.Fatalf("restarted: %+v, first run %+v", again, info)
	}
	start := time.Now()
	code, stdout, stderr = runCLI(t, env, "membership", "status", "--rpc", again.RPCURL, "--keystore", ks, "--json")
	var views []map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &views) != nil || len(views) != 1 {
		t.Fatalf("status after the restart: exit %d %s%s", code, stdout, stderr)
	}
	if v := views[0]; v["state"] != "active" || v["index"] != float64(0) || v["holder"] != devchain.DevAddress(2).Hex() || v["localRootMatchesChain"] != true {
		t.Fatalf("status after the restart: %v", v)
	}
	t.Logf("status after the restart took %v", time.Since(start))
	// While it runs: another account count for its directory, or a second
	// chain on it, is refused.
	code, _, stderr = runCLI(t, nil, "devchain", "--http", "127.0.0.1:0", "--datadir", data, "--accounts", "3")
	if code != 2 {
		t.Fatalf("--accounts 3: exit %d", code)
	}
	oneLine(t, stderr, "holds a chain with 4 dev accounts, not 3")
	code, _, stderr = runCLI(t, nil, "devchain", "--http", "127.0.0.1:0", "--datadir", data)
	if code != 2 {
		t.Fatalf("second chain: exit %d", code)
	}
	oneLine(t, stderr, "is in use by another process")
}

// rlnd devchain lists every funded dev account: index, address and key,
// each funded on the chain and derived as printed.
func TestDevchainListsEveryAccount(t *testing.T) {
	t.Parallel()
	info, stop := runDevchain(t, "--accounts", "3")
	defer stop()
	if len(info.Accounts) != 3 || info.FundedAccounts != 3 || info.DevAddress != info.Accounts[0].Address || info.DevKey != info.Accounts[0].Key {
		t.Fatalf("accounts %+v", info)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cl, err := ethclient.DialContext(ctx, info.RPCURL)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	token, err := bindings.NewTestToken(common.HexToAddress(info.Token), cl)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range info.Accounts {
		seed := sha256.Sum256([]byte(fmt.Sprintf("rlnd devchain account %d/0", i)))
		if a.Index != i || a.Address != devchain.DevAddress(i).Hex() || a.Key != "0x"+hex.EncodeToString(seed[:]) {
			t.Errorf("account %d: %+v", i, a)
		}
		addr := common.HexToAddress(a.Address)
		eth, err := cl.BalanceAt(ctx, addr, nil)
		if err != nil || eth.Sign() <= 0 {
			t.Errorf("account %d holds %v ether: %v", i, eth, err)
		}
		tok, err := token.BalanceOf(&bind.CallOpts{Context: ctx}, addr)
		if err != nil || tok.Sign() <= 0 {
			t.Errorf("account %d holds %v tokens: %v", i, tok, err)
		}
	}
	var out bytes.Buffer
	printDevchainInfo(&out, info, false)
	for _, a := range info.Accounts {
		if line := fmt.Sprintf("\n  %3d  %s  %s\n", a.Index, a.Address, a.Key); !strings.Contains(out.String(), line) {
			t.Errorf("no line %q in\n%s", line, out.String())
		}
	}
	if !strings.Contains(out.String(), "funded accounts 3, ") {
		t.Errorf("summary:\n%s", out.String())
	}
}
