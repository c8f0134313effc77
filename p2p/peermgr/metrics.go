package peermgr

import (
	"fmt"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
	"github.com/rlnd/rlnd/relay/gossipsub"
)

// wakuProtocols are the protocol ids waku_connected_peers is labelled with,
// as nwaku labels it: the codecs themselves. Only these are counted, so a
// peer announcing made-up protocols cannot grow the label set.
var wakuProtocols = []protocol.ID{
	protocol.ID(gossipsub.WakuRelay),
	"/vac/waku/store-query/3.0.0",
	"/vac/waku/store/2.0.0-beta4",
	"/vac/waku/lightpush/3.0.0",
	"/vac/waku/lightpush/2.0.0-beta1",
	"/vac/waku/filter-subscribe/2.0.0-beta1",
	"/vac/waku/filter-push/2.0.0-beta1",
	"/vac/waku/peer-exchange/2.0.0-alpha1",
	"/vac/waku/metadata/1.0.0",
}

// Direction label values: nim-libp2p's Direction enum as nwaku prints it.
const (
	dirIn  = "In"
	dirOut = "Out"
)

// capsOf are the services a peer's identified protocols offer (nwaku
// matches protocol ids by prefix, so later versions count).
func capsOf(protos []protocol.ID) Capabilities {
	var c Capabilities
	for _, p := range protos {
		s := string(p)
		switch {
		case s == string(gossipsub.WakuRelay):
			c |= CapRelay
		case strings.HasPrefix(s, "/vac/waku/store"):
			c |= CapStore
		case strings.HasPrefix(s, "/vac/waku/lightpush"):
			c |= CapLightpush
		case strings.HasPrefix(s, "/vac/waku/filter-subscribe"):
			c |= CapFilter
		}
	}
	return c
}

// metrics are the manager's; nil records nothing.
type metrics struct {
	dials     *prometheus.CounterVec
	initiated *prometheus.CounterVec
	pruned    *prometheus.CounterVec
	faults    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, m *Manager) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	out := &metrics{}
	var err error
	wrap := func(err error) error { return fmt.Errorf("peermgr: register metrics: %w", err) }
	if out.dials, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waku_peers_dials_total", Help: "Dials of the peer manager, by outcome (successful, timeout, failed, rejected).",
	}, []string{"outcome"})); err != nil {
		return nil, wrap(err)
	}
	if out.initiated, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waku_node_conns_initiated_total", Help: "Connections the peer manager initiated, by the source of the peer.",
	}, []string{"source"})); err != nil {
		return nil, wrap(err)
	}
	if out.pruned, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rlnd_peermgr_disconnects_total", Help: "Peers the peer manager disconnected, by reason.",
	}, []string{"reason"})); err != nil {
		return nil, wrap(err)
	}
	if out.faults, err = promutil.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rlnd_peermgr_store_faults_total", Help: "Peer store files found corrupt at start (corrupt) and writes that failed (write).",
	}, []string{"kind"})); err != nil {
		return nil, wrap(err)
	}
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "waku_peer_store_size", Help: "Number of peers managed by the peer store.",
	}, func() float64 { return float64(m.storeSize()) })
	if _, err := promutil.Register(reg, size); err != nil {
		return nil, wrap(err)
	}
	if _, err := promutil.Register(reg, &connectedCollector{h: m.h.Libp2p()}); err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

func (m *metrics) dial(outcome, source string) {
	if m == nil {
		return
	}
	m.dials.WithLabelValues(outcome).Inc()
	if outcome == "successful" {
		m.initiated.WithLabelValues(sourceLabel(source)).Inc()
	}
}

func (m *metrics) prune(reason string) {
	if m != nil {
		m.pruned.WithLabelValues(reason).Inc()
	}
}

func (m *metrics) fault(kind string) {
	if m != nil {
		m.faults.WithLabelValues(kind).Inc()
	}
}

// connectedCollector is waku_connected_peers, counted at scrape time: the
// connections by direction and by each Waku protocol their peer supports.
type connectedCollector struct {
	h host.Host
}

var connectedDesc = prometheus.NewDesc("waku_connected_peers",
	"Number of physical connections per direction and protocol", []string{"direction", "protocol"}, nil)

func (c *connectedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- connectedDesc }

func (c *connectedCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[[2]string]int{}
	for _, conn := range c.h.Network().Conns() {
		dir := dirIn
		if conn.Stat().Direction == network.DirOutbound {
			dir = dirOut
		}
		protos, err := c.h.Peerstore().GetProtocols(conn.RemotePeer())
		if err != nil {
			continue
		}
		for _, p := range protos {
			if slices.Contains(wakuProtocols, p) {
				counts[[2]string{dir, string(p)}]++
			}
		}
	}
	for _, dir := range []string{dirIn, dirOut} {
		for _, p := range wakuProtocols {
			ch <- prometheus.MustNewConstMetric(connectedDesc, prometheus.GaugeValue, float64(counts[[2]string{dir, string(p)}]), dir, string(p))
		}
	}
}
