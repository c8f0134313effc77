package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlnd/rlnd/membership"
)

// halfChain answers eth_chainId (1337) and hangs up on every other call, so
// that the client's later errors are transport errors, which quote the URL.
func halfChain(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err == nil && req.Method == "eth_chainId" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":"0x539"}`, req.ID)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestMembershipCommandsRedactTheRPCURL: errors of register and status, from
// the dial and from later calls, name the endpoint without its key, its
// password or its query.
func TestMembershipCommandsRedactTheRPCURL(t *testing.T) {
	t.Parallel()
	const key, pw, query = "9aa3d95b3bc440fa88ea12eaa4456161", "Hunter2-pw", "S3cretQueryKey"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := l.Addr().String()
	l.Close()
	half := strings.TrimPrefix(halfChain(t).URL, "http://")

	dir := t.TempDir()
	ks := filepath.Join(dir, "ks.json")
	id, err := membership.NewIdentityCredential(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m := membership.Membership{Contract: membership.Contract{ChainID: "0x539", Address: "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
		TreeIndex: 0, Identity: id, UserMessageLimit: 20}
	if _, err := membership.AddToFile(ks, m, "s3cret", 1000); err != nil {
		t.Fatal(err)
	}
	env := []string{"RLND_KEYSTORE_PASSWORD=s3cret"}
	for _, host := range []string{deadAddr, half} {
		rpc := "http://op:" + pw + "@" + host + "/v3/" + key + "?apikey=" + query
		for _, args := range [][]string{
			{"membership", "status", "--rpc", rpc, "--keystore", ks, "--timeout", "30s"},
			{"membership", "register", "--rpc", rpc, "--keystore", filepath.Join(dir, "new.json"), "--kdf-iterations", "1000",
				"--contract", "0x5FbDB2315678afecb367f032d93F642f64180aa3", "--rate-limit", "20", "--dev-key", "1"},
		} {
			code, _, stderr := runCLI(t, env, args...)
			if code == 0 {
				t.Fatalf("%s against %s succeeded", args[1], host)
			}
			for _, s := range []string{key, pw, query, "apikey"} {
				if strings.Contains(stderr, s) {
					t.Errorf("%s against %s: %q holds %q", args[1], host, stderr, s)
				}
			}
			if !strings.Contains(stderr, host+"/v3/redacted") {
				t.Errorf("%s against %s: %q does not name the endpoint", args[1], host, stderr)
			}
		}
	}
}
