package artefacts

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The real files, read once from ../shared (the tests need it, as the
// other RLN tests do).
var (
	realOnce  sync.Once
	realFiles map[string][]byte
	realErr   error
)

func realContent(t testing.TB) map[string][]byte {
	t.Helper()
	realOnce.Do(func() {
		dir := DefaultDir()
		if dir == "" {
			realErr = os.ErrNotExist
			return
		}
		realFiles = map[string][]byte{}
		for _, f := range files {
			b, err := Read(dir, f.Name)
			if err != nil {
				realErr = err
				return
			}
			realFiles[f.Name] = b
		}
	})
	if realErr != nil {
		t.Fatalf("the real artefacts from ../shared/rln/tree_depth_20: %v", realErr)
	}
	return realFiles
}

// serveMode is how the test server answers.
type serveMode string

const (
	serveGood      serveMode = "good"      // the real files
	serveTampered  serveMode = "tampered"  // one byte changed, same length
	serveShort     serveMode = "short"     // the first half, announced as such
	serveCut       serveMode = "cut"       // the full length announced, half sent, connection closed
	serveEndless   serveMode = "endless"   // the file, then zeros without end (no length announced)
	serveAnnounced serveMode = "announced" // a length far past the file announced
	serveNotFound  serveMode = "404"
	serveStall     serveMode = "stall" // headers and 1 KiB, then nothing until the client gives up
)

// fileServer serves the artefacts by name on 127.0.0.1 and counts the
// requests.
type fileServer struct {
	srv      *httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	mode     serveMode
	paths    []string
}

func newFileServer(t *testing.T, mode serveMode) *fileServer {
	t.Helper()
	content := realContent(t)
	fs := &fileServer{mode: mode}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.requests.Add(1)
		fs.mu.Lock()
		mode := fs.mode
		fs.paths = append(fs.paths, r.URL.Path)
		fs.mu.Unlock()
		name := filepath.Base(r.URL.Path)
		b, ok := content[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch mode {
		case serveGood:
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		case serveTampered:
			c := bytes.Clone(b)
			c[len(c)/2] ^= 0x01
			w.Header().Set("Content-Length", strconv.Itoa(len(c)))
			w.Write(c)
		case serveShort:
			w.Header().Set("Content-Length", strconv.Itoa(len(b)/2))
			w.Write(b[:len(b)/2])
		case serveCut:
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b[:len(b)/2])
		case serveEndless:
			w.Write(b)
			zeros := make([]byte, 64<<10)
			// Bounded on this side too: 64 MiB at most.
			for range 1024 {
				if _, err := w.Write(zeros); err != nil {
					return
				}
			}
		case serveAnnounced:
			w.Header().Set("Content-Length", strconv.Itoa(len(b)+64<<20))
			w.WriteHeader(http.StatusOK)
		case serveNotFound:
			http.NotFound(w, r)
		case serveStall:
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b[:1024])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
		}
	}))
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fileServer) URL() string { return fs.srv.URL }

func (fs *fileServer) requested() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]string(nil), fs.paths...)
}

// envOf is a Getenv over the given KEY=VALUE pairs only, so the tests do
// not depend on the process environment.
func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for _, e := range kv {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// leftovers lists the files in dir that are downloads in progress.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), partSuffix) {
			out = append(out, e.Name())
		}
	}
	return out
}
