package relay

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/internal/testnet"
)

// A relay given a registry reports its router's counters at scrape time,
// under the names and labels the README lists; a second relay on the same
// registry is no error.
func TestRelayMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	start := func() *Relay {
		v, err := NewValidator(ValidatorConfig{Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		r, err := New(testnet.Host(t, netCluster).Libp2p(), Config{ClusterID: netCluster, NumShards: 2, Validator: v, Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	start()
	start()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string][]string{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName())
			}
			labels[mf.GetName()] = ls
		}
	}
	for name, want := range map[string][]string{
		"waku_node_messages_total":                   {"type"},
		"libp2p_gossipsub_peers_per_topic_mesh":      {"topic"},
		"libp2p_gossipsub_peers_per_topic_gossipsub": {"topic"},
		"rlnd_gossipsub_events_total":                {"kind"},
		"rlnd_relay_subscriber_drops_total":          nil,
		"waku_rln_invalid_messages_total":            {"type"},
	} {
		if got, ok := labels[name]; !ok || !slices.Equal(got, want) {
			t.Errorf("%s: labels %v (gathered: %v), want %v", name, got, ok, want)
		}
	}
	if got := testutil.CollectAndCount(reg, "libp2p_gossipsub_peers_per_topic_mesh"); got != 2 {
		t.Errorf("mesh gauges for %d topics, want the first relay's 2", got)
	}
}
