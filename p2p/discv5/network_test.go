package discv5

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/p2p/wakuenr"
)

// A network on loopback: a bootnode and 16 relay nodes of cluster 1, each
// on two neighbouring shards of 0..7, plus 3 nodes of cluster 2 and 3
// nodes of cluster 1 without relay. Every node knows only the bootnode's
// record. Within 30 s each relay node's feed yields at least 4 of the 6
// peers that fit it (the bootnode, on all 8 shards, and the 5 others
// sharing a shard), and, by the same deadline, the walks have met nodes
// of both kinds left out and filtered them; a feed never yields a node
// that does not fit, nor one twice.
func TestNetworkFindsFittingPeers(t *testing.T) {
	t.Parallel()
	const (
		relayNodes = 16
		deadline   = 30 * time.Second
		wantFound  = 4
	)
	all := []uint16{0, 1, 2, 3, 4, 5, 6, 7}
	// go-ethereum checks one table node's liveness every PingInterval
	// (at random, 3 s by default) and answers FINDNODE only with nodes so
	// checked: 200 ms lets a bootnode vouch for 22 nodes in seconds.
	fast := func(c *Config) { c.PingInterval = 200 * time.Millisecond }
	bootSpec := spec{cluster: 1, shards: all, caps: wakuenr.Relay | wakuenr.Store}
	boot := startService(t, bootSpec, nil, fast)
	bootRec := []*enode.Node{boot.Self()}

	type member struct {
		svc  *Service
		spec spec
	}
	members := []member{{boot, bootSpec}}
	for range 3 {
		for _, s := range []spec{{cluster: 2, shards: all, caps: wakuenr.Relay}, {cluster: 1, shards: all, caps: wakuenr.Store | wakuenr.Filter}} {
			members = append(members, member{startService(t, s, bootRec, fast), s})
		}
	}
	var relays []member
	for i := range relayNodes {
		s := spec{cluster: 1, shards: []uint16{uint16(i % 8), uint16((i + 1) % 8)}, caps: wakuenr.Relay}
		relays = append(relays, member{startService(t, s, bootRec, fast), s})
	}
	members = append(members, relays...)
	specOf := map[peer.ID]spec{}
	for _, m := range members {
		p, err := wakuenr.Decode(m.svc.Self())
		if err != nil {
			t.Fatal(err)
		}
		specOf[p.ID] = m.spec
	}
	fits := func(me, other spec) bool {
		if other.cluster != me.cluster || !other.caps.Has(wakuenr.Relay) {
			return false
		}
		for _, a := range me.shards {
			for _, b := range other.shards {
				if a == b {
					return true
				}
			}
		}
		return false
	}

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 2*relayNodes)
	enough := make(chan int, relayNodes) // relay i found wantFound
	for i, m := range relays {
		feed, err := m.svc.Candidates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			found := map[peer.ID]bool{}
			for p := range feed { // until ctx ends
				s, known := specOf[p.ID]
				if !known || !fits(m.spec, s) {
					errs <- fmt.Errorf("node %d (shards %v) was given %s with %+v, which does not fit", i, m.spec.shards, p.ID, s)
					return
				}
				if !p.HasShards || p.Shards.Cluster != 1 || len(p.Addrs) == 0 {
					errs <- fmt.Errorf("node %d was given %+v: want cluster 1 and an address", i, p)
					return
				}
				if found[p.ID] {
					errs <- fmt.Errorf("node %d was given %s twice", i, p.ID)
					return
				}
				found[p.ID] = true
				if len(found) == wantFound {
					t.Logf("node %d found %d fitting peers in %v", i, wantFound, time.Since(start).Round(time.Millisecond))
					enough <- i
				}
			}
			if len(found) < wantFound {
				errs <- fmt.Errorf("node %d found %d fitting peers within %v, want %d", i, len(found), deadline, wantFound)
			}
		}()
	}
	for range relayNodes {
		select {
		case <-enough:
		case <-ctx.Done():
		}
	}

	// The feeds' silence about the other nodes means something only if the
	// walks met them: wait (polling, within the same deadline) until they
	// have filtered some of each kind.
	filtered := func() (byCluster, byCaps float64) {
		for _, m := range relays {
			byCluster += testutil.ToFloat64(m.svc.metrics.filteredBy.WithLabelValues(ReasonCluster))
			byCaps += testutil.ToFloat64(m.svc.metrics.filteredBy.WithLabelValues(ReasonCapabilities))
		}
		return byCluster, byCaps
	}
	for {
		byCluster, byCaps := filtered()
		if byCluster > 0 && byCaps > 0 {
			t.Logf("after %v the feeds had left out %v nodes of another cluster and %v without relay", time.Since(start).Round(time.Millisecond), byCluster, byCaps)
			break
		}
		if ctx.Err() != nil {
			t.Errorf("within %v the feeds' walks filtered %v nodes for their cluster and %v for their capabilities, want some of each", deadline, byCluster, byCaps)
			break
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
