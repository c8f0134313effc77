package lightpush

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
)

// In allowlist mode only listed clients get proofs attached; anyone may
// still push a message with its own proof; a reload picks up a new list
// and a bad file leaves the old one in force.
func TestAllowlist(t *testing.T) {
	list := filepath.Join(t.TempDir(), "allow")
	if err := os.WriteFile(list, []byte("# no one yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNet(t, 1, 10, func(c *ServiceConfig) { c.AllowlistPath = list })
	a, b := n.client(t), n.client(t)
	if r := push(t, a, n, "", message("a, not listed")); r.Status != StatusInvalidMessage || !strings.Contains(r.Description, "lists") {
		t.Fatalf("unlisted client: %+v", r)
	}
	// A message with its own proof needs no listing.
	own := message("b, own proof")
	p, _ := loadProver(t)
	if _, err := relay.AttachProof(p, n.group, n.members[1], relay.ProofParams{Signal: rln.SignalTimestamped}, own, 0); err != nil {
		t.Fatal(err)
	}
	if r := push(t, b, n, "", own); r.Status != StatusOK {
		t.Fatalf("own proof from an unlisted client: %+v", r)
	}
	if err := os.WriteFile(list, []byte(a.ID().String()+"  # client a\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.service.ReloadAllowlist(); err != nil {
		t.Fatal(err)
	}
	if r := push(t, a, n, "", message("a, listed")); r.Status != StatusOK {
		t.Fatalf("listed client: %+v", r)
	}
	if r := push(t, b, n, "", message("b, still not listed")); r.Status != StatusInvalidMessage {
		t.Fatalf("unlisted client after reload: %+v", r)
	}
	// A bad line: the reload fails and a stays listed.
	if err := os.WriteFile(list, []byte("not-a-peer-id\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.service.ReloadAllowlist(); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad allowlist reloaded: %v", err)
	}
	if r := push(t, a, n, "", message("a, after a bad reload")); r.Status != StatusOK {
		t.Fatalf("listed client after a failed reload: %+v", r)
	}
}
