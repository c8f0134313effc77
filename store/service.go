package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// Protocol is store v3's protocol id.
const Protocol = wire.StoreQueryProtocol

// Status codes of store v3.
const (
	StatusOK         = 200
	StatusBadRequest = 400
	StatusInternal   = 500
)

// streamTimeout bounds one query on a stream once its first byte arrived.
const streamTimeout = 30 * time.Second

// Service answers store v3 queries from an archive.
type Service struct {
	h   host.Host
	a   Archive
	log *slog.Logger
	m   *Metrics
}

// ServiceConfig configures a Service; every field is optional.
type ServiceConfig struct {
	Logger  *slog.Logger
	Metrics *Metrics
}

// NewService serves store v3 queries on h from a.
func NewService(h host.Host, a Archive, cfg ServiceConfig) *Service {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{h: h, a: a, log: log, m: cfg.Metrics}
	h.SetStreamHandler(Protocol, s.handle)
	return s
}

// Close stops serving.
func (s *Service) Close() { s.h.RemoveStreamHandler(Protocol) }

// Answer runs one query: the core of the protocol handler.
func (s *Service) Answer(ctx context.Context, req *storepb.StoreQueryRequest) *storepb.StoreQueryResponse {
	resp := &storepb.StoreQueryResponse{RequestId: req.GetRequestId()}
	fail := func(code uint32, format string, a ...any) *storepb.StoreQueryResponse {
		desc := fmt.Sprintf(format, a...)
		resp.StatusCode, resp.StatusDesc = &code, &desc
		switch code {
		case StatusBadRequest:
			s.m.queryError("bad_request")
		case StatusInternal:
			s.m.queryError("store_failure")
		}
		return resp
	}
	q := Query{
		PubsubTopic: req.GetPubsubTopic(), ContentTopics: req.GetContentTopics(),
		StartTime: req.TimeStart, EndTime: req.TimeEnd,
		Forward: req.GetPaginationForward(), Limit: int(min(req.GetPaginationLimit(), uint64(MaxPageSize+1))),
	}
	for _, b := range req.GetMessageHashes() {
		h, err := ParseCursor(b)
		if err != nil || h == nil {
			return fail(StatusBadRequest, "bad message hash: 32 bytes expected")
		}
		q.Hashes = append(q.Hashes, *h)
	}
	cursor, err := ParseCursor(req.GetPaginationCursor())
	if err != nil {
		return fail(StatusBadRequest, "%v", err)
	}
	q.Cursor = cursor
	if err := q.Validate(); err != nil {
		return fail(StatusBadRequest, "%v", err)
	}
	start := time.Now()
	page, err := s.a.Query(ctx, q)
	s.m.queried(time.Since(start))
	switch {
	case errors.Is(err, ErrUnknownCursor), errors.Is(err, ErrInvalidQuery):
		return fail(StatusBadRequest, "%v", err)
	case err != nil:
		s.log.Error("store query", "err", err)
		return fail(StatusInternal, "the archive could not answer")
	}
	for _, m := range page.Messages {
		kv := &storepb.WakuMessageKeyValue{MessageHash: m.Hash[:]}
		if req.GetIncludeData() {
			topic := m.PubsubTopic
			kv.Message, kv.PubsubTopic = m.Message, &topic
		}
		resp.Messages = append(resp.Messages, kv)
	}
	if page.Next != nil {
		resp.PaginationCursor = page.Next[:]
	}
	return fail(StatusOK, "OK")
}

func (s *Service) handle(st network.Stream) {
	defer st.Close()
	in, ok := wire.AwaitRequest(st, streamTimeout)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
	defer cancel()
	var req storepb.StoreQueryRequest
	var resp *storepb.StoreQueryResponse
	if err := wire.ReadMsg(in, &req); err != nil {
		s.m.queryError("decode_rpc_failure")
		code, desc := uint32(StatusBadRequest), "cannot read the request: "+err.Error()
		resp = &storepb.StoreQueryResponse{StatusCode: &code, StatusDesc: &desc}
	} else {
		resp = s.Answer(ctx, &req)
	}
	if err := wire.WriteMsg(st, resp); err != nil {
		s.log.Debug("store answer", "peer", st.Conn().RemotePeer(), "err", err)
	}
}

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
