package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	msmux "github.com/multiformats/go-multistream"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/metadatapb"
)

// The metadata protocol (/vac/waku/metadata/1.0.0): one request frame
// {cluster_id, shards} and one response frame of the same shape, each a
// varint-length-prefixed protobuf.
//
// Admission, as nwaku's peer manager does it: on every new connection,
// whichever side dialed, we query the peer and disconnect it when
//   - it does not speak the protocol, fails, or does not answer within
//     MetadataTimeout (ErrNoMetadata, ErrMetadataFailed, ErrMetadataTimeout;
//     HostConfig.TolerateNoMetadata admits peers that lack the protocol),
//   - its answer has no cluster id (ErrNoClusterID) or another one
//     (ErrClusterMismatch),
//   - it announces the relay protocol in identify but shares none of our
//     shards (ErrNoSharedShard; only checked when we relay some shard).
// A peer whose own request names another cluster is disconnected too, after
// it got our answer. A request without a cluster id is answered and left to
// our own query.
//
// Shard list encoding: nwaku writes and reads shards only packed (proto3's
// default); js-waku (@waku/proto, protons) writes them unpacked and fails to
// decode a packed list ("invalid wire type" / "index out of range"), so its
// peer store never learns our shards. We therefore answer in the encoding
// the peer used in its request, and otherwise send unpacked to peers whose
// identify agent starts with "js-waku" and packed to everybody else.
// Decoding accepts both.

// Reasons a peer is rejected; OnPeerRejected's error wraps one of them.
var (
	ErrNoMetadata      = errors.New("peer does not speak the metadata protocol")
	ErrMetadataTimeout = errors.New("metadata exchange timed out")
	ErrMetadataFailed  = errors.New("metadata exchange failed")
	ErrNoClusterID     = errors.New("peer reported no cluster id")
	ErrClusterMismatch = errors.New("peer is on another cluster")
	ErrNoSharedShard   = errors.New("relay peer shares none of our shards")
)

// PeerMetadata is what a peer reported in the metadata protocol.
type PeerMetadata struct {
	ClusterID uint32
	Shards    []uint32
	// Missing is set for a peer that does not speak the protocol and was
	// admitted because HostConfig.TolerateNoMetadata is set.
	Missing bool
}

// maxRejected bounds the memory of rejected peers.
const maxRejected = 4096

// peerState is the metadata check of one connected peer.
type peerState struct {
	done     chan struct{} // closed once the first outcome is known
	finished bool
	ready    bool
	md       PeerMetadata
	err      error
	// asked is the cluster the peer named in its own request, if any:
	// recorded before we answer, so it is known when the peer hangs up
	// right after reading our answer.
	asked *uint32
	gone  bool // the peer disconnected before the check settled
}

// settledLocked records that a check has its outcome; it drops the state of
// a peer that has already disconnected. h.mu is held.
func (h *Host) settledLocked(p peer.ID, st *peerState) {
	if !st.finished {
		st.finished = true
		close(st.done)
	}
	if st.gone && h.peers[p] == st {
		delete(h.peers, p)
	}
}

// Peer returns the metadata of a connected peer that has been admitted.
func (h *Host) Peer(p peer.ID) (PeerMetadata, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.peers[p]
	if st == nil || !st.ready {
		return PeerMetadata{}, false
	}
	return st.md, true
}

// Rejected returns why a peer was last disconnected by the metadata check.
func (h *Host) Rejected(p peer.ID) (error, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	err, ok := h.rejected[p]
	return err, ok
}

// ourMetadata is our cluster and our shards, sorted and without duplicates.
func (h *Host) ourMetadata() (uint32, []uint32) {
	var shards []uint32
	if h.cfg.Shards != nil {
		shards = slices.Clone(h.cfg.Shards())
		slices.Sort(shards)
		shards = slices.Compact(shards)
	}
	return uint32(h.cfg.ClusterID), shards
}

// connected runs in the network's notification: it only starts the check.
func (h *Host) connected(c network.Conn) { h.startCheck(c.RemotePeer()) }

func (h *Host) disconnected(c network.Conn) {
	p := c.RemotePeer()
	if h.h.Network().Connectedness(p) == network.Connected {
		return // another connection to the peer remains
	}
	h.mu.Lock()
	if st := h.peers[p]; st != nil {
		if st.finished {
			delete(h.peers, p)
		} else {
			st.gone = true // dropped when the check settles
		}
	}
	h.mu.Unlock()
}

// track counts a goroutine that Close waits for; false once the host is
// closed (the goroutine must not run).
func (h *Host) track() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

// startCheck returns the peer's check, starting it if there is none; nil
// once the host is closed.
func (h *Host) startCheck(p peer.ID) *peerState {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	if st := h.peers[p]; st != nil {
		return st
	}
	st := &peerState{done: make(chan struct{})}
	h.peers[p] = st
	h.wg.Add(1)
	go h.check(p, st)
	return st
}

func (h *Host) check(p peer.ID, st *peerState) {
	defer h.wg.Done()
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.MetadataTimeout)
	defer cancel()
	md, err := h.query(ctx, p)
	if err == nil {
		err = h.admissible(p, md)
	} else if errors.Is(err, ErrNoMetadata) && h.cfg.TolerateNoMetadata {
		md, err = PeerMetadata{Missing: true}, nil
	}
	if err != nil && !isRejection(err) {
		// The exchange failed (the peer may have hung up on us because
		// we are on another cluster): its own request, if it sent one,
		// is then the finding.
		if asked := h.askedCluster(st); asked != nil && *asked != uint32(h.cfg.ClusterID) {
			err = fmt.Errorf("%w: its request names cluster %d, we are on %d", ErrClusterMismatch, *asked, h.cfg.ClusterID)
		}
	}
	switch {
	case err == nil:
		h.accept(p, st, md)
	case h.ctx.Err() != nil:
		h.settle(p, st, false, PeerMetadata{}, ErrClosed)
	case h.h.Network().Connectedness(p) != network.Connected && !isRejection(err):
		// The peer left during the exchange: not a finding about it.
		h.settle(p, st, false, PeerMetadata{}, fmt.Errorf("p2p: %s: %w (%v)", p, ErrNotConnected, err))
	default:
		h.reject(p, st, err)
	}
}

func (h *Host) askedCluster(st *peerState) *uint32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return st.asked
}

// isRejection tells findings about the peer's answer from transport errors.
func isRejection(err error) bool {
	return errors.Is(err, ErrNoClusterID) || errors.Is(err, ErrClusterMismatch) ||
		errors.Is(err, ErrNoSharedShard) || errors.Is(err, ErrNoMetadata)
}

// admissible applies the admission rules to a peer's answer.
func (h *Host) admissible(p peer.ID, md PeerMetadata) error {
	cluster, ours := h.ourMetadata()
	if md.ClusterID != cluster {
		return fmt.Errorf("%w: it reported cluster %d, we are on %d", ErrClusterMismatch, md.ClusterID, cluster)
	}
	if len(ours) == 0 {
		return nil
	}
	relay, err := h.h.Peerstore().SupportsProtocols(p, protocol.ID(gossipsub.WakuRelay))
	if err != nil || len(relay) == 0 {
		return nil
	}
	for _, s := range md.Shards {
		if _, ok := slices.BinarySearch(ours, s); ok {
			return nil
		}
	}
	return fmt.Errorf("%w: it relays %v, we relay %v", ErrNoSharedShard, md.Shards, ours)
}

// settle records the first outcome of a check; it reports whether this call
// decided it.
func (h *Host) settle(p peer.ID, st *peerState, ready bool, md PeerMetadata, err error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st.finished {
		return false
	}
	st.ready, st.md, st.err = ready, md, err
	h.settledLocked(p, st)
	return true
}

func (h *Host) accept(p peer.ID, st *peerState, md PeerMetadata) {
	if !h.settle(p, st, true, md, nil) {
		return
	}
	h.mu.Lock()
	delete(h.rejected, p)
	h.mu.Unlock()
	h.log.Debug("peer admitted", "peer", p, "cluster", md.ClusterID, "shards", md.Shards, "no_metadata", md.Missing)
	if h.cfg.OnPeerReady != nil {
		h.cfg.OnPeerReady(p, md)
	}
}

// reject disconnects a peer. st may already be settled: a rejection
// overrides an earlier admission.
func (h *Host) reject(p peer.ID, st *peerState, reason error) {
	decided := false
	h.mu.Lock()
	switch {
	case !st.finished:
		st.err = reason
		h.settledLocked(p, st)
		decided = true
	case st.ready:
		st.ready, st.md, st.err = false, PeerMetadata{}, reason
		decided = true
	}
	if decided {
		if len(h.rejected) >= maxRejected {
			for k := range h.rejected {
				delete(h.rejected, k)
				break
			}
		}
		h.rejected[p] = reason
	}
	h.mu.Unlock()
	if decided {
		h.log.Info("disconnecting peer", "peer", p, "reason", reason)
		if h.cfg.OnPeerRejected != nil {
			h.cfg.OnPeerRejected(p, reason)
		}
	}
	_ = h.h.Network().ClosePeer(p)
}

// query asks a peer for its metadata.
func (h *Host) query(ctx context.Context, p peer.ID) (PeerMetadata, error) {
	s, err := h.openNegotiated(ctx, p, ProtocolMetadata)
	if err != nil {
		switch {
		case errors.Is(err, msmux.ErrNotSupported[protocol.ID]{}):
			return PeerMetadata{}, fmt.Errorf("%w: %v", ErrNoMetadata, err)
		case errors.Is(err, context.DeadlineExceeded):
			return PeerMetadata{}, fmt.Errorf("%w: open stream: %v", ErrMetadataTimeout, err)
		}
		return PeerMetadata{}, exchangeError(ctx, "open stream", err)
	}
	defer s.Close()
	cluster, shards := h.ourMetadata()
	req := encodeMetadata(cluster, shards, h.packedFor(p, nil))
	if err := wire.WriteFrame(s, req); err != nil {
		s.Reset()
		return PeerMetadata{}, exchangeError(ctx, "write request", err)
	}
	// Half-close: js-waku's handler reads until the end of our side before
	// it stores what we sent, nwaku's waits for it before closing.
	_ = s.CloseWrite()
	frame, err := wire.ReadFrame(s, wire.MaxControlFrameSize)
	if err != nil {
		s.Reset()
		return PeerMetadata{}, exchangeError(ctx, "read response", err)
	}
	var resp metadatapb.WakuMetadataResponse
	if err := wire.Decode(frame, &resp); err != nil {
		s.Reset()
		return PeerMetadata{}, fmt.Errorf("%w: decode response: %v", ErrMetadataFailed, err)
	}
	if resp.ClusterId == nil {
		return PeerMetadata{}, ErrNoClusterID
	}
	return PeerMetadata{ClusterID: resp.GetClusterId(), Shards: resp.GetShards()}, nil
}

// A check whose peer has no connection looks again every noConnRetry for
// up to noConnGrace (see newStreamNoDial).
const (
	noConnRetry = 20 * time.Millisecond
	noConnGrace = time.Second
)

// newStreamNoDial opens a stream to p on a connection it already has.
// It never dials: a check whose peer left (or was disconnected, by us or
// by the peer manager) must fail, not bring the peer back. A peer may be
// without a connection for a moment while it has a new one coming (two
// dialled at once, one closed as the other completes, as a loaded machine
// showed in TestDevnet): the check waits up to noConnGrace for one.
func (h *Host) newStreamNoDial(ctx context.Context, p peer.ID) (network.Stream, error) {
	nodial := network.WithNoDial(ctx, "metadata check")
	grace := time.NewTimer(noConnGrace)
	defer grace.Stop()
	for {
		s, err := h.h.Network().NewStream(nodial, p)
		if err == nil || !errors.Is(err, network.ErrNoConn) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-grace.C:
			return nil, err
		case <-time.After(noConnRetry):
		}
	}
}

// openNegotiated opens a stream to p and completes the protocol
// negotiation before it returns, so that what is written next goes after
// the peer accepted the protocol. (The host's NewStream negotiates lazily
// with a peer whose protocols identify announced: the negotiation, the
// request and the half-close then leave in one burst, and js-waku may read
// the request before its own handler is in place, recording us as
// cluster 0.) The stream's deadline is ctx's.
func (h *Host) openNegotiated(ctx context.Context, p peer.ID, id protocol.ID) (network.Stream, error) {
	// As the host's NewStream does: identify first (what the request
	// depends on, the peer's agent, comes with it), then the stream.
	if ids, ok := h.h.(interface{ IDService() identify.IDService }); ok {
		if conns := h.h.Network().ConnsToPeer(p); len(conns) > 0 {
			select {
			case <-ids.IDService().IdentifyWait(conns[0]):
			case <-ctx.Done():
				return nil, fmt.Errorf("identify: %w", ctx.Err())
			}
		}
	}
	s, err := h.newStreamNoDial(ctx, p)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	if err := msmux.SelectProtoOrFail(id, s); err != nil {
		_ = s.Reset()
		return nil, err
	}
	if err := s.SetProtocol(id); err != nil {
		_ = s.Reset()
		return nil, err
	}
	return s, nil
}

func exchangeError(ctx context.Context, what string, err error) error {
	var ne net.Error
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %s: %v", ErrMetadataTimeout, what, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrMetadataFailed, what, err)
}

// handleMetadata answers a peer's request, and disconnects the peer when the
// request names another cluster.
func (h *Host) handleMetadata(s network.Stream) {
	// The handler may outlive its request (it waits on our own query, see
	// below): the host waits for it on Close.
	if !h.track() {
		_ = s.Reset()
		return
	}
	defer h.wg.Done()
	p := s.Conn().RemotePeer()
	// The gate resets a stream idle past MetadataIdleTimeout, and gives a
	// started request MetadataTimeout to be read and answered.
	in, ok := h.metaGate.Accept(s)
	if !ok {
		return
	}
	defer in.Done()
	if b := in.Busy(); b != nil {
		// No busy status in this protocol: the request is refused unread.
		h.log.Debug("metadata request refused", "peer", p, "reason", b.Error())
		s.Reset()
		return
	}
	frame, err := wire.ReadFrame(in, wire.MaxControlFrameSize)
	if err != nil {
		h.log.Debug("metadata request unreadable", "peer", p, "err", err)
		s.Reset()
		return
	}
	var req metadatapb.WakuMetadataRequest
	if err := wire.Decode(frame, &req); err != nil {
		h.log.Debug("metadata request malformed", "peer", p, "err", err)
		s.Reset()
		return
	}
	st := h.startCheck(p)
	if st == nil {
		s.Reset()
		return // closing
	}
	if req.ClusterId != nil {
		asked := req.GetClusterId()
		h.mu.Lock()
		st.asked = &asked
		h.mu.Unlock()
	}
	cluster, shards := h.ourMetadata()
	if err := wire.WriteFrame(s, encodeMetadata(cluster, shards, h.packedFor(p, frame))); err != nil {
		h.log.Debug("metadata response not sent", "peer", p, "err", err)
		s.Reset()
		return
	}
	_ = s.Close()
	in.Done() // answered; what follows waits on our own query only
	if req.ClusterId == nil || req.GetClusterId() == cluster {
		return
	}
	// Another cluster. Our own query normally finds it too (and the peer
	// can read our answer before we hang up); a peer whose answer names
	// our cluster while its request names another is rejected here.
	select {
	case <-st.done:
	case <-h.ctx.Done():
		return
	}
	h.mu.Lock()
	admitted := st.ready
	h.mu.Unlock()
	if admitted {
		h.reject(p, st, fmt.Errorf("%w: its request names cluster %d, we are on %d", ErrClusterMismatch, req.GetClusterId(), cluster))
	}
}

// packedFor chooses the shard list encoding for a peer: the one its own
// message used, else unpacked for js-waku, else packed.
func (h *Host) packedFor(p peer.ID, theirs []byte) bool {
	if packed, ok := shardsEncoding(theirs); ok {
		return packed
	}
	if av, err := h.h.Peerstore().Get(p, "AgentVersion"); err == nil {
		if s, ok := av.(string); ok && strings.HasPrefix(s, "js-waku") {
			return false
		}
	}
	return true
}

// shardsEncoding reports whether a metadata message carries its shards
// packed; ok is false when it has none (or does not parse).
func shardsEncoding(b []byte) (packed, ok bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false, false
		}
		b = b[n:]
		if num == 2 {
			switch typ {
			case protowire.BytesType:
				return true, true
			case protowire.VarintType:
				return false, true
			}
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return false, false
		}
		b = b[n:]
	}
	return false, false
}

// encodeMetadata encodes a request or response (same layout): cluster_id
// always present, shards packed or one field each.
func encodeMetadata(cluster uint32, shards []uint32, packed bool) []byte {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(cluster))
	if len(shards) == 0 {
		return b
	}
	if packed {
		var inner []byte
		for _, s := range shards {
			inner = protowire.AppendVarint(inner, uint64(s))
		}
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		return protowire.AppendBytes(b, inner)
	}
	for _, s := range shards {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(s))
	}
	return b
}
