package rest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// PathStoreMessages is nwaku's store v3 query (waku_api/rest/store).
const PathStoreMessages = "/store/v3/messages"

// Answers of the store and lightpush routes when no service peer is
// known, as nwaku words them (it answers store 412, lightpush 503).
const noServicePeer = "No suitable service peer & no discovery method"

func (s *Server) routeStore(r chi.Router) {
	r.Get(PathStoreMessages, s.storeMessages)
}

// servicePeerFor picks the peer that serves a light protocol request
// naming none: the configured service node of p, else the node itself
// when it has the service (hasOwn), else a connected peer that announced
// p. own is true for the node itself; ok false when there is none. Peers
// other than the node itself need the host to reach them.
func (s *Server) servicePeerFor(p protocol.ID, hasOwn bool) (id peer.ID, own, ok bool) {
	if s.cfg.ServiceNode != nil && s.cfg.Host != nil {
		if id, found := s.cfg.ServiceNode(p); found {
			if !s.isSelf(id) {
				return id, false, true
			}
			if hasOwn {
				return "", true, true
			}
		}
	}
	if hasOwn {
		return "", true, true
	}
	if s.cfg.ConnectedService != nil && s.cfg.Host != nil {
		if id, found := s.cfg.ConnectedService(p); found && !s.isSelf(id) {
			return id, false, true
		}
	}
	return "", false, false
}

// isSelf tells whether id is the node's own peer id.
func (s *Server) isSelf(id peer.ID) bool { return s.cfg.Host != nil && id == s.cfg.Host.ID() }

// storeMessages answers a store v3 query (nwaku's GET /store/v3/messages):
// from the peer at peerAddr, else the configured store node, else the
// node's own archive, else a connected store peer; 412 when there is none.
// The answer is the store node's, as JSON, whatever its status code,
// except a rate-limited query (429).
func (s *Server) storeMessages(w http.ResponseWriter, r *http.Request) {
	q, err := api.ParseStoreQuery(r.URL.Query())
	if err != nil {
		writeText(w, http.StatusBadRequest, err.Error())
		return
	}
	req := storeRequest(q)
	if _, err := store.QueryOf(req); err != nil {
		writeText(w, http.StatusBadRequest, err.Error())
		return
	}
	target, own, status, msg := s.storePeer(q.PeerAddr)
	if status != 0 {
		writeText(w, status, msg)
		return
	}
	var resp *storepb.StoreQueryResponse
	if own {
		if resp, err = store.AnswerQuery(r.Context(), s.cfg.Archive, req); err != nil {
			s.log.Error("rest: store query of the node's archive", "err", err)
			writeText(w, http.StatusInternalServerError, "the node's archive could not answer the query")
			return
		}
	} else if resp, err = store.QueryPeer(r.Context(), s.cfg.Host, target, req); err != nil {
		s.log.Debug("rest: store query", "peer", target, "err", err)
		if timedOut(r.Context(), err) {
			writeText(w, http.StatusInternalServerError, "No history response received (timeout) from "+target.String())
			return
		}
		writeText(w, http.StatusInternalServerError, "store query to "+target.String()+" failed: "+err.Error())
		return
	}
	if store.StatusCode(resp.GetStatusCode()) == store.StatusTooManyRequests {
		writeText(w, http.StatusTooManyRequests, "Request rate limit reached")
		return
	}
	writeJSON(w, http.StatusOK, storeAnswer(resp))
}

// timedOut tells whether a call to a peer failed for want of time.
func timedOut(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
}

// storePeer picks the store node of a query: the one at peerAddr (its
// addresses put in the peer store for a while), else as servicePeerFor
// picks. own is true for the node's own archive; status is the answer's
// when there is none or peerAddr is bad (0 otherwise).
func (s *Server) storePeer(peerAddr string) (target peer.ID, own bool, status int, msg string) {
	hasOwn := s.cfg.Archive != nil
	if peerAddr == "" {
		id, own, ok := s.servicePeerFor(store.Protocol, hasOwn)
		if !ok {
			return "", false, http.StatusPreconditionFailed, noServicePeer
		}
		return id, own, 0, ""
	}
	addr, err := ma.NewMultiaddr(peerAddr)
	if err != nil {
		return "", false, http.StatusBadRequest, fmt.Sprintf("peerAddr %q is not a multiaddr (%v); want one ending in /p2p/<peer id>", peerAddr, err)
	}
	ai, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return "", false, http.StatusBadRequest, fmt.Sprintf("peerAddr %q has no peer id; want a multiaddr ending in /p2p/<peer id>", peerAddr)
	}
	if s.isSelf(ai.ID) {
		if hasOwn {
			return "", true, 0, ""
		}
		return "", false, http.StatusBadRequest, fmt.Sprintf("peerAddr %q is this node, which keeps no store archive", peerAddr)
	}
	if s.cfg.Host == nil {
		return "", false, http.StatusPreconditionFailed, "this node has no host to reach " + peerAddr + " from"
	}
	s.cfg.Host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
	return ai.ID, false, 0, ""
}

// storeRequest is the store v3 request of a REST query. A page size of 0
// asks the default, as nwaku sends it.
func storeRequest(q api.StoreQuery) *storepb.StoreQueryRequest {
	var id [16]byte
	_, _ = rand.Read(id[:])
	limit := q.PageSize
	if limit == 0 {
		limit = api.DefaultStorePageSize
	}
	req := &storepb.StoreQueryRequest{
		RequestId: hex.EncodeToString(id[:]), IncludeData: q.IncludeData,
		ContentTopics: q.ContentTopics, TimeStart: q.StartTime, TimeEnd: q.EndTime,
		PaginationForward: !q.Backward, PaginationLimit: proto.Uint64(min(limit, api.MaxStorePageSize)),
	}
	if q.PubsubTopic != "" {
		req.PubsubTopic = proto.String(q.PubsubTopic)
	}
	for _, h := range q.Hashes {
		req.MessageHashes = append(req.MessageHashes, h[:])
	}
	if q.Cursor != nil {
		req.PaginationCursor = q.Cursor[:]
	}
	return req
}

// storeAnswer is a store response in nwaku's REST JSON: hashes and the
// cursor in 0x hex, messages as the relay API writes them (ephemeral
// written always, as nwaku writes it here).
func storeAnswer(resp *storepb.StoreQueryResponse) api.StoreQueryResponse {
	out := api.StoreQueryResponse{
		RequestID: resp.GetRequestId(), StatusCode: resp.GetStatusCode(), StatusDesc: resp.GetStatusDesc(),
		Messages: make([]api.StoreMessage, 0, len(resp.GetMessages())),
	}
	for _, kv := range resp.GetMessages() {
		m := api.StoreMessage{MessageHash: api.HexHash(kv.GetMessageHash()), PubsubTopic: kv.GetPubsubTopic()}
		if kv.Message != nil {
			msg := api.FromWaku(kv.Message)
			msg.Ephemeral = proto.Bool(kv.Message.GetEphemeral())
			m.Message = &msg
		}
		out.Messages = append(out.Messages, m)
	}
	if len(resp.GetPaginationCursor()) > 0 {
		out.PaginationCursor = api.HexHash(resp.GetPaginationCursor())
	}
	return out
}
