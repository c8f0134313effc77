package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/ethereum/go-ethereum/rlp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/p2p/peerexchange"
	"github.com/rlnd/rlnd/p2p/wakuenr"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/lightpushpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
	"github.com/rlnd/rlnd/wire/pb/peerexchangepb"
)

// js-waku's peer-exchange discovery (@waku/discovery, light/px.mjs) against
// a small rlnd network found by discv5: js-waku is given only the
// bootstrap node, learns the service nodes from its peer-exchange answer,
// dials them and light-pushes through them.

// pxDiscoveryVersion is the @waku/discovery version light/package.json pins.
const pxDiscoveryVersion = "0.0.13"

// Bounds of the waits of TestJSWakuNewestPeerExchange.
const (
	// pxDiscv5Wait: the service nodes' records reach the bootstrap node's
	// cache, and the nodes connect and mesh (discv5 pings every 200 ms;
	// the devnet's nodes find each other in about a second).
	pxDiscv5Wait = 30 * time.Second
	// pxJSWait: js-waku asks the bootstrap node when identify with it
	// completes, then dials what it learned; each js-waku step gets this.
	pxJSWait = 30 * time.Second
)

// pxNet is the rlnd network: a bootstrap node serving peer exchange (relay
// only: no lightpush, store or filter) and service nodes with lightpush
// (proof as a service, as TestJSWakuNewestLightPush runs it: RLN on, a
// static group holding each service node's own membership), which find the
// bootstrap node and each other by discv5 from the bootstrap node's ENR.
type pxNet struct {
	boot  *node.Node
	svcs  []*node.Node
	cfg   *config.Config // the bootstrap node's
	topic string         // the pubsub topic of contentTopic
}

// newPXNet starts the bootstrap node and numSvc service nodes on cluster
// 42 (8 shards), on loopback TCP and websocket.
func newPXNet(t *testing.T, numSvc int, contentTopic string) *pxNet {
	t.Helper()
	const cluster, numShards = 42, 8
	prover, verifier := loadEngine(t)
	members := make([]relay.Member, numSvc)
	leaves := make([]fr.Element, numSvc)
	for i := range members {
		members[i] = relay.Member{Identity: rln.IdentityFromSeed(fmt.Appendf(nil, "interop px lightpush member %d", i)), Index: uint64(i), UserMessageLimit: 20}
		leaves[i] = members[i].Identity.RateCommitment(members[i].UserMessageLimit)
	}
	newGroup := func() membership.Group {
		g, err := membership.NewStaticGroup(leaves, 0)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	// discv5's liveness check every 200 ms, as the devnet's: go-ethereum's
	// 3 s keeps a handful of nodes apart for tens of seconds.
	const ping = 200 * time.Millisecond
	n := &pxNet{}
	n.boot, n.cfg = startRlndNodeWith(t, cluster, numShards, newGroup(), verifier, func(o *node.Options) { o.Discv5PingInterval = ping },
		func(c *config.Config) {
			c.Discovery = config.DiscoveryConfig{Discv5: true, PeerExchange: true} // any free UDP port
		})
	bootENR := n.boot.ENR()
	if bootENR == "" {
		t.Fatal("the bootstrap node runs no discv5")
	}
	for i := range numSvc {
		dir := t.TempDir()
		svc, _ := startRlndNodeWith(t, cluster, numShards, newGroup(), verifier,
			func(o *node.Options) {
				o.Prover, o.LightpushMemberships, o.Discv5PingInterval = prover, []relay.Member{members[i]}, ping
			},
			func(c *config.Config) {
				c.Discovery = config.DiscoveryConfig{Discv5: true, Discv5Bootstrap: []string{bootENR}}
				c.Lightpush.Enabled, c.Lightpush.SlotsFile = true, filepath.Join(dir, "slots")
			})
		n.svcs = append(n.svcs, svc)
	}
	if n.boot.Lightpush() != nil {
		t.Fatal("the bootstrap node serves lightpush")
	}
	var err error
	if n.topic, err = n.boot.Relay().TopicFor(contentTopic); err != nil {
		t.Fatal(err)
	}
	return n
}

// svcIDs are the service nodes' peer ids.
func (n *pxNet) svcIDs() []string {
	var out []string
	for _, s := range n.svcs {
		out = append(out, s.Host().ID().String())
	}
	slices.Sort(out)
	return out
}

// svcByID is the service node of peer id id, or nil.
func (n *pxNet) svcByID(id string) *node.Node {
	for _, s := range n.svcs {
		if s.Host().ID().String() == id {
			return s
		}
	}
	return nil
}

// awaitCache waits until the bootstrap node's peer-exchange cache holds as
// many records as there are service nodes (its waku_px_peers_cached
// gauge), then reads the cache with rlnd's peer-exchange client from a
// plain host and checks that it holds exactly the service nodes' records,
// each announcing lightpush, our cluster and a websocket address.
func (n *pxNet) awaitCache(t *testing.T, ctx context.Context) {
	t.Helper()
	t0 := time.Now()
	testnet.WaitFor(t, pxDiscv5Wait, "the bootstrap node's peer-exchange cache to hold the service nodes", func() bool {
		return gaugeValue(t, n.boot.Registry(), "waku_px_peers_cached") >= float64(len(n.svcs))
	})
	h := testnet.Host(t, n.cfg.Network.ClusterID)
	testnet.Connect(t, h, n.boot.Host())
	recs, err := peerexchange.Request(ctx, h.Libp2p(), n.boot.Host().ID(), peerexchange.MaxPeers)
	if err != nil {
		t.Fatalf("peer exchange from the bootstrap node: %v", err)
	}
	var got []string
	for _, rec := range recs {
		p := checkServiceRecord(t, rec, n.cfg.Network.ClusterID)
		got = append(got, p.ID.String())
	}
	slices.Sort(got)
	if !slices.Equal(got, n.svcIDs()) {
		t.Fatalf("the bootstrap node's cache holds %v, want the service nodes %v", got, n.svcIDs())
	}
	t.Logf("the bootstrap node's peer-exchange cache held the %d service nodes after %v", len(recs), time.Since(t0).Round(time.Millisecond))
}

// checkServiceRecord decodes a service node's ENR with rlnd's decoder and
// checks what js-waku needs from it: waku2 with relay and lightpush, rs
// with our cluster, and a websocket address (the only transport js-waku
// has in Node.js).
func checkServiceRecord(t *testing.T, rec *enode.Node, cluster uint16) wakuenr.Peer {
	t.Helper()
	p, err := wakuenr.Decode(rec)
	if err != nil {
		t.Fatalf("record %s: %v", rec, err)
	}
	if !p.HasCapabilities || !p.Capabilities.Has(wakuenr.Relay|wakuenr.Lightpush) || !p.HasShards || p.Shards.Cluster != cluster {
		t.Fatalf("record of %s: capabilities %v (present %v), shards %v (present %v)", p.ID, p.Capabilities, p.HasCapabilities, p.Shards, p.HasShards)
	}
	if !slices.ContainsFunc(p.Addrs, func(a ma.Multiaddr) bool { _, err := a.ValueForProtocol(ma.P_WS); return err == nil }) {
		t.Fatalf("record of %s has no websocket address: %v", p.ID, p.Addrs)
	}
	return p
}

// gaugeValue is the value of the unlabelled gauge name in reg (0 when it
// is not registered).
func gaugeValue(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// awaitMesh waits until the bootstrap node has every service node in its
// mesh on topic: they connected by discv5 alone (no static peers).
func (n *pxNet) awaitMesh(t *testing.T) {
	t.Helper()
	testnet.WaitFor(t, pxDiscv5Wait, "the service nodes in the bootstrap node's mesh on "+n.topic, func() bool {
		mesh := n.boot.Relay().PubSub().MeshPeers(n.topic)
		for _, s := range n.svcs {
			if !contains(mesh, s.Host().ID()) {
				return false
			}
		}
		return true
	})
}

// What light/px.mjs answers.
type (
	pxRecord struct {
		PeerID     string   `json:"peerId"`
		Multiaddrs []string `json:"multiaddrs"`
		Waku2      *struct {
			Relay     bool `json:"relay"`
			LightPush bool `json:"lightPush"`
		} `json:"waku2"`
		ShardInfo *struct {
			ClusterID uint16   `json:"clusterId"`
			Shards    []uint16 `json:"shards"`
		} `json:"shardInfo"`
	}
	pxQuery struct {
		PeerID   string      `json:"peerId"`
		NumPeers int         `json:"numPeers"`
		Error    *string     `json:"error"`
		Records  []*pxRecord `json:"records"`
		Ms       int64       `json:"ms"`
	}
	pxAnswer struct {
		DecodeError *string  `json:"decodeError"`
		HasResponse bool     `json:"hasResponse"`
		Records     [][]byte `json:"recordsB64"` // as js-waku's codec read them
		RPC         []byte   `json:"rpcB64"`     // the bytes it decoded
	}
	pxConn struct {
		PeerID     string `json:"peerId"`
		RemoteAddr string `json:"remoteAddr"`
		Status     string `json:"status"`
		Direction  string `json:"direction"`
	}
	pxState struct {
		OK              bool     `json:"ok"`
		Ms              int64    `json:"ms"`
		PeerID          string   `json:"peerId"`
		SDK             string   `json:"sdk"`
		Discovery       string   `json:"discovery"`
		BootstrapPeerID string   `json:"bootstrapPeerId"`
		Connections     []pxConn `json:"connections"`
		Peers           []struct {
			PeerID    string   `json:"peerId"`
			Protocols []string `json:"protocols"`
			Tags      []string `json:"tags"`
		} `json:"peers"`
		Learned []struct {
			PeerID     string   `json:"peerId"`
			Multiaddrs []string `json:"multiaddrs"`
		} `json:"learned"`
		Queries []pxQuery  `json:"queries"`
		Answers []pxAnswer `json:"answers"`
		// start only.
		BootstrapProtocols    []string `json:"bootstrapProtocols"`
		AnnouncesPeerExchange bool     `json:"announcesPeerExchange"`
	}
	pxPushed struct {
		OK          bool     `json:"ok"`
		Ms          int64    `json:"ms"`
		PubsubTopic string   `json:"pubsubTopic"`
		TimestampMs int64    `json:"timestampMs"`
		Wire        []byte   `json:"wireB64"`
		SendError   *string  `json:"sendError"`
		Recipients  []string `json:"recipients"`
		Failures    []struct {
			Error  string  `json:"error"`
			PeerID *string `json:"peerId"`
		} `json:"failures"`
		Requests []struct {
			RequestID string `json:"requestId"`
			RPC       []byte `json:"rpcB64"`
		} `json:"requests"`
		Responses []struct {
			DecodeError *string `json:"decodeError"`
			RPC         []byte  `json:"rpcB64"`
		} `json:"responses"`
	}
)

// startPXLight starts light/px.mjs on the Node.js 22 that light.mjs runs
// on; a missing node_modules (or Node.js 22) fails the test.
func startPXLight(t *testing.T) *WakuNode {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	light := filepath.Join(dir, "light")
	bin, err := lightNodeBinary(context.Background(), light)
	if err != nil {
		t.Fatal(err)
	}
	p, err := startNodeBinary(context.Background(), bin, light, "px.mjs", "@waku/discovery", nil)
	if err != nil {
		t.Fatal(err)
	}
	js := newWakuNode(p, "light/px.mjs")
	t.Cleanup(func() {
		if err := js.Close(); err != nil {
			t.Logf("px.mjs: %v", err)
		}
		if t.Failed() {
			t.Logf("px.mjs stderr:\n%s", js.Stderr())
		}
	})
	return js
}

// pxCall calls op and fails the test on an error, with what the harness
// said then (its state: connections, queries, answers).
func pxCall[T any](t *testing.T, ctx context.Context, js *WakuNode, op string, req any) *T {
	t.Helper()
	out, err := call[T](ctx, js, op, req)
	if err != nil {
		var we *WakuError
		if errors.As(err, &we) {
			t.Fatalf("px.mjs %s: %s\n%s", op, we.Message, we.Response)
		}
		t.Fatalf("px.mjs %s: %v", op, err)
	}
	return out
}

// A js-waku light node with @waku/discovery's peer-exchange discovery,
// given only the bootstrap node's websocket address, asks it for peers as
// soon as identify lists /vac/waku/peer-exchange/2.0.0-alpha1, and reads
// its answer: the records of the two service nodes, which discv5 put into
// the bootstrap node's cache. js-waku reads from each record the peer id,
// the websocket address, waku2 (relay, lightpush) and the cluster's shards,
// learns exactly the two service nodes (never the bootstrap node, which
// leaves the requester's and its own record out), dials them and pushes a
// message with its sdk's light push, which picks learned service nodes
// (up to two; the bootstrap node serves no lightpush). Each service node
// that took it proves it (proof as a service) and relays it: every rlnd
// node delivers js-waku's bytes plus a proof, the bootstrap node from a
// service node that took it.
func TestJSWakuNewestPeerExchange(t *testing.T) {
	t.Parallel()
	const contentTopic = "/rlnd/1/interop-peer-exchange/proto"
	const numSvc = 2
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	n := newPXNet(t, numSvc, contentTopic)
	n.awaitCache(t, ctx)
	n.awaitMesh(t)

	js := startPXLight(t)
	bootAddr := wsAddr(t, n.boot.Host())
	bootID := n.boot.Host().ID().String()
	started := pxCall[pxState](t, ctx, js, "start", map[string]any{"peer": bootAddr, "clusterId": 42, "timeoutMs": pxJSWait.Milliseconds()})
	t.Logf("js-waku %s with @waku/discovery %s (%s) identified the bootstrap node %s in %d ms; its protocols: %v",
		started.SDK, started.Discovery, started.PeerID, bootID, started.Ms, started.BootstrapProtocols)
	if started.SDK != newestSDK || started.Discovery != pxDiscoveryVersion {
		t.Fatalf("px.mjs runs @waku/sdk %q and @waku/discovery %q, want %s and %s", started.SDK, started.Discovery, newestSDK, pxDiscoveryVersion)
	}
	if !started.AnnouncesPeerExchange {
		t.Fatalf("js-waku did not see %s among the bootstrap node's protocols %v", peerexchange.Protocol, started.BootstrapProtocols)
	}

	found := pxCall[pxState](t, ctx, js, "discover", map[string]any{"minPeers": numSvc, "timeoutMs": pxJSWait.Milliseconds()})
	var learned []string
	for _, l := range found.Learned {
		learned = append(learned, l.PeerID)
		t.Logf("js-waku learned %s by peer exchange, at %v", l.PeerID, l.Multiaddrs)
	}
	slices.Sort(learned)
	if !slices.Equal(learned, n.svcIDs()) {
		t.Fatalf("js-waku learned %v by peer exchange, want the service nodes %v (bootstrap %s)", learned, n.svcIDs(), bootID)
	}
	t.Logf("js-waku learned and identified the %d service nodes %d ms after identify with the bootstrap node", numSvc, found.Ms)
	// It dialled each at the websocket address of its record.
	for _, s := range n.svcs {
		id, ws := s.Host().ID().String(), wsAddr(t, s.Host())
		if !slices.ContainsFunc(found.Connections, func(c pxConn) bool {
			return c.PeerID == id && c.Status == "open" && c.Direction == "outbound" && strings.TrimSuffix(c.RemoteAddr, "/p2p/"+id) == strings.TrimSuffix(ws, "/p2p/"+id)
		}) {
			t.Fatalf("js-waku has no outbound connection to %s at %s: %+v", id, ws, found.Connections)
		}
	}
	n.checkQueries(t, found, bootID)

	// The push: every node's relay is watched from before it.
	subs := map[string]*relay.Subscription{}
	for _, nd := range append([]*node.Node{n.boot}, n.svcs...) {
		sub := nd.Relay().Subscribe()
		defer sub.Cancel()
		subs[nd.Host().ID().String()] = sub
	}
	proofs := map[string]int{}
	for _, s := range n.svcs {
		proofs[s.Host().ID().String()] = s.Lightpush().ProofsAttached()
	}
	payload := []byte("js-waku light push through a peer learned by peer exchange")
	pushed := pxCall[pxPushed](t, ctx, js, "lightpush", map[string]any{"contentTopic": contentTopic, "payloadB64": payload, "timeoutMs": pxJSWait.Milliseconds()})
	t.Logf("push: ok %v in %d ms to %v on %s, failures %v, send error %v", pushed.OK, pushed.Ms, pushed.Recipients, pushed.PubsubTopic, pushed.Failures, deref(pushed.SendError))
	if !pushed.OK || len(pushed.Recipients) == 0 || pushed.PubsubTopic != n.topic {
		t.Fatalf("push: %+v", pushed)
	}
	for _, r := range pushed.Recipients {
		if r == bootID || !slices.Contains(learned, r) {
			t.Fatalf("js-waku pushed to %s, not one of the service nodes it learned %v (bootstrap %s)", r, learned, bootID)
		}
	}
	sent := checkPXPush(t, pushed)
	// Each recipient made one proof; the others none.
	for _, s := range n.svcs {
		id := s.Host().ID().String()
		want := 0
		if slices.Contains(pushed.Recipients, id) {
			want = 1
		}
		if got := s.Lightpush().ProofsAttached() - proofs[id]; got != want {
			t.Fatalf("service node %s made %d proofs for the push, want %d (recipients %v)", id, got, want, pushed.Recipients)
		}
	}
	// Every rlnd node delivers it: the bootstrap node from a recipient.
	for id, sub := range subs {
		env := awaitPushed(t, ctx, sub, sent, id)
		if id == bootID && !slices.Contains(pushed.Recipients, env.From.String()) {
			t.Fatalf("the bootstrap node delivered the push from %s, not from a recipient %v", env.From, pushed.Recipients)
		}
		checkPushedProof(t, env, sent, n.cfg.RLN.EpochPeriod, time.UnixMilli(pushed.TimestampMs))
		t.Logf("node %s delivered it (from %q, local %v)", id, env.From, env.Local)
	}
}

// checkQueries checks js-waku's peer-exchange queries and the answers it
// decoded: every query went to the bootstrap node (the only peer that
// announces the protocol), asked for 60 records and succeeded; every
// answer was 200 and held exactly the service nodes' records, which rlnd's
// decoder and js-waku read alike.
func (n *pxNet) checkQueries(t *testing.T, st *pxState, bootID string) {
	t.Helper()
	if len(st.Queries) == 0 || len(st.Answers) != len(st.Queries) {
		t.Fatalf("js-waku made %d queries and decoded %d answers", len(st.Queries), len(st.Answers))
	}
	for i, q := range st.Queries {
		if q.PeerID != bootID || q.NumPeers != peerexchange.MaxPeers || q.Error != nil {
			t.Fatalf("query %d: to %s for %d records, error %v (bootstrap %s)", i, q.PeerID, q.NumPeers, deref(q.Error), bootID)
		}
		// js-waku's codec has no status: rlnd's reads it from the bytes
		// js-waku decoded, and must find the records js-waku found.
		a := st.Answers[i]
		var rpc peerexchangepb.PeerExchangeRPC
		if err := proto.Unmarshal(a.RPC, &rpc); err != nil || a.DecodeError != nil || !a.HasResponse {
			t.Fatalf("answer %d: %+v (%v)", i, a, err)
		}
		if code := peerexchange.StatusCode(rpc.GetResponse().GetStatusCode()); code != peerexchange.StatusOK {
			t.Fatalf("answer %d: status %v %q", i, code, rpc.GetResponse().GetStatusDesc())
		}
		if len(rpc.GetResponse().GetPeerInfos()) != len(a.Records) {
			t.Fatalf("answer %d: %d records, js-waku read %d", i, len(rpc.GetResponse().GetPeerInfos()), len(a.Records))
		}
		var ours []string
		for k, pi := range rpc.GetResponse().GetPeerInfos() {
			raw := pi.GetEnr()
			if !bytes.Equal(raw, a.Records[k]) {
				t.Fatalf("answer %d: record %d is %x, js-waku read %x", i, k, raw, a.Records[k])
			}
			var r enr.Record
			if err := rlp.DecodeBytes(raw, &r); err != nil {
				t.Fatalf("answer %d: record %x: %v", i, raw, err)
			}
			rec, err := enode.New(enode.ValidSchemes, &r)
			if err != nil {
				t.Fatalf("answer %d: record %x: %v", i, raw, err)
			}
			ours = append(ours, checkServiceRecord(t, rec, n.cfg.Network.ClusterID).ID.String())
		}
		var theirs []string
		for _, r := range q.Records {
			if r == nil || r.Waku2 == nil || !r.Waku2.Relay || !r.Waku2.LightPush || r.ShardInfo == nil || r.ShardInfo.ClusterID != n.cfg.Network.ClusterID {
				t.Fatalf("query %d: js-waku read %+v", i, r)
			}
			svc := n.svcByID(r.PeerID)
			if svc == nil {
				t.Fatalf("query %d: js-waku read a record of %s, not a service node", i, r.PeerID)
			}
			if want := n.shardIndices(); !slices.Equal(slices.Sorted(slices.Values(r.ShardInfo.Shards)), want) {
				t.Fatalf("query %d: js-waku read shards %v for %s, want %v", i, r.ShardInfo.Shards, r.PeerID, want)
			}
			if !slices.Contains(r.Multiaddrs, wsAddr(t, svc.Host())) {
				t.Fatalf("query %d: js-waku read addresses %v for %s, which lack its websocket address %s", i, r.Multiaddrs, r.PeerID, wsAddr(t, svc.Host()))
			}
			theirs = append(theirs, r.PeerID)
		}
		slices.Sort(ours)
		slices.Sort(theirs)
		if !slices.Equal(ours, n.svcIDs()) || !slices.Equal(theirs, ours) {
			t.Fatalf("answer %d: records of %v (js-waku read %v), want the service nodes %v", i, ours, theirs, n.svcIDs())
		}
		t.Logf("query %d to the bootstrap node: %d ms, 200 with %d records, js-waku read %v", i, q.Ms, len(a.Records), theirs)
	}
}

// shardIndices are the shards every node of the network relays.
func (n *pxNet) shardIndices() []uint16 {
	var out []uint16
	for _, s := range n.cfg.ShardList() {
		out = append(out, uint16(s))
	}
	slices.Sort(out)
	return out
}

// checkPXPush checks the light push exchange js-waku made (v3: one
// request and one 200 response a recipient) and returns the message it
// pushed.
func checkPXPush(t *testing.T, pushed *pxPushed) *messagepb.WakuMessage {
	t.Helper()
	sent, err := wire.DecodeMessage(pushed.Wire)
	if err != nil {
		t.Fatal(err)
	}
	if sent.RateLimitProof != nil || sent.GetTimestamp() != pushed.TimestampMs*1_000_000 {
		t.Fatalf("js-waku's message %v", sent)
	}
	if len(pushed.Requests) != len(pushed.Recipients) || len(pushed.Responses) != len(pushed.Recipients) {
		t.Fatalf("%d requests and %d responses for %d recipients", len(pushed.Requests), len(pushed.Responses), len(pushed.Recipients))
	}
	for i, rq := range pushed.Requests {
		var req lightpushpb.LightPushRequest
		if err := proto.Unmarshal(rq.RPC, &req); err != nil || req.GetPubsubTopic() != pushed.PubsubTopic || !proto.Equal(req.GetMessage(), sent) {
			t.Fatalf("request %d: %v (%v)", i, &req, err)
		}
		var resp lightpushpb.LightPushResponse
		if err := proto.Unmarshal(pushed.Responses[i].RPC, &resp); err != nil ||
			lightpush.StatusCode(resp.GetStatusCode()) != lightpush.StatusOK || resp.GetRelayPeerCount() < 1 {
			t.Fatalf("response %d: %v (%v)", i, &resp, err)
		}
	}
	return sent
}

// awaitPushed waits for sub to deliver the pushed message (by payload and
// content topic).
func awaitPushed(t *testing.T, ctx context.Context, sub *relay.Subscription, sent *messagepb.WakuMessage, who string) *relay.Envelope {
	t.Helper()
	for {
		select {
		case env := <-sub.C():
			if bytes.Equal(env.Message.GetPayload(), sent.GetPayload()) && env.Message.GetContentTopic() == sent.GetContentTopic() {
				return env
			}
		case <-ctx.Done():
			t.Fatalf("node %s did not deliver the pushed message: %v", who, ctx.Err())
		}
	}
}

// checkPushedProof checks that a delivered copy is js-waku's message plus
// an RLN proof of the message's epoch.
func checkPushedProof(t *testing.T, env *relay.Envelope, sent *messagepb.WakuMessage, epochPeriod time.Duration, at time.Time) {
	t.Helper()
	p, err := rln.UnmarshalRateLimitProof(env.Message.RateLimitProof)
	if err != nil {
		t.Fatalf("delivered proof: %v", err)
	}
	if want := rln.Epoch(at, epochPeriod); p.Epoch != want {
		t.Fatalf("proof for epoch %d, message of epoch %d", p.Epoch, want)
	}
	stripped := proto.Clone(env.Message).(*messagepb.WakuMessage)
	stripped.RateLimitProof = nil
	if !proto.Equal(stripped, sent) {
		t.Fatalf("delivered %v, js-waku pushed %v", stripped, sent)
	}
}
