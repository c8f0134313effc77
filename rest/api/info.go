package api

// DebugInfo is /debug/v1/info's answer.
type DebugInfo struct {
	ListenAddresses []string `json:"listenAddresses"`
	ENRUri          string   `json:"enrUri,omitempty"`
}

// Peer connectedness values, as nwaku writes them.
const (
	NotConnected  = "NotConnected"
	CanConnect    = "CanConnect"
	Connected     = "Connected"
	CannotConnect = "CannotConnect"
)

// Peer origins, as nwaku writes them.
const (
	OriginUnknown      = "UnknownOrigin"
	OriginDiscv5       = "Discv5"
	OriginStatic       = "Static"
	OriginPeerExchange = "PeerExchange"
	OriginDNS          = "Dns"
)

// Peer is one peer in /admin/v1/peers (nwaku's WakuPeer).
type Peer struct {
	Multiaddr string   `json:"multiaddr"`
	Protocols []string `json:"protocols"`
	Shards    []uint16 `json:"shards"`
	// Connected is one of the connectedness values above.
	Connected string `json:"connected"`
	Agent     string `json:"agent"`
	// Origin is one of the origins above.
	Origin string   `json:"origin"`
	Score  *float64 `json:"score"`
}
