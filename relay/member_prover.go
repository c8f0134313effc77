package relay

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/merkle"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// MemberProver proves its members' messages against a group whose tree
// changes (GroupManager). Every registration changes one sibling of every
// other member's Merkle path, and a proof on a changed path first updates
// the prover's cached part of the member for the signals that changed: up
// to ~1.4 times a proof's own work (BENCHMARKS.md). The window of valid
// roots exists so that a proof made against a root a few registrations old
// is still accepted; MemberProver uses it: while the root of the path a
// member last proved with is younger than half the group's window,
// the member's next proof is made against that path, at the cost of an
// unchanged path, and the member's cached part is brought up to date after
// it (in the background, or by the caller's refresher). Older than that,
// the proof is made against the current path, updating the part on the
// way. A proof against the previous root is also the one that peers a
// block behind in their sync accept.
//
// Which path a member proves with only ever changes speed, never validity:
// both roots are in the window, and the prover checks the cached part
// against every witness. Safe for concurrent use.
type MemberProver struct {
	p       *rln.Prover
	g       membership.Group
	onStale func(Member) // nil: refresh in a goroutine of our own

	mu      sync.Mutex
	paths   map[uint64]provenPath // by leaf index
	running map[uint64]bool       // background refreshes in flight
	wg      sync.WaitGroup

	stale     atomic.Uint64 // proofs made against an older root
	refreshes atomic.Uint64 // cached parts brought up to date
}

// provenPath is the path a member last proved (or refreshed) with.
type provenPath struct {
	secret fr.Element
	limit  uint64
	path   merkle.Proof
	root   fr.Element
}

// maxProvenPaths bounds the paths a MemberProver remembers: one a member
// it proves for (a node's own memberships, a lightpush service's).
const maxProvenPaths = 1024

// NewMemberProver proves with p against g. onStale, when not nil, is
// called (without blocking for long: it should only signal) after a proof
// made against a member's older path, for the caller to call Refresh
// when it has the time; nil refreshes in a goroutine at once (Wait waits
// for those).
func NewMemberProver(p *rln.Prover, g membership.Group, onStale func(Member)) *MemberProver {
	return &MemberProver{p: p, g: g, onStale: onStale, paths: make(map[uint64]provenPath), running: make(map[uint64]bool)}
}

// Attach proves message messageID of the member's epoch for m, as
// AttachProof does, against the member's last path while its root is
// recent enough (see MemberProver), against the current path otherwise.
func (mp *MemberProver) Attach(mem Member, pp ProofParams, m *messagepb.WakuMessage, messageID uint64) (*rln.RateLimitProof, error) {
	cur, err := mp.g.Proof(mem.Index)
	if err != nil {
		return nil, fmt.Errorf("relay: merkle path of member %d: %w", mem.Index, err)
	}
	path, stale := mp.choose(mem, cur)
	proof, err := attachWithPath(mp.p, path, mem, pp, m, messageID)
	if err != nil {
		return nil, err
	}
	if !stale {
		mp.remember(mem, path, proof.MerkleRoot)
		return proof, nil
	}
	mp.stale.Add(1)
	if mp.onStale != nil {
		mp.onStale(mem)
	} else {
		mp.refreshInBackground(mem)
	}
	return proof, nil
}

// choose returns the path to prove mem with, and whether it is the
// member's older one.
func (mp *MemberProver) choose(mem Member, cur merkle.Proof) (merkle.Proof, bool) {
	mp.mu.Lock()
	last, ok := mp.paths[mem.Index]
	mp.mu.Unlock()
	if !ok || !last.secret.Equal(&mem.Identity.Secret) || last.limit != mem.UserMessageLimit || samePath(last.path, cur) {
		return cur, false
	}
	if !recentRoot(mp.g, last.root) {
		return cur, false
	}
	return last.path, true
}

// recentRoot reports whether a proof against root r, an older root of
// g's window, stays valid while it travels and more members register: it
// is younger than half the window, and than half the window nwaku keeps
// (peers drop roots at their own window's age). A group that cannot tell
// a root's age never has one.
func recentRoot(g membership.Group, r fr.Element) bool {
	ager, ok := g.(membership.RootAger)
	if !ok {
		return false
	}
	age, ok := ager.RootAge(r)
	return ok && age < uint64(max(1, min(ager.RootWindow(), membership.DefaultRootWindow)/2))
}

func samePath(a, b merkle.Proof) bool {
	if len(a.PathElements) != len(b.PathElements) || len(a.PathIndices) != len(b.PathIndices) {
		return false
	}
	for i := range a.PathElements {
		if !a.PathElements[i].Equal(&b.PathElements[i]) {
			return false
		}
	}
	for i := range a.PathIndices {
		if a.PathIndices[i] != b.PathIndices[i] {
			return false
		}
	}
	return true
}

// remember notes the path (and its root) mem proved or refreshed with.
func (mp *MemberProver) remember(mem Member, path merkle.Proof, root fr.Element) {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if _, ok := mp.paths[mem.Index]; !ok && len(mp.paths) >= maxProvenPaths {
		for k := range mp.paths { // any one: past the bound it is a guess anyway
			delete(mp.paths, k)
			break
		}
	}
	mp.paths[mem.Index] = provenPath{secret: mem.Identity.Secret, limit: mem.UserMessageLimit, path: path, root: root}
}

// Refresh brings the prover's cached part of mem up to date with its
// current path (as RefreshPath), and notes that path as the member's. It
// reports false for a member the prover has no part of.
func (mp *MemberProver) Refresh(mem Member) (bool, error) {
	path, err := mp.g.Proof(mem.Index)
	if err != nil {
		return false, fmt.Errorf("relay: merkle path of member %d: %w", mem.Index, err)
	}
	refreshed, err := mp.p.Refresh(provingRequest(mem, path))
	if err != nil {
		return false, err
	}
	leaf := mem.Identity.RateCommitment(mem.UserMessageLimit)
	mp.remember(mem, path, merkle.ComputeRoot(leaf, path))
	if refreshed {
		mp.refreshes.Add(1)
	}
	return refreshed, nil
}

// refreshInBackground starts a Refresh of mem unless one is running.
func (mp *MemberProver) refreshInBackground(mem Member) {
	mp.mu.Lock()
	if mp.running[mem.Index] {
		mp.mu.Unlock()
		return
	}
	mp.running[mem.Index] = true
	mp.wg.Add(1)
	mp.mu.Unlock()
	go func() {
		defer mp.wg.Done()
		// An error here is the one the member's next proof meets again
		// and returns; a failed refresh only leaves the part as it was.
		_, _ = mp.Refresh(mem)
		mp.mu.Lock()
		delete(mp.running, mem.Index)
		mp.mu.Unlock()
	}()
}

// Wait waits for the background refreshes started so far.
func (mp *MemberProver) Wait() { mp.wg.Wait() }

// StaleProofs counts the proofs made against a member's older root;
// Refreshes the cached parts Refresh brought up to date.
func (mp *MemberProver) StaleProofs() uint64 { return mp.stale.Load() }

// Refreshes counts the cached parts Refresh brought up to date.
func (mp *MemberProver) Refreshes() uint64 { return mp.refreshes.Load() }
