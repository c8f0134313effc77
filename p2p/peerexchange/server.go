package peerexchange

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/p2p/admission"
	"github.com/rlnd/rlnd/wire"
)

// ServerConfig configures a Server. Only Cache is required.
type ServerConfig struct {
	// Cache is where answers are sampled from; discovery fills it.
	Cache *Cache
	// MaxPeers bounds the records of one answer (default and at most
	// MaxPeers, nwaku's cap): a query for more gets this many.
	MaxPeers int
	// Admission bounds the request streams (deadlines, requests in
	// progress and idle streams per peer, per address prefix and in all);
	// zero fields take DefaultAdmission's.
	Admission admission.Limits
	// RateLimit are the token buckets per peer, per address prefix and in
	// all; zero fields take the defaults (see RateLimits).
	RateLimit RateLimits
	// Now is the rate limiter's clock (default time.Now).
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Server answers peer-exchange requests on a libp2p host.
type Server struct {
	cfg   ServerConfig
	h     host.Host
	log   *slog.Logger
	m     *metrics
	gate  *admission.Gate
	limit *limiter
}

// NewServer starts serving Protocol on h.
func NewServer(h host.Host, cfg ServerConfig) (*Server, error) {
	if cfg.Cache == nil {
		return nil, errors.New("peerexchange: a cache is required")
	}
	switch {
	case cfg.MaxPeers == 0:
		cfg.MaxPeers = MaxPeers
	case cfg.MaxPeers < 0 || cfg.MaxPeers > MaxPeers:
		return nil, fmt.Errorf("peerexchange: max peers per answer %d, want 1 to %d", cfg.MaxPeers, MaxPeers)
	}
	lim, err := cfg.RateLimit.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.RateLimit = lim
	cfg.Admission = admissionLimits(cfg.Admission)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("peerexchange: metrics: %w", err)
	}
	gate, err := admission.New(admission.Config{Protocol: string(Protocol), Limits: cfg.Admission, Registerer: cfg.Registerer, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("peerexchange: %w", err)
	}
	s := &Server{cfg: cfg, h: h, log: cfg.Logger, m: m, gate: gate, limit: newLimiter(cfg.RateLimit)}
	h.SetStreamHandler(Protocol, s.handle)
	return s, nil
}

// Close stops serving: it removes the stream handler and returns once the
// requests in progress have ended (admission.Gate.Close).
func (s *Server) Close() {
	s.h.RemoveStreamHandler(Protocol)
	s.gate.Close()
}

// Admission is the gate of the request streams.
func (s *Server) Admission() *admission.Gate { return s.gate }

// Config is the configuration in use, defaults applied.
func (s *Server) Config() ServerConfig { return s.cfg }

// answer is what a request gets.
type answer struct {
	code    StatusCode
	desc    string
	records [][]byte
	result  string // the metric's result label
}

func (s *Server) handle(st network.Stream) {
	in, ok := s.gate.Accept(st)
	if !ok {
		return
	}
	defer in.Done()
	defer st.Close()
	a := s.serve(in)
	b, err := encodeResponse(a.records, a.code, a.desc)
	if err != nil { // cannot happen: records are at most MaxPeers of MaxRecordSize
		s.log.Error("peer exchange: encode the answer", "err", err)
		_ = st.Reset()
		return
	}
	s.m.request(a.result)
	if _, err := st.Write(b); err != nil {
		s.m.error(errWrite)
		s.log.Debug("peer exchange: write the answer", "peer", in.Peer(), "err", err)
		return
	}
	s.m.peersSent(len(a.records))
}

// serve decides the answer to an admitted request: busy requests are
// answered unread; the others are read (at most MaxRequestSize, within the
// request deadline), then refused when over a rate limit or answered from
// the cache.
func (s *Server) serve(in *admission.Request) answer {
	if b := in.Busy(); b != nil {
		a := answer{code: StatusTooManyRequests, desc: b.Error(), result: "busy_" + string(b.Scope)}
		if b.Overloaded() {
			a.code = StatusUnavailable
		}
		return a
	}
	limited := s.limit.take(in.Peer(), in.Prefix(), s.cfg.Now())
	// A rate-limited request is read before it is refused (it is at most
	// MaxRequestSize, within the request deadline): js-waku writes its
	// query and then reads, and an answer to a query it is still writing
	// stalls its connection set-up for seconds (its metadata handshake
	// with us waited behind it; TestJSWakuNewestMetadataCluster).
	numPeers, err := readRequest(in)
	if limited != nil {
		a := answer{code: StatusTooManyRequests, desc: limited.description(), result: "rate_limited_" + limited.scope}
		if limited.scope == scopeTotal {
			a.code = StatusUnavailable
		}
		return a
	}
	if err != nil {
		s.m.error(errDecodeRPC)
		s.log.Debug("peer exchange: bad request", "peer", in.Peer(), "err", err)
		return answer{code: StatusBadRequest, desc: err.Error(), result: ResultBadRequest}
	}
	n := int(min(numPeers, uint64(s.cfg.MaxPeers)))
	records := s.cfg.Cache.sampleRaw(n, nodeIDOf(in.Peer()))
	return answer{code: StatusOK, records: records, result: ResultServed}
}

// readRequest reads one request frame of at most MaxRequestSize.
func readRequest(in *admission.Request) (uint64, error) {
	b, err := wire.ReadFrame(in, MaxRequestSize)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return decodeRequest(b)
}

// nodeIDOf is the ENR node id of a peer with a secp256k1 key (Waku nodes'
// key type), the zero ID for others: the requester's own record is left
// out of its answer.
func nodeIDOf(p peer.ID) enode.ID {
	pk, err := p.ExtractPublicKey()
	if err != nil {
		return enode.ID{}
	}
	if _, ok := pk.(*crypto.Secp256k1PublicKey); !ok {
		return enode.ID{}
	}
	raw, err := pk.Raw()
	if err != nil {
		return enode.ID{}
	}
	pub, err := ethcrypto.DecompressPubkey(raw)
	if err != nil {
		return enode.ID{}
	}
	return enode.PubkeyToIDV4(pub)
}
