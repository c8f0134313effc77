package wakuenr

import (
	"crypto/ecdsa"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/ethereum/go-ethereum/rlp"
	ma "github.com/multiformats/go-multiaddr"
)

// Every record Build makes decodes back to what it was built from.
func TestBuildDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	self, err := PeerID(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		rec       LocalRecord
		wantAddrs []string
		wantKey   string // shard entry written
	}{
		{
			name:      "nwaku-like",
			rec:       LocalRecord{IP: net.IPv4(203, 0, 113, 7), TCP: 60000, UDP: 9000, Capabilities: Relay | Store | Filter | Lightpush, Shards: mustShards(t, 1, 0, 1, 2, 3, 4, 5, 6, 7), Multiaddrs: mustAddrs(t, "/dns4/node.example.org/tcp/8000/wss")},
			wantAddrs: []string{"/ip4/203.0.113.7/tcp/60000", "/dns4/node.example.org/tcp/8000/wss"},
			wantKey:   KeyShardList,
		},
		{
			name:      "ipv6",
			rec:       LocalRecord{IP: net.ParseIP("2001:db8::1"), TCP: 30303, Capabilities: Relay, Shards: mustShards(t, 42, 3)},
			wantAddrs: []string{"/ip6/2001:db8::1/tcp/30303"},
			wantKey:   KeyShardList,
		},
		{
			name:      "many shards go to rsv",
			rec:       LocalRecord{IP: net.IPv4(127, 0, 0, 1), TCP: 60000, Capabilities: Relay, Shards: mustShards(t, 16, shardRange(0, 64)...)},
			wantAddrs: []string{"/ip4/127.0.0.1/tcp/60000"},
			wantKey:   KeyShardVector,
		},
		{
			name:      "our /p2p is taken off, duplicates of ip/tcp dropped",
			rec:       LocalRecord{IP: net.IPv4(10, 1, 2, 3), TCP: 60000, Multiaddrs: mustAddrs(t, "/ip4/10.1.2.3/tcp/8000/ws/p2p/"+self.String(), "/ip4/10.1.2.3/tcp/60000")},
			wantAddrs: []string{"/ip4/10.1.2.3/tcp/60000", "/ip4/10.1.2.3/tcp/8000/ws"},
		},
		{
			name:      "no address, no capabilities",
			rec:       LocalRecord{},
			wantAddrs: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, err := Build(key, 5, tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			if n.Seq() != 5 {
				t.Errorf("seq %d, want 5", n.Seq())
			}
			// Through the text form, as a peer would get it.
			p, err := ParsePeer(Text(n))
			if err != nil {
				t.Fatal(err)
			}
			if p.ID != self {
				t.Errorf("peer id %s, want %s", p.ID, self)
			}
			if got := addrStrings(p.Addrs); !equalStrings(got, tc.wantAddrs) && len(got)+len(tc.wantAddrs) > 0 {
				t.Errorf("addrs %v, want %v", got, tc.wantAddrs)
			}
			if !p.HasCapabilities || p.Capabilities != tc.rec.Capabilities {
				t.Errorf("capabilities %v (present %v), want %v", p.Capabilities, p.HasCapabilities, tc.rec.Capabilities)
			}
			if tc.rec.Shards == nil {
				if p.HasShards {
					t.Errorf("shards %v, want none", p.Shards)
				}
			} else if !p.HasShards || !p.Shards.Equal(*tc.rec.Shards) {
				t.Errorf("shards %v, want %v", p.Shards, *tc.rec.Shards)
			}
			for _, k := range []string{KeyShardList, KeyShardVector} {
				_, has, _ := loadBytes(n, k)
				if has != (k == tc.wantKey) {
					t.Errorf("entry %s present: %v, want %v", k, has, k == tc.wantKey)
				}
			}
			var tcp6 enr.TCP6
			has6, err := loadOptional(n, &tcp6)
			if wantTCP6 := tc.rec.IP != nil && tc.rec.IP.To4() == nil; err != nil || has6 != wantTCP6 || has6 && int(tcp6) != tc.rec.TCP {
				t.Errorf("tcp6 entry present %v (%d, %v), want %v: js-waku reads ip6 only with tcp6", has6, tcp6, err, wantTCP6)
			}
			if tc.rec.UDP != 0 && n.UDP() != tc.rec.UDP {
				t.Errorf("udp %d, want %d", n.UDP(), tc.rec.UDP)
			}
			info := p.AddrInfo()
			if info.ID != self || len(info.Addrs) != len(p.Addrs) {
				t.Errorf("AddrInfo %v", info)
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	t.Parallel()
	key, other := newKey(t), newKey(t)
	otherID, err := PeerID(&other.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var wss []ma.Multiaddr
	for k := range 8 {
		wss = append(wss, mustAddrs(t, "/dns4/node-0"+string(rune('0'+k))+".a-rather-long-fleet-name.example.org/tcp/8000/wss")...)
	}
	tests := []struct {
		name    string
		rec     LocalRecord
		target  error
		wantErr string
	}{
		{"tcp port", LocalRecord{TCP: 70000}, ErrInvalid, "TCP port 70000, want 0 to 65535"},
		{"udp port", LocalRecord{UDP: -1}, ErrInvalid, "UDP port -1"},
		{"ip length", LocalRecord{IP: net.IP{1, 2, 3}}, ErrInvalid, "want 4 or 16 bytes"},
		{"another peer's address", LocalRecord{Multiaddrs: mustAddrs(t, "/dns4/x.org/tcp/443/wss/p2p/"+otherID.String())}, ErrInvalid, "names peer " + otherID.String() + ", not this node"},
		{"bad shards", LocalRecord{Shards: &Shards{Cluster: 1, Indices: []uint16{5, 1}}}, ErrInvalid, "not ascending"},
		{"too big", LocalRecord{IP: net.IPv4(1, 2, 3, 4), TCP: 1, UDP: 1, Multiaddrs: wss}, ErrTooBig, "over the 300-byte ENR limit by"},
	}
	for _, tc := range tests {
		if _, err := Build(key, 1, tc.rec); !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want %v with %q", tc.name, err, tc.target, tc.wantErr)
		}
	}
	// The size error names the entry that is too big.
	_, err = Build(key, 1, LocalRecord{Multiaddrs: wss})
	if err == nil || !strings.Contains(err.Error(), "largest entries in bytes: multiaddrs") {
		t.Errorf("too big error %v, want it to name multiaddrs first", err)
	}
	// As big as fits: a TWN-sized record (295 bytes) builds.
	twnLike := LocalRecord{IP: net.IPv4(34, 66, 89, 94), TCP: 30303, UDP: 9000, Capabilities: 0x0f, Shards: mustShards(t, 1, shardRange(0, 8)...),
		Multiaddrs: mustAddrs(t, "/dns4/node-01.gc-us-central1-a.waku.sandbox.status.im/tcp/30303", "/dns4/node-01.gc-us-central1-a.waku.sandbox.status.im/tcp/8000/wss")}
	n, err := Build(key, 1, twnLike)
	if err != nil {
		t.Fatalf("TWN-sized record: %v", err)
	}
	if size := n.Record().Size(); size != 295 {
		t.Errorf("TWN-sized record is %d bytes, want 295 as the published one", size)
	}
}

func newLocalNode(t *testing.T) *enode.LocalNode {
	t.Helper()
	db, err := enode.OpenDB("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return enode.NewLocalNode(db, newKey(t))
}

func TestApply(t *testing.T) {
	t.Parallel()
	ln := newLocalNode(t)
	rec := LocalRecord{IP: net.IPv4(127, 0, 0, 1), TCP: 60000, UDP: 9000, Capabilities: Relay, Shards: mustShards(t, 1, 0, 1), Multiaddrs: mustAddrs(t, "/ip4/127.0.0.1/tcp/8000/ws")}
	if err := Apply(ln, rec); err != nil {
		t.Fatal(err)
	}
	p, err := Decode(ln.Node())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := addrStrings(p.Addrs), []string{"/ip4/127.0.0.1/tcp/60000", "/ip4/127.0.0.1/tcp/8000/ws"}; !equalStrings(got, want) {
		t.Errorf("addrs %v, want %v", got, want)
	}
	if ln.Node().UDP() != 9000 || p.Capabilities != Relay || !p.Shards.Equal(*rec.Shards) {
		t.Errorf("record %v: udp %d caps %v shards %v", ln.Node(), ln.Node().UDP(), p.Capabilities, p.Shards)
	}

	// From rs to rsv, and the multiaddrs entry goes.
	rec.Shards = mustShards(t, 1, shardRange(0, 100)...)
	rec.Multiaddrs = nil
	rec.Capabilities = Relay | Store
	if err := Apply(ln, rec); err != nil {
		t.Fatal(err)
	}
	n := ln.Node()
	p, err = Decode(n)
	if err != nil {
		t.Fatal(err)
	}
	_, hasList, _ := loadBytes(n, KeyShardList)
	_, hasVec, _ := loadBytes(n, KeyShardVector)
	_, hasAddrs, _ := loadBytes(n, KeyMultiaddrs)
	if hasList || !hasVec || hasAddrs {
		t.Errorf("entries rs %v rsv %v multiaddrs %v, want only rsv", hasList, hasVec, hasAddrs)
	}
	if !p.Shards.Equal(*rec.Shards) || p.Capabilities != Relay|Store {
		t.Errorf("shards %v caps %v", p.Shards, p.Capabilities)
	}

	// A record that does not fit is refused, and the LocalNode keeps the
	// record it had (and can still sign).
	seq := ln.Node().Seq()
	before := Text(ln.Node())
	var big []ma.Multiaddr
	for k := range 6 {
		big = append(big, mustAddrs(t, "/dns4/node-0"+string(rune('0'+k))+".a-long-name.example.org/tcp/443/wss")...)
	}
	rec.Multiaddrs = big
	if err := Apply(ln, rec); !errors.Is(err, ErrTooBig) {
		t.Fatalf("Apply of a big record: %v, want ErrTooBig", err)
	}
	if got := ln.Node(); got.Seq() != seq || Text(got) != before {
		t.Errorf("record changed after a refused Apply: seq %d -> %d", seq, got.Seq())
	}
	// Back to rs, which frees room for two of the addresses: rsv shrinks
	// to rs before the multiaddrs entry grows.
	rec.Shards = mustShards(t, 1, 3)
	rec.Multiaddrs = big[:2]
	if err := Apply(ln, rec); err != nil {
		t.Fatalf("Apply of a smaller record: %v", err)
	}
	if p, err := Decode(ln.Node()); err != nil || len(p.Addrs) != 3 || !p.Shards.Equal(*rec.Shards) {
		t.Errorf("after Apply: %v, %v", p.Addrs, err)
	}
}

// reserve entries count in the size check, so a record that fits now but
// would not once the endpoint prediction adds an ip6 address is refused.
func TestApplyReserve(t *testing.T) {
	t.Parallel()
	ln := newLocalNode(t)
	// Grow the multiaddrs entry until the record no longer fits with an
	// ip6 entry reserved; the last size that fits without it must still
	// be accepted without the reserve.
	reserve := []enr.Entry{enr.IPv6(net.ParseIP("2001:db8::1")), enr.UDP6(65535)}
	base := LocalRecord{IP: net.IPv4(127, 0, 0, 1), TCP: 60000, UDP: 9000, Capabilities: Relay, Shards: mustShards(t, 1, 0)}
	var refusedWithReserve bool
	for n := 1; n < 200; n++ {
		rec := base
		rec.Multiaddrs = mustAddrs(t, "/dns4/"+strings.Repeat("a", n)+".org/tcp/443/wss")
		errReserve := Apply(ln, rec, reserve...)
		if errReserve == nil {
			continue
		}
		if !errors.Is(errReserve, ErrTooBig) {
			t.Fatal(errReserve)
		}
		refusedWithReserve = true
		if err := Apply(ln, rec); err != nil {
			t.Fatalf("name of %d bytes: refused with the reserve (right) but also without it: %v", n, err)
		}
		if _, err := Decode(ln.Node()); err != nil {
			t.Fatal(err)
		}
		break
	}
	if !refusedWithReserve {
		t.Fatal("no record was refused for the reserve")
	}
}

func TestSplitAddrs(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	self, _ := PeerID(&key.PublicKey)
	tests := []struct {
		name     string
		in       []string
		wantIP   string
		wantTCP  int
		wantRest []string
	}{
		{
			name:     "ip4 tcp and websocket",
			in:       []string{"/ip4/1.2.3.4/tcp/8000/ws", "/ip4/1.2.3.4/tcp/60000", "/dns4/x.org/tcp/443/wss"},
			wantIP:   "1.2.3.4",
			wantTCP:  60000,
			wantRest: []string{"/ip4/1.2.3.4/tcp/8000/ws", "/dns4/x.org/tcp/443/wss"},
		},
		{
			name:     "ip4 preferred over an earlier ip6",
			in:       []string{"/ip6/2001:db8::1/tcp/60000", "/ip4/1.2.3.4/tcp/60000/p2p/" + self.String()},
			wantIP:   "1.2.3.4",
			wantTCP:  60000,
			wantRest: []string{"/ip6/2001:db8::1/tcp/60000"},
		},
		{
			name:     "ip6 when there is no ip4",
			in:       []string{"/ip6/2001:db8::1/tcp/60000", "/ip6/2001:db8::1/tcp/60000"},
			wantIP:   "2001:db8::1",
			wantTCP:  60000,
			wantRest: []string{"/ip6/2001:db8::1/tcp/60000"},
		},
		{
			name:     "unspecified address is not a plain one",
			in:       []string{"/ip4/0.0.0.0/tcp/60000", "/dns4/x.org/tcp/60000"},
			wantRest: []string{"/ip4/0.0.0.0/tcp/60000", "/dns4/x.org/tcp/60000"},
		},
	}
	for _, tc := range tests {
		ip, tcp, rest := SplitAddrs(mustAddrs(t, tc.in...))
		gotIP := ""
		if ip != nil {
			gotIP = ip.String()
		}
		if gotIP != tc.wantIP || tcp != tc.wantTCP || !equalStrings(addrStrings(rest), tc.wantRest) && len(rest)+len(tc.wantRest) > 0 {
			t.Errorf("%s: %s %d %v, want %s %d %v", tc.name, gotIP, tcp, addrStrings(rest), tc.wantIP, tc.wantTCP, tc.wantRest)
		}
	}
}

// signed signs a record made of entries (set in order over id and
// secp256k1) with key.
func signed(t *testing.T, key *ecdsa.PrivateKey, entries ...enr.Entry) *enode.Node {
	t.Helper()
	var r enr.Record
	for _, e := range entries {
		r.Set(e)
	}
	if err := enode.SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	n, err := enode.New(enode.ValidSchemes, &r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func raw(key string, v []byte) enr.Entry { return enr.WithEntry(key, v) }

// rawRLP is an entry whose RLP value is given as is.
func rawRLP(key string, v []byte) enr.Entry { return enr.WithEntry(key, rlp.RawValue(v)) }

func TestDecodeRecords(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	self, _ := PeerID(&key.PublicKey)
	otherID, _ := PeerID(&newKey(t).PublicKey)
	rs := func(s ...uint16) []byte { b, _ := EncodeShardList(Shards{1, s}); return b }
	maddrs := func(ss ...string) []byte { b, _ := EncodeMultiaddrs(mustAddrs(t, ss...)); return b }
	tests := []struct {
		name       string
		entries    []enr.Entry
		wantErr    string
		wantAddrs  []string
		wantShards string // "" for none
		wantCaps   string // "" for none
	}{
		{name: "bare record: everything unknown", entries: nil},
		{name: "waku2", entries: []enr.Entry{raw("waku2", []byte{0x09})}, wantCaps: "relay,lightpush"},
		{name: "waku2 as RLP integer zero", entries: []enr.Entry{enr.WithEntry("waku2", uint8(0))}, wantCaps: "none"},
		{name: "waku2 two bytes", entries: []enr.Entry{raw("waku2", []byte{1, 2})}, wantErr: "waku2 is 2 bytes, want 1"},
		{name: "waku2 a list", entries: []enr.Entry{enr.WithEntry("waku2", []uint{1})}, wantErr: "waku2 is not an RLP byte string"},
		{name: "rs", entries: []enr.Entry{raw("rs", rs(3, 1))}, wantShards: "1/1,3"},
		{name: "rs malformed", entries: []enr.Entry{raw("rs", []byte{0, 1, 2, 0})}, wantErr: "rs counts 2 shards in 4 bytes"},
		{name: "rsv", entries: []enr.Entry{raw("rsv", EncodeShardVector(Shards{2, []uint16{9, 700}}))}, wantShards: "2/9,700"},
		{name: "rsv malformed", entries: []enr.Entry{raw("rsv", []byte{0, 1, 2})}, wantErr: "rsv is 3 bytes, want 130"},
		{name: "rs wins over rsv", entries: []enr.Entry{raw("rs", rs(4)), raw("rsv", EncodeShardVector(Shards{1, []uint16{5}}))}, wantShards: "1/4"},
		{name: "rsv beside rs still checked", entries: []enr.Entry{raw("rs", rs(4)), raw("rsv", []byte{1})}, wantErr: "rsv is 1 bytes"},
		{
			name:      "ip tcp and ip6 with tcp6 defaulting to tcp",
			entries:   []enr.Entry{enr.IPv4(net.IPv4(1, 2, 3, 4)), enr.IPv6(net.ParseIP("2001:db8::5")), enr.TCP(30303)},
			wantAddrs: []string{"/ip4/1.2.3.4/tcp/30303", "/ip6/2001:db8::5/tcp/30303"},
		},
		{
			name:      "tcp6",
			entries:   []enr.Entry{enr.IPv6(net.ParseIP("2001:db8::5")), enr.TCP6(443), enr.TCP(30303)},
			wantAddrs: []string{"/ip6/2001:db8::5/tcp/443"},
		},
		{name: "ip without tcp is no address", entries: []enr.Entry{enr.IPv4(net.IPv4(1, 2, 3, 4)), enr.UDP(9000)}},
		{name: "unspecified ip is no address", entries: []enr.Entry{enr.IPv4(net.IPv4zero), enr.TCP(1)}},
		{name: "tcp 0 is no address", entries: []enr.Entry{enr.IPv4(net.IPv4(1, 2, 3, 4)), enr.TCP(0)}},
		{name: "ip of 5 bytes", entries: []enr.Entry{raw("ip", []byte{1, 2, 3, 4, 5}), enr.TCP(1)}, wantErr: "ip:"},
		{name: "tcp not canonical", entries: []enr.Entry{enr.IPv4(net.IPv4(1, 2, 3, 4)), rawRLP("tcp", []byte{0x82, 0x00, 0x01})}, wantErr: "tcp:"},
		{name: "ip6 holding an IPv4 address", entries: []enr.Entry{raw("ip6", net.IPv4(1, 2, 3, 4).To16()), enr.TCP(1)}, wantErr: "IPv4-mapped"},
		{
			name:      "multiaddrs, ours with /p2p taken off, duplicates dropped",
			entries:   []enr.Entry{enr.IPv4(net.IPv4(1, 2, 3, 4)), enr.TCP(60000), raw("multiaddrs", maddrs("/dns4/a.org/tcp/443/wss/p2p/"+self.String(), "/ip4/1.2.3.4/tcp/60000", "/dns4/a.org/tcp/443/wss"))},
			wantAddrs: []string{"/ip4/1.2.3.4/tcp/60000", "/dns4/a.org/tcp/443/wss"},
		},
		{
			name:      "circuit address kept",
			entries:   []enr.Entry{raw("multiaddrs", maddrs("/ip4/5.6.7.8/tcp/1/p2p/"+otherID.String()+"/p2p-circuit"))},
			wantAddrs: []string{"/ip4/5.6.7.8/tcp/1/p2p/" + otherID.String() + "/p2p-circuit"},
		},
		{name: "multiaddrs of another peer", entries: []enr.Entry{raw("multiaddrs", maddrs("/dns4/a.org/tcp/443/wss/p2p/"+otherID.String()))}, wantErr: "names peer " + otherID.String()},
		{name: "multiaddrs bare /p2p", entries: []enr.Entry{raw("multiaddrs", maddrs("/p2p/"+self.String()))}, wantErr: "has no address before /p2p"},
		{name: "multiaddrs truncated", entries: []enr.Entry{raw("multiaddrs", []byte{0, 9, 4, 1, 2, 3, 4})}, wantErr: "entry 0 has length 9, only 5 byte(s) left"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := signed(t, key, tc.entries...)
			p, err := Decode(n)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ErrMalformed with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.ID != self {
				t.Errorf("peer id %s, want %s", p.ID, self)
			}
			if got := addrStrings(p.Addrs); !slices.Equal(got, tc.wantAddrs) && len(got)+len(tc.wantAddrs) > 0 {
				t.Errorf("addrs %v, want %v", got, tc.wantAddrs)
			}
			gotShards, gotCaps := "", ""
			if p.HasShards {
				gotShards = p.Shards.String()
			}
			if p.HasCapabilities {
				gotCaps = p.Capabilities.String()
			}
			if gotShards != tc.wantShards || gotCaps != tc.wantCaps {
				t.Errorf("shards %q caps %q, want %q %q", gotShards, gotCaps, tc.wantShards, tc.wantCaps)
			}
		})
	}
}

func TestDecodeNeedsSecp256k1(t *testing.T) {
	t.Parallel()
	var r enr.Record
	r.Set(raw("waku2", []byte{1}))
	n := enode.SignNull(&r, enode.ID{1})
	if _, err := Decode(n); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "no secp256k1 key") {
		t.Errorf("Decode(null-scheme record) error %v", err)
	}
	if _, err := Decode(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("Decode(nil) error %v", err)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	good := twnBootstrap[0].enr
	// Flip one character of the signature: the record no longer verifies.
	badSig := good[:10] + string(good[10]^1) + good[11:]
	tests := []struct {
		name, in, wantErr string
	}{
		{"enode url", "enode://a979fb575495b8d6db44f750317d0f4622bf4c2aa3365d6af7c284339968eef29b69ad0dce72a4d8db5ebb4968de0e3bec910127f134779fbcb0cb6d3331163c@52.16.188.185:30303", `does not start with "enr:"`},
		{"no prefix", good[4:], `does not start with "enr:"`},
		{"bad base64", "enr:!!!!", "record"},
		{"bad signature", badSig, "record"},
		{"too long", "enr:" + strings.Repeat("A", 500), "record text is 504 characters, want at most 404"},
		{"empty", "", "does not start"},
	}
	for _, tc := range tests {
		if _, err := Parse(tc.in); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want ErrMalformed with %q", tc.name, err, tc.wantErr)
		}
	}
	if _, err := Parse("  " + good + "\n"); err != nil {
		t.Errorf("record with surrounding space: %v", err)
	}
}
