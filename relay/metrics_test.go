package relay

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/wire"
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
		"libp2p_pubsub_peers":                        nil,
		"libp2p_pubsub_topics":                       nil,
		"libp2p_pubsub_validation_success_total":     nil,
		"libp2p_pubsub_validation_failure_total":     nil,
		"libp2p_pubsub_validation_ignore_total":      nil,
		"waku_rln_invalid_messages_total_total":      {"type"},
	} {
		if got, ok := labels[name]; !ok || !slices.Equal(got, want) {
			t.Errorf("%s: labels %v (gathered: %v), want %v", name, got, ok, want)
		}
	}
	if got := testutil.CollectAndCount(reg, "libp2p_gossipsub_peers_per_topic_mesh"); got != 2 {
		t.Errorf("mesh gauges for %d topics, want the first relay's 2", got)
	}
}

// Every message relayed to us, our own included, is counted in nwaku's
// waku_histogram_message_size by its payload in kB.
func TestMessageSizeHistogram(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	v, err := NewValidator(ValidatorConfig{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(testnet.Host(t, netCluster).Libp2p(), Config{ClusterID: netCluster, NumShards: 2, Validator: v, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	m := wire.NewMessage("/rlnd/1/size/proto", make([]byte, 2500), time.Now().UnixNano())
	if _, _, err := r.Publish("", m); err != nil {
		t.Fatal(err)
	}
	var count uint64
	var sum float64
	testnet.WaitFor(t, 10*time.Second, "the message in waku_histogram_message_size", func() bool {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "waku_histogram_message_size" {
				h := mf.GetMetric()[0].GetHistogram()
				count, sum = h.GetSampleCount(), h.GetSampleSum()
			}
		}
		return count > 0
	})
	if count != 1 || sum != 2.5 {
		t.Fatalf("histogram count %d sum %v kB, want 1 and 2.5", count, sum)
	}
}
