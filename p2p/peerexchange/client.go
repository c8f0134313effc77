package peerexchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/wire"
)

// ErrInvalidNumPeers: Request was asked for fewer than 1 or more than
// MaxPeers records.
var ErrInvalidNumPeers = errors.New("peerexchange: invalid number of peers")

// Request asks peer p for numPeers (1 to MaxPeers) ENRs and returns the
// good ones in the order sent: each a v4 record whose signature verified,
// at most numPeers, no node twice. The answer frame is bounded by
// MaxResponseSize and the request in time by ctx, or DefaultRequestTimeout
// when ctx has no deadline; cancelling ctx resets the stream.
//
// A bad record (not RLP, over MaxRecordSize, no valid v4 signature) is
// skipped, as nwaku's client does, and so is a second record of one node;
// only an answer whose records are all bad fails (ErrBadRecord). An answer
// without a status code is a success (go-waku's and older nwaku's).
//
// Errors: ErrInvalidNumPeers; a failure to open the stream, write or read
// (wrapping ctx's error when ctx ended or its deadline cut the stream, and
// io.EOF when the server closed without answering); ErrResponseTooLarge;
// ErrMalformedResponse (no PeerExchangeRPC, or no response in it);
// ErrTooManyRecords (more than numPeers: nothing is returned); ErrBadRecord;
// a *StatusError wrapping ErrRefused when the status code is not 200.
func Request(ctx context.Context, h host.Host, p peer.ID, numPeers int) ([]*enode.Node, error) {
	if numPeers < 1 || numPeers > MaxPeers {
		return nil, fmt.Errorf("%w: asked for %d, want 1 to %d", ErrInvalidNumPeers, numPeers, MaxPeers)
	}
	req, err := encodeRequest(uint64(numPeers))
	if err != nil {
		return nil, fmt.Errorf("peerexchange: encode the query: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultRequestTimeout)
		defer cancel()
	}
	st, err := h.NewStream(ctx, p, Protocol)
	if err != nil {
		return nil, fmt.Errorf("peerexchange: open a stream to %s: %w", p, err)
	}
	defer st.Close()
	dl, _ := ctx.Deadline()
	_ = st.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	// The stream's deadline is ctx's: a read cut by it may return before
	// ctx reports its end, and is the same failure.
	fail := func(what string, err error) error {
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("peerexchange: %s (peer %s): %w", what, p, context.Cause(ctx))
		case errors.As(err, &ne) && ne.Timeout():
			return fmt.Errorf("peerexchange: %s (peer %s): %w: %w", what, p, context.DeadlineExceeded, err)
		}
		return fmt.Errorf("peerexchange: %s (peer %s): %w", what, p, err)
	}
	if _, err := st.Write(req); err != nil {
		_ = st.Reset()
		return nil, fail("send the query", err)
	}
	_ = st.CloseWrite()
	b, err := wire.ReadFrame(st, MaxResponseSize)
	if err != nil {
		if errors.Is(err, wire.ErrTooLarge) {
			_ = st.Reset()
			return nil, fmt.Errorf("%w (peer %s): %w", ErrResponseTooLarge, p, err)
		}
		if errors.Is(err, io.EOF) {
			return nil, fail("read the answer: the stream ended before one", err)
		}
		return nil, fail("read the answer", err)
	}
	nodes, err := decodeResponse(b, numPeers)
	if err != nil {
		return nil, fmt.Errorf("%w (peer %s)", err, p)
	}
	return nodes, nil
}
