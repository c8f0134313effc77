package relay

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/rln/merkle"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

const (
	testTopic        = "/waku/2/rs/1/0"
	testContentTopic = "/rlnd/1/test/proto"
	testLimit        = 20
	testMembers      = 16
	testPeriod       = 600 * time.Second
	testGap          = 20 * time.Second
)

// testNow is the validators' clock in tests: 300 s into an epoch of 600 s
// (1_750_000_200 is a multiple of 600), so that messages a few seconds
// old share its epoch.
var testNow = time.Unix(1_750_000_500, 0)

// fixture holds what proving needs, loaded once, and a cache of proven
// messages shared by the tests and benchmarks (every test makes its own
// validator, so its nullifier log starts empty).
type fixture struct {
	prover   *rln.Prover
	verifier *rln.Verifier
	ids      []rln.Identity
	leaves   []fr.Element
	group    *membership.StaticGroup
	// oldPath is member 0's path in the tree holding leaf 0 only: its root
	// is an older entry of group's window of roots.
	oldPath merkle.Proof

	mu    sync.Mutex
	cache map[msgKey][]byte
}

// msgKey names a proven message.
type msgKey struct {
	mode    rln.SignalMode
	member  int
	mid     uint64
	payload string
	ts      int64
	oldRoot bool
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func loadFixture(tb testing.TB) *fixture {
	tb.Helper()
	fixOnce.Do(func() { fix, fixErr = newFixture(testMembers) })
	if fixErr != nil {
		tb.Fatal(fixErr)
	}
	return fix
}

func newFixture(n int) (*fixture, error) {
	dir := artefacts.DefaultDir()
	prover, err := rln.LoadProver(dir, rln.WakuRLNIdentifier)
	if err != nil {
		return nil, err
	}
	verifier, err := rln.LoadVerifier(dir, rln.WakuRLNIdentifier)
	if err != nil {
		return nil, err
	}
	f := &fixture{prover: prover, verifier: verifier, cache: make(map[msgKey][]byte)}
	for i := range n {
		id := rln.IdentityFromSeed(fmt.Appendf(nil, "relay validator test member %d", i))
		f.ids = append(f.ids, id)
		f.leaves = append(f.leaves, id.RateCommitment(testLimit))
	}
	if f.group, err = membership.NewStaticGroup(f.leaves, 0); err != nil {
		return nil, err
	}
	first, err := membership.NewStaticGroup(f.leaves[:1], 1)
	if err != nil {
		return nil, err
	}
	if f.oldPath, err = first.Proof(0); err != nil {
		return nil, err
	}
	oldRoot, current := first.Root(), f.group.Root()
	if !f.group.IsValidRoot(oldRoot) || oldRoot.Equal(&current) {
		return nil, errors.New("fixture: the one-leaf root should be an older root of the group's window")
	}
	return f, nil
}

// key is a timestamped-signal message of a member, one second before
// testNow.
func key(member int, mid uint64, payload string) msgKey {
	return msgKey{mode: rln.SignalTimestamped, member: member, mid: mid, payload: payload, ts: testNow.Add(-time.Second).UnixNano()}
}

// msg returns the encoded WakuMessage of k with its proof, proving it the
// first time.
func (f *fixture) msg(tb testing.TB, k msgKey) []byte {
	tb.Helper()
	f.mu.Lock()
	b, ok := f.cache[k]
	f.mu.Unlock()
	if ok {
		return b
	}
	b, err := f.prove(k)
	if err != nil {
		tb.Fatal(err)
	}
	f.mu.Lock()
	f.cache[k] = b
	f.mu.Unlock()
	return b
}

func (f *fixture) prove(k msgKey) ([]byte, error) {
	path := f.oldPath
	if !k.oldRoot {
		var err error
		if path, err = f.group.Proof(uint64(k.member)); err != nil {
			return nil, err
		}
	}
	x := rln.SignalHash(rln.Signal(k.mode, []byte(k.payload), testContentTopic, k.ts))
	p, err := f.prover.Prove(&rln.ProveRequest{
		Secret: f.ids[k.member].Secret, UserMessageLimit: testLimit, MessageID: k.mid,
		PathElements: path.PathElements, PathIndices: path.PathIndices,
		Epoch: rln.Epoch(time.Unix(0, k.ts), testPeriod), X: x,
	}, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("prove %+v: %w", k, err)
	}
	m := wire.NewMessage(testContentTopic, []byte(k.payload), k.ts)
	m.RateLimitProof = p.Marshal()
	return wire.EncodeMessage(m)
}

// validator makes an RLN validator over the fixture's group with a fixed
// clock; edit adjusts the configuration.
func (f *fixture) validator(tb testing.TB, edit func(*ValidatorConfig)) *Validator {
	tb.Helper()
	cfg := ValidatorConfig{
		Group: f.group, Verifier: f.verifier, RLN: true,
		EpochPeriod: testPeriod, MaxEpochGap: testGap, Signal: rln.SignalTimestamped,
		Now: func() time.Time { return testNow },
	}
	if edit != nil {
		edit(&cfg)
	}
	v, err := NewValidator(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// tamper decodes a message and its proof, lets edit change them, and
// encodes them again.
func tamper(tb testing.TB, data []byte, edit func(m *messagepb.WakuMessage, p *rln.RateLimitProof)) []byte {
	tb.Helper()
	m, err := wire.DecodeMessage(data)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := rln.UnmarshalRateLimitProof(m.RateLimitProof)
	if err != nil {
		tb.Fatal(err)
	}
	edit(m, p)
	m.RateLimitProof = p.Marshal()
	b, err := proto.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// plain encodes a message without a proof.
func plain(tb testing.TB, payload string, tsNs int64) []byte {
	tb.Helper()
	b, err := wire.EncodeMessage(wire.NewMessage(testContentTopic, []byte(payload), tsNs))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// newMetrics is a registry with the validator's metrics on it: a validator
// given the registry records into them.
func newMetrics(tb testing.TB) (*validatorMetrics, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	m, err := newValidatorMetrics(reg)
	if err != nil {
		tb.Fatal(err)
	}
	return m, reg
}

func checkOutcome(tb testing.TB, what string, got Outcome, result gossipsub.Result, reason string) {
	tb.Helper()
	if got.Result != result || got.Reason != reason {
		tb.Errorf("%s: got %v %q, want %v %q", what, got.Result, got.Reason, result, reason)
	}
}

func TestNewValidatorConfig(t *testing.T) {
	t.Parallel()
	group, err := membership.NewStaticGroup(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	verifier := &rln.Verifier{}
	ok := func(c *ValidatorConfig) {}
	for _, tc := range []struct {
		name      string
		edit      func(*ValidatorConfig)
		wantErr   string
		gapEpochs uint64
	}{
		{"defaults", ok, "", 1},
		{"devnet 10 s epochs", func(c *ValidatorConfig) { c.EpochPeriod = 10 * time.Second }, "", 2},
		{"gap not a multiple of the period rounds up", func(c *ValidatorConfig) { c.EpochPeriod = 7 * time.Second }, "", 3},
		{"one second epochs", func(c *ValidatorConfig) { c.EpochPeriod = time.Second }, "", 20},
		{"fractional period", func(c *ValidatorConfig) { c.EpochPeriod = 1500 * time.Millisecond }, "epoch period 1.5s", 0},
		{"negative period", func(c *ValidatorConfig) { c.EpochPeriod = -time.Second }, "epoch period -1s", 0},
		{"fractional gap", func(c *ValidatorConfig) { c.MaxEpochGap = time.Millisecond }, "max epoch gap 1ms", 0},
		{"unknown signal", func(c *ValidatorConfig) { c.Signal = 7 }, "unknown signal mode 7", 0},
		{"no group", func(c *ValidatorConfig) { c.Group = nil }, "no membership group", 0},
		{"no verifier", func(c *ValidatorConfig) { c.Verifier = nil }, "no proof verifier", 0},
		{"RLN off needs neither", func(c *ValidatorConfig) { c.RLN, c.Group, c.Verifier = false, nil, nil }, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := ValidatorConfig{Group: group, Verifier: verifier, RLN: true}
			tc.edit(&cfg)
			v, err := NewValidator(cfg)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalidValidatorConfig) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an ErrInvalidValidatorConfig saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.GapEpochs() != tc.gapEpochs {
				t.Errorf("gap of %d epochs, want %d", v.GapEpochs(), tc.gapEpochs)
			}
			if v.Nullifiers() == nil {
				t.Error("no default nullifier log")
			}
		})
	}
}

func TestValidateAcceptsValidMessage(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	metrics, reg := newMetrics(t)
	v := f.validator(t, func(c *ValidatorConfig) { c.Registerer = reg })
	data := f.msg(t, key(0, 0, "hello"))
	o := v.Validate(testTopic, data)
	checkOutcome(t, "valid message", o, gossipsub.Accept, ReasonValid)
	if o.Msg == nil || string(o.Msg.GetPayload()) != "hello" || o.Evidence != nil {
		t.Errorf("outcome carries msg %v evidence %v", o.Msg, o.Evidence)
	}
	if v.Nullifiers().Len() != 1 {
		t.Errorf("nullifier log holds %d, want 1", v.Nullifiers().Len())
	}
	if got := testutil.ToFloat64(metrics.messages); got != 1 {
		t.Errorf("waku_rln_messages_total_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(metrics.verifyTotal); got != 1 {
		t.Errorf("waku_rln_proof_verification_total_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(metrics.outcomes.WithLabelValues("accept", ReasonValid)); got != 1 {
		t.Errorf("outcomes{accept,valid} = %v, want 1", got)
	}
	// The proof uses the current root: age 0.
	if count, sum := histogram(t, reg, "waku_rln_valid_messages_total"); count != 1 || sum != 0 {
		t.Errorf("valid messages histogram count %d sum %v, want 1 and 0", count, sum)
	}
	if g := testutil.ToFloat64(metrics.verifyTiming); g <= 0 || g > 1 {
		t.Errorf("verification duration gauge %v s", g)
	}

	// An ephemeral message is validated like any other.
	eph := tamper(t, f.msg(t, key(0, 1, "ephemeral")), func(m *messagepb.WakuMessage, _ *rln.RateLimitProof) {
		m.Ephemeral = proto.Bool(true)
	})
	checkOutcome(t, "ephemeral", v.Validate(testTopic, eph), gossipsub.Accept, ReasonValid)
	checkOutcome(t, "ephemeral again", v.Validate(testTopic, eph), gossipsub.Ignore, ReasonDuplicate)
}

// histogram returns the sample count and sum of a histogram in reg.
func histogram(tb testing.TB, reg *prometheus.Registry, name string) (uint64, float64) {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	tb.Fatalf("histogram %s not gathered", name)
	return 0, 0
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	ts := testNow.Add(-time.Second).UnixNano()
	good := f.msg(t, key(0, 2, "good"))
	edit := func(fn func(m *messagepb.WakuMessage, p *rln.RateLimitProof)) []byte { return tamper(t, good, fn) }
	withProofBytes := func(b []byte) []byte {
		m := wire.NewMessage(testContentTopic, []byte("x"), ts)
		m.RateLimitProof = b
		out, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	noTopic, err := proto.Marshal(&messagepb.WakuMessage{Payload: []byte("x"), Timestamp: proto.Int64(ts)})
	if err != nil {
		t.Fatal(err)
	}
	huge, err := proto.Marshal(wire.NewMessage(testContentTopic, make([]byte, wire.MaxMessageSize), ts))
	if err != nil {
		t.Fatal(err)
	}
	shortRoot := func() []byte {
		m, err := wire.DecodeMessage(good)
		if err != nil {
			t.Fatal(err)
		}
		var pb messagepb.RateLimitProof
		if err := proto.Unmarshal(m.RateLimitProof, &pb); err != nil {
			t.Fatal(err)
		}
		pb.MerkleRoot = pb.MerkleRoot[:31]
		b, err := proto.Marshal(&pb)
		if err != nil {
			t.Fatal(err)
		}
		return withProofBytes(b)
	}()

	for _, tc := range []struct {
		name    string
		data    []byte
		reason  string
		invalid string // nwaku's waku_rln_invalid_messages_total_total type, if counted
	}{
		{"not a protobuf", []byte{0xff, 0xff, 0xff}, ReasonMalformed, ""},
		{"no content topic", noTopic, ReasonMalformed, ""},
		{"over 150 KiB", huge, ReasonTooLarge, ""},
		{"no timestamp", plain(t, "x", 0), ReasonTimestamp, invalidTimestamp},
		{"21 s old", plain(t, "x", testNow.Add(-21*time.Second).UnixNano()), ReasonTimestamp, invalidTimestamp},
		{"21 s ahead", plain(t, "x", testNow.Add(21*time.Second).UnixNano()), ReasonTimestamp, invalidTimestamp},
		{"absurd timestamp", plain(t, "x", -1<<63), ReasonTimestamp, invalidTimestamp},
		{"no proof", plain(t, "x", ts), ReasonMissingProof, ""},
		{"proof not a protobuf", withProofBytes([]byte{0xff, 0x01}), ReasonMalformedProof, ""},
		{"proof with a 31-byte root", shortRoot, ReasonMalformedProof, ""},
		{"proof epoch is not the timestamp's", edit(func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) { p.Epoch++ }), ReasonEpoch, invalidTimestampMismatch},
		{"root not in the window", edit(func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) { p.MerkleRoot.SetUint64(12345) }), ReasonRoot, invalidRoot},
		{"other rln identifier", edit(func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) { p.RLNIdentifier[0] ^= 1 }), ReasonIdentifier, invalidProof},
		{"payload changed", edit(func(m *messagepb.WakuMessage, _ *rln.RateLimitProof) { m.Payload = []byte("evil") }), ReasonSignal, invalidProof},
		{"content topic changed", edit(func(m *messagepb.WakuMessage, _ *rln.RateLimitProof) {
			m.ContentTopic = proto.String("/rlnd/1/other/proto")
		}), ReasonSignal, invalidProof},
		{"timestamp changed by 1 ns", edit(func(m *messagepb.WakuMessage, _ *rln.RateLimitProof) { *m.Timestamp++ }), ReasonSignal, invalidProof},
		{"share x and payload changed together", edit(func(m *messagepb.WakuMessage, p *rln.RateLimitProof) {
			m.Payload = []byte("evil")
			p.ShareX = rln.SignalHash(rln.Signal(rln.SignalTimestamped, m.Payload, m.GetContentTopic(), m.GetTimestamp()))
		}), ReasonProof, invalidProof},
		{"share y changed", edit(func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) {
			p.ShareY.Add(&p.ShareY, new(fr.Element).SetOne())
		}), ReasonProof, invalidProof},
		{"nullifier changed", edit(func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) { p.Nullifier.SetUint64(7) }), ReasonProof, invalidProof},
		{"proof point negated", edit(func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) { p.Proof.A.Neg(&p.Proof.A) }), ReasonProof, invalidProof},
		{"valid root of the group, not the proof's", edit(func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) { p.MerkleRoot = f.group.ValidRoots()[0] }), ReasonProof, invalidProof},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			metrics, reg := newMetrics(t)
			v := f.validator(t, func(c *ValidatorConfig) { c.Registerer = reg })
			o := v.Validate(testTopic, tc.data)
			checkOutcome(t, tc.name, o, gossipsub.Reject, tc.reason)
			if o.Evidence != nil {
				t.Error("evidence on a rejected message")
			}
			if (o.Msg == nil) != (tc.reason == ReasonMalformed || tc.reason == ReasonTooLarge) {
				t.Errorf("decoded message %v for reason %s", o.Msg, tc.reason)
			}
			if v.Nullifiers().Len() != 0 {
				t.Error("a rejected message's nullifier was recorded")
			}
			if got := testutil.ToFloat64(metrics.outcomes.WithLabelValues("reject", tc.reason)); got != 1 {
				t.Errorf("outcomes{reject,%s} = %v, want 1", tc.reason, got)
			}
			if tc.invalid != "" {
				if got := testutil.ToFloat64(metrics.invalid.WithLabelValues(tc.invalid)); got != 1 {
					t.Errorf("waku_rln_invalid_messages_total_total{type=%s} = %v, want 1", tc.invalid, got)
				}
			}
		})
	}
	// The good message itself passes, so the cases above fail for their
	// edit only.
	checkOutcome(t, "untampered", f.validator(t, nil).Validate(testTopic, good), gossipsub.Accept, ReasonValid)
}

// The epoch gap guard cannot fire for a message whose timestamp is within
// the gap and whose proof's epoch is the timestamp's (GapEpochs rounds up),
// so it is checked directly against a far current epoch.
func TestEpochGapGuard(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	v := f.validator(t, nil)
	m, err := wire.DecodeMessage(f.msg(t, key(0, 2, "good")))
	if err != nil {
		t.Fatal(err)
	}
	e := rln.Epoch(testNow, testPeriod)
	for _, tc := range []struct {
		current uint64
		reason  string
	}{
		{e, ""}, {e + 1, ""}, {e - 1, ""}, {e + 2, ReasonEpoch}, {e - 2, ReasonEpoch}, {0, ReasonEpoch}, {^uint64(0), ReasonEpoch},
	} {
		if _, reason := v.checkProof(m, tc.current, true); reason != tc.reason {
			t.Errorf("current epoch %d (message's %d): reason %q, want %q", tc.current, e, reason, tc.reason)
		}
	}
}

// A message sent just before an epoch ends reaches a node whose clock is
// in the next epoch: accepted (one epoch apart, within the gap); the same
// proof with the timestamp moved into the node's epoch is refused.
func TestValidateAcrossEpochBoundary(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	next := rln.EpochStart(rln.Epoch(testNow, testPeriod)+1, testPeriod)
	k := key(6, 0, "boundary")
	k.ts = next.Add(-2 * time.Second).UnixNano()
	data := f.msg(t, k)
	v := f.validator(t, func(c *ValidatorConfig) { c.Now = func() time.Time { return next.Add(5 * time.Second) } })
	moved := tamper(t, data, func(m *messagepb.WakuMessage, _ *rln.RateLimitProof) {
		m.Timestamp = proto.Int64(next.Add(time.Second).UnixNano())
	})
	checkOutcome(t, "timestamp moved into the next epoch", v.Validate(testTopic, moved), gossipsub.Reject, ReasonEpoch)
	checkOutcome(t, "previous epoch's message", v.Validate(testTopic, data), gossipsub.Accept, ReasonValid)
	// 20 s later the message is too old, whatever its epoch.
	v2 := f.validator(t, func(c *ValidatorConfig) { c.Now = func() time.Time { return next.Add(19 * time.Second) } })
	checkOutcome(t, "21 s later", v2.Validate(testTopic, data), gossipsub.Reject, ReasonTimestamp)
}

func TestValidateDuplicateIgnored(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	metrics, reg := newMetrics(t)
	v := f.validator(t, func(c *ValidatorConfig) {
		c.Registerer = reg
		c.OnEvidence = func(string, rln.Evidence) { t.Error("evidence for a duplicate") }
	})
	data := f.msg(t, key(0, 0, "hello"))
	checkOutcome(t, "first", v.Validate(testTopic, data), gossipsub.Accept, ReasonValid)
	checkOutcome(t, "again", v.Validate(testTopic, data), gossipsub.Ignore, ReasonDuplicate)
	// Re-encoded with a different gossipsub message id (an extra field
	// changes the bytes), still the same nullifier and share.
	other := tamper(t, data, func(m *messagepb.WakuMessage, _ *rln.RateLimitProof) { m.Version = proto.Uint32(1) })
	checkOutcome(t, "re-encoded", v.Validate(testTopic, other), gossipsub.Ignore, ReasonDuplicate)
	if got := testutil.ToFloat64(metrics.spam); got != 2 {
		t.Errorf("waku_rln_spam_messages_total_total = %v, want 2 (nwaku counts every repeated nullifier)", got)
	}
	if got := testutil.ToFloat64(metrics.doubleSignals); got != 0 {
		t.Errorf("rlnd_rln_double_signals_total = %v, want 0", got)
	}
}

func TestValidateDoubleSignal(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	metrics, reg := newMetrics(t)
	var got []rln.Evidence
	var topics []string
	v := f.validator(t, func(c *ValidatorConfig) {
		c.Registerer = reg
		c.OnEvidence = func(topic string, ev rln.Evidence) {
			topics = append(topics, topic)
			got = append(got, ev)
		}
	})
	first, second := f.msg(t, key(1, 0, "first")), f.msg(t, key(1, 0, "second"))
	checkOutcome(t, "first", v.Validate(testTopic, first), gossipsub.Accept, ReasonValid)
	o := v.Validate("/waku/2/rs/1/3", second)
	checkOutcome(t, "second", o, gossipsub.Reject, ReasonSpam)
	if o.Evidence == nil {
		t.Fatal("no evidence in the outcome")
	}
	secret := f.ids[1].Secret
	if !o.Evidence.Secret.Equal(&secret) {
		t.Error("the evidence's secret is not the member's")
	}
	if o.Evidence.Epoch != rln.Epoch(testNow, testPeriod) {
		t.Errorf("evidence epoch %d", o.Evidence.Epoch)
	}
	if len(got) != 1 || topics[0] != "/waku/2/rs/1/3" || !got[0].Secret.Equal(&secret) || !got[0].Nullifier.Equal(&o.Evidence.Nullifier) {
		t.Fatalf("OnEvidence got %d calls (topics %v)", len(got), topics)
	}
	// A third message with the same message id is caught as well.
	checkOutcome(t, "third", v.Validate(testTopic, f.msg(t, key(1, 0, "third"))), gossipsub.Reject, ReasonSpam)
	if len(got) != 2 {
		t.Errorf("OnEvidence got %d calls, want 2", len(got))
	}
	// Another message id of the same member is fine.
	checkOutcome(t, "next id", v.Validate(testTopic, f.msg(t, key(1, 1, "fourth"))), gossipsub.Accept, ReasonValid)
	if g := testutil.ToFloat64(metrics.doubleSignals); g != 2 {
		t.Errorf("rlnd_rln_double_signals_total = %v, want 2", g)
	}
	if g := testutil.ToFloat64(metrics.outcomes.WithLabelValues("reject", ReasonSpam)); g != 2 {
		t.Errorf("outcomes{reject,spam} = %v, want 2", g)
	}
}

// fakeVerifier is a ProofVerifier of a function.
type fakeVerifier func(ps []*rln.RateLimitProof, xs []fr.Element) []error

func (f fakeVerifier) VerifyBatch(ps []*rln.RateLimitProof, xs []fr.Element) []error {
	return f(ps, xs)
}

// The validator takes any ProofVerifier, and trusts its verdicts: a fake
// that passes every proof lets a tampered one through, one that fails
// every proof refuses good ones, with the reasons its errors map to. The
// checks that need no pairing (root, epoch) and the nullifier log stay
// the validator's.
func TestValidatorFakeVerifier(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	good := f.msg(t, key(5, 0, "fake"))
	badProof := tamper(t, f.msg(t, key(5, 1, "fake")), func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) {
		p.ShareY.Add(&p.ShareY, new(fr.Element).SetOne())
	})
	badRoot := tamper(t, good, func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) { p.MerkleRoot.SetUint64(1) })
	verdicts := func(err error) ProofVerifier {
		return fakeVerifier(func(ps []*rln.RateLimitProof, _ []fr.Element) []error {
			out := make([]error, len(ps))
			for i := range out {
				out[i] = err
			}
			return out
		})
	}
	items := []Item{{testTopic, good}, {testTopic, badProof}, {testTopic, badRoot}, {testTopic, good}}
	for _, tc := range []struct {
		name   string
		err    error
		result gossipsub.Result
		reason string
	}{
		{"passes all", nil, gossipsub.Accept, ReasonValid},
		{"fails all", errors.New("fake: no"), gossipsub.Reject, ReasonProof},
		{"wrong identifier", rln.ErrWrongIdentifier, gossipsub.Reject, ReasonIdentifier},
		{"share_x mismatch", rln.ErrShareXMismatch, gossipsub.Reject, ReasonSignal},
	} {
		v := f.validator(t, func(c *ValidatorConfig) { c.Verifier = verdicts(tc.err) })
		out := v.ValidateBatch(items)
		checkOutcome(t, tc.name+": good", out[0], tc.result, tc.reason)
		checkOutcome(t, tc.name+": tampered proof", out[1], tc.result, tc.reason)
		checkOutcome(t, tc.name+": unknown root", out[2], gossipsub.Reject, ReasonRoot)
		if tc.err == nil {
			checkOutcome(t, tc.name+": good again", out[3], gossipsub.Ignore, ReasonDuplicate)
		}
	}
}

func TestValidateBatchMixed(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	metrics, reg := newMetrics(t)
	var evidence int
	var calls [][]*rln.RateLimitProof
	v := f.validator(t, func(c *ValidatorConfig) {
		c.Registerer = reg
		c.OnEvidence = func(string, rln.Evidence) { evidence++ }
		c.Verifier = fakeVerifier(func(ps []*rln.RateLimitProof, xs []fr.Element) []error {
			calls = append(calls, ps)
			return f.verifier.VerifyBatch(ps, xs)
		})
	})
	goodA := f.msg(t, key(2, 0, "a"))
	badProof := tamper(t, f.msg(t, key(2, 1, "b")), func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) {
		p.ShareY.Add(&p.ShareY, new(fr.Element).SetOne())
	})
	ds1, ds2 := f.msg(t, key(3, 0, "x")), f.msg(t, key(3, 0, "y"))
	goodB := f.msg(t, key(4, 0, "b"))
	badRoot := tamper(t, goodB, func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) { p.MerkleRoot.SetUint64(1) })
	items := []Item{
		{testTopic, goodA},
		{testTopic, badProof},
		{testTopic, ds1},
		{testTopic, []byte("garbage")},
		{testTopic, goodB},
		{testTopic, ds2},
		{testTopic, goodA},
		{testTopic, badRoot},
	}
	want := []struct {
		result gossipsub.Result
		reason string
	}{
		{gossipsub.Accept, ReasonValid},
		{gossipsub.Reject, ReasonProof},
		{gossipsub.Accept, ReasonValid},
		{gossipsub.Reject, ReasonMalformed},
		{gossipsub.Accept, ReasonValid},
		{gossipsub.Reject, ReasonSpam},
		{gossipsub.Ignore, ReasonDuplicate},
		{gossipsub.Reject, ReasonRoot},
	}
	out := v.ValidateBatch(items)
	if len(out) != len(items) {
		t.Fatalf("%d outcomes for %d items", len(out), len(items))
	}
	for i, w := range want {
		checkOutcome(t, fmt.Sprintf("item %d", i), out[i], w.result, w.reason)
	}
	if out[5].Evidence == nil || !out[5].Evidence.Secret.Equal(&f.ids[3].Secret) || evidence != 1 {
		t.Errorf("double signal evidence %v, %d OnEvidence calls", out[5].Evidence, evidence)
	}
	// The six items that passed the cheap checks went through one batch.
	if len(calls) != 1 || len(calls[0]) != 6 {
		t.Errorf("%d VerifyBatch calls, want one of 6 proofs", len(calls))
	}
	if count, sum := histogram(t, reg, "rlnd_rln_proof_batch_size"); count != 1 || sum != 6 {
		t.Errorf("%d batches holding %v proofs, want 1 batch of 6", count, sum)
	}
	if g := testutil.ToFloat64(metrics.verifyTotal); g != 6 {
		t.Errorf("waku_rln_proof_verification_total_total = %v, want 6", g)
	}

	// The verifier itself: one bad proof does not fail the good ones.
	var ps []*rln.RateLimitProof
	var xs []fr.Element
	for _, data := range [][]byte{goodA, badProof, goodB} {
		m, err := wire.DecodeMessage(data)
		if err != nil {
			t.Fatal(err)
		}
		p, err := rln.UnmarshalRateLimitProof(m.RateLimitProof)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
		xs = append(xs, rln.SignalHash(rln.Signal(rln.SignalTimestamped, m.GetPayload(), m.GetContentTopic(), m.GetTimestamp())))
	}
	errs := f.verifier.VerifyBatch(ps, xs)
	if errs[0] != nil || !errors.Is(errs[1], rln.ErrInvalidProof) || errs[2] != nil {
		t.Errorf("VerifyBatch(good, bad, good) = %v", errs)
	}

	// In the other order, the second of a double-signal pair is the one
	// refused.
	v2 := f.validator(t, nil)
	out = v2.ValidateBatch([]Item{{testTopic, ds2}, {testTopic, ds1}})
	checkOutcome(t, "reversed first", out[0], gossipsub.Accept, ReasonValid)
	checkOutcome(t, "reversed second", out[1], gossipsub.Reject, ReasonSpam)

	if len(v2.ValidateBatch(nil)) != 0 {
		t.Error("outcomes for an empty batch")
	}
}

func TestValidateRLNOff(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	metrics, reg := newMetrics(t)
	v, err := NewValidator(ValidatorConfig{Now: func() time.Time { return testNow }, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	garbageProof := func() []byte {
		m := wire.NewMessage(testContentTopic, []byte("x"), testNow.UnixNano())
		m.RateLimitProof = []byte("not a proof")
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}()
	badProof := tamper(t, f.msg(t, key(0, 2, "good")), func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) { p.MerkleRoot.SetUint64(1) })
	for _, tc := range []struct {
		name   string
		data   []byte
		result gossipsub.Result
		reason string
	}{
		{"no proof", plain(t, "x", testNow.UnixNano()), gossipsub.Accept, ReasonValid},
		{"garbage proof", garbageProof, gossipsub.Accept, ReasonValid},
		{"invalid proof", badProof, gossipsub.Accept, ReasonValid},
		{"exactly 20 s old", plain(t, "x", testNow.Add(-testGap).UnixNano()), gossipsub.Accept, ReasonValid},
		{"exactly 20 s ahead", plain(t, "x", testNow.Add(testGap).UnixNano()), gossipsub.Accept, ReasonValid},
		{"20 s and 1 ns old", plain(t, "x", testNow.Add(-testGap-1).UnixNano()), gossipsub.Reject, ReasonTimestamp},
		{"20 s and 1 ns ahead", plain(t, "x", testNow.Add(testGap+1).UnixNano()), gossipsub.Reject, ReasonTimestamp},
		{"no timestamp", plain(t, "x", 0), gossipsub.Reject, ReasonTimestamp},
		{"malformed", []byte{0x0a}, gossipsub.Reject, ReasonMalformed},
	} {
		checkOutcome(t, tc.name, v.Validate(testTopic, tc.data), tc.result, tc.reason)
	}
	// The same message twice is accepted twice: without RLN there is no
	// nullifier (gossipsub's seen cache drops repeats by message id).
	data := plain(t, "x", testNow.UnixNano())
	checkOutcome(t, "repeat", v.Validate(testTopic, data), gossipsub.Accept, ReasonValid)
	if g := testutil.ToFloat64(metrics.messages); g != 0 {
		t.Errorf("waku_rln_messages_total_total = %v with RLN off", g)
	}
	if g := testutil.ToFloat64(metrics.invalid.WithLabelValues(invalidTimestamp)); g != 0 {
		t.Errorf("RLN invalid timestamp counted with RLN off: %v", g)
	}
	if g := testutil.ToFloat64(metrics.outcomes.WithLabelValues("reject", ReasonTimestamp)); g != 3 {
		t.Errorf("outcomes{reject,timestamp} = %v, want 3", g)
	}
}

func TestValidateRootWindow(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	_, reg := newMetrics(t)
	old := f.msg(t, msgKey{mode: rln.SignalTimestamped, member: 0, mid: 3, payload: "old root", ts: testNow.Add(-time.Second).UnixNano(), oldRoot: true})
	v := f.validator(t, func(c *ValidatorConfig) { c.Registerer = reg })
	checkOutcome(t, "proof against an older root in the window", v.Validate(testTopic, old), gossipsub.Accept, ReasonValid)
	// The window holds the roots after 0..testMembers insertions; leaf 0's
	// root is testMembers-1 roots older than the current one.
	if count, sum := histogram(t, reg, "waku_rln_valid_messages_total"); count != 1 || sum != testMembers-1 {
		t.Errorf("root age histogram count %d sum %v, want 1 and %d", count, sum, testMembers-1)
	}

	// The same members with a window of the current root only: the old
	// root is unknown now.
	short, err := membership.NewStaticGroup(f.leaves, 1)
	if err != nil {
		t.Fatal(err)
	}
	v2 := f.validator(t, func(c *ValidatorConfig) { c.Group = short })
	checkOutcome(t, "root that left the window", v2.Validate(testTopic, old), gossipsub.Reject, ReasonRoot)
	checkOutcome(t, "current root", v2.Validate(testTopic, f.msg(t, key(0, 0, "hello"))), gossipsub.Accept, ReasonValid)

	// A group that has not synced the member's registration yet.
	early, err := membership.NewStaticGroup(f.leaves[:1], 1)
	if err != nil {
		t.Fatal(err)
	}
	v3 := f.validator(t, func(c *ValidatorConfig) { c.Group = early })
	checkOutcome(t, "root not synced yet", v3.Validate(testTopic, f.msg(t, key(0, 0, "hello"))), gossipsub.Reject, ReasonRoot)
}

func TestValidateSignalModes(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	ts := testNow.Add(-2 * time.Second).UnixNano()
	payloadTopic := f.msg(t, msgKey{mode: rln.SignalPayloadTopic, member: 5, mid: 0, payload: "js-waku", ts: ts})
	timestamped := f.msg(t, key(5, 1, "nwaku"))

	pt := f.validator(t, func(c *ValidatorConfig) { c.Signal = rln.SignalPayloadTopic })
	checkOutcome(t, "payload-topic proof, payload-topic validator", pt.Validate(testTopic, payloadTopic), gossipsub.Accept, ReasonValid)
	checkOutcome(t, "timestamped proof, payload-topic validator", pt.Validate(testTopic, timestamped), gossipsub.Reject, ReasonSignal)
	// In payload-topic mode the timestamp is not in the signal: the same
	// message at another time in the epoch is the same share again.
	moved := tamper(t, payloadTopic, func(m *messagepb.WakuMessage, _ *rln.RateLimitProof) { *m.Timestamp += int64(time.Second) })
	checkOutcome(t, "payload-topic proof, timestamp moved", pt.Validate(testTopic, moved), gossipsub.Ignore, ReasonDuplicate)

	ns := f.validator(t, nil)
	checkOutcome(t, "timestamped proof, timestamped validator", ns.Validate(testTopic, timestamped), gossipsub.Accept, ReasonValid)
	checkOutcome(t, "payload-topic proof, timestamped validator", ns.Validate(testTopic, payloadTopic), gossipsub.Reject, ReasonSignal)
}

func TestValidateNullifierLogFull(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	metrics, reg := newMetrics(t)
	v := f.validator(t, func(c *ValidatorConfig) {
		c.Nullifiers = rln.NewNullifierLog(3, 1)
		c.Registerer = reg
	})
	out := v.ValidateBatch([]Item{{testTopic, f.msg(t, key(0, 0, "hello"))}, {testTopic, f.msg(t, key(2, 0, "a"))}})
	checkOutcome(t, "first", out[0], gossipsub.Accept, ReasonValid)
	checkOutcome(t, "over the log's bound", out[1], gossipsub.Ignore, ReasonNullifierLogFull)
	if g := testutil.ToFloat64(metrics.errs.WithLabelValues(ReasonNullifierLogFull)); g != 1 {
		t.Errorf("waku_rln_errors_total_total{type=nullifier_log_full} = %v, want 1", g)
	}
}

func TestValidatorMetricsRegistration(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m1, err := newValidatorMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := newValidatorMetrics(reg)
	if err != nil {
		t.Fatalf("second registration: %v", err)
	}
	m1.rlnMessage()
	m2.rlnMessage()
	if g := testutil.ToFloat64(m1.messages); g != 2 {
		t.Errorf("shared counter = %v, want 2", g)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"waku_rln_messages_total_total", "waku_rln_invalid_messages_total_total"} {
		if !names[n] {
			t.Errorf("%s not gathered (have %v)", n, names)
		}
	}
	// A clashing collector under one of the names is an error.
	reg2 := prometheus.NewRegistry()
	reg2.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "waku_rln_messages_total_total", Help: "clash"}))
	if _, err := newValidatorMetrics(reg2); err == nil {
		t.Error("no error for a clashing metric")
	}
	if _, err := NewValidator(ValidatorConfig{Registerer: reg2}); err == nil {
		t.Error("NewValidator: no error for a clashing metric")
	}
	none, err := newValidatorMetrics(nil)
	if err != nil || none != nil {
		t.Errorf("no registry: metrics %v, err %v; want none", none, err)
	}
	none.outcome(Outcome{}) // nil metrics record nothing and do not panic
}

// FuzzValidate feeds arbitrary data to an RLN validator: it must not panic,
// and its outcome must be consistent with what the data is.
func FuzzValidate(f *testing.F) {
	fx := loadFixture(f)
	f.Add(fx.msg(f, key(0, 0, "hello")))
	f.Add(plain(f, "x", testNow.UnixNano()))
	f.Add([]byte{0x0a, 0x00, 0x12, 0x01, 'a', 0x50, 0x02, 0xaa, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		v := fx.validator(t, nil)
		o := v.Validate(testTopic, data)
		if o.Reason == "" {
			t.Fatal("empty reason")
		}
		if o.Msg == nil && o.Result != gossipsub.Reject {
			t.Fatalf("%v %q for data that does not decode", o.Result, o.Reason)
		}
		if o.Result == gossipsub.Accept && (o.Msg == nil || o.Msg.RateLimitProof == nil || o.Reason != ReasonValid) {
			t.Fatalf("accepted %v", o)
		}
		if _, err := wire.DecodeMessage(data); err == nil && o.Msg == nil {
			t.Fatal("data decodes but the outcome has no message")
		}
	})
}

// healthGroup is a group that reports its health (as a synced
// membership.GroupManager does).
type healthGroup struct {
	membership.Group
	mu  sync.Mutex
	err error
}

func (g *healthGroup) Healthy() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

func (g *healthGroup) WindowTrusted() error { return g.Healthy() }

func (g *healthGroup) set(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err = err
}

// While the group reports itself unhealthy (its sync stopped: the window
// of roots is frozen), a message with a valid proof and one with a root
// the window lacks are both ignored, neither accepted nor rejected, and
// counted in waku_rln_errors_total_total; what needs no group (form, timestamp,
// proof present, epoch) is still rejected. Healthy again, the same valid
// message is accepted: nothing was recorded meanwhile.
func TestValidateIgnoresWhileGroupUnhealthy(t *testing.T) {
	t.Parallel()
	f := loadFixture(t)
	group := &healthGroup{Group: f.group}
	metrics, reg := newMetrics(t)
	v := f.validator(t, func(c *ValidatorConfig) { c.Group, c.Registerer = group, reg })
	good := f.msg(t, key(6, 0, "frozen"))
	badRoot := tamper(t, good, func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) { p.MerkleRoot.SetUint64(1) })
	badEpoch := tamper(t, good, func(_ *messagepb.WakuMessage, p *rln.RateLimitProof) { p.Epoch++ })

	group.set(errors.New("membership: sync stopped: malformed log"))
	out := v.ValidateBatch([]Item{{testTopic, good}, {testTopic, badRoot}, {testTopic, plain(t, "no proof", testNow.UnixNano())}, {testTopic, badEpoch}})
	checkOutcome(t, "valid proof, group unhealthy", out[0], gossipsub.Ignore, ReasonMembershipUnhealthy)
	checkOutcome(t, "unknown root, group unhealthy", out[1], gossipsub.Ignore, ReasonMembershipUnhealthy)
	checkOutcome(t, "no proof, group unhealthy", out[2], gossipsub.Reject, ReasonMissingProof)
	checkOutcome(t, "wrong epoch, group unhealthy", out[3], gossipsub.Reject, ReasonEpoch)
	if got := testutil.ToFloat64(metrics.errs.WithLabelValues(ReasonMembershipUnhealthy)); got != 2 {
		t.Errorf("waku_rln_errors_total_total{type=%q} = %v, want 2", ReasonMembershipUnhealthy, got)
	}
	if v.Nullifiers().Len() != 0 {
		t.Errorf("an ignored message's nullifier was recorded")
	}

	group.set(nil)
	checkOutcome(t, "valid proof, group healthy", v.Validate(testTopic, good), gossipsub.Accept, ReasonValid)
	checkOutcome(t, "unknown root, group healthy", v.Validate(testTopic, badRoot), gossipsub.Reject, ReasonRoot)
}
