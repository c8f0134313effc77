package mplex

import "github.com/libp2p/go-libp2p/core/network"

var networkErrReset = network.ErrReset
