package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/p2p/peermgr"
	"github.com/rlnd/rlnd/rest"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// ownQuota is the proofs the node's own publisher may take per epoch: as
// many as its memberships allow (lightpush's per-client quota, which it
// reuses, is at most this).
const ownQuota = 65535

// startOwnPublisher opens the node's own membership (rln.keystore) for
// publishing through the REST API: a local lightpush service, so that its
// messages get the same slot file (<data-dir>/rln-slots), nullifier checks
// and crash safety as proof as a service. A membership also in
// lightpush.keystore is refused: two slot files for one membership would
// hand out its message ids twice.
func (n *Node) startOwnPublisher(signal rln.SignalMode, prover *rln.Prover) error {
	rc := n.cfg.RLN
	ms, err := n.keystoreMemberships("rln.keystore", rc.Keystore, rc.KeystorePassword)
	if err != nil || len(ms) == 0 {
		return err
	}
	lpms, err := n.keystoreMemberships("lightpush.keystore", n.cfg.Lightpush.Keystore, n.cfg.Lightpush.KeystorePassword)
	if err != nil {
		return err
	}
	for _, m := range ms {
		for _, o := range lpms {
			if m.Index == o.Index {
				return fmt.Errorf("node: membership %d is in both rln.keystore and lightpush.keystore; give the node's own messages a membership of their own (one membership's slots must be counted in one place)", m.Index)
			}
		}
	}
	if prover, err = n.loadProver(prover); err != nil {
		return err
	}
	path, err := n.dataFile("rln.keystore's slots", ownSlotsFile, "")
	if err != nil {
		return err
	}
	n.own, err = lightpush.NewService(n.host.Libp2p(), lightpush.ServiceConfig{
		Relay: n.relay, Group: n.group, Memberships: ms, Prover: prover, Local: true,
		EpochPeriod: n.cfg.RLN.EpochPeriod, MaxEpochGap: n.cfg.RLN.MaxEpochGap, Signal: signal,
		SlotsPath: path, PerPeerQuota: ownQuota, ReservedShare: -1, Workers: 1, Logger: n.log,
	})
	if err != nil {
		return fmt.Errorf("node: rln.keystore: %w", err)
	}
	n.log.Info("own membership for publishing", "memberships", len(ms), "slots", path)
	return nil
}

// Publish publishes a message of the node's own on pubsubTopic: with a
// proof from rln.keystore's memberships when the message has none and the
// node has them, else as it is (validated as peers will).
func (n *Node) Publish(ctx context.Context, pubsubTopic string, m *messagepb.WakuMessage) lightpush.Response {
	r := n.publish(ctx, pubsubTopic, m)
	n.nm.published(r.Status)
	return r
}

// publish is Publish before a failure of the node's is counted in
// waku_node_errors.
func (n *Node) publish(ctx context.Context, pubsubTopic string, m *messagepb.WakuMessage) lightpush.Response {
	if n.own != nil {
		return n.own.Push(ctx, n.host.ID(), pubsubTopic, m)
	}
	r := lightpush.RelayResponse(n.relay.Publish(pubsubTopic, m))
	if r.Status != lightpush.StatusOK && n.cfg.RLN.Enabled && m.RateLimitProof == nil {
		r.Description += " (the node has no membership of its own to prove it: set rln.keystore, nwaku's --rln-relay-cred-path)"
	}
	return r
}

// startREST serves the REST API on rest.address (after p2p.ports-shift).
func (n *Node) startREST(version string) error {
	rc := n.cfg.REST
	addr, err := n.cfg.ShiftHostPort(rc.Address)
	if err != nil {
		return fmt.Errorf("node: rest.address: %w", err)
	}
	cfg := rest.Config{
		Address: addr, AllowOrigin: rc.AllowOrigin, Admin: rc.Admin, CacheCapacity: rc.RelayCacheCapacity,
		Host: n.host.Libp2p(), Relay: n.relay, Publish: n.Publish, Version: version,
		Health:      func() (bool, any) { h := n.Health(); return h.Ready, h },
		Info:        n.debugInfo,
		Peers:       restPeers{n},
		Lightpush:   n.lp,
		Archive:     n.archive,
		ServiceNode: n.serviceNodeOf, ConnectedService: n.connectedService,
		Logger: n.log, Registerer: n.registry,
	}
	if cfg.Version == "" {
		cfg.Version = "unknown"
	}
	if n.rest, err = rest.New(cfg); err != nil {
		if shift := n.cfg.P2P.PortsShift; shift != 0 {
			return fmt.Errorf("node: REST API (rest.address %s after p2p.ports-shift %d): %w", rc.Address, shift, err)
		}
		return fmt.Errorf("node: REST API: %w", err)
	}
	return nil
}

// RESTAddr is the REST API's address (nil when off).
func (n *Node) RESTAddr() string {
	if n.rest == nil {
		return ""
	}
	return n.rest.Addr().String()
}

// debugInfo is /debug/v1/info: the node's addresses and ENR.
func (n *Node) debugInfo() api.DebugInfo {
	info := api.DebugInfo{ENRUri: n.ENR()}
	for _, a := range n.host.AdvertisedAddrs() {
		info.ListenAddresses = append(info.ListenAddresses, a.String()+"/p2p/"+n.host.ID().String())
	}
	if len(info.ListenAddresses) == 0 {
		for _, a := range n.Addrs() {
			info.ListenAddresses = append(info.ListenAddresses, a.String())
		}
	}
	return info
}

// serviceNodes maps each light protocol to its *.service-node key's value.
func (n *Node) serviceNode(p protocol.ID) string {
	switch p {
	case lightpush.ProtocolV3, lightpush.ProtocolV2:
		return n.cfg.Lightpush.ServiceNode
	case filter.ProtocolSubscribe:
		return n.cfg.Filter.ServiceNode
	case store.Protocol:
		return n.cfg.Store.ServiceNode
	}
	return ""
}

// serviceNodeOf is the configured service node of protocol p (its
// address put in the peer store).
func (n *Node) serviceNodeOf(p protocol.ID) (peer.ID, bool) {
	s := n.serviceNode(p)
	if s == "" {
		return "", false
	}
	ai, err := peer.AddrInfoFromString(s)
	if err != nil { // validated with the configuration
		return "", false
	}
	n.host.Libp2p().Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.PermanentAddrTTL)
	return ai.ID, true
}

// connectedService picks a connected peer that announced protocol p (the
// lowest peer id: the same peer while the connections stay).
func (n *Node) connectedService(p protocol.ID) (peer.ID, bool) {
	h := n.host.Libp2p()
	var found []peer.ID
	for _, id := range h.Network().Peers() {
		if ok, err := h.Peerstore().SupportsProtocols(id, p); err == nil && len(ok) > 0 {
			found = append(found, id)
		}
	}
	if len(found) == 0 {
		return "", false
	}
	slices.Sort(found)
	return found[0], true
}

// restPeers is /admin/v1/peers on the node's peer manager and host.
type restPeers struct{ n *Node }

// List returns the peers in the peer store and those connected, with
// where they came from.
func (rp restPeers) List() []api.Peer {
	n := rp.n
	h := n.host.Libp2p()
	type known struct {
		origin string
		shards []uint16
	}
	kn := map[peer.ID]known{}
	if n.peers != nil {
		for _, kp := range n.peers.Peers() {
			kn[kp.ID] = known{origin: originOf(kp.Source), shards: kp.Shards}
			for _, a := range kp.Addrs {
				h.Peerstore().AddAddr(kp.ID, a, peerstore.TempAddrTTL)
			}
		}
	}
	for _, id := range h.Network().Peers() {
		if _, ok := kn[id]; !ok {
			kn[id] = known{origin: api.OriginUnknown}
		}
	}
	ids := make([]peer.ID, 0, len(kn))
	for id := range kn {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]api.Peer, 0, len(ids))
	for _, id := range ids {
		out = append(out, n.rest.PeerOf(id, kn[id].origin, kn[id].shards))
	}
	return out
}

// originOf is nwaku's origin name of a peer manager source.
func originOf(source string) string {
	switch source {
	case peermgr.SourceDiscv5:
		return api.OriginDiscv5
	case peermgr.SourceDNS:
		return api.OriginDNS
	case peermgr.SourcePeerExchange:
		return api.OriginPeerExchange
	case peermgr.SourceStatic, peermgr.SourceAPI:
		return api.OriginStatic
	}
	return api.OriginUnknown
}

// Connect dials each address now (the answer says which failed) and hands
// the peers to the peer manager, which keeps them as it keeps discovered
// ones.
func (rp restPeers) Connect(ctx context.Context, addrs []ma.Multiaddr) error {
	n := rp.n
	var errs []string
	for _, a := range addrs {
		ai, err := peer.AddrInfoFromP2pAddr(a)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", a, err))
			continue
		}
		if n.host.IsSelf(*ai) {
			errs = append(errs, fmt.Sprintf("%s: this node", a))
			continue
		}
		if n.peers != nil {
			if err := n.peers.Add(peermgr.Candidate{Info: *ai, Source: peermgr.SourceAPI}); err != nil && !errors.Is(err, peermgr.ErrClosed) {
				errs = append(errs, fmt.Sprintf("%s: %v", a, err))
				continue
			}
		}
		if err := n.host.Libp2p().Connect(ctx, *ai); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", a, err))
			continue
		}
		if n.host.Libp2p().Network().Connectedness(ai.ID) != network.Connected {
			errs = append(errs, fmt.Sprintf("%s: not connected after the dial", a))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
