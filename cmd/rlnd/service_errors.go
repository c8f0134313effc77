package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"
)

// peerService is a service a client command asks of a node, and what turns
// it on there: rlnd's key (and so its flag), nwaku's flag.
type peerService struct {
	name, key, nwakuFlag string
}

var (
	lightpushService = peerService{name: "lightpush", key: "lightpush.enabled", nwakuFlag: "--lightpush"}
	storeService     = peerService{name: "store", key: "store.enabled", nwakuFlag: "--store"}
	filterService    = peerService{name: "filter", key: "filter.enabled", nwakuFlag: "--filter"}
)

// notServedError is a request to a peer that does not speak the service's
// protocol; it unwraps to multistream's error.
type notServedError struct {
	service peerService
	peer    peer.ID
	err     error
}

func (e *notServedError) Error() string {
	s := e.service
	return fmt.Sprintf("the peer %s does not serve %s: start it with %s=true (rlnd node --%s; nwaku: %s)",
		e.peer, s.name, s.key, strings.ReplaceAll(s.key, ".", "-"), s.nwakuFlag)
}

func (e *notServedError) Unwrap() error { return e.err }

// explain turns a peer's refusal of the service's protocol (multistream's
// "protocols not supported") into a *notServedError naming the setting
// that starts the service on that node; other errors come back as they
// are.
func (s peerService) explain(p peer.ID, err error) error {
	if err == nil || !errors.Is(err, msmux.ErrNotSupported[protocol.ID]{}) {
		return err
	}
	return &notServedError{service: s, peer: p, err: err}
}
