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

// idontwant tells whether IDONTWANT is sent to a peer on this protocol:
// gossipsub v1.2, and Waku relay's own id, as nwaku (nim-libp2p) sends it
// to every mesh peer whatever the id. A peer on meshsub 1.1 gets none (it
// may not parse it); go-libp2p-pubsub honours IDONTWANT from a peer on any
// id, and so does the router.
func (p Protocol) idontwant() bool { return p == Meshsub12 || p == WakuRelay }
