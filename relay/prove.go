package relay

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/merkle"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// Member is a membership a node proves with: its identity, its leaf index
// in the group and its rate limit.
type Member struct {
	Identity         rln.Identity
	Index            uint64
	UserMessageLimit uint64
}

// ProofParams are the network's RLN settings a proof must match.
type ProofParams struct {
	EpochPeriod time.Duration
	Signal      rln.SignalMode
}

// AttachProof proves message messageID of the member's epoch for m (whose
// timestamp must be set: it fixes the epoch and, with the timestamped
// signal, x) against the group's current root, and puts the proof in m.
func AttachProof(p *rln.Prover, g membership.Group, mem Member, pp ProofParams, m *messagepb.WakuMessage, messageID uint64) (*rln.RateLimitProof, error) {
	path, err := g.Proof(mem.Index)
	if err != nil {
		return nil, fmt.Errorf("relay: merkle path of member %d: %w", mem.Index, err)
	}
	return attachWithPath(p, path, mem, pp, m, messageID)
}

// attachWithPath is AttachProof against the root path leads to.
func attachWithPath(p *rln.Prover, path merkle.Proof, mem Member, pp ProofParams, m *messagepb.WakuMessage, messageID uint64) (*rln.RateLimitProof, error) {
	if m.Timestamp == nil {
		return nil, fmt.Errorf("relay: a message needs a timestamp to be proved")
	}
	if pp.EpochPeriod <= 0 {
		pp.EpochPeriod = DefaultEpochPeriod
	}
	ts := m.GetTimestamp()
	req := provingRequest(mem, path)
	req.MessageID = messageID
	req.Epoch = rln.Epoch(time.Unix(0, ts), pp.EpochPeriod)
	req.X = rln.SignalHash(rln.Signal(pp.Signal, m.GetPayload(), m.GetContentTopic(), ts))
	proof, err := p.Prove(req, rand.Reader)
	if err != nil {
		return nil, err
	}
	m.RateLimitProof = proof.Marshal()
	return proof, nil
}

// provingRequest is the member's part of a proving request.
func provingRequest(mem Member, path merkle.Proof) *rln.ProveRequest {
	return &rln.ProveRequest{
		Secret:           mem.Identity.Secret,
		UserMessageLimit: mem.UserMessageLimit,
		PathElements:     path.PathElements,
		PathIndices:      path.PathIndices,
	}
}

// RefreshPath brings the prover's cached part of member mem up to date
// with its current path in g (rln.Prover.Refresh), so that its next proof
// does not pay for a path another registration changed. It reports false
// for a member the prover has not proved for lately (not cached).
func RefreshPath(p *rln.Prover, g membership.Group, mem Member) (bool, error) {
	path, err := g.Proof(mem.Index)
	if err != nil {
		return false, fmt.Errorf("relay: merkle path of member %d: %w", mem.Index, err)
	}
	return p.Refresh(provingRequest(mem, path))
}
