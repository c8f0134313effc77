package gopubsub

import (
	"bufio"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"google.golang.org/protobuf/encoding/protodelim"

	"github.com/rlnd/rlnd/wire/pb/metadatapb"
)

// metadataTimeout bounds one metadata exchange served.
const metadataTimeout = 10 * time.Second

// maxMetadataRequest bounds a metadata request's encoded size: a cluster
// id and the 1,024 shards a cluster can have.
const maxMetadataRequest = 8 << 10

// serveMetadata answers Waku metadata requests with the node's cluster
// and shards: one varint-length-prefixed WakuMetadataRequest in, one
// WakuMetadataResponse out, then the stream is closed. rlnd hosts query
// every peer on connection and drop those that do not answer, are on
// another cluster, or relay none of their shards. (go-waku also queries
// its peers; these nodes only answer, as the tests dial rlnd from them
// or let rlnd dial them, and rlnd's answer is checked by rlnd's own tests.)
func (n *Node) serveMetadata(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(metadataTimeout))
	var req metadatapb.WakuMetadataRequest
	opts := protodelim.UnmarshalOptions{MaxSize: maxMetadataRequest}
	if err := opts.UnmarshalFrom(bufio.NewReader(s), &req); err != nil {
		_ = s.Reset()
		return
	}
	cluster := uint32(n.cfg.ClusterID)
	resp := &metadatapb.WakuMetadataResponse{ClusterId: &cluster, Shards: n.cfg.Shards}
	if _, err := protodelim.MarshalTo(s, resp); err != nil {
		_ = s.Reset()
	}
}
