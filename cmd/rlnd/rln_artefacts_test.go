package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rlnd/rlnd/rln/artefacts"
)

// artefactsServer serves the real artefacts (from ../shared, as the other
// RLN tests read them) on 127.0.0.1 and counts the requests.
func artefactsServer(t *testing.T) (url string, requests *atomic.Int64) {
	t.Helper()
	dir := artefacts.DefaultDir()
	if dir == "" {
		t.Fatal("../shared/rln/tree_depth_20 not found: the artefacts tests serve the real files from it")
	}
	requests = new(atomic.Int64)
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, requests
}

// errorLine checks that stderr ends with one error line holding every
// part (progress lines may come before it).
func errorLine(t *testing.T, stderr string, parts ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(last, "rlnd: ") || strings.Count(stderr, "rlnd: ") != 1 {
		t.Errorf("stderr does not end with one error line: %q", stderr)
	}
	for _, p := range parts {
		if !strings.Contains(last, p) {
			t.Errorf("the error does not say %q: %s", p, last)
		}
	}
}

func TestArtefactsFetchVerify(t *testing.T) {
	t.Parallel()
	url, requests := artefactsServer(t)
	cache := filepath.Join(t.TempDir(), "cache")
	env := []string{artefacts.EnvCache + "=" + cache, artefacts.EnvURL + "=" + url}

	code, stdout, stderr := runCLI(t, env, "rln", "artefacts", "fetch")
	if code != 0 || !strings.Contains(stdout, "fetched rln_final.zkey, verification_key.json, graph.bin into "+cache) {
		t.Fatalf("fetch: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, f := range artefacts.Files() {
		if !strings.Contains(stderr, "fetching "+f.Name) {
			t.Errorf("fetch's progress does not name %s: %q", f.Name, stderr)
		}
	}
	// The tests run in a checkout with ../shared beside it: fetch says
	// that folder comes first.
	if !strings.Contains(stdout, "note: "+artefacts.DefaultDir()+" is used before the cache") {
		t.Errorf("fetch does not say ../shared comes first: %q", stdout)
	}
	if n := requests.Load(); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}

	code, stdout, _ = runCLI(t, env, "rln", "artefacts", "fetch")
	if code != 0 || !strings.Contains(stdout, "nothing to fetch: "+cache+" holds the three files") || requests.Load() != 3 {
		t.Fatalf("second fetch: exit %d, %q, %d requests", code, stdout, requests.Load())
	}

	code, stdout, stderr = runCLI(t, env, "rln", "artefacts", "verify", "--dir", cache)
	if code != 0 || strings.Count(stdout, "\nOK ") != 3 || stderr != "" {
		t.Fatalf("verify of a full cache: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// One file changed, one gone: BAD and MISSING, exit 1.
	if err := os.WriteFile(filepath.Join(cache, artefacts.Graph), []byte("wtns.graph.001"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(cache, artefacts.VKey)); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, env, "rln", "artefacts", "verify", "--dir", cache)
	if code != 1 {
		t.Fatalf("verify with a bad and a missing file: exit %d, want 1", code)
	}
	for _, want := range []string{
		cache + "\nsource: --dir\n",
		"\nOK       rln_final.zkey ",
		"\nMISSING  verification_key.json  want sha256 ae43614c",
		"\nBAD      graph.bin              ",
		"is 14 bytes, want a file of 280798 bytes",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("verify does not print %q:\n%s", want, stdout)
		}
	}
	errorLine(t, stderr, "2 of 3 in "+cache)
}

// With fetching refused, or nothing listening at the URL, fetch fails with
// one line saying where to put which files, and asks nothing of the
// network when refused.
func TestArtefactsFetchFails(t *testing.T) {
	t.Parallel()
	url, requests := artefactsServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name string
		env  []string
		code int
		want string
	}{
		{name: "refused", env: []string{artefacts.EnvURL + "=" + url, artefacts.EnvFetch + "=0"}, code: 1, want: "fetching the RLN artefacts is off (RLND_ARTEFACTS_FETCH=0)"},
		{name: "offline", env: []string{artefacts.EnvURL + "=" + downURL}, code: 1, want: "offline, or the server is unreachable"},
		{name: "bad setting", env: []string{artefacts.EnvFetch + "=sometimes"}, code: 2, want: `RLND_ARTEFACTS_FETCH="sometimes": want 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cache := filepath.Join(t.TempDir(), "cache")
			env := append([]string{artefacts.EnvCache + "=" + cache}, tc.env...)
			code, stdout, stderr := runCLI(t, env, "rln", "artefacts", "fetch")
			if code != tc.code || strings.Contains(stdout, "fetched") {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q", code, tc.code, stdout, stderr)
			}
			parts := []string{tc.want}
			if tc.code == 1 {
				parts = append(parts, "put into "+cache)
				for _, f := range artefacts.Files() {
					parts = append(parts, f.Name+" (", f.SHA256, f.URL())
				}
			}
			errorLine(t, stderr, parts...)
			if _, err := os.Stat(filepath.Join(cache, artefacts.ZKey)); !os.IsNotExist(err) {
				t.Errorf("%s in the cache after a failed fetch (%v)", artefacts.ZKey, err)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests with fetching refused", n)
	}
}

// path reads rln.artefacts-dir as rlnd node does (flag, RLND_* variable),
// accepts the RLND_ARTEFACTS_* variables beside the configuration ones,
// and finds ../shared in a checkout.
func TestArtefactsPath(t *testing.T) {
	t.Parallel()
	url, requests := artefactsServer(t)
	dir := t.TempDir()
	base := []string{artefacts.EnvURL + "=" + url, artefacts.EnvCache + "=" + filepath.Join(dir, "cache")}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		out  string
	}{
		{name: "flag", args: []string{"--rln-artefacts-dir", dir}, out: dir + "\nsource: configured folder (rln.artefacts-dir)\n"},
		{name: "env", env: []string{"RLND_RLN_ARTEFACTS_DIR=" + dir}, out: dir + "\nsource: configured folder (rln.artefacts-dir)\n"},
		{name: "shared", out: artefacts.DefaultDir() + "\nsource: ../shared/rln/tree_depth_20 beside the checkout or binary\n"},
		{name: "bad url", env: []string{artefacts.EnvURL + "=ftp://127.0.0.1/"}, code: 2},
		{name: "extra arg", args: []string{"x"}, code: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, append(append([]string(nil), tc.env...), base...), append([]string{"rln", "artefacts", "path"}, tc.args...)...)
			if code != tc.code || stdout != tc.out {
				t.Fatalf("exit %d stdout %q stderr %q; want exit %d stdout %q", code, stdout, stderr, tc.code, tc.out)
			}
			if tc.code != 0 {
				errorLine(t, stderr)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("path made %d requests", n)
	}
}

// Outside a checkout (no ../shared), path and verify name the cache,
// incomplete then complete, and rln bench goes through the same resolver.
// Not parallel: it changes the working directory.
func TestArtefactsOutsideCheckout(t *testing.T) {
	url, requests := artefactsServer(t)
	root := t.TempDir()
	cache := filepath.Join(root, "cache")
	t.Chdir(root)
	env := []string{artefacts.EnvCache + "=" + cache, artefacts.EnvURL + "=" + url}

	code, stdout, stderr := runCLI(t, env, "rln", "artefacts", "path")
	want := cache + "\nsource: cache, to be fetched on first use (missing or wrong: rln_final.zkey, verification_key.json, graph.bin; \"rlnd rln artefacts fetch\" fetches them now)\n"
	if code != 0 || stdout != want {
		t.Fatalf("path, empty cache: exit %d stdout %q stderr %q; want %q", code, stdout, stderr, want)
	}
	code, stdout, _ = runCLI(t, env, "rln", "artefacts", "verify")
	if code != 1 || !strings.HasPrefix(stdout, cache+"\nsource: cache, fetched on first use\n") || strings.Count(stdout, "\nMISSING ") != 3 {
		t.Fatalf("verify, empty cache: exit %d, %q", code, stdout)
	}
	code, _, stderr = runCLI(t, append(env, artefacts.EnvFetch+"=0"), "rln", "bench", "--runs", "1", "--no-peer")
	if code != 1 {
		t.Fatalf("rln bench, no artefacts, fetching off: exit %d, want 1", code)
	}
	errorLine(t, stderr, "fetching the RLN artefacts is off", "put into "+cache,
		"../shared/rln/tree_depth_20 was looked for beside the working directory, its parents and the binary: not found")
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests before fetch", n)
	}

	if code, stdout, stderr = runCLI(t, env, "rln", "artefacts", "fetch"); code != 0 || strings.Contains(stdout, "note:") {
		t.Fatalf("fetch: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, env, "rln", "artefacts", "path")
	if code != 0 || stdout != cache+"\nsource: cache (complete, sha256 checked)\n" {
		t.Fatalf("path, full cache: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runCLI(t, env, "rln", "artefacts", "verify")
	if code != 0 || strings.Count(stdout, "\nOK ") != 3 {
		t.Fatalf("verify, full cache: exit %d, %q", code, stdout)
	}
}
