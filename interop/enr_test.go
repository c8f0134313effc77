package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/rlnd/rlnd/p2p/wakuenr"
)

// jsENR is what js-waku's @waku/enr 0.0.25 reads from a record (enr.mjs).
type jsENR struct {
	Error     *string  `json:"error"`
	PeerID    string   `json:"peer_id"`
	IP        *string  `json:"ip"`
	TCP       *int     `json:"tcp"`
	UDP       *int     `json:"udp"`
	IP6       *string  `json:"ip6"`
	TCP6      *int     `json:"tcp6"`
	Locations []string `json:"locations"`
	Addrs     []string `json:"multiaddrs"`
	Waku2     *struct {
		Relay, Store, Filter, LightPush bool
	} `json:"waku2"`
	ShardInfo *struct {
		ClusterID uint16   `json:"clusterId"`
		Shards    []uint16 `json:"shards"`
	} `json:"shard_info"`
}

// enrDecoder is a running enr.mjs.
type enrDecoder struct{ p *nodeProcess }

// startENRDecoder starts enr.mjs; a missing node or node_modules fails the
// test (make interop-deps installs them).
func startENRDecoder(t *testing.T) *enrDecoder {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	p, err := startNode(ctx, dir, "enr.mjs", "@waku/enr", nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stdin.Close()
		if err := p.cmd.Wait(); err != nil {
			t.Logf("enr.mjs: %v\nstderr:\n%s", err, p.stderr.String())
		}
		cancel()
	})
	return &enrDecoder{p: p}
}

// decode asks js-waku to read text. Calls are sequential (one test).
func (d *enrDecoder) decode(t *testing.T, text string) jsENR {
	t.Helper()
	line, err := json.Marshal(map[string]string{"op": "decode", "enr": text})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.p.stdin.Write(append(line, '\n')); err != nil {
		t.Fatalf("write to enr.mjs: %v (stderr: %s)", err, d.p.stderr.String())
	}
	reply, err := d.p.stdout.ReadBytes('\n')
	if err != nil {
		t.Fatalf("read from enr.mjs: %v (stderr: %s)", err, d.p.stderr.String())
	}
	var out jsENR
	if err := json.Unmarshal(reply, &out); err != nil {
		t.Fatalf("enr.mjs answered %q: %v", reply, err)
	}
	if out.Error != nil {
		t.Fatalf("js-waku could not read %s: %s", text, *out.Error)
	}
	return out
}

func maddrs(t *testing.T, ss ...string) []ma.Multiaddr {
	t.Helper()
	out := make([]ma.Multiaddr, len(ss))
	for k, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = a
	}
	return out
}

// jsVectorShard is the shard js-waku reads where rlnd (like nwaku and
// go-waku) writes shard i into an rsv bit vector: js-waku numbers the
// bits of each byte from the most significant one.
func jsVectorShard(i uint16) uint16 { return i - i%8 + 7 - i%8 }

// Records rlnd builds read the same in js-waku: the same peer id, the
// addresses (ip/tcp and the multiaddrs entry), the capabilities and the
// shards. The one difference is known and pinned down: js-waku reads rsv
// bit vectors with the other bit order (see jsVectorShard).
func TestJSWakuReadsOurENRs(t *testing.T) {
	t.Parallel()
	js := startENRDecoder(t)
	key, err := gethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	shards := func(cluster uint16, idx ...uint16) *wakuenr.Shards {
		s, err := wakuenr.NewShards(cluster, idx...)
		if err != nil {
			t.Fatal(err)
		}
		return &s
	}
	var even []uint16
	for i := uint16(0); i < 128; i += 2 {
		even = append(even, i)
	}
	tests := []struct {
		name string
		rec  wakuenr.LocalRecord
		rsv  bool // the record carries rsv: js-waku's shards are mirrored
	}{
		{
			name: "relay node with websocket addresses",
			rec: wakuenr.LocalRecord{
				IP: net.IPv4(203, 0, 113, 9), TCP: 60000, UDP: 9000,
				Capabilities: wakuenr.Relay | wakuenr.Store | wakuenr.Lightpush,
				Shards:       shards(1, 0, 2, 5),
				Multiaddrs:   maddrs(t, "/dns4/node.example.org/tcp/8000/wss", "/ip4/203.0.113.9/tcp/8000/ws"),
			},
		},
		{
			name: "ipv6",
			rec: wakuenr.LocalRecord{
				IP: net.ParseIP("2001:db8::9"), TCP: 30303, UDP: 9005,
				Capabilities: wakuenr.Relay | wakuenr.Filter,
				Shards:       shards(42, 1023),
			},
		},
		{
			name: "63 shards: still rs",
			rec:  wakuenr.LocalRecord{IP: net.IPv4(127, 0, 0, 1), TCP: 60001, UDP: 9001, Capabilities: wakuenr.Relay, Shards: shards(16, even[:63]...)},
		},
		{
			name: "64 shards: rsv",
			rec:  wakuenr.LocalRecord{IP: net.IPv4(127, 0, 0, 1), TCP: 60001, UDP: 9001, Capabilities: wakuenr.Relay | wakuenr.Sync, Shards: shards(16, even...)},
			rsv:  true,
		},
		{
			name: "no capabilities, no shards, dns only",
			rec:  wakuenr.LocalRecord{UDP: 9000, Multiaddrs: maddrs(t, "/dns6/node.example.org/tcp/443/wss")},
		},
	}
	for _, tc := range tests {
		n, err := wakuenr.Build(key, 7, tc.rec)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		text := wakuenr.Text(n)
		ours, err := wakuenr.Decode(n)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		theirs := js.decode(t, text)
		compareENR(t, tc.name, ours, theirs, tc.rsv)
		if tc.rec.UDP != 0 && (theirs.UDP == nil || *theirs.UDP != tc.rec.UDP) {
			t.Errorf("%s: js-waku reads udp %v, want %d", tc.name, theirs.UDP, tc.rec.UDP)
		}
	}
}

// The comparison holds on records nwaku made too (The Waku Network's
// bootstrap records, see p2p/wakuenr/twn_test.go): rlnd and js-waku read
// them alike.
func TestJSWakuAndRlndReadTWNRecordsAlike(t *testing.T) {
	t.Parallel()
	js := startENRDecoder(t)
	const rec = "enr:-QEkuED9X80QF_jcN9gA2ZRhhmwVEeJnsg_Hyg7IFCTYnZD0BDI7a8HArE61NhJZFwygpHCWkgwSt2vqiABXkBxzIqZBAYJpZIJ2NIJpcIQiQlleim11bHRpYWRkcnO4bgA0Ni9ub2RlLTAxLmdjLXVzLWNlbnRyYWwxLWEud2FrdS5zYW5kYm94LnN0YXR1cy5pbQZ2XwA2Ni9ub2RlLTAxLmdjLXVzLWNlbnRyYWwxLWEud2FrdS5zYW5kYm94LnN0YXR1cy5pbQYfQN4DgnJzkwABCAAAAAEAAgADAAQABQAGAAeJc2VjcDI1NmsxoQPFAS8zz2cg1QQhxMaK8CzkGQ5wdHvPJcrgLzJGOiHpwYN0Y3CCdl-DdWRwgiMohXdha3UyDw"
	ours, err := wakuenr.ParsePeer(rec)
	if err != nil {
		t.Fatal(err)
	}
	compareENR(t, "twn gc-us-central1-a", ours, js.decode(t, rec), false)
}

func compareENR(t *testing.T, name string, ours wakuenr.Peer, theirs jsENR, mirroredShards bool) {
	t.Helper()
	if theirs.PeerID != ours.ID.String() {
		t.Errorf("%s: js-waku reads peer id %s, rlnd %s", name, theirs.PeerID, ours.ID)
	}
	var jsAddrs []string
	for _, a := range append(slices.Clone(theirs.Locations), theirs.Addrs...) {
		if !slices.Contains(jsAddrs, a) {
			jsAddrs = append(jsAddrs, a)
		}
	}
	var ourAddrs []string
	for _, a := range ours.Addrs {
		ourAddrs = append(ourAddrs, a.String())
	}
	if !slices.Equal(jsAddrs, ourAddrs) {
		t.Errorf("%s: js-waku reads addresses %v, rlnd %v", name, jsAddrs, ourAddrs)
	}
	if !ours.HasCapabilities {
		if theirs.Waku2 != nil {
			t.Errorf("%s: js-waku reads waku2 %+v, rlnd none", name, *theirs.Waku2)
		}
	} else {
		c := ours.Capabilities
		want := fmt.Sprint(c.Has(wakuenr.Relay), c.Has(wakuenr.Store), c.Has(wakuenr.Filter), c.Has(wakuenr.Lightpush))
		if theirs.Waku2 == nil {
			t.Errorf("%s: js-waku reads no waku2, rlnd %v", name, c)
		} else if got := fmt.Sprint(theirs.Waku2.Relay, theirs.Waku2.Store, theirs.Waku2.Filter, theirs.Waku2.LightPush); got != want {
			t.Errorf("%s: js-waku reads relay/store/filter/lightpush %s, rlnd %s (%v)", name, got, want, c)
		}
	}
	if !ours.HasShards {
		if theirs.ShardInfo != nil {
			t.Errorf("%s: js-waku reads shards %+v, rlnd none", name, *theirs.ShardInfo)
		}
		return
	}
	if theirs.ShardInfo == nil {
		t.Fatalf("%s: js-waku reads no shards, rlnd %v", name, ours.Shards)
	}
	want := slices.Clone(ours.Shards.Indices)
	if mirroredShards {
		for k, i := range want {
			want[k] = jsVectorShard(i)
		}
		slices.Sort(want)
	}
	got := slices.Clone(theirs.ShardInfo.Shards)
	slices.Sort(got)
	if theirs.ShardInfo.ClusterID != ours.Shards.Cluster || !slices.Equal(got, want) {
		t.Errorf("%s: js-waku reads cluster %d shards %v, want cluster %d shards %v", name, theirs.ShardInfo.ClusterID, got, ours.Shards.Cluster, want)
	}
}
