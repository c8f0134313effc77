package lightpush

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// DefaultPathRefresh is how often the service looks for a new membership
// root to refresh its memberships' cached proof parts for.
const DefaultPathRefresh = time.Second

// refresher keeps the prover's cached parts of the service's memberships
// current: every registration changes one sibling of every member's path,
// and a proof whose cached part is stale pays for updating it (up to ~2.5
// times a proof on an unchanged path, see BENCHMARKS.md). When the group's
// root changes it refreshes each membership the prover has cached, one at
// a time and only with a proving worker free, so that requests never wait
// for it and the next request proves at the cost of an unchanged path.
type refresher struct {
	s         *Service
	stop      chan struct{}
	done      chan struct{}
	kicks     chan struct{} // a proof was made against an older root
	every     time.Duration
	closing   sync.Once
	refreshed atomic.Uint64 // parts brought up to date
}

// newRefresher makes the refresher; start starts its goroutine, and
// Service.Close stops it.
func (s *Service) newRefresher(every time.Duration) *refresher {
	return &refresher{s: s, every: every, stop: make(chan struct{}), done: make(chan struct{}), kicks: make(chan struct{}, 1)}
}

func (r *refresher) start() { go r.run(r.every) }

// kick asks for a refresh now rather than at the next tick: a membership
// just proved against its previous root (relay.MemberProver). It never
// blocks.
func (r *refresher) kick() {
	select {
	case r.kicks <- struct{}{}:
	default:
	}
}

func (r *refresher) close() {
	r.closing.Do(func() { close(r.stop) })
	<-r.done
}

func (r *refresher) run(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	var last fr.Element
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		case <-r.kicks:
		}
		root := r.s.cfg.Group.Root()
		if root.Equal(&last) {
			continue
		}
		if r.refreshAll() {
			last = root
		}
	}
}

// refreshAll refreshes every membership the prover has cached and reports
// whether it got through them all (false: stopped, or no worker was free;
// the next tick tries again).
func (r *refresher) refreshAll() bool {
	s := r.s
	for _, m := range s.cfg.Memberships {
		select {
		case <-r.stop:
			return false
		case s.workers <- struct{}{}:
		default:
			return false // requests come first
		}
		refreshed, err := s.prover.Refresh(m)
		<-s.workers
		if err != nil {
			s.log.Debug("lightpush: refreshing a membership's proof part failed", "index", m.Index, "err", err)
			continue
		}
		if refreshed {
			r.refreshed.Add(1)
			s.m.refreshed()
		}
	}
	return true
}
