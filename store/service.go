package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/p2p/admission"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// Service answers store v3 queries from an archive.
type Service struct {
	h     host.Host
	a     Archive
	log   *slog.Logger
	m     *metrics
	gate  *admission.Gate
	pages *pageBudget
}

// ServiceConfig configures a Service; every field is optional.
type ServiceConfig struct {
	Logger *slog.Logger
	// Admission bounds the query streams (deadlines, requests in progress
	// and idle streams per peer, per address prefix and in all); zero
	// fields take admission's defaults.
	Admission admission.Limits
	// MaxFullPages bounds the responses in flight, in full pages (100
	// messages of up to 150 KiB); a query whose page would not fit is
	// answered 503 (default DefaultMaxFullPages).
	MaxFullPages int
	// Registerer receives the store metrics and the admission metrics
	// (nil: not registered); the node's archiver registers the same store
	// metrics on the same registry.
	Registerer prometheus.Registerer
}

// NewService serves store v3 queries on h from a.
func NewService(h host.Host, a Archive, cfg ServiceConfig) (*Service, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxFullPages <= 0 {
		cfg.MaxFullPages = DefaultMaxFullPages
	}
	m, err := newMetrics(cfg.Registerer, a)
	if err != nil {
		return nil, fmt.Errorf("store: service metrics: %w", err)
	}
	gate, err := admission.New(admission.Config{Protocol: string(Protocol), Limits: cfg.Admission, Registerer: cfg.Registerer, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Service{h: h, a: a, log: log, m: m, gate: gate, pages: newPageBudget(cfg.MaxFullPages)}
	h.SetStreamHandler(Protocol, s.handle)
	return s, nil
}

// Admission is the gate of the query streams (its limits and counts).
func (s *Service) Admission() *admission.Gate { return s.gate }

// Close stops serving: it returns once the queries in progress have ended
// (their contexts cancelled, see admission.Gate.Close), so that none
// reaches the archive after it.
func (s *Service) Close() {
	s.h.RemoveStreamHandler(Protocol)
	s.gate.Close()
}

// Answer runs one query: the core of the protocol handler (AnswerQuery,
// with the store metrics).
func (s *Service) Answer(ctx context.Context, req *storepb.StoreQueryRequest) *storepb.StoreQueryResponse {
	resp, err := AnswerQuery(ctx, timedArchive{s.a, s.m}, req)
	switch StatusCode(resp.GetStatusCode()) {
	case StatusBadRequest:
		s.m.queryError("bad_request")
	case StatusInternal:
		s.m.queryError("store_failure")
		s.log.Error("store query", "err", err)
	}
	return resp
}

// timedArchive times the queries that reach the archive.
type timedArchive struct {
	Archive
	m *metrics
}

func (t timedArchive) Query(ctx context.Context, q Query) (Page, error) {
	start := time.Now()
	p, err := t.Archive.Query(ctx, q)
	t.m.queried(time.Since(start))
	return p, err
}

// QueryOf is the archive query a store v3 request asks for, checked
// (Query.Validate); an error, wrapping ErrInvalidQuery, is what the
// request's 400 answer says. A page limit above MaxPageSize is clamped.
func QueryOf(req *storepb.StoreQueryRequest) (Query, error) {
	q := Query{
		PubsubTopic: req.GetPubsubTopic(), ContentTopics: req.GetContentTopics(),
		StartTime: req.TimeStart, EndTime: req.TimeEnd,
		Forward: req.GetPaginationForward(), Limit: int(min(req.GetPaginationLimit(), uint64(MaxPageSize+1))),
	}
	for _, b := range req.GetMessageHashes() {
		h, err := ParseCursor(b)
		if err != nil || h == nil {
			return Query{}, fmt.Errorf("%w: bad message hash: 32 bytes expected", ErrInvalidQuery)
		}
		q.Hashes = append(q.Hashes, *h)
	}
	cursor, err := ParseCursor(req.GetPaginationCursor())
	if err != nil {
		return Query{}, err
	}
	q.Cursor = cursor
	if err := q.Validate(); err != nil {
		return Query{}, err
	}
	return q, nil
}

// AnswerQuery answers a store v3 request from archive a, as the protocol's
// service does: the request turned into a query (QueryOf), the page into
// the response, with the messages and their pubsub topics when the
// request includes data. A request the archive cannot take (a bad query,
// an unknown cursor) is answered 400; a failure of the archive is
// answered 500 and returned as err (for the caller's log: the answer
// does not carry it). The node's REST API answers from its own archive
// with it.
func AnswerQuery(ctx context.Context, a Archive, req *storepb.StoreQueryRequest) (*storepb.StoreQueryResponse, error) {
	resp := &storepb.StoreQueryResponse{RequestId: req.GetRequestId()}
	status := func(code StatusCode, desc string) *storepb.StoreQueryResponse {
		c := uint32(code)
		resp.StatusCode, resp.StatusDesc = &c, &desc
		return resp
	}
	q, err := QueryOf(req)
	if err != nil {
		return status(StatusBadRequest, err.Error()), nil
	}
	page, err := a.Query(ctx, q)
	switch {
	case errors.Is(err, ErrUnknownCursor), errors.Is(err, ErrInvalidQuery):
		return status(StatusBadRequest, err.Error()), nil
	case err != nil:
		return status(StatusInternal, "the archive could not answer"), err
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
	return status(StatusOK, "OK"), nil
}

func (s *Service) handle(st network.Stream) {
	in, ok := s.gate.Accept(st)
	if !ok {
		return
	}
	defer in.Done()
	defer st.Close()
	var req storepb.StoreQueryRequest
	var resp *storepb.StoreQueryResponse
	var reserved int64
	busy := func(code StatusCode, desc string) *storepb.StoreQueryResponse {
		c := uint32(code)
		return &storepb.StoreQueryResponse{RequestId: req.GetRequestId(), StatusCode: &c, StatusDesc: &desc}
	}
	if err := wire.ReadMsg(in, &req); err != nil {
		s.m.queryError("decode_rpc_failure")
		code, desc := uint32(StatusBadRequest), "cannot read the request: "+err.Error()
		resp = &storepb.StoreQueryResponse{StatusCode: &code, StatusDesc: &desc}
	} else if b := in.Busy(); b != nil {
		code := StatusTooManyRequests
		if b.Overloaded() {
			code = StatusUnavailable
		}
		resp = busy(code, b.Error())
	} else if reserved = worstCase(req.GetPaginationLimit(), req.GetIncludeData()); !s.pages.take(reserved) {
		reserved = 0
		s.gate.Refused("busy_pages")
		resp = busy(StatusUnavailable, s.pages.busy())
	} else {
		resp = s.Answer(in.Context(), &req)
	}
	defer func() { s.pages.release(reserved) }()
	// Encoded once, into the frame written; the decoded page is dropped
	// before the write, so a client that reads slowly holds the frame
	// only (and that until the request deadline).
	frame, err := wire.EncodeFrame(resp)
	resp = nil
	if err != nil {
		s.log.Error("store answer not encodable", "peer", in.Peer(), "err", err)
		_ = st.Reset()
		return
	}
	if reserved > 0 {
		s.pages.resize(reserved, int64(len(frame)))
		reserved = int64(len(frame))
	}
	if _, err := st.Write(frame); err != nil {
		s.log.Debug("store answer", "peer", in.Peer(), "err", err)
	}
}
