package peermgr

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// testID is a made-up peer id for the policy's unit tests (plan never
// parses it).
func testID(name string) peer.ID { return peer.ID("peer-" + name) }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// lp builds a connected peer: name, relay shards (nil: not a relay peer),
// direction and age in seconds.
func lp(name string, out bool, age int, shards ...uint16) *livePeer {
	p := &livePeer{id: testID(name), out: out, since: t0.Add(-time.Duration(age) * time.Second), shards: shards}
	if shards != nil {
		p.caps = CapRelay
	}
	return p
}

func rec(name string, caps Capabilities, failures int, shards ...uint16) *record {
	r := &record{KnownPeer: KnownPeer{ID: testID(name), Caps: caps, Failures: failures, LastSeen: t0,
		Addrs: []ma.Multiaddr{ma.StringCast("/ip4/192.0.2.1/tcp/60000")}}}
	if shards != nil {
		r.ClusterKnown, r.Shards = true, shards
	}
	return r
}

func names(ids []peer.ID) []string {
	var out []string
	for _, id := range ids {
		out = append(out, string(id)[len("peer-"):])
	}
	slices.Sort(out)
	return out
}

func dialed(out planOutput) []string {
	var ids []peer.ID
	for _, d := range out.dials {
		ids = append(ids, d.id)
	}
	return names(ids)
}

func closed(out planOutput) []string {
	var ids []peer.ID
	for _, c := range out.closes {
		ids = append(ids, c.id)
	}
	return names(ids)
}

func testPolicy() policy {
	return policy{maxPeers: 12, relayPeers: 6, outRelay: 2, shardTarget: 2, shards: []uint16{0, 1}, maxDials: 10}
}

func TestPlanDials(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		pol    func(*policy)
		live   []*livePeer
		cands  []*record
		want   []string
		reason string
	}{
		{
			name:   "a candidate on both short shards is preferred to two on one each",
			pol:    func(p *policy) { p.shardTarget, p.outRelay = 1, 1 },
			cands:  []*record{rec("a", CapRelay, 0, 0), rec("b", CapRelay, 0, 1), rec("c", CapRelay, 0, 0, 1)},
			want:   []string{"c"},
			reason: "c alone brings both shards to target and the outbound target is one",
		},
		{
			name:  "shards under target are filled from their candidates",
			cands: []*record{rec("a0", CapRelay, 0, 0), rec("b0", CapRelay, 0, 0), rec("c0", CapRelay, 0, 0), rec("a1", CapRelay, 0, 1), rec("b1", CapRelay, 0, 1)},
			want:  []string{"a1", "b1", "x", "y"}, // two of shard 0, both of shard 1
		},
		{
			name:  "no dial once every shard and the outbound target are met",
			live:  []*livePeer{lp("p", true, 10, 0, 1), lp("q", true, 10, 0, 1)},
			cands: []*record{rec("a", CapRelay, 0, 0, 1)},
			want:  nil,
		},
		{
			name:   "the outbound target is met even when inbound peers fill the shards",
			live:   []*livePeer{lp("p", false, 10, 0, 1), lp("q", false, 10, 0, 1)},
			cands:  []*record{rec("a", CapRelay, 0, 0), rec("b", CapRelay, 0, 1), rec("c", CapRelay, 0, 1)},
			want:   []string{"x", "y"},
			reason: "two of the three, whichever",
		},
		{
			name:  "non-relay, other-shard and failing candidates come last",
			pol:   func(p *policy) { p.shardTarget, p.outRelay = 1, 1 },
			cands: []*record{rec("store", CapStore, 0, 0), rec("other", CapRelay, 0, 5), rec("flaky", CapRelay, 2, 0, 1), rec("good", CapRelay, 0, 0, 1)},
			want:  []string{"good"},
		},
		{
			name:   "candidates of unknown shards are tried, as many as the largest deficit",
			cands:  []*record{rec("u1", 0, 0), rec("u2", 0, 0), rec("u3", 0, 0), rec("u4", 0, 0)},
			want:   []string{"x", "y"},
			reason: "shard target 2: two dials of unknown shards",
		},
		{
			name:  "the relay budget bounds the dials",
			pol:   func(p *policy) { p.relayPeers, p.shardTarget, p.outRelay = 3, 3, 1 },
			live:  []*livePeer{lp("p", false, 10, 0), lp("q", false, 10, 0)},
			cands: []*record{rec("a", CapRelay, 0, 1), rec("b", CapRelay, 0, 1), rec("c", CapRelay, 0, 1)},
			want:  []string{"x"},
		},
		{
			name:  "the parallel dial bound holds",
			pol:   func(p *policy) { p.maxDials = 1 },
			cands: []*record{rec("a", CapRelay, 0, 0), rec("b", CapRelay, 0, 1)},
			want:  []string{"x"},
		},
		{
			name:  "no relay dials without shards of our own",
			pol:   func(p *policy) { p.shards = nil },
			cands: []*record{rec("a", CapRelay, 0, 0)},
			want:  nil,
		},
		{
			name: "service slots are filled outside the relay budget",
			pol: func(p *policy) {
				p.relayPeers, p.shardTarget, p.outRelay, p.slots = 2, 1, 0, []slot{{CapStore, 1}, {CapLightpush, 1}}
			},
			live:   []*livePeer{lp("p", true, 10, 0, 1), lp("q", true, 10, 0, 1)},
			cands:  []*record{rec("s1", CapStore, 0), rec("s2", CapStore, 0), rec("l1", CapLightpush, 0), rec("r", CapRelay, 0, 0)},
			want:   []string{"l1", "x"},
			reason: "one store peer (either), the lightpush peer, no relay peer: the relay budget is full",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pol := testPolicy()
			if tc.pol != nil {
				tc.pol(&pol)
			}
			out := pol.plan(planInput{live: tc.live, pending: map[peer.ID]intent{}, candidates: tc.cands})
			got := dialed(out)
			if !matches(got, tc.want) {
				t.Fatalf("dialled %v, want %v (%s)", got, tc.want, tc.reason)
			}
			if len(out.closes) != 0 {
				t.Fatalf("closed %v", closed(out))
			}
		})
	}
}

// matches compares sorted names; "x" and "y" in want match any name not
// otherwise listed.
func matches(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	rest := slices.Clone(got)
	wild := 0
	for _, w := range want {
		if w == "x" || w == "y" {
			wild++
			continue
		}
		i := slices.Index(rest, w)
		if i < 0 {
			return false
		}
		rest = slices.Delete(rest, i, i+1)
	}
	return len(rest) == wild
}

func TestPlanPendingDialsCount(t *testing.T) {
	t.Parallel()
	pol := testPolicy()
	pending := map[peer.ID]intent{testID("d0"): {relay: true, shards: []uint16{0, 1}}, testID("d1"): {relay: true, shards: []uint16{0, 1}}}
	out := pol.plan(planInput{pending: pending, candidates: []*record{rec("a", CapRelay, 0, 0, 1)}})
	if len(out.dials) != 0 {
		t.Fatalf("dialled %v while two dials in flight already cover both shards", dialed(out))
	}
}

func TestPlanPrunes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		pol  func(*policy)
		live []*livePeer
		want []string
	}{
		{
			name: "inbound relay peers over budget: those no shard needs, newest first",
			pol:  func(p *policy) { p.relayPeers, p.outRelay, p.shardTarget = 4, 2, 1 },
			// limit 2 inbound; i1 alone holds shard 1 (needed), i2..i4 on shard 0.
			live: []*livePeer{lp("i1", false, 50, 1), lp("i2", false, 40, 0), lp("i3", false, 30, 0), lp("i4", false, 20, 0), lp("o", true, 60, 0)},
			want: []string{"i3", "i4"},
		},
		{
			name: "inbound within budget: nothing pruned",
			live: []*livePeer{lp("i1", false, 50, 0), lp("i2", false, 40, 1), lp("o", true, 60, 0)},
			want: nil,
		},
		{
			name: "light clients over what relay leaves: newest inbound go",
			pol:  func(p *policy) { p.maxPeers, p.relayPeers = 5, 3 },
			live: []*livePeer{lp("c1", false, 50), lp("c2", false, 40), lp("c3", false, 30), lp("c4", false, 20), lp("r", true, 60, 0)},
			want: []string{"c3", "c4"},
		},
		{
			name: "static and slot peers are never pruned",
			pol:  func(p *policy) { p.maxPeers, p.relayPeers, p.outRelay, p.slots = 2, 1, 0, []slot{{CapStore, 1}} },
			live: func() []*livePeer {
				st := lp("static", false, 5)
				st.static = true
				store := lp("store", false, 1)
				store.caps = CapStore
				return []*livePeer{st, store, lp("c1", false, 50), lp("c2", false, 40)}
			}(),
			want: []string{"c1", "c2"},
		},
		{
			name: "lower gossipsub score goes first among equals",
			pol:  func(p *policy) { p.relayPeers, p.outRelay, p.shardTarget = 3, 2, 1 },
			live: func() []*livePeer {
				a, b := lp("a", false, 50, 0), lp("b", false, 10, 0)
				a.score, a.scored, b.score, b.scored = -5, true, 3, true
				return []*livePeer{a, b, lp("o", true, 60, 1)}
			}(),
			want: []string{"a"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pol := testPolicy()
			if tc.pol != nil {
				tc.pol(&pol)
			}
			out := pol.plan(planInput{live: tc.live, pending: map[peer.ID]intent{}})
			if got := closed(out); !slices.Equal(got, tc.want) {
				t.Fatalf("closed %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlanColocation(t *testing.T) {
	t.Parallel()
	pol := testPolicy()
	pol.colocation = 2
	pol.maxPeers, pol.relayPeers = 100, 50
	var live []*livePeer
	for i := range 4 {
		p := lp(fmt.Sprint("same", i), false, 100-i, 0)
		p.ip = netip.MustParseAddr("198.51.100.7")
		live = append(live, p)
	}
	loop := lp("loop", false, 1, 0)
	loop.ip = netip.MustParseAddr("127.0.0.1")
	live = append(live, loop)
	pol.exempt = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	out := pol.plan(planInput{live: live, pending: map[peer.ID]intent{}})
	if got, want := closed(out), []string{"same2", "same3"}; !slices.Equal(got, want) {
		t.Fatalf("closed %v, want the two newest of one IP %v", got, want)
	}
}

func TestPlanStatics(t *testing.T) {
	t.Parallel()
	pol := testPolicy()
	pol.maxDials = 2
	statics := []dialOrder{{id: testID("s1"), intent: intent{static: true}}, {id: testID("s2"), intent: intent{static: true}}}
	out := pol.plan(planInput{pending: map[peer.ID]intent{}, statics: statics, candidates: []*record{rec("a", CapRelay, 0, 0)}})
	if got := dialed(out); !slices.Equal(got, []string{"s1", "s2"}) {
		t.Fatalf("dialled %v: static peers go first, within the parallel bound", got)
	}
	if len(out.protected) != 0 {
		t.Fatalf("protected %v: no static peer is connected yet", out.protected)
	}
}
