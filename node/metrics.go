package node

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector reports the relay's counters at scrape time, under nwaku's
// names where nwaku has one (waku_node_messages_total, libp2p_peers,
// libp2p_gossipsub_peers_per_topic_mesh) and rlnd_* otherwise.
type collector struct {
	n *Node

	messages, peers, mesh, topicPeers *prometheus.Desc
	gossip                            *prometheus.Desc
	delivered                         *prometheus.Desc
	syncedBlock                       *prometheus.Desc
}

func newCollector(n *Node) *collector {
	return &collector{
		n:           n,
		messages:    prometheus.NewDesc("waku_node_messages_total", "Messages relayed to the application, by type.", []string{"type"}, nil),
		peers:       prometheus.NewDesc("libp2p_peers", "Connected libp2p peers.", nil, nil),
		mesh:        prometheus.NewDesc("libp2p_gossipsub_peers_per_topic_mesh", "Gossipsub mesh peers per topic.", []string{"topic"}, nil),
		topicPeers:  prometheus.NewDesc("libp2p_gossipsub_peers_per_topic_gossipsub", "Peers subscribed to each topic.", []string{"topic"}, nil),
		gossip:      prometheus.NewDesc("rlnd_gossipsub_events_total", "Gossipsub router events by kind.", []string{"kind"}, nil),
		delivered:   prometheus.NewDesc("rlnd_relay_subscriber_drops_total", "Deliveries dropped because a local subscriber was slow.", nil, nil),
		syncedBlock: prometheus.NewDesc("waku_rln_membership_synced_block", "Last chain block applied to the membership tree.", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.messages, c.peers, c.mesh, c.topicPeers, c.gossip, c.delivered, c.syncedBlock} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	r := c.n.relay
	ps := r.PubSub()
	st := ps.Stats()
	ch <- prometheus.MustNewConstMetric(c.messages, prometheus.CounterValue, float64(st.Accepted), "relay")
	ch <- prometheus.MustNewConstMetric(c.peers, prometheus.GaugeValue, float64(len(c.n.host.Libp2p().Network().Peers())))
	for _, t := range r.Topics() {
		ch <- prometheus.MustNewConstMetric(c.mesh, prometheus.GaugeValue, float64(len(ps.MeshPeers(t))), t)
		ch <- prometheus.MustNewConstMetric(c.topicPeers, prometheus.GaugeValue, float64(len(ps.TopicPeers(t))), t)
	}
	for kind, v := range map[string]uint64{
		"received": st.MessagesReceived, "validated": st.MessagesValidated, "duplicate": st.Duplicates,
		"throttled": st.Throttled, "not_subscribed": st.NotSubscribed, "invalid_format": st.InvalidFormat,
		"accepted": st.Accepted, "rejected": st.Rejected, "ignored": st.Ignored, "published": st.Published,
		"forwarded": st.Forwarded, "graylisted_rpc": st.GraylistedRPCs, "ihave_ignored": st.IHaveIgnored,
		"iwant_served": st.IWantServed, "graft_refused": st.GraftsRefused, "broken_promise": st.BrokenPromises,
		"rpc_in": st.RPCsIn, "rpc_out": st.RPCsOut, "send_dropped": st.SendsDropped, "bad_frame": st.BadFrames,
		"validation_full": st.ValidationFull, "slow_frame": st.SlowFrames,
	} {
		ch <- prometheus.MustNewConstMetric(c.gossip, prometheus.CounterValue, float64(v), kind)
	}
	ch <- prometheus.MustNewConstMetric(c.delivered, prometheus.CounterValue, float64(r.Dropped()))
	if c.n.gm != nil {
		ch <- prometheus.MustNewConstMetric(c.syncedBlock, prometheus.GaugeValue, float64(c.n.gm.SyncedBlock()))
	}
}
