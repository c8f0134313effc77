package relay

import (
	"errors"
	"fmt"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// Reasons of validation outcomes: short, stable, usable as metric labels.
const (
	// ReasonValid: the message is accepted.
	ReasonValid = "valid"
	// ReasonMalformed: the data is not a WakuMessage peers accept (bad
	// protobuf, missing or empty content topic, meta over 64 bytes).
	ReasonMalformed = "malformed"
	// ReasonTooLarge: the encoded message exceeds wire.MaxMessageSize.
	ReasonTooLarge = "too_large"
	// ReasonTimestamp: the timestamp is absent or further than the max
	// epoch gap from the node's clock.
	ReasonTimestamp = "timestamp"
	// ReasonMissingProof: RLN is required and the message carries no proof.
	ReasonMissingProof = "missing_proof"
	// ReasonMalformedProof: the RateLimitProof does not decode.
	ReasonMalformedProof = "malformed_proof"
	// ReasonEpoch: the proof's epoch is not the timestamp's epoch, or is
	// too far from the current epoch.
	ReasonEpoch = "epoch"
	// ReasonRoot: the proof's Merkle root is not in the window of roots.
	ReasonRoot = "root"
	// ReasonIdentifier: the proof is for another rln_identifier.
	ReasonIdentifier = "identifier"
	// ReasonSignal: the proof's share_x is not the message's signal hash.
	ReasonSignal = "signal"
	// ReasonProof: the zero-knowledge proof does not verify.
	ReasonProof = "proof"
	// ReasonDuplicate: the same message (nullifier and share) was seen.
	ReasonDuplicate = "duplicate"
	// ReasonSpam: double signalling (same nullifier, another share).
	ReasonSpam = "spam"
	// ReasonNullifierLogFull: the epoch's nullifier log is full, so the
	// message cannot be judged.
	ReasonNullifierLogFull = "nullifier_log_full"
	// ReasonShutdown: the pipeline closed before the message was validated.
	ReasonShutdown = "shutdown"
	// ReasonMembershipUnhealthy: the membership group reports that its
	// window of roots cannot be trusted (its sync stopped or stalled; see
	// membership.HealthReporter), so the message's root cannot be judged:
	// it is ignored, neither relayed nor held against the peer.
	ReasonMembershipUnhealthy = "membership_unhealthy"
)

// Defaults of ValidatorConfig (The Waku Network's settings).
const (
	DefaultEpochPeriod = 600 * time.Second
	DefaultMaxEpochGap = 20 * time.Second
	// DefaultMaxNullifiersPerEpoch bounds the default nullifier log: above
	// TWN's total rate limit, a few tens of MB per epoch at most.
	DefaultMaxNullifiersPerEpoch = 1 << 18
)

// ErrInvalidValidatorConfig is wrapped by every NewValidator error.
var ErrInvalidValidatorConfig = errors.New("relay: invalid validator config")

// ProofVerifier checks the Groth16 proofs of RLN messages for the
// validator. *rln.Verifier, on the Waku verifying key, is the one a node
// runs; tests and the simulator may pass a fake.
type ProofVerifier interface {
	// VerifyBatch checks proofs of messages whose signals hash to xs and
	// returns one result per proof, nil when it holds. The validator maps
	// rln.ErrWrongIdentifier (a proof for another rln_identifier) to
	// reason "identifier", rln.ErrShareXMismatch (share_x is not x) to
	// "signal" and any other error to "proof". It may be called from
	// several goroutines at once.
	VerifyBatch(ps []*rln.RateLimitProof, xs []fr.Element) []error
}

var _ ProofVerifier = (*rln.Verifier)(nil)

// ValidatorConfig configures a Validator.
type ValidatorConfig struct {
	// Group is the membership set whose window of roots proofs must use.
	// Required when RLN is on.
	Group membership.Group
	// Verifier checks the Groth16 proofs (an *rln.Verifier). Required
	// when RLN is on.
	Verifier ProofVerifier
	// RLN requires every message to carry a valid RLN proof. When off,
	// messages are checked for form, size and timestamp only.
	RLN bool
	// EpochPeriod is the RLN epoch length, whole seconds; 0 means
	// DefaultEpochPeriod.
	EpochPeriod time.Duration
	// MaxEpochGap is the largest accepted distance between a message's
	// timestamp and the node's clock, whole seconds; 0 means
	// DefaultMaxEpochGap.
	MaxEpochGap time.Duration
	// Signal is what a proof's x commits to; the zero value is nwaku's
	// rln.SignalTimestamped.
	Signal rln.SignalMode
	// Nullifiers is the log of seen nullifiers; nil means a new one that
	// keeps every epoch the gap allows, with DefaultMaxNullifiersPerEpoch.
	// Share one log between the validators of all shards: a member's rate
	// limit is global.
	Nullifiers *rln.NullifierLog
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// DecodeProof decodes a message's RateLimitProof; nil means
	// rln.UnmarshalRateLimitProof. The proof it returns is only read, so
	// the simulator passes one cache of decoded proofs to all its nodes
	// (decoding checks the proof's curve points, the largest cost of a
	// validation after the pairing).
	DecodeProof func([]byte) (*rln.RateLimitProof, error)
	// OnEvidence is called, from the validating goroutine, with the
	// evidence of every double signal (the member's recovered secret). It
	// must not block for long.
	OnEvidence func(pubsubTopic string, ev rln.Evidence)
	// Registerer receives the validator's metrics (nil: not registered,
	// nothing recorded). The validators of one node share them.
	Registerer prometheus.Registerer
}

// Item is one message to validate: the pubsub topic it arrived on and the
// gossipsub message's data (the serialized WakuMessage as received).
type Item struct {
	Topic string
	Data  []byte
}

// Outcome is the verdict on one Item.
type Outcome struct {
	Result gossipsub.Result
	// Reason is one of the Reason constants.
	Reason string
	// Msg is the decoded message; nil when the data did not decode.
	Msg *messagepb.WakuMessage
	// Evidence is set for double signalling (Reason == ReasonSpam).
	Evidence *rln.Evidence
}

// Validator checks Waku relay messages, with or without RLN. It is safe for
// concurrent use.
type Validator struct {
	cfg       ValidatorConfig
	m         *validatorMetrics
	gapEpochs uint64
}

// NewValidator checks a configuration and fills its defaults.
func NewValidator(cfg ValidatorConfig) (*Validator, error) {
	if cfg.EpochPeriod == 0 {
		cfg.EpochPeriod = DefaultEpochPeriod
	}
	if cfg.MaxEpochGap == 0 {
		cfg.MaxEpochGap = DefaultMaxEpochGap
	}
	if cfg.EpochPeriod < time.Second || cfg.EpochPeriod%time.Second != 0 {
		return nil, fmt.Errorf("%w: epoch period %v, want a positive whole number of seconds", ErrInvalidValidatorConfig, cfg.EpochPeriod)
	}
	if cfg.MaxEpochGap < time.Second || cfg.MaxEpochGap%time.Second != 0 {
		return nil, fmt.Errorf("%w: max epoch gap %v, want a positive whole number of seconds", ErrInvalidValidatorConfig, cfg.MaxEpochGap)
	}
	if cfg.Signal != rln.SignalTimestamped && cfg.Signal != rln.SignalPayloadTopic {
		return nil, fmt.Errorf("%w: unknown signal mode %d", ErrInvalidValidatorConfig, int(cfg.Signal))
	}
	if cfg.RLN {
		if cfg.Group == nil {
			return nil, fmt.Errorf("%w: RLN is on but no membership group is set", ErrInvalidValidatorConfig)
		}
		if cfg.Verifier == nil {
			return nil, fmt.Errorf("%w: RLN is on but no proof verifier is set", ErrInvalidValidatorConfig)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DecodeProof == nil {
		cfg.DecodeProof = rln.UnmarshalRateLimitProof
	}
	// The gap in epochs is rounded up, so that a proof whose epoch is its
	// timestamp's is never refused for its epoch when the timestamp is
	// within the gap (see ValidateBatch).
	gapEpochs := uint64((cfg.MaxEpochGap + cfg.EpochPeriod - 1) / cfg.EpochPeriod)
	if cfg.Nullifiers == nil {
		// Epochs current-gap .. current+gap, and one more for a clock
		// that moves on while a batch is validated.
		cfg.Nullifiers = rln.NewNullifierLog(2*gapEpochs+2, DefaultMaxNullifiersPerEpoch)
	}
	m, err := newValidatorMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("relay: validator metrics: %w", err)
	}
	return &Validator{cfg: cfg, m: m, gapEpochs: gapEpochs}, nil
}

// GapEpochs is the largest accepted distance, in epochs, between a proof's
// epoch and the current one: ceil(MaxEpochGap / EpochPeriod).
func (v *Validator) GapEpochs() uint64 { return v.gapEpochs }

// Nullifiers returns the validator's nullifier log.
func (v *Validator) Nullifiers() *rln.NullifierLog { return v.cfg.Nullifiers }

// Validate checks one message: ValidateBatch of one item.
func (v *Validator) Validate(topic string, data []byte) Outcome {
	return v.ValidateBatch([]Item{{Topic: topic, Data: data}})[0]
}

// pending is an item whose proof awaits the batched verification.
type pending struct {
	i     int
	proof *rln.RateLimitProof
	x     fr.Element
}

// ValidateBatch checks messages and returns one outcome each, in order.
//
// The rules, in 17/WAKU2-RLN-RELAY's order as nwaku applies them:
//  1. the data decodes as a WakuMessage within the size limit (else Reject
//     "too_large" or "malformed");
//  2. the timestamp is present and within MaxEpochGap of the clock (else
//     Reject "timestamp");
//
// and when RLN is on:
//  3. the message carries a RateLimitProof that decodes (else Reject
//     "missing_proof" or "malformed_proof");
//  4. the proof's epoch is the epoch of the message's timestamp, and at
//     most GapEpochs from the current epoch (else Reject "epoch");
//  5. the proof's root is in the group's window (else Reject "root": like
//     nwaku, a root not synced yet is refused). While the group reports
//     its window frozen (membership.HealthReporter.WindowTrusted: its sync
//     stopped, or stalled for long) the root cannot be judged and the
//     message is ignored instead (Ignore "membership_unhealthy"), neither
//     relayed nor penalised;
//  6. the proof is for the verifier's rln_identifier, its share_x is the
//     signal hash of the message (cfg.Signal), and the Groth16 proof holds
//     for x and the external nullifier recomputed from the epoch (else
//     Reject "identifier", "signal" or "proof"). The proofs of all the
//     items that reach this step are checked with one batched
//     verification; a bad proof does not fail the others;
//  7. the nullifier is recorded, in item order: fresh -> Accept; the same
//     nullifier and share again -> Ignore "duplicate"; the same nullifier
//     with another share -> Reject "spam" with the evidence (also passed to
//     OnEvidence); the epoch's log full -> Ignore "nullifier_log_full".
//
// With RLN off, a message that passes 1 and 2 is accepted and a proof it
// carries is not looked at. Ephemeral messages are validated like others.
func (v *Validator) ValidateBatch(items []Item) []Outcome {
	return v.record(v.check(items))
}

// checked is a batch past steps 1 to 6, its nullifiers not yet recorded.
type checked struct {
	items []Item
	out   []Outcome
	valid []pending // items whose proofs verified
}

// check runs steps 1 to 6 on a batch. It is safe to run on several batches
// at once; record must then take them in arrival order, so that of two
// messages with one nullifier the first to arrive is the one accepted.
func (v *Validator) check(items []Item) *checked {
	c := &checked{items: items, out: make([]Outcome, len(items))}
	if len(items) == 0 {
		return c
	}
	m := v.m
	now := v.cfg.Now()
	current := rln.Epoch(now, v.cfg.EpochPeriod)
	groupOK := v.groupHealthy()
	var wait []pending
	for i, it := range items {
		msg, reason := v.checkMessage(it.Data, now)
		c.out[i].Msg = msg
		if msg != nil && v.cfg.RLN {
			m.rlnMessage()
		}
		if reason != "" {
			c.out[i].Result, c.out[i].Reason = gossipsub.Reject, reason
			if reason == ReasonTimestamp && v.cfg.RLN {
				m.invalidMsg(invalidTimestamp)
			}
			continue
		}
		if !v.cfg.RLN {
			c.out[i].Result, c.out[i].Reason = gossipsub.Accept, ReasonValid
			continue
		}
		p, reason := v.checkProof(msg, current, groupOK)
		if reason == ReasonMembershipUnhealthy {
			c.out[i].Result, c.out[i].Reason = gossipsub.Ignore, reason
			m.unjudged(reason)
			continue
		}
		if reason != "" {
			c.out[i].Result, c.out[i].Reason = gossipsub.Reject, reason
			continue
		}
		x := rln.SignalHash(rln.Signal(v.cfg.Signal, msg.GetPayload(), msg.GetContentTopic(), msg.GetTimestamp()))
		wait = append(wait, pending{i: i, proof: p, x: x})
	}
	if len(wait) > 0 {
		c.valid = v.verify(c.out, wait)
	}
	return c
}

// record runs step 7 and returns the outcomes.
func (v *Validator) record(c *checked) []Outcome {
	if len(c.valid) > 0 {
		v.recordNullifiers(c.items, c.out, c.valid)
	}
	for i := range c.out {
		v.m.outcome(c.out[i])
	}
	return c.out
}

// checkMessage decodes a message and checks its timestamp; it returns a
// reason when the message must be rejected.
func (v *Validator) checkMessage(data []byte, now time.Time) (*messagepb.WakuMessage, string) {
	msg, err := wire.DecodeMessage(data)
	if err != nil {
		if errors.Is(err, wire.ErrTooLarge) {
			return nil, ReasonTooLarge
		}
		return nil, ReasonMalformed
	}
	if msg.Timestamp == nil {
		return msg, ReasonTimestamp
	}
	// Sub saturates instead of overflowing on absurd timestamps.
	d := now.Sub(time.Unix(0, *msg.Timestamp))
	if d > v.cfg.MaxEpochGap || d < -v.cfg.MaxEpochGap {
		return msg, ReasonTimestamp
	}
	return msg, ""
}

// groupHealthy reports whether the group's window of roots can be
// trusted: with RLN on and a group that reports its health
// (membership.HealthReporter), whether it does; otherwise true.
func (v *Validator) groupHealthy() bool {
	if !v.cfg.RLN {
		return true
	}
	h, ok := v.cfg.Group.(membership.HealthReporter)
	return !ok || h.WindowTrusted() == nil
}

// checkProof decodes a message's proof and does the checks that need no
// pairing: epoch and root. When the group is not healthy the root cannot
// be judged: the reason is then ReasonMembershipUnhealthy.
func (v *Validator) checkProof(msg *messagepb.WakuMessage, current uint64, groupOK bool) (*rln.RateLimitProof, string) {
	m := v.m
	if msg.RateLimitProof == nil {
		return nil, ReasonMissingProof
	}
	p, err := v.cfg.DecodeProof(msg.RateLimitProof)
	if err != nil {
		return nil, ReasonMalformedProof
	}
	if p.Epoch != rln.Epoch(time.Unix(0, msg.GetTimestamp()), v.cfg.EpochPeriod) {
		m.invalidMsg(invalidTimestampMismatch)
		return nil, ReasonEpoch
	}
	gap := p.Epoch - current
	if p.Epoch < current {
		gap = current - p.Epoch
	}
	if gap > v.gapEpochs {
		m.invalidMsg(invalidEpoch)
		return nil, ReasonEpoch
	}
	if !groupOK {
		return nil, ReasonMembershipUnhealthy
	}
	if !v.cfg.Group.IsValidRoot(p.MerkleRoot) {
		m.invalidMsg(invalidRoot)
		return nil, ReasonRoot
	}
	return p, ""
}

// verify checks the waiting proofs in one batch, rejects the invalid ones
// and returns the others.
func (v *Validator) verify(out []Outcome, wait []pending) []pending {
	m := v.m
	ps := make([]*rln.RateLimitProof, len(wait))
	xs := make([]fr.Element, len(wait))
	for j, w := range wait {
		ps[j], xs[j] = w.proof, w.x
	}
	start := time.Now()
	errs := v.cfg.Verifier.VerifyBatch(ps, xs)
	m.verified(len(wait), time.Since(start))

	valid := wait[:0]
	for j, w := range wait {
		o := &out[w.i]
		if err := errs[j]; err != nil {
			o.Result = gossipsub.Reject
			switch {
			case errors.Is(err, rln.ErrWrongIdentifier):
				o.Reason = ReasonIdentifier
			case errors.Is(err, rln.ErrShareXMismatch):
				o.Reason = ReasonSignal
			default:
				o.Reason = ReasonProof
			}
			m.invalidMsg(invalidProof)
			continue
		}
		valid = append(valid, w)
	}
	return valid
}

// recordNullifiers records the nullifiers of verified proofs in item order.
func (v *Validator) recordNullifiers(items []Item, out []Outcome, valid []pending) {
	m := v.m
	var roots []fr.Element // the window, fetched once when needed for metrics
	for _, w := range valid {
		o := &out[w.i]
		p := w.proof
		verdict, ev := v.cfg.Nullifiers.Record(p.Epoch, p.Nullifier, rln.Share{X: p.ShareX, Y: p.ShareY})
		switch verdict {
		case rln.Fresh:
			o.Result, o.Reason = gossipsub.Accept, ReasonValid
			if m != nil {
				if roots == nil {
					roots = v.cfg.Group.ValidRoots()
				}
				m.valid(rootAge(roots, p.MerkleRoot))
			}
		case rln.Duplicate:
			o.Result, o.Reason = gossipsub.Ignore, ReasonDuplicate
			m.spamMsg(false)
		case rln.DoubleSignal:
			o.Result, o.Reason, o.Evidence = gossipsub.Reject, ReasonSpam, ev
			m.spamMsg(true)
			if v.cfg.OnEvidence != nil && ev != nil {
				v.cfg.OnEvidence(items[w.i].Topic, *ev)
			}
		default: // rln.Full
			o.Result, o.Reason = gossipsub.Ignore, ReasonNullifierLogFull
			m.logFull()
		}
	}
}

// rootAge is how many roots are newer than r in the window (0 for the
// current root), or the window's length when r is not in it.
func rootAge(window []fr.Element, r fr.Element) int {
	for k := len(window) - 1; k >= 0; k-- {
		if window[k].Equal(&r) {
			return len(window) - 1 - k
		}
	}
	return len(window)
}
