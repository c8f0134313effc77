package simulation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/rln/merkle"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// MaxProofs bounds the RLN proofs a run makes before it starts (every
// honest message and every over-rate message has its own; about 17 ms of
// CPU each on this machine's cores): a scenario needing more is refused
// with the count, rather than proving for hours.
const MaxProofs = 20000

// contentTopic is the content topic of every simulated message.
const contentTopic = "/rlnd-sim/1/traffic/proto"

// proofCache is the proof checking every node shares: a cache of decoded
// proofs keyed by their bytes (relay.ValidatorConfig.DecodeProof) and a
// cache of verdicts over the real verifier (relay.ProofVerifier), so that
// each distinct proof is decoded and verified once, really, however many
// nodes validate it. The workers share it: it takes a lock.
type proofCache struct {
	v        *rln.Verifier
	mu       sync.Mutex
	decoded  map[string]decodedProof
	verdicts map[verifyKey]error
	verified uint64 // proofs the real verifier checked
}

type decodedProof struct {
	p   *rln.RateLimitProof
	err error
}

// verifyKey is a decoded proof (decoded once: one pointer per distinct
// proof bytes) with the signal hash it is checked against.
type verifyKey struct {
	p *rln.RateLimitProof
	x fr.Element
}

func newProofCache(v *rln.Verifier) *proofCache {
	return &proofCache{v: v, decoded: map[string]decodedProof{}, verdicts: map[verifyKey]error{}}
}

// decode is rln.UnmarshalRateLimitProof, once per distinct proof.
func (c *proofCache) decode(b []byte) (*rln.RateLimitProof, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.decoded[string(b)]; ok {
		return d.p, d.err
	}
	p, err := rln.UnmarshalRateLimitProof(b)
	c.decoded[string(b)] = decodedProof{p, err}
	return p, err
}

// VerifyBatch answers from the cache, verifying the proofs it has not seen.
func (c *proofCache) VerifyBatch(ps []*rln.RateLimitProof, xs []fr.Element) []error {
	out := make([]error, len(ps))
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range ps {
		k := verifyKey{p, xs[i]}
		err, ok := c.verdicts[k]
		if !ok {
			err = c.v.VerifyBatch(ps[i:i+1], xs[i:i+1])[0]
			c.verified++
			c.verdicts[k] = err
		}
		out[i] = err
	}
	return out
}

// rlnKeys are the prover and verifier of a run.
type rlnKeys struct {
	prover   *rln.Prover
	verifier *rln.Verifier
}

// loadKeys returns the options' keys or loads them from the artefacts
// folder (the prover only when proofs are to be made): o.ArtefactsDir, else
// the one artefacts.Resolve finds (fetched into the cache the first time).
func loadKeys(ctx context.Context, o Options, needProver bool) (rlnKeys, error) {
	k := rlnKeys{prover: o.Prover, verifier: o.Verifier}
	// The folder only when a key must be read from it (a given prover
	// holds the verifying key).
	var dir string
	var err error
	if k.prover == nil && (k.verifier == nil || needProver) {
		if dir, err = artefacts.Dir(ctx, artefacts.Options{Dir: o.ArtefactsDir, Logger: o.Logger}); err != nil {
			return k, fmt.Errorf("simulation: RLN artefacts: %w", err)
		}
	}
	if k.verifier == nil {
		if k.prover != nil {
			k.verifier, err = k.prover.Verifier()
		} else {
			k.verifier, err = rln.LoadVerifier(dir, rln.WakuRLNIdentifier)
		}
		if err != nil {
			return k, fmt.Errorf("simulation: RLN verifier: %w", err)
		}
	}
	if needProver && k.prover == nil {
		if k.prover, err = rln.LoadProver(dir, rln.WakuRLNIdentifier); err != nil {
			return k, fmt.Errorf("simulation: RLN prover: %w", err)
		}
	}
	return k, nil
}

// proofJob is one message to prove: its member's leaf, message id and
// epoch, and the message (timestamp and payload set) that gets the proof.
type proofJob struct {
	member int
	mid    uint64
	epoch  uint64
	msg    *messagepb.WakuMessage
	seq    int // the job's number: seeds its blinding
}

// prover makes the proofs of a run before it starts.
type prover struct {
	keys    rlnKeys
	group   *membership.StaticGroup
	ids     []rln.Identity
	paths   []merkle.Proof
	limit   uint64
	seed    uint64
	jobs    []*proofJob
	members int
}

// newProver makes the static group of members identities (derived from
// the seed), each with the scenario's limit.
func newProver(members int, limit uint64, seed uint64) (*prover, error) {
	p := &prover{limit: limit, seed: seed, members: members}
	leaves := make([]fr.Element, members)
	for i := range members {
		id := rln.IdentityFromSeed(fmt.Appendf(nil, "rlnd simulation %d member %d", seed, i))
		p.ids = append(p.ids, id)
		leaves[i] = id.RateCommitment(limit)
	}
	g, err := membership.NewStaticGroup(leaves, 0)
	if err != nil {
		return nil, fmt.Errorf("simulation: RLN group: %w", err)
	}
	p.group = g
	for i := range members {
		path, err := g.Proof(uint64(i))
		if err != nil {
			return nil, fmt.Errorf("simulation: RLN group: %w", err)
		}
		p.paths = append(p.paths, path)
	}
	return p, nil
}

// add queues a message to prove.
func (p *prover) add(member int, mid, epoch uint64, m *messagepb.WakuMessage) {
	p.jobs = append(p.jobs, &proofJob{member: member, mid: mid, epoch: epoch, msg: m, seq: len(p.jobs)})
}

// run proves every queued message, on every core, each member's messages
// on one worker (the prover keeps a member's message-independent work, so
// its next proofs cost less). A proof's blinding comes from the seed and
// the job's number: the same scenario makes the same proof bytes.
func (p *prover) run(ctx context.Context) error {
	if len(p.jobs) == 0 {
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), len(p.jobs))
	byWorker := make([][]*proofJob, workers)
	for _, j := range p.jobs {
		w := j.member % workers
		byWorker[w] = append(byWorker[w], j)
	}
	for _, js := range byWorker {
		slices.SortStableFunc(js, func(a, b *proofJob) int { return a.member - b.member })
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, j := range byWorker[w] {
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				if err := p.prove(j); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (p *prover) prove(j *proofJob) error {
	var seed [32]byte
	for k := range 4 {
		h := hash3(p.seed, streamProof, uint64(j.seq), uint64(k))
		for b := range 8 {
			seed[8*k+b] = byte(h >> (8 * b))
		}
	}
	m := j.msg
	path := p.paths[j.member]
	req := &rln.ProveRequest{
		Secret:           p.ids[j.member].Secret,
		UserMessageLimit: p.limit,
		MessageID:        j.mid,
		PathElements:     path.PathElements,
		PathIndices:      path.PathIndices,
		Epoch:            j.epoch,
		X:                rln.SignalHash(rln.Signal(rln.SignalTimestamped, m.GetPayload(), m.GetContentTopic(), m.GetTimestamp())),
	}
	proof, err := p.keys.prover.Prove(req, rand.NewChaCha8(seed))
	if err != nil {
		return fmt.Errorf("simulation: prove message %d of member %d: %w", j.mid, j.member, err)
	}
	m.RateLimitProof = proof.Marshal()
	return nil
}

// forgedProof is an invalid proof for m: the right epoch, root, signal and
// identifier, random shares and nullifier, and the curve points of a real
// proof of another message, so that it decodes and passes every check but
// the pairing.
func forgedProof(template []byte, root fr.Element, epoch uint64, m *messagepb.WakuMessage, rnd *rand.Rand) ([]byte, error) {
	t, err := rln.UnmarshalRateLimitProof(template)
	if err != nil {
		return nil, fmt.Errorf("simulation: template proof: %w", err)
	}
	var b [32]byte
	randomFr := func() fr.Element {
		for k := range 4 {
			h := rnd.Uint64()
			for i := range 8 {
				b[8*k+i] = byte(h >> (8 * i))
			}
		}
		var e fr.Element
		e.SetBytes(b[:])
		return e
	}
	f := &rln.RateLimitProof{
		Proof:         t.Proof,
		MerkleRoot:    root,
		Epoch:         epoch,
		ShareX:        rln.SignalHash(rln.Signal(rln.SignalTimestamped, m.GetPayload(), m.GetContentTopic(), m.GetTimestamp())),
		ShareY:        randomFr(),
		Nullifier:     randomFr(),
		RLNIdentifier: t.RLNIdentifier,
	}
	return f.Marshal(), nil
}

// measureVerifyCost is the median wall time of verifying a few of the
// proofs (at most five) one at a time with the real verifier.
func measureVerifyCost(v *rln.Verifier, datas [][]byte) (time.Duration, error) {
	var ds []time.Duration
	for _, data := range datas {
		if len(ds) == 5 {
			break
		}
		m, err := wire.DecodeMessage(data)
		if err != nil {
			return 0, fmt.Errorf("simulation: measure verification: %w", err)
		}
		p, err := rln.UnmarshalRateLimitProof(m.GetRateLimitProof())
		if err != nil {
			return 0, fmt.Errorf("simulation: measure verification: %w", err)
		}
		x := rln.SignalHash(rln.Signal(rln.SignalTimestamped, m.GetPayload(), m.GetContentTopic(), m.GetTimestamp()))
		start := time.Now()
		err = v.Verify(p, x)
		d := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("simulation: measure verification: a proof made for the run does not verify: %w", err)
		}
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		return 0, nil
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}
