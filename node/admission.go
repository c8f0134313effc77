package node

import (
	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/p2p/admission"
)

// admissionLimits are the limits of the request streams of lightpush,
// store and filter (each protocol counted on its own) from the p2p keys.
func admissionLimits(c config.P2PConfig) admission.Limits {
	return admission.Limits{
		FirstByte: c.RequestFirstByteTimeout, Request: c.RequestTimeout,
		PeerRequests: c.RequestsPerPeer, PrefixRequests: c.RequestsPerPrefix, TotalRequests: c.RequestsTotal,
		PeerIdle: c.IdleStreamsPerPeer, PrefixIdle: c.IdleStreamsPerPrefix, TotalIdle: c.IdleStreamsTotal,
	}
}

// metadataLimits are the metadata responder's: the same counts, with the
// host's own metadata deadlines (a 2 min idle stream, 5 s to answer).
func metadataLimits(c config.P2PConfig) admission.Limits {
	l := admissionLimits(c)
	l.FirstByte, l.Request = 0, 0
	return l
}
