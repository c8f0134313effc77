package store

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// QueryPeer sends a store v3 query to p and returns its answer. A missing
// request id is filled in.
func QueryPeer(ctx context.Context, h host.Host, p peer.ID, req *storepb.StoreQueryRequest) (*storepb.StoreQueryResponse, error) {
	if req.RequestId == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		req.RequestId = fmt.Sprintf("%x", b)
	}
	st, err := h.NewStream(ctx, p, Protocol)
	if err != nil {
		return nil, fmt.Errorf("store: open a stream to %s: %w", p, err)
	}
	defer st.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	}
	if err := wire.WriteMsg(st, req); err != nil {
		_ = st.Reset()
		return nil, fmt.Errorf("store: send: %w", err)
	}
	_ = st.CloseWrite()
	var resp storepb.StoreQueryResponse
	if err := wire.ReadMsg(st, &resp); err != nil {
		return nil, fmt.Errorf("store: read the answer: %w", err)
	}
	if resp.GetRequestId() != req.RequestId {
		return nil, fmt.Errorf("store: answer to request %q, sent %q", resp.GetRequestId(), req.RequestId)
	}
	return &resp, nil
}
