package gossipsub

// Result is a validator's verdict on a message, as in libp2p pubsub.
type Result int

const (
	// Accept delivers the message to the application and forwards it.
	Accept Result = iota
	// Ignore drops the message without penalising its sender (duplicates,
	// messages that are stale, or that the node cannot judge now).
	Ignore
	// Reject drops the message and counts it against every peer that sent
	// it (an invalid-message penalty in the peer score).
	Reject
)

func (r Result) String() string {
	switch r {
	case Accept:
		return "accept"
	case Ignore:
		return "ignore"
	case Reject:
		return "reject"
	}
	return "unknown"
}
