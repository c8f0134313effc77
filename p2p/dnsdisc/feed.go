package dnsdisc

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
)

// retryMin is the first wait before a round of reads is tried again
// after a tree could not be read; the wait doubles up to RecheckInterval.
const retryMin = 5 * time.Second

// Feed follows the trees of a Client: it reads them at once, then asks
// for their roots every RecheckInterval and reads a tree again when its
// root changed (a tree update), following the links between trees as they
// change. Next yields each node when it first appears in the trees, and
// again when its record changes (a higher ENR sequence number); a node
// that leaves the trees and comes back is yielded again.
//
// A tree that cannot be read keeps the nodes of its last read, and the
// round is tried again after 5 s, doubling up to RecheckInterval. A root
// whose sequence number is not above the one followed is refused
// (ErrStaleRoot, logged and counted): EIP-1459 has the number increase
// with every change, and an older signed root is a replay. (A tree whose
// operator started its numbering again is taken when the Feed is started
// again.)
//
// Feed is an enode.Iterator (it can be mixed with discv5's with
// enode.FairMix). Next and Node are for one goroutine; Nodes and Close may
// be called from any.
type Feed struct {
	c      *Client
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{} // capacity 1: nodes were queued

	states map[string]*treeState // owned by run

	mu      sync.Mutex
	current map[enode.ID]*enode.Node // the trees' nodes, as of the last round
	yielded map[enode.ID]uint64      // sequence number yielded, for nodes in current
	pending []enode.ID               // to yield, in order; each at most once
	queued  map[enode.ID]bool        // the IDs in pending

	cur *enode.Node
}

var _ enode.Iterator = (*Feed)(nil)

// Follow starts a Feed of the Client's trees; Close stops it.
func (c *Client) Follow() *Feed {
	ctx, cancel := context.WithCancel(context.Background())
	f := &Feed{
		c: c, ctx: ctx, cancel: cancel,
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
		states:  make(map[string]*treeState),
		current: make(map[enode.ID]*enode.Node),
		yielded: make(map[enode.ID]uint64),
		queued:  make(map[enode.ID]bool),
	}
	go f.run()
	return f
}

func (f *Feed) run() {
	defer close(f.done)
	recheck := f.c.cfg.RecheckInterval
	retry := min(retryMin, recheck)
	for {
		reached, err := f.c.round(f.ctx, f.states)
		if f.ctx.Err() != nil {
			return
		}
		// Trees no longer linked are dropped, and their nodes with them.
		keep := make(map[string]bool, len(reached))
		for _, st := range reached {
			keep[st.url.String()] = true
		}
		for key := range f.states {
			if !keep[key] {
				delete(f.states, key)
			}
		}
		f.publish(unionNodes(reached))

		wait := recheck
		if err != nil {
			wait = retry
			retry = min(2*retry, recheck)
		} else {
			retry = min(retryMin, recheck)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-f.ctx.Done():
			t.Stop()
			return
		}
	}
}

// publish makes nodes the current set and queues those not yielded yet
// in their current record.
func (f *Feed) publish(nodes []*enode.Node) {
	cur := make(map[enode.ID]*enode.Node, len(nodes))
	for _, n := range nodes {
		cur[n.ID()] = n
	}
	f.mu.Lock()
	for id := range f.yielded {
		if _, ok := cur[id]; !ok {
			delete(f.yielded, id)
		}
	}
	added := 0
	for _, n := range nodes {
		id := n.ID()
		if seq, ok := f.yielded[id]; ok && n.Seq() <= seq {
			continue
		}
		if !f.queued[id] {
			f.pending = append(f.pending, id)
			f.queued[id] = true
			added++
		}
	}
	f.current = cur
	f.mu.Unlock()
	if added > 0 {
		f.c.metrics.discovered.Add(float64(added))
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// Next waits for a node not yielded yet (or whose record changed since),
// and reports false once the Feed is closed.
func (f *Feed) Next() bool {
	for {
		if f.ctx.Err() != nil {
			f.cur = nil
			return false
		}
		if n := f.pop(); n != nil {
			f.cur = n
			return true
		}
		select {
		case <-f.wake:
		case <-f.ctx.Done():
		}
	}
}

// pop takes the next queued node still in the trees.
func (f *Feed) pop() *enode.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.pending) > 0 {
		id := f.pending[0]
		f.pending = f.pending[1:]
		delete(f.queued, id)
		if n, ok := f.current[id]; ok {
			f.yielded[id] = n.Seq()
			return n
		}
	}
	f.pending = nil
	return nil
}

// Node is the node Next moved to.
func (f *Feed) Node() *enode.Node { return f.cur }

// Nodes are the nodes of the trees as of the Feed's last round (none
// before the first), each once, sorted by node ID.
func (f *Feed) Nodes() []*enode.Node {
	f.mu.Lock()
	out := make([]*enode.Node, 0, len(f.current))
	for _, n := range f.current {
		out = append(out, n)
	}
	f.mu.Unlock()
	slices.SortFunc(out, func(a, b *enode.Node) int { return bytes.Compare(a.ID().Bytes(), b.ID().Bytes()) })
	return out
}

// Close stops the Feed, ends a Next waiting, and returns once the Feed's
// goroutine has (a DNS query under way is cut short). It may be called
// more than once.
func (f *Feed) Close() {
	f.cancel()
	<-f.done
}
