package devnet

import (
	"context"
	"fmt"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/relay/pubsub"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// member is a registered membership that publishes: it keeps to its rate
// by counting the message ids it used in the current epoch.
type member struct {
	relay.Member
	epoch  uint64
	nextID uint64
}

// nextMessageID returns the member's next unused message id in the epoch
// of t, or false when it has used its whole rate.
func (m *member) nextMessageID(t time.Time, period time.Duration) (uint64, bool) {
	e := rln.Epoch(t, period)
	if e != m.epoch {
		m.epoch, m.nextID = e, 0
	}
	if m.nextID >= m.UserMessageLimit {
		return 0, false
	}
	m.nextID++
	return m.nextID - 1, true
}

// proofParams are the devnet's proof parameters.
func (n *Network) proofParams() relay.ProofParams {
	return relay.ProofParams{EpochPeriod: n.base.RLN.EpochPeriod, Signal: rln.SignalTimestamped}
}

// publishHonest has honest member mi publish one message through its node;
// a member whose rate is used up this epoch waits, as an honest one does.
func (n *Network) publishHonest(mi int, payload string) error {
	m := n.members[mi]
	now := time.Now()
	mid, ok := m.nextMessageID(now, n.base.RLN.EpochPeriod)
	if !ok {
		return nil
	}
	msg := wire.NewMessage(ContentTopic, []byte(payload), now.UnixNano())
	if _, err := relay.AttachProof(n.prover, n.nodes[0].Group(), m.Member, n.proofParams(), msg, mid); err != nil {
		return err
	}
	n.rec.mu.Lock()
	defer n.rec.mu.Unlock()
	sentAt := time.Now() // latency counts from the publish, not the proving
	h, _, err := n.nodes[mi%n.cfg.Nodes].Relay().Publish(n.topic, msg)
	if err != nil {
		return err
	}
	n.rec.markSent(h, sentAt)
	return nil
}

// hostileNode is a Waku peer that relays without validating and publishes
// whatever it likes, linked to two relay nodes.
type hostileNode struct {
	host *p2p.Host
	ps   *pubsub.PubSub
}

func newHostileNode(ctx context.Context, n *Network) (*hostileNode, error) {
	h, err := p2p.NewHost(p2p.HostConfig{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, ClusterID: n.base.Network.ClusterID,
		Shards: func() []uint32 { return []uint32{0, 1, 2, 3, 4, 5, 6, 7} }})
	if err != nil {
		return nil, err
	}
	hn := &hostileNode{host: h}
	if hn.ps, err = pubsub.New(h.Libp2p(), pubsub.Config{Router: relay.DefaultRouterConfig()}); err != nil {
		hn.close()
		return nil, err
	}
	if err := hn.ps.Join(n.topic); err != nil {
		hn.close()
		return nil, err
	}
	n.victims = []int{0, n.cfg.Nodes / 2}
	for _, v := range n.victims {
		if err := link(ctx, h, n.nodes[v].Host()); err != nil {
			hn.close()
			return nil, err
		}
	}
	return hn, nil
}

func (hn *hostileNode) close() {
	if hn.ps != nil {
		_ = hn.ps.Close()
	}
	_ = hn.host.Close()
}

// send publishes msg unvalidated.
func (hn *hostileNode) send(topic string, msg *messagepb.WakuMessage) error {
	b, err := wire.EncodeMessage(msg)
	if err != nil {
		return err
	}
	_, _, err = hn.ps.Publish(topic, b)
	return err
}

// sendSpam has the spammer send, through the hostile node, one message
// within its rate (relayed like any other) and then Spam more with the
// same message id and timestamp, so the same epoch: double signals.
func (n *Network) sendSpam() error {
	sp := n.spammer()
	now := time.Now()
	mid, _ := sp.nextMessageID(now, n.base.RLN.EpochPeriod)
	for k := range n.cfg.Spam + 1 {
		payload := fmt.Sprintf("spam %d", k)
		if k == 0 {
			payload = "the spammer's message within its rate"
		}
		msg := wire.NewMessage(ContentTopic, []byte(payload), now.UnixNano())
		if _, err := relay.AttachProof(n.prover, n.nodes[0].Group(), sp.Member, n.proofParams(), msg, mid); err != nil {
			return err
		}
		if k == 0 {
			n.rec.mu.Lock()
			n.rec.markSent(wire.Hash(n.topic, msg), time.Now())
			err := n.hostile.send(n.topic, msg)
			n.rec.mu.Unlock()
			if err != nil {
				return err
			}
			continue
		}
		n.rec.markHostile(wire.Hash(n.topic, msg), kindSpam)
		if err := n.hostile.send(n.topic, msg); err != nil {
			return err
		}
	}
	return nil
}

// sendInvalid has the invalid sender send, through the hostile node,
// proofs with a tampered share.
func (n *Network) sendInvalid() error {
	bad := n.invalidSender()
	limit := uint64(n.base.RLN.UserMessageLimit)
	for k := range n.cfg.Invalid {
		now := time.Now()
		msg := wire.NewMessage(ContentTopic, []byte(fmt.Sprintf("invalid %d", k)), now.UnixNano())
		p, err := relay.AttachProof(n.prover, n.nodes[0].Group(), bad.Member, n.proofParams(), msg, uint64(k)%limit)
		if err != nil {
			return err
		}
		var one fr.Element
		one.SetOne()
		p.ShareY.Add(&p.ShareY, &one)
		msg.RateLimitProof = p.Marshal()
		n.rec.markHostile(wire.Hash(n.topic, msg), kindInvalid)
		if err := n.hostile.send(n.topic, msg); err != nil {
			return err
		}
	}
	return nil
}

// lightClients are hosts without memberships that publish through the
// lightpush service node.
type lightClients []*p2p.Host

func (n *Network) newLightClients(ctx context.Context, count int) (lightClients, error) {
	lc := make(lightClients, 0, count)
	for range count {
		h, err := n.newClientHost(ctx, n.lightpushAt, "light client")
		if err != nil {
			return nil, err
		}
		lc = append(lc, h)
	}
	return lc, nil
}

// pushRound has every light client push one message (round k), the first
// one, the greedy client, two.
func (n *Network) pushRound(ctx context.Context, lc lightClients, k int) error {
	svc := n.nodes[n.lightpushAt].Host().ID()
	for c, h := range lc {
		sends := 1
		if c == 0 {
			sends = 2
		}
		for j := range sends {
			now := time.Now()
			msg := wire.NewMessage(ContentTopic, []byte(fmt.Sprintf("light client %d message %d/%d", c, k, j)), now.UnixNano())
			pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			r, err := lightpush.Push(pctx, h.Libp2p(), svc, n.topic, msg)
			cancel()
			if err != nil {
				return err
			}
			ok, tooMany := r.Status == lightpush.StatusOK, r.Status == lightpush.StatusTooManyRequests
			if !ok && !tooMany {
				return fmt.Errorf("devnet: lightpush answered %d (%s)", r.Status, r.Description)
			}
			n.rec.markLightpush(wire.Hash(n.topic, msg), ok, tooMany)
		}
	}
	return nil
}

// subscribeFilter has a filter client stream the content topic from the
// filter service node.
func (n *Network) subscribeFilter(ctx context.Context) error {
	h, err := n.newClientHost(ctx, n.filterAt, "filter client")
	if err != nil {
		return err
	}
	fc := filter.NewClient(h.Libp2p())
	n.closers = append(n.closers, fc.Close)
	n.rec.followFilter(fc.C())
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := fc.Subscribe(fctx, n.nodes[n.filterAt].Host().ID(), n.topic, []string{ContentTopic}); err != nil {
		return fmt.Errorf("devnet: filter subscribe: %w", err)
	}
	return nil
}

// publishPhase has the honest members publish one message each Interval
// for Duration, the light clients push in the first three rounds of five,
// and halfway through the spammer and the invalid sender strike.
func (n *Network) publishPhase(ctx context.Context, lc lightClients) error {
	c := &n.cfg
	deadline := time.Now().Add(c.Duration)
	spamAt := time.Now().Add(c.Duration / 2)
	spamDone := false
	for i := 0; time.Now().Before(deadline); i++ {
		if err := n.publishHonest(i%c.Members, fmt.Sprintf("message %d from member %d", i, i%c.Members)); err != nil {
			return fmt.Errorf("devnet: publish: %w", err)
		}
		if i%5 == 0 && i/5 < 3 {
			if err := n.pushRound(ctx, lc, i/5); err != nil {
				return fmt.Errorf("devnet: lightpush: %w", err)
			}
		}
		if !spamDone && time.Now().After(spamAt) {
			spamDone = true
			if err := n.sendSpam(); err != nil {
				return err
			}
			if err := n.sendInvalid(); err != nil {
				return err
			}
			c.say("the spammer sent %d over-rate messages and the invalid sender %d broken proofs", c.Spam, c.Invalid)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.Interval):
		}
	}
	return nil
}

// storeRetrieve pages through everything the store node has of the devnet
// content topic, as client h.
func (n *Network) storeRetrieve(ctx context.Context, h *p2p.Host, p peer.ID) (map[wire.MessageHash]bool, error) {
	got := map[wire.MessageHash]bool{}
	topic := n.topic
	req := &storepb.StoreQueryRequest{PubsubTopic: &topic, ContentTopics: []string{ContentTopic}, PaginationForward: true}
	for {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := store.QueryPeer(qctx, h.Libp2p(), p, req)
		cancel()
		if err != nil {
			return nil, err
		}
		if store.StatusCode(resp.GetStatusCode()) != store.StatusOK {
			return nil, fmt.Errorf("store answered %d: %s", resp.GetStatusCode(), resp.GetStatusDesc())
		}
		for _, kv := range resp.Messages {
			var mh wire.MessageHash
			copy(mh[:], kv.MessageHash)
			got[mh] = true
		}
		if resp.PaginationCursor == nil {
			return got, nil
		}
		req.PaginationCursor, req.RequestId = resp.PaginationCursor, ""
	}
}
