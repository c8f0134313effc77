package gossipsub

// Protocol is the pubsub protocol a peer's stream was negotiated with: its
// protocol id. The libp2p driver (relay/pubsub) offers these ids, and the
// rest of rlnd names them through these constants.
type Protocol string

// The pubsub protocols.
const (
	// WakuRelay is Waku relay's id: gossipsub v1.1 on Waku's id.
	WakuRelay Protocol = "/vac/waku/relay/2.0.0"
	// Meshsub11 is gossipsub v1.1.
	Meshsub11 Protocol = "/meshsub/1.1.0"
	// Meshsub12 is gossipsub v1.2, which adds IDONTWANT.
	Meshsub12 Protocol = "/meshsub/1.2.0"
)

// String is the protocol id.
func (p Protocol) String() string { return string(p) }
