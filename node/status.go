package node

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/rlnd/rlnd/autoshard"
)

// statusCountTimeout bounds the archive count a status line reads: a slow
// database leaves the figure out rather than delaying the line.
const statusCountTimeout = 2 * time.Second

// logStatus logs a "status" line at info every `every` (log.status-interval)
// until ctx ends; the node owns the goroutine (Close waits for it). Each
// line has the figures statusAttrs gathers, messages counted since the line
// before.
func (n *Node) logStatus(ctx context.Context, every time.Duration) {
	defer n.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	prev, prevAt := n.relay.PubSub().Stats().Accepted, time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		accepted := n.relay.PubSub().Stats().Accepted
		n.log.Info("status", n.statusAttrs(ctx, accepted-prev, now.Sub(prevAt))...)
		prev, prevAt = accepted, now
	}
}

// statusAttrs are a status line's figures:
//   - peers, peers_in, peers_out: connected peers, by the direction of
//     their first connection (in: the peer dialled);
//   - relay_peers: the gossipsub router's peers; mesh: the mesh size of
//     each shard the node relays (mesh.<shard>=<peers>);
//   - msgs, msgs_per_s: messages from peers relayed (validated, delivered
//     and forwarded) since the line before, and their rate;
//   - with the membership sync (RLN on, synced from the chain):
//     sync_block, sync_head, sync_behind (blocks the tree is behind the
//     head the sync saw) and sync_ready (the group judges proofs: caught up,
//     not stalled, not stopped);
//   - store_messages (the archive's messages), filter_subscribers and
//     filter_criteria, lightpush_proofs (proofs attached for light clients
//     since start) and lightpush_slots_left, own_slots_left (proofs the
//     node's own membership can still make this epoch), for what is on.
func (n *Node) statusAttrs(ctx context.Context, relayed uint64, elapsed time.Duration) []any {
	net := n.host.Libp2p().Network()
	in, out := 0, 0
	for _, p := range net.Peers() {
		conns := net.ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		if conns[0].Stat().Direction == network.DirOutbound {
			out++
		} else {
			in++
		}
	}
	ps := n.relay.PubSub()
	var mesh []any
	for _, topic := range n.relay.Topics() {
		key := topic
		if t, err := autoshard.ParsePubsubTopic(topic); err == nil {
			key = strconv.Itoa(int(t.Shard))
		}
		mesh = append(mesh, slog.Int(key, len(ps.MeshPeers(topic))))
	}
	rate := 0.0
	if elapsed > 0 {
		rate = math.Round(float64(relayed)/elapsed.Seconds()*100) / 100
	}
	attrs := []any{"peers", in + out, "peers_in", in, "peers_out", out,
		"relay_peers", ps.Stats().Peers, slog.Group("mesh", mesh...),
		"msgs", relayed, "msgs_per_s", rate}
	if n.gm != nil {
		synced, head := n.gm.SyncedBlock(), n.gm.HeadBlock()
		attrs = append(attrs, "sync_block", synced, "sync_head", head, "sync_behind", head-min(head, synced),
			"sync_ready", n.rlnHealth().Status == StatusReady)
	}
	if n.archive != nil {
		cctx, cancel := context.WithTimeout(ctx, statusCountTimeout)
		if c, err := n.archive.Count(cctx); err == nil {
			attrs = append(attrs, "store_messages", c)
		}
		cancel()
	}
	if n.filter != nil {
		attrs = append(attrs, "filter_subscribers", n.filter.Peers(), "filter_criteria", n.filter.Criteria())
	}
	if n.lp != nil {
		attrs = append(attrs, "lightpush_proofs", n.lp.ProofsAttached(), "lightpush_slots_left", n.lp.SlotsLeft())
	}
	if n.own != nil {
		attrs = append(attrs, "own_slots_left", n.own.SlotsLeft())
	}
	return attrs
}
