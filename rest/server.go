// Package rest serves nwaku's REST API on an rlnd node: health, debug and
// admin, relay (pubsub and autosharded topics, publishing with the node's
// own membership), lightpush, filter and store, at nwaku's paths with its
// JSON shapes and status codes. Its OpenAPI document (openapi.yaml) is
// served at /openapi.yaml. The node composes it (node.startREST); the Go
// client is package rest/client.
package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// Defaults of Config's bounds.
const (
	// DefaultCacheCapacity is nwaku's --rest-relay-cache-capacity: the
	// messages kept per subscribed topic until they are fetched.
	DefaultCacheCapacity = 50
	// DefaultMaxSubscriptions bounds the topics (pubsub and content) the
	// API keeps messages for, and the filter subscriptions it holds.
	DefaultMaxSubscriptions = 256
	// DefaultMaxBodyBytes bounds a request body: a message of
	// wire.MaxMessageSize in base64, with room for the JSON around it.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxInFlight bounds the requests handled at once; more wait
	// for up to requestWait, then get 503.
	DefaultMaxInFlight = 64
	// requestTimeout bounds one request's work (a publish with its proof,
	// a store query to a peer, a filter subscription).
	requestTimeout = 30 * time.Second
	// requestWait is how long a request waits for a place among the
	// MaxInFlight before it is refused.
	requestWait = 5 * time.Second
)

// Config configures a Server.
type Config struct {
	// Address is the listen address (host:port); required.
	Address string
	// AllowOrigin is nwaku's --rest-allow-origin: origins a browser may
	// call from ("*" any; patterns with * and ?, with or without the
	// scheme). Empty: no CORS headers are sent, and a request with an
	// Origin is served as any other.
	AllowOrigin []string
	// Admin serves /admin/v1 (nwaku's --rest-admin).
	Admin bool
	// CacheCapacity, MaxSubscriptions, MaxBodyBytes, MaxInFlight bound
	// the API (zero: the defaults above).
	CacheCapacity, MaxSubscriptions int
	MaxBodyBytes                    int64
	MaxInFlight                     int

	// Host is the node's libp2p host: service peers are dialled from it.
	Host host.Host
	// Relay is the node's relay; required.
	Relay *relay.Relay
	// Publish publishes a message given to the relay endpoints on
	// pubsubTopic (never empty), with a proof from the node's own
	// membership when RLN is on; its answer is a lightpush response
	// (status 200 on success).
	Publish func(ctx context.Context, pubsubTopic string, m *messagepb.WakuMessage) lightpush.Response
	// Health is the node's health: whether it is ready, and the JSON body
	// of /health.
	Health func() (ready bool, body any)
	// Info is /debug/v1/info's answer.
	Info func() api.DebugInfo
	// Version is /debug/v1/version's answer.
	Version string
	// Peers lists and adds peers for /admin/v1/peers (nil: the host's
	// peer store, connecting directly).
	Peers Peers
	// Lightpush is the node's own lightpush service (nil: off); a
	// lightpush request without a service peer is served by it.
	Lightpush *lightpush.Service
	// Archive is the node's own store archive (nil: not a store node); a
	// store query without peerAddr is answered from it.
	Archive store.Archive
	// ServiceNode is the configured service peer of protocol p
	// (lightpush, filter, store: the *.service-node keys, nwaku's
	// --lightpushnode, --filternode, --storenode); ok false when none is
	// configured. ConnectedService picks a connected peer that announced
	// p. A request that names no peer is served by, in order: the
	// ServiceNode, the node's own service (Lightpush, Archive), a
	// ConnectedService peer. Either may be nil.
	ServiceNode      func(p protocol.ID) (peer.ID, bool)
	ConnectedService func(p protocol.ID) (peer.ID, bool)
	// Logger receives the server's logs; Registerer its metrics (nil:
	// none).
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Peers is what /admin/v1/peers needs of the node's peer management.
type Peers interface {
	// List returns the peers the node knows, connected or not.
	List() []api.Peer
	// Connect dials addrs (full multiaddrs with /p2p/<id>).
	Connect(ctx context.Context, addrs []ma.Multiaddr) error
}

// Server is the REST API server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	ln       net.Listener
	srv      *http.Server
	inflight chan struct{}
	cache    *messageCache
	filter   *filterState // the filter routes' client (routeFilter)
	m        *metrics
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
}

// New listens on cfg.Address and serves the API until Close.
func New(cfg Config) (*Server, error) {
	if cfg.Relay == nil || cfg.Publish == nil {
		return nil, errors.New("rest: a relay and a publish function are required")
	}
	if cfg.CacheCapacity <= 0 {
		cfg.CacheCapacity = DefaultCacheCapacity
	}
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cors, err := newOriginPolicy(cfg.AllowOrigin)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, log: cfg.Logger, inflight: make(chan struct{}, cfg.MaxInFlight), m: m, ctx: ctx, cancel: cancel}
	s.cache = newMessageCache(cfg.CacheCapacity, cfg.MaxSubscriptions)
	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("rest: listen on %s: %w", cfg.Address, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.routes(cors), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	sub := cfg.Relay.Subscribe()
	s.wg.Add(2)
	go s.feedCache(sub)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("rest: server", "err", err)
		}
	}()
	s.log.Info("REST API", "address", ln.Addr().String(), "admin", cfg.Admin)
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the server: requests in progress get 5 s, then their
// connections are closed.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		cancel()
		s.closeAreas()
		s.wg.Wait()
	})
	return nil
}

// routes is the API's router: CORS, the bounds, then each area's routes.
func (s *Server) routes(cors *originPolicy) http.Handler {
	r := chi.NewRouter()
	r.Use(cors.middleware, s.bound)
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusNotFound, "Not Found") })
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	})
	s.routeInfo(r)
	s.routeRelay(r)
	s.routeAreas(r)
	return r
}

// bound limits the requests in progress and each request's body and time.
func (s *Server) bound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(requestWait)
		select {
		case s.inflight <- struct{}{}:
			t.Stop()
		case <-t.C:
			s.m.refused.Inc()
			writeText(w, http.StatusServiceUnavailable, "too many requests in progress, retry shortly")
			return
		case <-r.Context().Done():
			t.Stop()
			return
		}
		defer func() { <-s.inflight }()
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// writeText answers with a text/plain body, as nwaku answers "OK" and
// its errors.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// ok is nwaku's plain "OK".
func ok(w http.ResponseWriter) { writeText(w, http.StatusOK, "OK") }

// readJSON reads a request's JSON body into v. On an error it has
// answered (400 with what was wrong, 413 for a body over the bound) and
// returns false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if status, msg := decodeBody(r, v); status != 0 {
		writeText(w, status, msg)
		return false
	}
	return true
}

// decodeBody reads a request's JSON body into v. When it cannot, it
// returns the answer's status (400 with what was wrong, 413 for a body
// over the bound) and message; else status 0.
func decodeBody(r *http.Request, v any) (status int, msg string) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return http.StatusBadRequest, fmt.Sprintf("Content-Type %q, want application/json", ct)
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", tooBig.Limit)
		}
		return http.StatusBadRequest, "reading the request body: " + err.Error()
	}
	if len(body) == 0 {
		return http.StatusBadRequest, "the request has no body; want JSON"
	}
	if err := api.DecodeJSON(body, v); err != nil {
		return http.StatusBadRequest, "Failed to decode request: " + err.Error()
	}
	return 0, ""
}
