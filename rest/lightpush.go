package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// Lightpush paths: v3 (nwaku's waku_api/rest/lightpush) and v1, the legacy
// API on lightpush v2-beta1 (rest/legacy_lightpush).
const (
	PathLightpushV3 = "/lightpush/v3/message"
	PathLightpushV1 = "/lightpush/v1/message"
)

// nwakuTooManyRequests is the info nwaku's lightpush v2 service answers a
// rate-limited push with; the v1 API answers it 429.
const nwakuTooManyRequests = "Request rejected due to too many requests"

func (s *Server) routeLightpush(r chi.Router) {
	r.Post(PathLightpushV3, s.lightpushV3)
	r.Post(PathLightpushV1, s.lightpushV1)
}

// lightpushV3 pushes a message with lightpush v3 through the configured
// service node, else the node's own lightpush service, else a connected
// lightpush peer, and answers as nwaku does: JSON with the relay peer
// count, or the status and why, the HTTP status being the lightpush code
// (420 answered 400).
func (s *Server) lightpushV3(w http.ResponseWriter, r *http.Request) {
	var req api.PushRequest
	if status, msg := decodeBody(r, &req); status != 0 {
		if status == http.StatusRequestEntityTooLarge {
			writePush(w, lightpush.Response{Status: lightpush.StatusTooLarge, Description: "Invalid push request! " + msg})
			return
		}
		writePush(w, lightpush.Response{Status: lightpush.StatusBadRequest, Description: "Invalid push request! " + msg})
		return
	}
	if req.Message == nil {
		writePush(w, lightpush.Response{Status: lightpush.StatusBadRequest, Description: "Invalid push request! field `message` is missing"})
		return
	}
	msg, err := req.Message.ToWaku(time.Now().UnixNano())
	if err != nil {
		writePush(w, lightpush.Response{Status: lightpush.StatusBadRequest, Description: "Invalid message! " + err.Error()})
		return
	}
	target, own, found := s.servicePeerFor(lightpush.ProtocolV3, s.cfg.Lightpush != nil)
	if !found {
		writePush(w, lightpush.Response{Status: lightpush.StatusUnavailable, Description: noServicePeer})
		return
	}
	writePush(w, s.push(r.Context(), lightpush.ProtocolV3, target, own, req.PubsubTopic, msg))
}

// lightpushV1 is nwaku's legacy lightpush API: the push goes with
// lightpush v2-beta1 (or to the node's own service) and the answer is
// text: OK, 400 for a bad request, 429 when rate-limited, 503 otherwise.
func (s *Server) lightpushV1(w http.ResponseWriter, r *http.Request) {
	var req api.PushRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Message == nil {
		writeText(w, http.StatusBadRequest, "Failed to decode request: field `message` is missing")
		return
	}
	msg, err := req.Message.ToWaku(time.Now().UnixNano())
	if err != nil {
		writeText(w, http.StatusBadRequest, "Invalid message: "+err.Error())
		return
	}
	topic := req.PubsubTopic
	if topic == "" {
		// v2-beta1 requests carry the topic: derived here, as nwaku's
		// node does before a legacy push.
		if topic, err = s.cfg.Relay.TopicFor(msg.GetContentTopic()); err != nil {
			writeText(w, http.StatusBadRequest, "Invalid message: no pubsubTopic and none derivable from the content topic: "+err.Error())
			return
		}
	}
	target, own, found := s.servicePeerFor(lightpush.ProtocolV2, s.cfg.Lightpush != nil)
	if !found {
		writeText(w, http.StatusServiceUnavailable, noServicePeer)
		return
	}
	res := s.push(r.Context(), lightpush.ProtocolV2, target, own, topic, msg)
	switch {
	case res.Status == lightpush.StatusOK:
		ok(w)
	case res.Status == lightpush.StatusTooManyRequests || res.Description == nwakuTooManyRequests:
		writeText(w, http.StatusTooManyRequests, "Request rate limit reached")
	default:
		writeText(w, http.StatusServiceUnavailable, "Failed to request a message push: "+res.Description)
	}
}

// push hands msg to the node's own lightpush service (own) or to target
// with protocol p (v3 or v2-beta1), and returns the outcome as nwaku's
// client sees it: a peer it cannot dial is 505, a push that reached no
// relay peer is 505 too, a push out of time 503.
func (s *Server) push(ctx context.Context, p protocol.ID, target peer.ID, own bool, topic string, msg *messagepb.WakuMessage) lightpush.Response {
	if own {
		var self peer.ID
		if s.cfg.Host != nil {
			self = s.cfg.Host.ID()
		}
		res := s.cfg.Lightpush.Push(ctx, self, topic, msg)
		if res.Status == lightpush.StatusUnavailable && ctx.Err() != nil {
			res.Description = "Push request timed out"
		}
		return res
	}
	if err := s.cfg.Host.Connect(ctx, peer.AddrInfo{ID: target}); err != nil {
		if timedOut(ctx, err) {
			return lightpush.Response{Status: lightpush.StatusUnavailable, Description: "Push request timed out"}
		}
		return lightpush.Response{Status: lightpush.StatusNoPeers, Description: "dial_failure: " + target.String() + " is not accessible: " + err.Error()}
	}
	send := lightpush.Push
	if p == lightpush.ProtocolV2 {
		send = lightpush.PushV2
	}
	res, err := send(ctx, s.cfg.Host, target, topic, msg)
	switch {
	case err != nil && timedOut(ctx, err):
		return lightpush.Response{Status: lightpush.StatusUnavailable, Description: "Push request timed out"}
	case err != nil:
		s.log.Debug("rest: lightpush", "peer", target, "protocol", p, "err", err)
		return lightpush.Response{Status: lightpush.StatusInternal, Description: "Failed to read response from peer: " + err.Error()}
	case p == lightpush.ProtocolV3 && res.Status == lightpush.StatusOK && res.RelayPeers == 0:
		// As nwaku's client: a success that reached no relay peer is not one.
		return lightpush.Response{Status: lightpush.StatusNoPeers, Description: res.Description}
	}
	return *res
}

// writePush answers a v3 push: the HTTP status is the lightpush code (as
// nwaku: codes are HTTP codes by design), except 420 (invalid message),
// answered 400, and a code lightpush v3 does not define (a service peer's
// own), answered 500 with the code kept in statusCode. nwaku passes any
// code HTTP knows through; rlnd keeps to the codes its OpenAPI document
// lists.
func writePush(w http.ResponseWriter, res lightpush.Response) {
	out := api.PushResponse{StatusCode: uint32(res.Status), StatusDesc: res.Description}
	status := int(res.Status)
	switch res.Status {
	case lightpush.StatusOK:
		n := res.RelayPeers
		out.RelayPeerCount = &n
		out.StatusDesc = ""
	case lightpush.StatusInvalidMessage:
		status = http.StatusBadRequest
	case lightpush.StatusBadRequest, lightpush.StatusTooLarge, lightpush.StatusUnsupportedTopic, lightpush.StatusTooManyRequests,
		lightpush.StatusInternal, lightpush.StatusUnavailable, lightpush.StatusOutOfProofs, lightpush.StatusNoPeers:
	default:
		status = http.StatusInternalServerError
	}
	if res.Status != lightpush.StatusOK && out.StatusDesc == "" {
		out.StatusDesc = res.Status.String()
	}
	writeJSON(w, status, out)
}
