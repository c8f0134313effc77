package lightpush

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
)

// allowlist is the optional list of client peer ids that get proofs
// attached: a file of one peer id a line ('#' starts a comment), read at
// start and again on Reload (SIGHUP in rlnd). A file that cannot be read or
// holds a bad line leaves the list as it was.
type allowlist struct {
	path string
	mu   sync.RWMutex
	ids  map[peer.ID]bool
}

// maxAllowlistBytes bounds the file read.
const maxAllowlistBytes = 16 << 20

func loadAllowlist(path string) (*allowlist, error) {
	a := &allowlist{path: path}
	if err := a.reload(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *allowlist) reload() error {
	b, err := os.ReadFile(a.path)
	if err != nil {
		return fmt.Errorf("lightpush: allowlist: %w", err)
	}
	if len(b) > maxAllowlistBytes {
		return fmt.Errorf("lightpush: allowlist %s: %d bytes, at most %d", a.path, len(b), maxAllowlistBytes)
	}
	ids := map[peer.ID]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<16)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		id, err := peer.Decode(line)
		if err != nil {
			return fmt.Errorf("lightpush: allowlist %s line %d: %q is not a peer id: %w", a.path, n, line, err)
		}
		ids[id] = true
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("lightpush: allowlist %s: %w", a.path, err)
	}
	a.mu.Lock()
	a.ids = ids
	a.mu.Unlock()
	return nil
}

func (a *allowlist) allows(p peer.ID) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.ids[p]
}

func (a *allowlist) len() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.ids)
}
