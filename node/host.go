package node

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/p2p"
)

// hostConfig is the libp2p host's identity and addresses from p2p.*: the
// node key, the listen addresses moved by p2p.ports-shift (the websocket
// ones secure with p2p.websocket-secure-support, whose certificate it
// loads), and what is announced (p2p.ext-multiaddr, p2p.nat,
// p2p.dns4-domain-name). The caller adds the rest.
func (n *Node) hostConfig(given crypto.PrivKey) (p2p.HostConfig, error) {
	pc := n.cfg.P2P
	var hc p2p.HostConfig
	var err error
	if hc.PrivKey, err = n.nodeKey(given); err != nil {
		return hc, err
	}
	hc.ConnLimits.MaxPeers = pc.MaxConnections
	if hc.Listen, err = n.cfg.ListenAddrs(); err != nil {
		return hc, fmt.Errorf("node: %w", err)
	}
	for i, s := range pc.ExtMultiaddr {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return hc, fmt.Errorf("node: p2p.ext-multiaddr[%d] %q: %w", i, s, err)
		}
		hc.Advertise.ExtAddrs = append(hc.Advertise.ExtAddrs, a)
	}
	hc.Advertise.ExtAddrsOnly = pc.ExtMultiaddrOnly
	hc.Advertise.DNS4DomainName = pc.DNS4DomainName
	nat, err := config.ParseNAT(pc.NAT)
	if err != nil {
		return hc, fmt.Errorf("node: p2p.nat: %w", err)
	}
	switch nat.Mode {
	case config.NATExtIP:
		hc.Advertise.ExtIP = nat.ExtIP
	case config.NATAny:
		n.log.Warn("p2p.nat is any, but rlnd does no UPnP or NAT-PMP port mapping: the node announces the addresses it listens on, as with none; "+
			"to be reachable through a NAT, forward the listen ports on the gateway and set p2p.nat=extip:<public IP> (or p2p.ext-multiaddr)",
			"listen", hc.Listen)
	}
	if pc.WebsocketSecureSupport {
		if n.wsCert, err = p2p.LoadWebsocketCert(pc.WebsocketSecureCertPath, pc.WebsocketSecureKeyPath); err != nil {
			return hc, fmt.Errorf("node: p2p.websocket-secure-cert-path, p2p.websocket-secure-key-path: %w", err)
		}
		n.logWebsocketCert()
		hc.WebsocketTLS = n.wsCert.TLSConfig()
	}
	return hc, nil
}

// logWebsocketCert says which certificate the secure websocket serves, and
// warns when it is not valid now (browsers would refuse it).
func (n *Node) logWebsocketCert() {
	leaf := n.wsCert.Leaf()
	args := []any{"file", n.cfg.P2P.WebsocketSecureCertPath, "subject", leaf.Subject.String(), "names", leaf.DNSNames, "not_after", leaf.NotAfter}
	if now := time.Now(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		n.log.Warn("the secure websocket certificate is not valid now: browsers will refuse it", append(args, "not_before", leaf.NotBefore)...)
		return
	}
	n.log.Info("secure websocket certificate", args...)
}
