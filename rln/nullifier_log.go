package rln

import (
	"errors"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Share is a point (x, y) on a member's line y = secret + a1 x for one
// (epoch, message id).
type Share struct{ X, Y fr.Element }

// Verdict is what the nullifier log says of a message.
type Verdict int

const (
	// Fresh: first time this nullifier is seen in its epoch.
	Fresh Verdict = iota
	// Duplicate: same nullifier and same share: the same message again.
	Duplicate
	// DoubleSignal: same nullifier, another share: the member sent two
	// messages with one message id in one epoch; its secret is recovered.
	DoubleSignal
	// Full: the epoch holds the maximum number of nullifiers; the message
	// cannot be checked and must not be accepted.
	Full
)

func (v Verdict) String() string {
	return [...]string{"fresh", "duplicate", "double-signal", "full"}[v]
}

// Evidence of double signalling: two shares of one line, and the secret.
type Evidence struct {
	Epoch     uint64
	Nullifier fr.Element
	Shares    [2]Share
	Secret    fr.Element
}

// ErrSameX means two shares have the same x, so the line cannot be solved.
var ErrSameX = errors.New("rln: shares have the same x")

// RecoverSecret solves y = a0 + a1 x through two shares: a1 = (y1-y2)/(x1-x2),
// a0 = y1 - x1 a1. a0 is the identity secret.
func RecoverSecret(s1, s2 Share) (fr.Element, error) {
	var dx, dy, a1, a0 fr.Element
	dx.Sub(&s1.X, &s2.X)
	if dx.IsZero() {
		return a0, ErrSameX
	}
	dy.Sub(&s1.Y, &s2.Y)
	a1.Div(&dy, &dx)
	a0.Mul(&s1.X, &a1)
	a0.Sub(&s1.Y, &a0)
	return a0, nil
}

// NullifierLog remembers, per epoch, the share seen with each nullifier.
// It keeps a bounded number of epochs and of nullifiers per epoch. It is
// safe for concurrent use.
type NullifierLog struct {
	mu          sync.Mutex
	epochs      map[uint64]map[fr.Element]Share
	keepEpochs  uint64
	maxPerEpoch int
}

// NewNullifierLog keeps keepEpochs epochs (at least 1) ending at the newest
// one recorded, each with at most maxPerEpoch nullifiers.
func NewNullifierLog(keepEpochs uint64, maxPerEpoch int) *NullifierLog {
	return &NullifierLog{epochs: make(map[uint64]map[fr.Element]Share), keepEpochs: max(keepEpochs, 1), maxPerEpoch: max(maxPerEpoch, 1)}
}

// Record checks a nullifier and, when fresh, stores it. The caller must have
// checked the epoch against the clock (the max epoch gap) and the proof.
func (l *NullifierLog) Record(epoch uint64, nullifier fr.Element, s Share) (Verdict, *Evidence) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, ok := l.epochs[epoch]
	if !ok {
		m = make(map[fr.Element]Share)
		l.epochs[epoch] = m
		l.pruneLocked(epoch)
	}
	if prev, seen := m[nullifier]; seen {
		if prev.X.Equal(&s.X) && prev.Y.Equal(&s.Y) {
			return Duplicate, nil
		}
		ev := &Evidence{Epoch: epoch, Nullifier: nullifier, Shares: [2]Share{prev, s}}
		secret, err := RecoverSecret(prev, s)
		if err != nil {
			// Same x with another y cannot come from a valid proof; report
			// it as double signalling without a secret.
			return DoubleSignal, ev
		}
		ev.Secret = secret
		return DoubleSignal, ev
	}
	if len(m) >= l.maxPerEpoch {
		return Full, nil
	}
	m[nullifier] = s
	return Fresh, nil
}

// pruneLocked drops epochs older than newest-keepEpochs+1.
func (l *NullifierLog) pruneLocked(newest uint64) {
	if newest+1 < l.keepEpochs {
		return
	}
	oldest := newest + 1 - l.keepEpochs
	for e := range l.epochs {
		if e < oldest {
			delete(l.epochs, e)
		}
	}
}

// Len is the number of nullifiers held.
func (l *NullifierLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.epochs {
		n += len(m)
	}
	return n
}

// Epochs is the number of epochs held.
func (l *NullifierLog) Epochs() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.epochs)
}
