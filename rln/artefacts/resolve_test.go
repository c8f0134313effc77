package artefacts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cacheOpts resolves into a fresh cache from srv, without ../shared and
// without the process environment.
func cacheOpts(t *testing.T, base string, env ...string) Options {
	return Options{CacheDir: filepath.Join(t.TempDir(), "cache"), BaseURL: base, NoShared: true, Getenv: envOf(env...)}
}

func TestPinnedURLs(t *testing.T) {
	t.Parallel()
	// The provenance table of the files (shared/rln/README.md).
	want := map[string]string{
		ZKey:  "https://raw.githubusercontent.com/vacp2p/zerokit/c6493bd10fd2f824bc6a6f19b45e7678395930d3/rln/resources/tree_height_20/rln_final.zkey",
		VKey:  "https://raw.githubusercontent.com/vacp2p/zerokit/0997d15d33f0b7085c8ca76350c4863a30348a2b/rln/resources/tree_height_20/verification_key.json",
		Graph: "https://raw.githubusercontent.com/vacp2p/zerokit/e077b5bb99ef3e5f4b8efbe3524c73070ed1bf45/rln/resources/tree_depth_20/graph.bin",
	}
	fs := Files()
	if len(fs) != 3 {
		t.Fatalf("Files: %d, want 3", len(fs))
	}
	content := realContent(t)
	for _, f := range fs {
		if got := f.URL(); got != want[f.Name] {
			t.Errorf("%s: URL %s, want %s", f.Name, got, want[f.Name])
		}
		if int64(len(content[f.Name])) != f.Size {
			t.Errorf("%s: pinned size %d, the shared file is %d bytes", f.Name, f.Size, len(content[f.Name]))
		}
	}
}

// A first resolve fetches the three files into the cache; a second uses
// the cache without the network.
func TestResolveFetchesThenUsesCache(t *testing.T) {
	t.Parallel()
	srv := newFileServer(t, serveGood)
	o := cacheOpts(t, srv.URL()+"/files/")
	var progress bytes.Buffer
	o.Progress = &progress
	loc, err := Resolve(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Dir != o.CacheDir || loc.Source != SourceFetch || !slices.Equal(loc.Fetch, []string{ZKey, VKey, Graph}) {
		t.Fatalf("first resolve: %+v, want the cache %s, fetched, all three files", loc, o.CacheDir)
	}
	if err := Check(loc.Dir); err != nil {
		t.Fatal(err)
	}
	if got := srv.requested(); !slices.Equal(got, []string{"/files/" + ZKey, "/files/" + VKey, "/files/" + Graph}) {
		t.Fatalf("requests %v, want one per file under the base URL (trailing slash trimmed)", got)
	}
	for _, f := range files {
		st, err := os.Stat(filepath.Join(loc.Dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", f.Name, st.Mode().Perm())
		}
		if !strings.Contains(progress.String(), "fetching "+f.Name) || !strings.Contains(progress.String(), f.Name+": "+strconv.FormatInt(f.Size, 10)+" bytes") {
			t.Errorf("progress does not report %s:\n%s", f.Name, progress.String())
		}
	}
	if l := leftovers(t, loc.Dir); len(l) != 0 {
		t.Fatalf("downloads left in the cache: %v", l)
	}

	progress.Reset()
	loc, err = Resolve(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Source != SourceCache || loc.Dir != o.CacheDir || len(loc.Fetch) != 0 {
		t.Fatalf("second resolve: %+v, want the cache, nothing fetched", loc)
	}
	if n := srv.requests.Load(); n != 3 {
		t.Fatalf("%d requests after the second resolve, want still 3", n)
	}
	if progress.Len() != 0 {
		t.Fatalf("second resolve printed %q", progress.String())
	}
	if loc, err := Locate(o); err != nil || loc.Source != SourceCache {
		t.Fatalf("Locate after the fetch: %+v, %v", loc, err)
	}
}

// Every bad answer is an error naming what was wrong, with the
// instructions for placing the files by hand, and leaves nothing under the
// final name nor any temporary file.
func TestResolveBadServers(t *testing.T) {
	t.Parallel()
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + down.Addr().String()
	down.Close() // nothing listens there now: connection refused

	tests := []struct {
		mode    serveMode
		url     string // instead of the server's
		timeout time.Duration
		want    []string // in the error
		is      []error
	}{
		{mode: serveTampered, want: []string{"has sha256 ", "want " + files[0].SHA256, "the download was removed"}, is: []error{ErrFetch, ErrChecksum}},
		{mode: serveShort, want: []string{"has sha256 ", "(1714995 bytes), want " + files[0].SHA256 + " (3429990 bytes)"}, is: []error{ErrFetch, ErrChecksum}},
		{mode: serveCut, want: []string{"after 1714995 of 3429990 bytes", "unexpected EOF"}, is: []error{ErrFetch}},
		{mode: serveEndless, want: []string{"runs past 5527142 bytes", "cut off and removed"}, is: []error{ErrFetch}},
		{mode: serveAnnounced, want: []string{"announces 70538854 bytes", "at most 5527142 are read"}, is: []error{ErrFetch}},
		{mode: serveNotFound, want: []string{"404 Not Found, want 200 OK"}, is: []error{ErrFetch}},
		{mode: serveStall, timeout: 300 * time.Millisecond, want: []string{"rln_final.zkey not complete within 300ms", "after 1024 of 3429990 bytes"}, is: []error{ErrFetch, context.DeadlineExceeded}},
		{mode: serveGood, url: downURL, want: []string{"offline, or the server is unreachable", "connection refused"}, is: []error{ErrFetch}},
	}
	for _, tc := range tests {
		name := string(tc.mode)
		if tc.url != "" {
			name = "server down"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newFileServer(t, tc.mode)
			base := srv.URL()
			if tc.url != "" {
				base = tc.url
			}
			o := cacheOpts(t, base)
			o.Timeout = tc.timeout
			start := time.Now()
			loc, err := Resolve(context.Background(), o)
			if err == nil {
				t.Fatalf("resolved %+v from a %s server", loc, name)
			}
			if tc.timeout > 0 && time.Since(start) > tc.timeout+5*time.Second {
				t.Errorf("took %s with a timeout of %s", time.Since(start), tc.timeout)
			}
			for _, e := range tc.is {
				if !errors.Is(err, e) {
					t.Errorf("error does not wrap %v: %v", e, err)
				}
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not say %q:\n%s", w, msg)
				}
			}
			checkGuide(t, msg, o.CacheDir)
			if _, err := os.Stat(filepath.Join(o.CacheDir, ZKey)); !os.IsNotExist(err) {
				t.Errorf("%s under its final name after a failed fetch (%v)", ZKey, err)
			}
			if l := leftovers(t, o.CacheDir); len(l) != 0 {
				t.Errorf("downloads left in the cache: %v", l)
			}
		})
	}
}

// checkGuide checks that msg says where to put which files.
func checkGuide(t *testing.T, msg, cache string) {
	t.Helper()
	if !strings.Contains(msg, "put into "+cache+" (the cache") || !strings.Contains(msg, "rln.artefacts-dir") || strings.Contains(msg, "\n") {
		t.Errorf("error is not one line saying where to put the files (%s, or rln.artefacts-dir):\n%s", cache, msg)
	}
	for _, f := range files {
		if !strings.Contains(msg, fmt.Sprintf("%s (%d bytes, sha256 %s, from %s)", f.Name, f.Size, f.SHA256, f.URL())) {
			t.Errorf("error does not name %s with its sha256 and URL:\n%s", f.Name, msg)
		}
	}
}

// With fetching off (the environment or the option), nothing is asked of
// the network and the error says where to put the files.
func TestResolveFetchRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, env string
		noFetch   bool
		want      string
	}{
		{name: "env 0", env: EnvFetch + "=0", want: EnvFetch + "=0"},
		{name: "env off", env: EnvFetch + "=off", want: EnvFetch + "=off"},
		{name: "option", noFetch: true, want: "fetching refused by the caller"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFileServer(t, serveGood)
			o := cacheOpts(t, "", tc.env, EnvURL+"="+srv.URL())
			o.NoFetch = tc.noFetch
			_, err := Resolve(context.Background(), o)
			if !errors.Is(err, ErrFetchOff) {
				t.Fatalf("error %v, want ErrFetchOff", err)
			}
			msg := err.Error()
			for _, w := range []string{tc.want, ZKey + " missing", VKey + " missing", Graph + " missing", "fetches from " + srv.URL() + "/<name>"} {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not say %q:\n%s", w, msg)
				}
			}
			checkGuide(t, msg, o.CacheDir)
			if n := srv.requests.Load(); n != 0 {
				t.Fatalf("%d requests with fetching off", n)
			}
		})
	}
}

// A corrupt file in the cache is fetched again (only it); with fetching
// off it is an error naming it.
func TestResolveCorruptCache(t *testing.T) {
	t.Parallel()
	srv := newFileServer(t, serveGood)
	o := cacheOpts(t, srv.URL())
	if _, err := Resolve(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(o.CacheDir, Graph)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[100] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}

	off := o
	off.NoFetch = true
	_, err = Resolve(context.Background(), off)
	if !errors.Is(err, ErrFetchOff) || !strings.Contains(err.Error(), Graph+" wrong") || !strings.Contains(err.Error(), path+" has sha256") {
		t.Fatalf("fetching off, corrupt %s: %v", Graph, err)
	}
	if strings.Contains(err.Error(), ZKey+" missing") || strings.Contains(err.Error(), ZKey+" wrong") {
		t.Fatalf("the error blames the good %s: %v", ZKey, err)
	}

	var progress bytes.Buffer
	o.Progress = &progress
	loc, err := Resolve(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Source != SourceFetch || !slices.Equal(loc.Fetch, []string{Graph}) {
		t.Fatalf("resolve with a corrupt %s: %+v, want only it fetched", Graph, loc)
	}
	if n := srv.requests.Load(); n != 4 {
		t.Fatalf("%d requests, want 3 + 1", n)
	}
	if !strings.Contains(progress.String(), "the cached "+Graph+" is wrong") {
		t.Fatalf("progress does not say why %s is fetched again:\n%s", Graph, progress.String())
	}
	if err := Check(o.CacheDir); err != nil {
		t.Fatal(err)
	}
}

// Resolves running at once into one cache all succeed and leave whole
// files (each download is renamed into place).
func TestResolveConcurrent(t *testing.T) {
	t.Parallel()
	srv := newFileServer(t, serveGood)
	o := cacheOpts(t, srv.URL())
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			// Each its own Options, as separate processes would have.
			oi := o
			_, errs[i] = Resolve(context.Background(), oi)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("resolve %d: %v", i, err)
		}
	}
	if err := Check(o.CacheDir); err != nil {
		t.Fatal(err)
	}
	if l := leftovers(t, o.CacheDir); len(l) != 0 {
		t.Fatalf("downloads left in the cache: %v", l)
	}
	if got := srv.requests.Load(); got < 3 || got > 3*n {
		t.Fatalf("%d requests for %d resolves of 3 files", got, n)
	}
}

// The configured folder is the only one looked at: a missing file there is
// an error naming it and the folder, even with ../shared and a server at
// hand.
func TestResolveConfiguredOnly(t *testing.T) {
	t.Parallel()
	srv := newFileServer(t, serveGood)
	dir := t.TempDir()
	content := realContent(t)
	for _, name := range []string{ZKey, VKey} {
		if err := os.WriteFile(filepath.Join(dir, name), content[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{Dir: dir, BaseURL: srv.URL(), CacheDir: filepath.Join(t.TempDir(), "cache"), Getenv: envOf()}
	if loc, err := Locate(o); err != nil || loc.Source != SourceConfig || loc.Dir != dir {
		t.Fatalf("Locate: %+v, %v", loc, err)
	}
	_, err := Resolve(context.Background(), o)
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), filepath.Join(dir, Graph)) || !strings.Contains(err.Error(), "rln.artefacts-dir") {
		t.Fatalf("configured folder without %s: %v", Graph, err)
	}
	if err := os.WriteFile(filepath.Join(dir, Graph), []byte("not a graph"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(context.Background(), o); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), filepath.Join(dir, Graph)) {
		t.Fatalf("configured folder with a wrong %s: %v", Graph, err)
	}
	if err := os.WriteFile(filepath.Join(dir, Graph), content[Graph], 0o644); err != nil {
		t.Fatal(err)
	}
	loc, err := Resolve(context.Background(), o)
	if err != nil || loc.Source != SourceConfig || loc.Dir != dir {
		t.Fatalf("complete configured folder: %+v, %v", loc, err)
	}
	if n := srv.requests.Load(); n != 0 {
		t.Fatalf("%d requests with a configured folder", n)
	}
}

// ../shared comes before the cache and the network (so the tests and CI
// never download).
func TestResolveSharedFirst(t *testing.T) {
	t.Parallel()
	srv := newFileServer(t, serveGood)
	o := Options{BaseURL: srv.URL(), CacheDir: filepath.Join(t.TempDir(), "cache"), Getenv: envOf()}
	loc, err := Resolve(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Source != SourceShared || loc.Dir != DefaultDir() {
		t.Fatalf("resolve: %+v, want %s (shared)", loc, DefaultDir())
	}
	if n := srv.requests.Load(); n != 0 {
		t.Fatalf("%d requests with ../shared present", n)
	}
}

// Fetch fills the cache even when ../shared would be used, so a machine
// can be prepared to go offline; a second Fetch does nothing.
func TestFetchFillsCache(t *testing.T) {
	t.Parallel()
	srv := newFileServer(t, serveGood)
	o := Options{BaseURL: srv.URL(), CacheDir: filepath.Join(t.TempDir(), "cache"), Getenv: envOf()}
	loc, err := Fetch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Source != SourceFetch || loc.Dir != o.CacheDir || len(loc.Fetch) != 3 {
		t.Fatalf("fetch: %+v", loc)
	}
	loc, err = Fetch(context.Background(), o)
	if err != nil || loc.Source != SourceCache || srv.requests.Load() != 3 {
		t.Fatalf("second fetch: %+v, %v, %d requests", loc, err, srv.requests.Load())
	}
}

func TestLocateDoesNotFetch(t *testing.T) {
	t.Parallel()
	srv := newFileServer(t, serveGood)
	o := cacheOpts(t, srv.URL())
	loc, err := Locate(o)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Source != SourceFetch || loc.Dir != o.CacheDir || !slices.Equal(loc.Fetch, []string{ZKey, VKey, Graph}) {
		t.Fatalf("Locate on an empty cache: %+v", loc)
	}
	if _, err := os.Stat(o.CacheDir); !os.IsNotExist(err) {
		t.Fatalf("Locate created the cache folder (%v)", err)
	}
	if n := srv.requests.Load(); n != 0 {
		t.Fatalf("%d requests from Locate", n)
	}
}

// A caller's cancellation stops the fetch and is what the error wraps.
func TestResolveCancelled(t *testing.T) {
	t.Parallel()
	srv := newFileServer(t, serveStall)
	o := cacheOpts(t, srv.URL())
	read := make(chan struct{}, 1)
	o.Client = &http.Client{Transport: firstReadHook{rt: http.DefaultTransport, read: read}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Cancel once the download has read its first bytes into the
		// temporary file (bound: 10 s; the server stalls for 20 s).
		select {
		case <-read:
		case <-time.After(10 * time.Second):
			t.Error("the download never read a byte")
		}
		cancel()
	}()
	_, err := Resolve(ctx, o)
	<-done
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "stopped after ") {
		t.Fatalf("cancelled resolve: %v", err)
	}
	if l := leftovers(t, o.CacheDir); len(l) != 0 {
		t.Fatalf("downloads left in the cache: %v", l)
	}
}

// Leftovers of a process that died mid-download are removed when they
// are old; a younger one (another process's download) is kept.
func TestStaleDownloadsRemoved(t *testing.T) {
	t.Parallel()
	srv := newFileServer(t, serveGood)
	o := cacheOpts(t, srv.URL())
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(o.CacheDir, "."+ZKey+".123"+partSuffix)
	young := filepath.Join(o.CacheDir, "."+ZKey+".456"+partSuffix)
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * staleAfter)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale download kept (%v)", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young download removed: %v", err)
	}
}

func TestSettingsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{name: "fetch value", o: Options{Getenv: envOf(EnvFetch + "=maybe")}, want: `RLND_ARTEFACTS_FETCH="maybe": want 1`},
		{name: "url scheme", o: Options{Getenv: envOf(EnvURL + "=ftp://127.0.0.1/x")}, want: `RLND_ARTEFACTS_URL="ftp://127.0.0.1/x": want an http:// or https:// URL`},
		{name: "url no host", o: Options{Getenv: envOf(EnvURL + "=http:///x")}, want: "want an http:// or https:// URL"},
		{name: "url query", o: Options{Getenv: envOf(EnvURL + "=http://127.0.0.1/x?a=b")}, want: "without a query"},
		{name: "option url", o: Options{BaseURL: "127.0.0.1:8000", Getenv: envOf()}, want: `Options.BaseURL="127.0.0.1:8000"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.o.CacheDir = t.TempDir()
			tc.o.NoShared = true
			for _, f := range []func() error{
				func() error { _, err := Locate(tc.o); return err },
				func() error { _, err := Resolve(context.Background(), tc.o); return err },
				func() error { _, err := Fetch(context.Background(), tc.o); return err },
			} {
				err := f()
				if !errors.Is(err, ErrSetting) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want ErrSetting saying %q", err, tc.want)
				}
			}
		})
	}
}

func TestCacheDir(t *testing.T) {
	t.Parallel()
	got, err := CacheDir(envOf(EnvCache + "=/var/cache/rlnd-art"))
	if err != nil || got != "/var/cache/rlnd-art" {
		t.Fatalf("CacheDir with %s: %q, %v", EnvCache, got, err)
	}
	got, err = CacheDir(envOf(EnvCache + "=rel/cache"))
	wd, _ := os.Getwd()
	if err != nil || got != filepath.Join(wd, "rel", "cache") {
		t.Fatalf("relative %s: %q, %v, want it under %s", EnvCache, got, err, wd)
	}
	if base, err := os.UserCacheDir(); err == nil {
		got, err = CacheDir(envOf())
		if err != nil || got != filepath.Join(base, "rlnd", "rln", "tree_depth_20") {
			t.Fatalf("default cache: %q, %v", got, err)
		}
	}
}

func TestVerifyStatuses(t *testing.T) {
	t.Parallel()
	content := realContent(t)
	dir := t.TempDir()
	// zkey: right; vkey: same size, one byte changed; graph: a folder.
	if err := os.WriteFile(filepath.Join(dir, ZKey), content[ZKey], 0o644); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(content[VKey])
	bad[0] ^= 1
	if err := os.WriteFile(filepath.Join(dir, VKey), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, Graph), 0o755); err != nil {
		t.Fatal(err)
	}
	sts := Verify(dir)
	want := []Status{StatusOK, StatusBad, StatusBad}
	for i, st := range sts {
		if st.Status != want[i] {
			t.Errorf("%s: %v (%v), want %v", st.File.Name, st.Status, st.Err, want[i])
		}
	}
	if sts[0].SHA256 != files[0].SHA256 || sts[0].Err != nil {
		t.Errorf("good file: %+v", sts[0])
	}
	if !errors.Is(sts[1].Err, ErrChecksum) || sts[1].SHA256 == "" || !strings.Contains(sts[1].Err.Error(), "has sha256 "+sts[1].SHA256) {
		t.Errorf("changed byte: %+v", sts[1])
	}
	if !errors.Is(sts[2].Err, ErrChecksum) || !strings.Contains(sts[2].Err.Error(), "not a regular file") {
		t.Errorf("folder in place of the file: %v", sts[2].Err)
	}
	if err := os.Remove(filepath.Join(dir, Graph)); err != nil {
		t.Fatal(err)
	}
	if st := Verify(dir)[2]; st.Status != StatusMissing || !errors.Is(st.Err, ErrMissing) {
		t.Errorf("missing file: %+v", st)
	}
	for s, w := range map[Status]string{StatusOK: "OK", StatusBad: "BAD", StatusMissing: "MISSING"} {
		if s.String() != w {
			t.Errorf("%d prints %q, want %q", s, s.String(), w)
		}
	}
}

// firstReadHook signals read when a response body first yields bytes.
type firstReadHook struct {
	rt   http.RoundTripper
	read chan struct{}
}

func (h firstReadHook) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.rt.RoundTrip(r)
	if err == nil {
		resp.Body = &hookedBody{ReadCloser: resp.Body, read: h.read}
	}
	return resp, err
}

type hookedBody struct {
	io.ReadCloser
	read chan struct{}
}

func (b *hookedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		select {
		case b.read <- struct{}{}:
		default:
		}
	}
	return n, err
}

// A ../shared folder with a wrong file is an error, not a reason to
// download; without ../shared the cache is used. Not parallel: it changes
// the working directory to a tree of its own.
func TestResolveSharedBeside(t *testing.T) {
	content := realContent(t)
	srv := newFileServer(t, serveGood)
	root := t.TempDir()
	shared := filepath.Join(root, "shared", "rln", "tree_depth_20")
	repo := filepath.Join(root, "repo", "pkg")
	for _, d := range []string{shared, repo} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range content {
		if name == Graph {
			b = b[:len(b)-1]
		}
		if err := os.WriteFile(filepath.Join(shared, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// From a package folder of the checkout root/repo, as the tests run.
	t.Chdir(repo)
	o := Options{CacheDir: filepath.Join(root, "cache"), BaseURL: srv.URL(), Getenv: envOf()}
	if loc, err := Locate(o); err != nil || loc.Source != SourceShared || loc.Dir != shared {
		t.Fatalf("Locate: %+v, %v, want %s (shared)", loc, err, shared)
	}
	_, err := Resolve(context.Background(), o)
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), filepath.Join(shared, Graph)) || !strings.Contains(err.Error(), "fix or remove it") {
		t.Fatalf("shared folder with a short %s: %v", Graph, err)
	}
	if n := srv.requests.Load(); n != 0 {
		t.Fatalf("%d requests with a ../shared folder present", n)
	}

	if err := os.RemoveAll(filepath.Join(root, "shared")); err != nil {
		t.Fatal(err)
	}
	off := o
	off.NoFetch = true
	_, err = Resolve(context.Background(), off)
	if !errors.Is(err, ErrFetchOff) || !strings.Contains(err.Error(), "../shared/rln/tree_depth_20 was looked for") {
		t.Fatalf("no ../shared, fetching off: %v", err)
	}
	loc, err := Resolve(context.Background(), o)
	if err != nil || loc.Source != SourceFetch || loc.Dir != o.CacheDir {
		t.Fatalf("no ../shared: %+v, %v, want the cache, fetched", loc, err)
	}
}
