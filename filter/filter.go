// Package filter is Waku filter v2 (12/WAKU2-FILTER), service and client:
// a light client subscribes at a service node to (pubsub topic, content
// topic) criteria with /vac/waku/filter-subscribe/2.0.0-beta1, and the
// service pushes it every relayed message that matches, one message per
// stream of /vac/waku/filter-push/2.0.0-beta1 that the service opens.
package filter

import (
	"crypto/rand"
	"fmt"
	"time"
)

// Defaults.
const (
	DefaultMaxContentTopicsPerRequest = 100
	DefaultMaxCriteriaPerPeer         = 1000
	DefaultMaxPeers                   = 1000
	DefaultExpiry                     = 5 * time.Minute
	DefaultPushQueue                  = 64
	DefaultPushTimeout                = 10 * time.Second
	DefaultMaxPushFailures            = 3
	DefaultRequestBurst               = 50
	DefaultRequestRate                = 1.0 // a second
	// streamTimeout bounds one request on a stream, reading to answering.
	streamTimeout = 30 * time.Second
)

// StatusError is a filter-subscribe answer other than 200.
type StatusError struct {
	Code        StatusCode
	Description string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("filter: status %d: %s", e.Code, e.Description)
}

// criterion is one (pubsub topic, content topic) pair a peer subscribed to.
type criterion struct {
	pubsub  string
	content string
}

// newRequestID returns a random request id.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}
