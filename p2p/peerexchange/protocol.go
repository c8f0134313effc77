// Package peerexchange is Waku peer exchange (34/WAKU2-PEER-EXCHANGE,
// /vac/waku/peer-exchange/2.0.0-alpha1): a node that runs discovery answers
// light clients without UDP (js-waku in a browser or in Node.js) with
// signed ENRs of the peers it discovered, and a client asks a service node
// for such ENRs.
//
//   - Cache holds the ENRs that discovery found (bounded, expiring, signature
//     checked, never our own record); the server samples its answers from it.
//   - Server answers on a libp2p host, behind an admission gate
//     (p2p/admission: first-byte and request deadlines, requests in progress
//     per peer, per address prefix and in all) and token buckets per peer,
//     per address prefix and in all.
//   - Request asks one peer and returns the ENRs of its answer, each one's
//     signature checked.
//
// The wire (nwaku's, which the other implementations read):
//
//	PeerExchangeRPC      { PeerExchangeQuery query = 1; PeerExchangeResponse response = 2; }
//	PeerExchangeQuery    { uint64 num_peers = 1; }
//	PeerExchangeResponse { repeated PeerInfo peer_infos = 1; uint32 status_code = 10; string status_desc = 11; }
//	PeerInfo             { bytes enr = 1; }
//
// one RPC each way, each a frame of an unsigned varint length and the
// protobuf (wire.ReadFrame). nwaku's decoder requires field 1 of every RPC,
// answers included, and status_code in every response, so answers carry an
// empty query (num_peers 0) and a status code; js-waku and go-waku ignore
// both.
package peerexchange

import (
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/p2p/admission"
)

// Protocol is the protocol id.
const Protocol protocol.ID = p2p.ProtocolPeerExchange

// Limits of the protocol.
const (
	// MaxPeers is the most ENRs an answer carries and a client may ask
	// for: nwaku answers min(num_peers, 60) (MaxPeersCacheSize), and
	// js-waku asks for 60.
	MaxPeers = 60
	// MaxRecordSize bounds one ENR (EIP-778: 300 bytes).
	MaxRecordSize = enr.SizeLimit
	// MaxRequestSize bounds a request frame. A query is at most 13 bytes
	// (nwaku's carries an empty response too: 8 bytes with num_peers 5);
	// the rest is room for fields a later version may add.
	MaxRequestSize = 1024
	// MaxResponseSize bounds an answer frame the client reads: MaxPeers
	// records of MaxRecordSize, an empty query and a status code encode to
	// 18,371 bytes, and a status description may add some. (nwaku reads up
	// to 1.5 MiB, js-waku 4 MiB; no honest server sends more than this.)
	MaxResponseSize = 64 << 10
	// DefaultRequestTimeout bounds a client's request when its context has
	// no deadline: opening the stream to the end of the answer.
	DefaultRequestTimeout = 10 * time.Second
)

// StatusCode is the status code of an answer (PeerExchangeResponse field
// 10).
type StatusCode uint32

// Status codes, as nwaku sends them (waku_peer_exchange/rpc.nim,
// PeerExchangeResponseStatusCode). nwaku's client maps any other code to
// UNKNOWN and fails, so the server sends only these.
const (
	StatusOK              StatusCode = 200
	StatusBadRequest      StatusCode = 400
	StatusTooManyRequests StatusCode = 429
	StatusUnavailable     StatusCode = 503
)

// String is nwaku's name of the code, or the number of one it has no name
// for.
func (c StatusCode) String() string {
	switch c {
	case StatusOK:
		return "SUCCESS"
	case StatusBadRequest:
		return "BAD_REQUEST"
	case StatusTooManyRequests:
		return "TOO_MANY_REQUESTS"
	case StatusUnavailable:
		return "SERVICE_UNAVAILABLE"
	}
	return strconv.FormatUint(uint64(c), 10)
}

// StreamLimits bounds the peer-exchange streams in the host's resource
// manager (p2p.HostConfig.StreamLimits): 8 inbound streams per peer, 512 in
// all, above what the server's admission gate keeps (per peer 4 idle, 2
// requests and the busy answers; in all 256 idle, 64 requests and 64 busy
// answers), so that the gate, which answers busy, decides first.
func StreamLimits() p2p.StreamLimits {
	return p2p.StreamLimits{Protocols: []protocol.ID{Protocol}, PerPeer: 8, Total: 512}
}

// Defaults of the server's admission gate (ServerConfig.Admission); the
// first-byte deadline is admission's (5 min, as nwaku's streams).
const (
	DefaultAdmissionRequest = 10 * time.Second
	DefaultPeerRequests     = 2
	DefaultPrefixRequests   = 16
	DefaultTotalRequests    = 64
	DefaultPeerIdle         = 4
	DefaultPrefixIdle       = 32
	DefaultTotalIdle        = 256
)

// DefaultAdmission are the server's admission limits for zero fields of
// ServerConfig.Admission. A request is one small read and one answer of at
// most MaxPeers records sampled from memory: 10 s is ample, and two at once
// per peer is more than a client that asks one peer at a time needs.
func DefaultAdmission() admission.Limits {
	return admission.Limits{
		FirstByte: admission.DefaultFirstByte, Request: DefaultAdmissionRequest,
		PeerRequests: DefaultPeerRequests, PrefixRequests: DefaultPrefixRequests, TotalRequests: DefaultTotalRequests,
		PeerIdle: DefaultPeerIdle, PrefixIdle: DefaultPrefixIdle, TotalIdle: DefaultTotalIdle,
	}
}

// admissionLimits fills l's zero fields from DefaultAdmission.
func admissionLimits(l admission.Limits) admission.Limits {
	d := DefaultAdmission()
	if l.FirstByte == 0 {
		l.FirstByte = d.FirstByte
	}
	if l.Request == 0 {
		l.Request = d.Request
	}
	for _, f := range []struct {
		v   *int
		def int
	}{
		{&l.PeerRequests, d.PeerRequests}, {&l.PrefixRequests, d.PrefixRequests}, {&l.TotalRequests, d.TotalRequests},
		{&l.PeerIdle, d.PeerIdle}, {&l.PrefixIdle, d.PrefixIdle}, {&l.TotalIdle, d.TotalIdle},
	} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return l
}
