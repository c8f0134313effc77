package peermgr

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// logLimiter bounds the connection-change log lines: in each window at
// most perPeer lines about one peer and total lines in all. A flapping
// peer, or a crowd of new peer ids, cannot flood the log; what was left
// out is counted and reported once the window ends.
type logLimiter struct {
	window  time.Duration
	perPeer int
	total   int

	start      time.Time
	lines      int
	peers      map[peer.ID]int // lines per peer in the window (at most total entries)
	suppressed int             // in the window
}

func newLogLimiter(window time.Duration, perPeer, total int) *logLimiter {
	return &logLimiter{window: window, perPeer: perPeer, total: total, peers: map[peer.ID]int{}}
}

// roll starts a new window when the current one is over, returning the
// number of lines the ended window suppressed.
func (l *logLimiter) roll(now time.Time) (suppressed int) {
	if now.Sub(l.start) < l.window {
		return 0
	}
	suppressed = l.suppressed
	l.start, l.lines, l.suppressed = now, 0, 0
	clear(l.peers)
	return suppressed
}

// allow reports whether a line about p may be logged now.
func (l *logLimiter) allow(p peer.ID) bool {
	if l.lines >= l.total || l.peers[p] >= l.perPeer {
		l.suppressed++
		return false
	}
	l.lines++
	l.peers[p]++
	return true
}
