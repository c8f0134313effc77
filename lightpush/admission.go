package lightpush

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/rlnd/rlnd/p2p/admission"
)

// serveStreams registers the stream handlers of both versions, each behind
// its own admission gate (deadlines, requests in progress, idle streams).
func (s *Service) serveStreams(h host.Host) error {
	versions := []struct {
		id     protocol.ID
		handle func(*admission.Gate, network.Stream)
	}{{ProtocolV3, s.handleV3}, {ProtocolV2, s.handleV2}}
	// Both gates first: a failure leaves no handler registered.
	s.gates = map[protocol.ID]*admission.Gate{}
	for _, v := range versions {
		g, err := admission.New(admission.Config{Protocol: string(v.id), Limits: s.cfg.Admission, Registerer: s.cfg.Registerer, Logger: s.log})
		if err != nil {
			return fmt.Errorf("lightpush: %w", err)
		}
		s.gates[v.id] = g
	}
	for _, v := range versions {
		g, handle := s.gates[v.id], v.handle
		h.SetStreamHandler(v.id, func(st network.Stream) { handle(g, st) })
	}
	return nil
}

// Admission is the gate of protocol id's request streams (ProtocolV3 or
// ProtocolV2), nil for another id.
func (s *Service) Admission(id protocol.ID) *admission.Gate { return s.gates[id] }

// busyResponse is the answer to a request over an admission limit: 503
// when the service as a whole is at its limit, 429 when the client's
// share (its peer id or its address prefix) is.
func busyResponse(b *admission.Busy) Response {
	if b.Overloaded() {
		return Response{Status: StatusUnavailable, Description: b.Error()}
	}
	return Response{Status: StatusTooManyRequests, Description: b.Error()}
}
