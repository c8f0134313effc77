package rest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/rlnd/rlnd/rest/api"
)

// Paths of health, debug and admin (nwaku's), and of the OpenAPI document.
const (
	PathHealth       = "/health"
	PathDebugInfo    = "/debug/v1/info"
	PathDebugVersion = "/debug/v1/version"
	PathAdminPeers   = "/admin/v1/peers"
	PathOpenAPI      = "/openapi.yaml"
)

// maxPeersPerRequest bounds the peers one POST /admin/v1/peers dials.
const maxPeersPerRequest = 50

// OpenAPI is the API's OpenAPI 3 document, served at PathOpenAPI.
//
//go:embed openapi.yaml
var OpenAPI []byte

func (s *Server) routeInfo(r chi.Router) {
	r.Get(PathHealth, s.health)
	r.Get(PathDebugInfo, func(w http.ResponseWriter, _ *http.Request) {
		var info api.DebugInfo
		if s.cfg.Info != nil {
			info = s.cfg.Info()
		}
		if info.ListenAddresses == nil {
			info.ListenAddresses = []string{}
		}
		writeJSON(w, http.StatusOK, info)
	})
	r.Get(PathDebugVersion, func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, s.cfg.Version) })
	r.Get(PathOpenAPI, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
	})
	if s.cfg.Admin {
		r.Get(PathAdminPeers, s.listPeers)
		r.Post(PathAdminPeers, s.addPeers)
	}
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// health answers the node's health: 200 when ready, 503 (same body, saying
// why) when not.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	if s.cfg.Health == nil {
		writeJSON(w, http.StatusOK, map[string]any{"nodeHealth": "Ready", "protocolsHealth": []any{}})
		return
	}
	ready, body := s.cfg.Health()
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

// listPeers answers the peers the node knows.
func (s *Server) listPeers(w http.ResponseWriter, _ *http.Request) {
	var peers []api.Peer
	if s.cfg.Peers != nil {
		peers = s.cfg.Peers.List()
	} else {
		peers = hostPeers(s)
	}
	if peers == nil {
		peers = []api.Peer{}
	}
	writeJSON(w, http.StatusOK, peers)
}

// hostPeers lists the host's peer store when the node gave no Peers.
func hostPeers(s *Server) []api.Peer {
	h := s.cfg.Host
	if h == nil {
		return nil
	}
	var out []api.Peer
	for _, id := range h.Peerstore().Peers() {
		if id == h.ID() {
			continue
		}
		out = append(out, s.PeerOf(id, api.OriginUnknown, nil))
	}
	return out
}

// PeerOf describes peer id as the host knows it: its first address, the
// protocols it announced, whether it is connected, its agent, and its
// gossipsub score (nil when unknown); origin and shards are the node's.
func (s *Server) PeerOf(id peer.ID, origin string, shards []uint16) api.Peer {
	h := s.cfg.Host
	p := api.Peer{Protocols: []string{}, Shards: shards, Origin: origin, Connected: api.NotConnected}
	if p.Shards == nil {
		p.Shards = []uint16{}
	}
	addrs := h.Peerstore().Addrs(id)
	if len(addrs) > 0 {
		p.Multiaddr = addrs[0].String() + "/p2p/" + id.String()
	} else {
		p.Multiaddr = "/p2p/" + id.String()
	}
	if protos, err := h.Peerstore().GetProtocols(id); err == nil {
		for _, pr := range protos {
			p.Protocols = append(p.Protocols, string(pr))
		}
		slices.Sort(p.Protocols)
	}
	switch h.Network().Connectedness(id) {
	case network.Connected:
		p.Connected = api.Connected
	case network.Limited:
		p.Connected = api.CanConnect
	}
	if v, err := h.Peerstore().Get(id, "AgentVersion"); err == nil {
		p.Agent, _ = v.(string)
	}
	if sc, ok := s.cfg.Relay.PubSub().Scores()[id]; ok {
		p.Score = &sc
	}
	return p
}

// addPeers dials the listed multiaddrs (each with /p2p/<id>).
func (s *Server) addPeers(w http.ResponseWriter, r *http.Request) {
	var list []string
	if !readJSON(w, r, &list) {
		return
	}
	if len(list) == 0 || len(list) > maxPeersPerRequest {
		writeText(w, http.StatusBadRequest, fmt.Sprintf("%d peers listed, want 1 to %d multiaddrs", len(list), maxPeersPerRequest))
		return
	}
	addrs := make([]ma.Multiaddr, 0, len(list))
	for _, a := range list {
		m, err := ma.NewMultiaddr(strings.TrimSpace(a))
		if err != nil {
			writeText(w, http.StatusBadRequest, fmt.Sprintf("Failed to connect to peers: %q is not a multiaddr: %v", a, err))
			return
		}
		if _, err := peer.AddrInfoFromP2pAddr(m); err != nil {
			writeText(w, http.StatusBadRequest, fmt.Sprintf("Failed to connect to peers: %s has no /p2p/<peer id>", a))
			return
		}
		addrs = append(addrs, m)
	}
	if err := s.connect(r, addrs); err != nil {
		writeText(w, http.StatusBadRequest, "Failed to connect to peers: "+err.Error())
		return
	}
	ok(w)
}

// connect dials addrs through the node's peer management, or the host.
func (s *Server) connect(r *http.Request, addrs []ma.Multiaddr) error {
	if s.cfg.Peers != nil {
		return s.cfg.Peers.Connect(r.Context(), addrs)
	}
	if s.cfg.Host == nil {
		return fmt.Errorf("this node has no host to dial from")
	}
	var errs []string
	for _, a := range addrs {
		info, _ := peer.AddrInfoFromP2pAddr(a)
		if err := s.cfg.Host.Connect(r.Context(), *info); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", a, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
