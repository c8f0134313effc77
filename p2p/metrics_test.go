package p2p

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A host given a registry reports its connected peers as libp2p_peers.
func TestHostMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a, _ := newTestHost(t, HostConfig{ClusterID: 9, Registerer: reg})
	b, _ := newTestHost(t, HostConfig{ClusterID: 9})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := b.Connect(ctx, addrInfo(t, a, "tcp")); err != nil {
		t.Fatal(err)
	}
	const want = `
# HELP libp2p_peers Connected libp2p peers.
# TYPE libp2p_peers gauge
libp2p_peers 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "libp2p_peers"); err != nil {
		t.Error(err)
	}
}
