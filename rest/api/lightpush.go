package api

// PushRequest is the body of POST /lightpush/v3/message and
// /lightpush/v1/message (nwaku's PushRequest): the message, and the pubsub
// topic to publish it on (empty: its content topic's shard, by
// autosharding).
type PushRequest struct {
	PubsubTopic string   `json:"pubsubTopic,omitempty"`
	Message     *Message `json:"message"`
}

// PushResponse is POST /lightpush/v3/message's answer (nwaku's
// PushResponse, with the lightpush status code added): on success the
// number of relay peers the message went to, else why it failed. The
// HTTP status is the lightpush code, except 420 (invalid message), which
// is answered 400, and a code lightpush v3 does not define, answered 500.
type PushResponse struct {
	// StatusCode is the lightpush v3 status code (200 on success), always
	// written by rlnd; nwaku does not send it (0 when decoding its
	// answers).
	StatusCode     uint32  `json:"statusCode"`
	StatusDesc     string  `json:"statusDesc,omitempty"`
	RelayPeerCount *uint32 `json:"relayPeerCount,omitempty"`
}
