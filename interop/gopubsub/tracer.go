package gopubsub

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/proto"
)

// tracer is the node's go-libp2p-pubsub RawTracer: it counts what the
// tests look at per peer (IDONTWANT sent and received, the messages each
// peer sent us, messages we sent a peer after it said IDONTWANT), and
// follows our mesh from the GRAFT and PRUNE events. go-libp2p-pubsub calls
// RecvRPC and SendRPC from its event loop, in the order it handles them.
type tracer struct {
	mu    sync.Mutex
	peers map[peer.ID]*peerTrace
	mesh  map[string]map[peer.ID]struct{}
}

// peerTrace is what the tracer saw of one peer.
type peerTrace struct {
	outProto protocol.ID // our stream to it
	// IDONTWANT control entries and the message ids they carry.
	dontWantSent, dontWantRecv       int
	dontWantSentIDs, dontWantRecvIDs int
	// recv: the message ids it sent us (each RPC entry), with the time of
	// the first.
	recv     map[string]time.Time
	recvMsgs int
	// dontWant: ids it asked us not to send; sentAfter: the ids of
	// messages we still queued for it afterwards.
	dontWant  map[string]struct{}
	sentAfter []string
	// dontWantAt: when we queued an IDONTWANT for each id.
	dontWantAt map[string]time.Time
	// maxRecv and maxSent are the largest RPCs received from it and
	// queued for it, in bytes as encoded.
	maxRecv, maxSent int
	// pxPeers counts the peers its PRUNEs offered us, and pxRecords those
	// offered with a signed peer record.
	pxPeers, pxRecords int
}

func newTracer() *tracer {
	return &tracer{peers: map[peer.ID]*peerTrace{}, mesh: map[string]map[peer.ID]struct{}{}}
}

func (t *tracer) peer(p peer.ID) *peerTrace {
	pt := t.peers[p]
	if pt == nil {
		pt = &peerTrace{recv: map[string]time.Time{}, dontWant: map[string]struct{}{}, dontWantAt: map[string]time.Time{}}
		t.peers[p] = pt
	}
	return pt
}

var _ pubsub.RawTracer = (*tracer)(nil)

func (t *tracer) OnNewOutboundStream(p peer.ID, proto protocol.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.peer(p).outProto = proto
}

func (t *tracer) OnClosedOutboundStream(peer.ID) {}
func (t *tracer) Join(string)                    {}
func (t *tracer) Leave(string)                   {}

func (t *tracer) Graft(p peer.ID, topic string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mesh[topic] == nil {
		t.mesh[topic] = map[peer.ID]struct{}{}
	}
	t.mesh[topic][p] = struct{}{}
}

func (t *tracer) Prune(p peer.ID, topic string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.mesh[topic], p)
}

func (t *tracer) ValidateMessage(*pubsub.Message)                      {}
func (t *tracer) DeliverMessage(*pubsub.Message)                       {}
func (t *tracer) RejectMessage(*pubsub.Message, string)                {}
func (t *tracer) DuplicateMessage(*pubsub.Message)                     {}
func (t *tracer) ThrottlePeer(peer.ID)                                 {}
func (t *tracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (t *tracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (t *tracer) UndeliverableMessage(*pubsub.Message)                 {}

func (t *tracer) RecvRPC(rpc *pubsub.RPC) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := t.peer(rpc.From())
	pt.maxRecv = max(pt.maxRecv, proto.Size(&rpc.RPC))
	for _, m := range rpc.GetPublish() {
		id := MessageID(m)
		pt.recvMsgs++
		if _, ok := pt.recv[id]; !ok {
			pt.recv[id] = now
		}
	}
	ctl := rpc.GetControl()
	for _, d := range ctl.GetIdontwant() {
		pt.dontWantRecv++
		pt.dontWantRecvIDs += len(d.GetMessageIDs())
		for _, id := range d.GetMessageIDs() {
			pt.dontWant[id] = struct{}{}
		}
	}
	for _, pr := range ctl.GetPrune() {
		for _, pi := range pr.GetPeers() {
			pt.pxPeers++
			if len(pi.GetSignedPeerRecord()) > 0 {
				pt.pxRecords++
			}
		}
	}
}

func (t *tracer) SendRPC(rpc *pubsub.RPC, p peer.ID) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := t.peer(p)
	pt.maxSent = max(pt.maxSent, proto.Size(&rpc.RPC))
	for _, m := range rpc.GetPublish() {
		if id := MessageID(m); hasKey(pt.dontWant, id) {
			pt.sentAfter = append(pt.sentAfter, id)
		}
	}
	for _, d := range rpc.GetControl().GetIdontwant() {
		pt.dontWantSent++
		pt.dontWantSentIDs += len(d.GetMessageIDs())
		for _, id := range d.GetMessageIDs() {
			if _, ok := pt.dontWantAt[id]; !ok {
				pt.dontWantAt[id] = now
			}
		}
	}
}

func hasKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

// PeerTrace is what a node's tracer saw of one peer.
type PeerTrace struct {
	// OutProtocol is the protocol of our pubsub stream to the peer (the
	// one go-libp2p-pubsub judges the peer's features by).
	OutProtocol protocol.ID
	// IDontWantSent and IDontWantReceived count IDONTWANT control entries
	// we queued for the peer and got from it; the *IDs fields count the
	// message ids in them.
	IDontWantSent, IDontWantReceived       int
	IDontWantSentIDs, IDontWantReceivedIDs int
	// MessagesReceived counts the message entries of the peer's RPCs,
	// duplicates included.
	MessagesReceived int
	// SentAfterIDontWant are ids of messages we queued for the peer after
	// it had told us IDONTWANT for them (go-libp2p-pubsub must not).
	SentAfterIDontWant []string
	// LargestReceived and LargestSent are the largest RPCs the peer sent
	// us and we queued for it, in bytes (an RPC is one frame).
	LargestReceived, LargestSent int
	// PXPeers counts the peers the peer's PRUNEs offered; PXRecords those
	// that came with a signed peer record.
	PXPeers, PXRecords int
}

// Trace returns what the node's tracer saw of p.
func (n *Node) Trace(p peer.ID) PeerTrace {
	t := n.tracer
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := t.peers[p]
	if pt == nil {
		return PeerTrace{}
	}
	return PeerTrace{
		OutProtocol:   pt.outProto,
		IDontWantSent: pt.dontWantSent, IDontWantReceived: pt.dontWantRecv,
		IDontWantSentIDs: pt.dontWantSentIDs, IDontWantReceivedIDs: pt.dontWantRecvIDs,
		MessagesReceived:   pt.recvMsgs,
		SentAfterIDontWant: append([]string(nil), pt.sentAfter...),
		LargestReceived:    pt.maxRecv, LargestSent: pt.maxSent,
		PXPeers: pt.pxPeers, PXRecords: pt.pxRecords,
	}
}

// ReceivedFrom tells whether p sent us the message id (in any RPC).
func (n *Node) ReceivedFrom(p peer.ID, id string) bool {
	t := n.tracer
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := t.peers[p]
	return pt != nil && hasKey(pt.recv, id)
}

// IDontWantSentAt is when we queued IDONTWANT for message id to p.
func (n *Node) IDontWantSentAt(p peer.ID, id string) (time.Time, bool) {
	t := n.tracer
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := t.peers[p]
	if pt == nil {
		return time.Time{}, false
	}
	at, ok := pt.dontWantAt[id]
	return at, ok
}

// Mesh returns our mesh peers on topic, as followed from GRAFT and PRUNE
// events (a peer that disconnects stays listed: the tests do not
// disconnect mesh peers).
func (n *Node) Mesh(topic string) []peer.ID {
	t := n.tracer
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []peer.ID
	for p := range t.mesh[topic] {
		out = append(out, p)
	}
	return out
}
