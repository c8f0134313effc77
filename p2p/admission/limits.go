package admission

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Limits, per protocol.
const (
	// DefaultFirstByte is how long a stream may stay open before its
	// request starts. nwaku's streams (nim-libp2p mplex channels and yamux
	// streams, both built with a 5 min inactivity timeout) close after five
	// idle minutes, so clients that open streams ahead of use (js-waku) get
	// as long from us as from nwaku.
	DefaultFirstByte = 5 * time.Minute
	// DefaultRequest bounds one request from its first byte: reading it,
	// the work, and writing the answer.
	DefaultRequest = 30 * time.Second

	DefaultPeerRequests   = 8
	DefaultPrefixRequests = 32
	DefaultTotalRequests  = 128

	// A client needs one idle stream per protocol (js-waku's stream pool
	// holds one, and opens the next while the last one is in use); four
	// leave room for the streams it abandons on each peer-store update.
	DefaultPeerIdle   = 4
	DefaultPrefixIdle = 64
	DefaultTotalIdle  = 512
)

// Limits bound one protocol's request streams. Zero fields take the
// defaults (WithDefaults).
type Limits struct {
	// FirstByte is how long an opened stream may wait for the first byte of
	// its request; past it the stream is reset.
	FirstByte time.Duration
	// Request bounds a request from its first byte to the end of its
	// answer; the stream's deadline and the request's context end then.
	Request time.Duration
	// PeerRequests, PrefixRequests and TotalRequests bound the requests in
	// progress (first byte received, answer not yet written) of one peer
	// id, of one source address prefix (/24 IPv4, /56 IPv6) and in all.
	// A request over a limit is read and answered busy.
	PeerRequests, PrefixRequests, TotalRequests int
	// PeerIdle, PrefixIdle and TotalIdle bound the streams open but not yet
	// started. A new idle stream over a limit resets the oldest idle stream
	// of the same peer (PeerIdle), of the same prefix (PrefixIdle), or of
	// the prefix holding the most idle streams (TotalIdle).
	PeerIdle, PrefixIdle, TotalIdle int
}

// DefaultLimits are the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		FirstByte: DefaultFirstByte, Request: DefaultRequest,
		PeerRequests: DefaultPeerRequests, PrefixRequests: DefaultPrefixRequests, TotalRequests: DefaultTotalRequests,
		PeerIdle: DefaultPeerIdle, PrefixIdle: DefaultPrefixIdle, TotalIdle: DefaultTotalIdle,
	}
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	if l.FirstByte == 0 {
		l.FirstByte = d.FirstByte
	}
	if l.Request == 0 {
		l.Request = d.Request
	}
	set(&l.PeerRequests, d.PeerRequests)
	set(&l.PrefixRequests, d.PrefixRequests)
	set(&l.TotalRequests, d.TotalRequests)
	set(&l.PeerIdle, d.PeerIdle)
	set(&l.PrefixIdle, d.PrefixIdle)
	set(&l.TotalIdle, d.TotalIdle)
	return l
}

// ErrInvalidLimits is wrapped by Validate's errors.
var ErrInvalidLimits = errors.New("invalid admission limits")

// Validate checks l after defaults: positive durations and counts.
func (l Limits) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"first-byte deadline", l.FirstByte}, {"request deadline", l.Request}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%w: %s %s, must be positive", ErrInvalidLimits, d.name, d.v))
		}
	}
	for _, c := range []struct {
		name string
		v    int
	}{
		{"requests per peer", l.PeerRequests}, {"requests per prefix", l.PrefixRequests}, {"requests in total", l.TotalRequests},
		{"idle streams per peer", l.PeerIdle}, {"idle streams per prefix", l.PrefixIdle}, {"idle streams in total", l.TotalIdle},
	} {
		if c.v <= 0 {
			errs = append(errs, fmt.Errorf("%w: %s %d, must be at least 1", ErrInvalidLimits, c.name, c.v))
		}
	}
	return errors.Join(errs...)
}
