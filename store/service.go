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

	"github.com/rlnd/rlnd/relay"
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
}

// NewService serves store v3 queries on h from a.
func NewService(h host.Host, a Archive, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{h: h, a: a, log: log}
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
	page, err := s.a.Query(ctx, q)
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

// ArchiverConfig configures an Archiver.
type ArchiverConfig struct {
	// MaxGap: messages whose timestamp is further than this from the
	// clock are not archived (default 20 s).
	MaxGap time.Duration
	// Batch and Flush bound how many messages and how long wait before a
	// Put (defaults 256 and 20 ms).
	Batch int
	Flush time.Duration
	// Retention, applied every RetentionInterval (default 1 min) in the
	// background, never blocking inserts.
	Retention         Retention
	RetentionInterval time.Duration
	Now               func() time.Time
	Logger            *slog.Logger
}

// Archiver stores what a relay delivers: only messages that passed relay
// validation, not ephemeral ones, not ones whose timestamp is off by more
// than MaxGap.
type Archiver struct {
	cfg  ArchiverConfig
	a    Archive
	sub  *relay.Subscription
	done chan struct{}
}

// NewArchiver starts archiving r's deliveries into a.
func NewArchiver(r *relay.Relay, a Archive, cfg ArchiverConfig) *Archiver {
	if cfg.MaxGap <= 0 {
		cfg.MaxGap = 20 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.Flush <= 0 {
		cfg.Flush = 20 * time.Millisecond
	}
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ar := &Archiver{cfg: cfg, a: a, sub: r.Subscribe(), done: make(chan struct{})}
	go ar.run()
	return ar
}

func (ar *Archiver) run() {
	defer close(ar.done)
	var batch []Stored
	flush := time.NewTicker(ar.cfg.Flush)
	defer flush.Stop()
	retain := time.NewTicker(ar.cfg.RetentionInterval)
	defer retain.Stop()
	put := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := ar.a.Put(ctx, batch); err != nil {
			ar.cfg.Logger.Error("archive", "messages", len(batch), "err", err)
		}
		cancel()
		batch = batch[:0]
	}
	retaining := make(chan struct{}, 1)
	for {
		select {
		case env, ok := <-ar.sub.C():
			if !ok {
				put()
				return
			}
			m := env.Message
			if m.GetEphemeral() || m.Timestamp == nil {
				continue
			}
			if d := ar.cfg.Now().Sub(time.Unix(0, m.GetTimestamp())); d > ar.cfg.MaxGap || d < -ar.cfg.MaxGap {
				continue
			}
			batch = append(batch, Stored{Hash: env.Hash, PubsubTopic: env.PubsubTopic, Message: m})
			if len(batch) >= ar.cfg.Batch {
				put()
			}
		case <-flush.C:
			put()
		case <-retain.C:
			r := ar.cfg.Retention
			if r == (Retention{}) {
				continue
			}
			select {
			case retaining <- struct{}{}:
				go func() {
					defer func() { <-retaining }()
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					if _, err := ar.a.Retain(ctx, r); err != nil {
						ar.cfg.Logger.Error("retention", "err", err)
					}
				}()
			default: // the previous pass is still running
			}
		}
	}
}

// Close stops archiving (after storing what was received).
func (ar *Archiver) Close() {
	ar.sub.Cancel()
	<-ar.done
}
