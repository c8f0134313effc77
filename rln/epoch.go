package rln

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"golang.org/x/crypto/sha3"

	"github.com/rlnd/rlnd/rln/poseidon"
)

// WakuRLNIdentifier is the rln_identifier of Waku RLN relay v2, as ASCII
// zero-padded to 32 bytes.
const WakuRLNIdentifier = "rln/waku-rln-relay/v2.0.0"

// Identifier returns an rln_identifier's 32 wire bytes and field element.
func Identifier(s string) ([FieldSize]byte, fr.Element) {
	var b [FieldSize]byte
	copy(b[:], s)
	return b, frFromLEReduced(b[:])
}

// Epoch is floor(unix seconds / period) for a period of whole seconds.
func Epoch(t time.Time, period time.Duration) uint64 {
	secs := int64(period / time.Second)
	if secs <= 0 {
		secs = 1
	}
	u := t.Unix()
	if u < 0 {
		return 0
	}
	return uint64(u / secs)
}

// EpochStart is the first instant of an epoch.
func EpochStart(epoch uint64, period time.Duration) time.Time {
	return time.Unix(int64(epoch)*int64(period/time.Second), 0)
}

// EpochBytes is the epoch on the wire: a uint64 little-endian in 32 bytes.
func EpochBytes(epoch uint64) [FieldSize]byte {
	var b [FieldSize]byte
	binary.LittleEndian.PutUint64(b[:], epoch)
	return b
}

// EpochFromBytes reads a wire epoch; it must fit 64 bits.
func EpochFromBytes(b []byte) (uint64, bool) {
	if len(b) != FieldSize {
		return 0, false
	}
	for _, c := range b[8:] {
		if c != 0 {
			return 0, false
		}
	}
	return binary.LittleEndian.Uint64(b), true
}

// ExternalNullifier is Poseidon(epoch, rln_identifier).
func ExternalNullifier(epoch uint64, identifier fr.Element) fr.Element {
	var e fr.Element
	e.SetUint64(epoch)
	return poseidon.Hash2(e, identifier)
}

// SignalMode chooses which bytes of a message the proof's x commits to.
type SignalMode int

const (
	// SignalTimestamped is nwaku's signal since 2025:
	// payload || content_topic || uint64_LE(timestamp).
	SignalTimestamped SignalMode = iota
	// SignalPayloadTopic is js-waku's and go-waku's: payload || content_topic.
	SignalPayloadTopic
)

// String names the mode as the configuration does.
func (m SignalMode) String() string {
	switch m {
	case SignalTimestamped:
		return "timestamped"
	case SignalPayloadTopic:
		return "payload-topic"
	}
	return "unknown"
}

// ParseSignalMode reads the configuration's name of a mode (rln.signal).
func ParseSignalMode(s string) (SignalMode, error) {
	for _, m := range []SignalMode{SignalTimestamped, SignalPayloadTopic} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("rln: signal mode %q, allowed timestamped or payload-topic", s)
}

// Signal builds the bytes x is computed from.
func Signal(mode SignalMode, payload []byte, contentTopic string, timestampNs int64) []byte {
	out := make([]byte, 0, len(payload)+len(contentTopic)+8)
	out = append(out, payload...)
	out = append(out, contentTopic...)
	if mode == SignalTimestamped {
		out = binary.LittleEndian.AppendUint64(out, uint64(timestampNs))
	}
	return out
}

// SignalHash is x: keccak256(signal) read as a little-endian integer mod r.
func SignalHash(signal []byte) fr.Element {
	h := sha3.NewLegacyKeccak256()
	h.Write(signal)
	return frFromLEReduced(h.Sum(nil))
}
