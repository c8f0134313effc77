package lightpush

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/hostile"
	"github.com/rlnd/rlnd/internal/relaytest"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/p2p/admission"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// hostileNet is a lightpush service on an rlnd libp2p host at 127.0.0.1
// (resource manager, metadata check) whose relay, with RLN off, has one
// relay peer: pushes of messages that carry a proof (any bytes, RLN being
// off) are published and answered 200, without proving.
type hostileNet struct {
	host  *p2p.Host
	svc   *Service
	topic string
}

func startHostileNet(t *testing.T, lim admission.Limits) *hostileNet {
	t.Helper()
	n := &hostileNet{host: testnet.Host(t, cluster, StreamLimits())}
	r := relaytest.New(t, n.host, nil)
	svc, err := NewService(n.host.Libp2p(), ServiceConfig{Relay: r, Admission: lim, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	n.svc = svc
	n.topic, _ = r.TopicFor(contentTopic)
	relaytest.Link(t, 20*time.Second, relaytest.Start(t, cluster, nil), &relaytest.Node{Host: n.host, Relay: r}, n.topic)
	return n
}

// provedMessage is a message carrying a proof field (opaque bytes: the
// relays here do not check RLN).
func provedMessage(payload string) *messagepb.WakuMessage {
	m := message(payload)
	m.RateLimitProof = []byte("not checked: RLN is off")
	return m
}

// 1,280 idle lightpush v3 streams from 20 peer ids in 127.0.1.0/24,
// reopened three times each when the service resets them, while two
// honest clients in 127.0.2.0/24 and 127.0.3.0/24 push (v3 and v2
// alternately): at least 99% of the honest pushes are published, the
// service holds at most the attacker prefix's bound of idle streams, and
// the heap grows by at most 64 MiB (this process holds both ends).
func TestIdleStreamFloodLightpush(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile-stream test: 20 attacker hosts")
	}
	n := startHostileNet(t, admission.Limits{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	honest := hostile.Clients(t, ctx, cluster, n.host, "127.0.2.1", "127.0.3.1")
	hostile.RunFlood(t, ctx, hostile.FloodRun{
		Target: n.host,
		Flood:  hostile.FloodConfig{Cluster: cluster, Protocol: ProtocolV3, Peers: 20, IPPrefix: "127.0.1.", Streams: 64, Reopens: 3},
		Honest: honest, MinRequests: 50,
		Request: func(ctx context.Context, ci, i int, c *p2p.Host) error {
			push := Push
			if i%2 == 1 {
				push = PushV2
			}
			r, err := push(ctx, c.Libp2p(), n.host.ID(), n.topic, provedMessage(fmt.Sprintf("honest %d push %d", ci, i)))
			if err == nil && r.Status != StatusOK {
				err = fmt.Errorf("client %d push %d: status %d %q", ci, i, r.Status, r.Description)
			}
			return err
		},
		Gate: n.svc.Admission(ProtocolV3), HeapBound: 64 << 20,
	})
}

// A push over the client's limit of requests in progress is answered busy:
// v3 429 with the description, v2 is_success false with it as info; an
// idle stream is reset at the first-byte deadline.
func TestBusyAndIdleDeadline(t *testing.T) {
	t.Parallel()
	n := startHostileNet(t, admission.Limits{PeerRequests: 1, FirstByte: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := testnet.HostAt(t, cluster, "127.0.2.1")
	hostile.Connect(t, ctx, c, n.host, "127.0.2.1")
	for _, id := range []protocol.ID{ProtocolV3, ProtocolV2} {
		gate := n.svc.Admission(id)
		// A request started and stalled holds the client's one place.
		st, err := c.Libp2p().Network().NewStream(ctx, n.host.ID())
		if err != nil {
			t.Fatal(err)
		}
		if err := msmux.SelectProtoOrFail(id, st); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Write([]byte{0x7f}); err != nil {
			t.Fatal(err)
		}
		if err := gate.Wait(ctx, func(s admission.Stats) bool { return s.Active == 1 }); err != nil {
			t.Fatal(err)
		}
		push := Push
		if id == ProtocolV2 {
			push = PushV2
		}
		r, err := push(ctx, c.Libp2p(), n.host.ID(), n.topic, provedMessage("over the limit on "+string(id)))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: busy answer %d %q", id, r.Status, r.Description)
		switch {
		case id == ProtocolV3 && r.Status != StatusTooManyRequests:
			t.Fatalf("v3 busy status %d, want 429", r.Status)
		case id == ProtocolV2 && r.Status == StatusOK:
			t.Fatal("v2 busy push succeeded")
		case !strings.HasPrefix(r.Description, "busy: this peer"):
			t.Fatalf("%s busy description %q", id, r.Description)
		}
		_ = st.Reset()
		if err := gate.Wait(ctx, func(s admission.Stats) bool { return s.Active == 0 }); err != nil {
			t.Fatal(err)
		}
		if r, err := push(ctx, c.Libp2p(), n.host.ID(), n.topic, provedMessage("after the stall on "+string(id))); err != nil || r.Status != StatusOK {
			t.Fatalf("%s push after the stalled request ended: %v %+v", id, err, r)
		}
	}
	// An idle stream is reset once the first-byte deadline passes.
	st, err := c.Libp2p().Network().NewStream(ctx, n.host.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := msmux.SelectProtoOrFail(ProtocolV3, st); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	var b [1]byte
	if _, err := st.Read(b[:]); err == nil {
		t.Fatal("an idle stream was answered")
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("idle stream reset after %s, deadline 300ms", took)
	}
}
