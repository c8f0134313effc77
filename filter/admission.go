package filter

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/rlnd/rlnd/p2p/admission"
)

// serveStreams registers the filter-subscribe handler behind an admission
// gate (deadlines, requests in progress, idle streams).
func (s *Service) serveStreams(h host.Host) error {
	g, err := admission.New(admission.Config{Protocol: string(ProtocolSubscribe), Limits: s.cfg.Admission, Registerer: s.cfg.Registerer, Logger: s.log})
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	s.gate = g
	h.SetStreamHandler(ProtocolSubscribe, func(st network.Stream) { s.handle(g, st) })
	return nil
}

// busyResponse is the answer to a request over an admission limit: 503
// when the service as a whole is at its limit, 429 when the client's
// share (its peer id or its address prefix) is.
func busyResponse(b *admission.Busy) Response {
	if b.Overloaded() {
		return Response{StatusUnavailable, b.Error()}
	}
	return Response{StatusTooManyRequests, b.Error()}
}
