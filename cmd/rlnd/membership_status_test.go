package main

import (
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/rlnd/rlnd/contracts/devchain"
	"github.com/rlnd/rlnd/membership"
)

// statusOf runs status --json and returns the only membership's view.
func (e *chainEnv) statusOf() map[string]any {
	e.t.Helper()
	code, stdout, stderr := e.cli("membership", "status", "--rpc", e.info.RPCURL, "--keystore", e.ks, "--json")
	var views []map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &views) != nil || len(views) != 1 {
		e.t.Fatalf("status: exit %d %s%s", code, stdout, stderr)
	}
	if views[0]["localRootMatchesChain"] != true {
		e.t.Fatalf("local root does not match: %v", views[0])
	}
	return views[0]
}

// status follows a membership through its life: active, in its grace
// period, expired (the chain's clock moved forward), erased (by anyone,
// once expired), with its holder, deposit and, once erased, the deposit
// withdrawable by the holder.
func TestMembershipStatusStates(t *testing.T) {
	t.Parallel()
	e := newChainEnv(t)
	if code, stdout, stderr := e.cli(e.registerArgs("--rate-limit", "20", "--dev-key", "1")...); code != 0 {
		t.Fatalf("register: %s%s", stdout, stderr)
	}
	holder := devchain.DevAddress(1).Hex()
	check := func(v map[string]any, state, withdrawable string) {
		t.Helper()
		want := map[string]any{"state": state, "holder": holder, "deposit": price(20).String(),
			"depositToken": e.tokenAt.Hex(), "withdrawable": withdrawable, "rateLimit": float64(20), "index": float64(0)}
		for k, w := range want {
			if v[k] != w {
				t.Fatalf("%s: %s = %v, want %v (%v)", state, k, v[k], w, v)
			}
		}
	}
	v := e.statusOf()
	check(v, "active", "0")
	graceStarts, err := time.Parse(time.RFC3339, v["graceStarts"].(string))
	if err != nil {
		t.Fatal(err)
	}
	expires, err := time.Parse(time.RFC3339, v["expires"].(string))
	if err != nil || expires.Sub(graceStarts) != 30*24*time.Hour {
		t.Fatalf("grace %v, expiry %v (%v): want 30 days of grace", graceStarts, expires, err)
	}

	if err := e.c.AdjustTime(180*24*time.Hour + time.Hour); err != nil {
		t.Fatal(err)
	}
	check(e.statusOf(), "grace", "0")
	if err := e.c.AdjustTime(30 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	v = e.statusOf()
	check(v, "expired", "0")

	idc, _ := new(big.Int).SetString(strings.TrimPrefix(v["idCommitment"].(string), "0x"), 16)
	// A full erasure (the leaf becomes 0): the sync of this tree version
	// zeroes an erased membership's leaf, which after a lazy erasure the
	// registry keeps, and the roots would differ.
	r := e.send(5, func(a *bind.TransactOpts) (*types.Transaction, error) {
		return e.reg.EraseMemberships0(a, []*big.Int{idc}, true)
	})
	v = e.statusOf()
	check(v, "erased", price(20).String())
	if v["erasedBlock"] != float64(r.BlockNumber.Uint64()) || v["graceStarts"] != nil {
		t.Fatalf("erased: %v, want erasedBlock %d", v, r.BlockNumber)
	}
	code, stdout, _ := e.cli("membership", "status", "--rpc", e.info.RPCURL, "--keystore", e.ks)
	for _, want := range []string{"state erased", "erased in block ", "holder " + holder,
		"deposit 20000000000000000 base units (0.02 RLNDT, 18 decimals) of token " + e.tokenAt.Hex(),
		"withdrawable by the holder (depositsToWithdraw): 20000000000000000 base units (0.02 RLNDT, 18 decimals)",
		"local root matches root() at block "} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("status text lacks %q:\n%s", want, stdout)
		}
	}
}

// A keystore membership the registry never had is "not registered".
func TestMembershipStatusNotRegistered(t *testing.T) {
	t.Parallel()
	e := newChainEnv(t)
	id, err := membership.NewIdentityCredential(strings.NewReader(strings.Repeat("x", 64)))
	if err != nil {
		t.Fatal(err)
	}
	m := membership.Membership{Contract: membership.Contract{ChainID: "0x539", Address: e.info.Contract}, TreeIndex: 3, Identity: id, UserMessageLimit: 20}
	if _, err := membership.AddToFile(e.ks, m, "pw", 1000); err != nil {
		t.Fatal(err)
	}
	if v := e.statusOf(); v["state"] != "not registered" || v["holder"] != nil {
		t.Fatalf("status %v", v)
	}
}

// keygen, register, list and status print one identity's commitment the
// same way: big-endian hex, as nwaku (inHex of the keystore's
// little-endian bytes) and js-waku (IDCommitmentBigInt) show it and as the
// registry takes it.
func TestCommitmentByteOrderAgrees(t *testing.T) {
	t.Parallel()
	e := newChainEnv(t)
	idFile := filepath.Join(e.dir, "id.json")
	hexRe := regexp.MustCompile(`commitment (0x[0-9a-f]{64})`)
	found := func(cmd, out string) []string {
		t.Helper()
		var all []string
		for _, m := range hexRe.FindAllStringSubmatch(out, -1) {
			all = append(all, m[1])
		}
		if len(all) == 0 {
			t.Fatalf("%s prints no commitment:\n%s", cmd, out)
		}
		return all
	}
	_, keygen, _ := e.cli("membership", "keygen", "--out", idFile)
	want := found("keygen", keygen)[0]
	_, reg, stderr := e.cli(e.registerArgs("--rate-limit", "20", "--dev-key", "1", "--identity", idFile)...)
	_, list, _ := e.cli("membership", "list", "--keystore", e.ks)
	_, status, _ := e.cli("membership", "status", "--rpc", e.info.RPCURL, "--keystore", e.ks)
	got := map[string][]string{"register": found("register "+stderr, reg), "list": found("list", list), "status": found("status", status)}
	for _, args := range [][]string{{"list", "--keystore", e.ks, "--json"}, {"status", "--rpc", e.info.RPCURL, "--keystore", e.ks, "--json"}} {
		_, out, _ := e.cli(append([]string{"membership"}, args...)...)
		var views []map[string]any
		if err := json.Unmarshal([]byte(out), &views); err != nil || len(views) != 1 {
			t.Fatalf("%v: %s", args, out)
		}
		got[args[0]+" --json"] = []string{views[0]["idCommitment"].(string)}
	}
	for cmd, all := range got {
		if slices.ContainsFunc(all, func(s string) bool { return s != want }) {
			t.Errorf("%s prints %v, keygen %s", cmd, all, want)
		}
	}
	// nwaku's rendition: the identity file's little-endian bytes reversed.
	b, err := os.ReadFile(idFile)
	if err != nil {
		t.Fatal(err)
	}
	var id membership.IdentityCredential
	if err := json.Unmarshal(b, &id); err != nil {
		t.Fatal(err)
	}
	le := id.IDCommitment
	slices.Reverse(le[:])
	if nwaku := "0x" + hex.EncodeToString(le[:]); nwaku != want {
		t.Fatalf("nwaku would print %s, rlnd prints %s", nwaku, want)
	}
	// The registry knows the commitment by that number.
	n, _ := new(big.Int).SetString(want[2:], 16)
	if in, err := e.reg.IsInMembershipSet(e.opts(), n); err != nil || !in {
		t.Fatalf("isInMembershipSet(%s) = %v, %v", want, in, err)
	}
}

// status's mistakes are one line each: a keystore membership whose
// registry address holds no contract or another contract, an RPC endpoint
// that is down or never answers (bounded by --timeout).
func TestMembershipStatusBadInput(t *testing.T) {
	t.Parallel()
	e := newChainEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	quit := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	defer hang.Close()
	defer close(quit)
	keystoreFor := func(contract string) string {
		id, err := membership.NewIdentityCredential(strings.NewReader(strings.Repeat("y", 64)))
		if err != nil {
			t.Fatal(err)
		}
		ks := filepath.Join(t.TempDir(), "ks.json")
		m := membership.Membership{Contract: membership.Contract{ChainID: "0x539", Address: contract}, Identity: id, UserMessageLimit: 20}
		if _, err := membership.AddToFile(ks, m, "pw", 1000); err != nil {
			t.Fatal(err)
		}
		return ks
	}
	good := keystoreFor(e.info.Contract)
	tests := []struct {
		name    string
		rpc, ks string
		extra   []string
		code    int
		want    string
	}{
		{"no contract", e.info.RPCURL, keystoreFor(devchain.DevAddress(7).Hex()), nil, 1, "is not an RLN registry like WakuRlnV2 (deployedBlockNumber(): no contract code at given address)"},
		{"not a registry", e.info.RPCURL, keystoreFor(e.info.Token), nil, 1, "is not an RLN registry like WakuRlnV2 (deployedBlockNumber() reverts: no reason given)"},
		{"rpc down", dead, good, nil, 1, "connection refused"},
		{"rpc hangs", hang.URL, good, []string{"--timeout", "1s"}, 1, "context deadline exceeded"},
		{"timeout 0", e.info.RPCURL, good, []string{"--timeout", "0s"}, 2, "--timeout 0s: must be positive"},
	}
	for _, tt := range tests {
		code, _, stderr := e.cli(append([]string{"membership", "status", "--rpc", tt.rpc, "--keystore", tt.ks}, tt.extra...)...)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d: %q", tt.name, code, tt.code, stderr)
			continue
		}
		oneLine(t, stderr, tt.want)
	}
}
