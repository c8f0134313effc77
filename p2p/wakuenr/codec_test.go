package wakuenr

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCapabilities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c    Capabilities
		str  string
		want []Capabilities // flags Has must report
	}{
		{0, "none", nil},
		{Relay, "relay", []Capabilities{Relay}},
		{Relay | Store | Filter | Lightpush, "relay,store,filter,lightpush", []Capabilities{Relay, Store, Filter, Lightpush}},
		{Sync | Relay, "relay,sync", []Capabilities{Relay, Sync}},
		{0x80 | Store, "store,0x80", []Capabilities{Store}},
		{0xe0, "0xe0", nil},
	}
	for _, tc := range tests {
		if got := tc.c.String(); got != tc.str {
			t.Errorf("%#x.String() = %q, want %q", uint8(tc.c), got, tc.str)
		}
		for _, f := range []Capabilities{Relay, Store, Filter, Lightpush, Sync} {
			if got, want := tc.c.Has(f), slices.Contains(tc.want, f); got != want {
				t.Errorf("%v.Has(%v) = %v, want %v", tc.c, f, got, want)
			}
		}
		if tc.c&^knownCapabilities == 0 {
			back, err := ParseCapabilities(tc.str)
			if err != nil || back != tc.c {
				t.Errorf("ParseCapabilities(%q) = %v, %v; want %v", tc.str, back, err, tc.c)
			}
		}
		dec, err := DecodeCapabilities(EncodeCapabilities(tc.c))
		if err != nil || dec != tc.c {
			t.Errorf("round trip of %v: %v, %v", tc.c, dec, err)
		}
	}
	if !(Relay | Store).Has(Relay|Store) || (Relay).Has(Relay|Store) {
		t.Error("Has must want every flag")
	}
}

func TestParseCapabilities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Capabilities
		wantErr string
	}{
		{in: "", want: 0},
		{in: " none ", want: 0},
		{in: "Relay, LIGHTPUSH", want: Relay | Lightpush},
		{in: "relay,relay", want: Relay},
		{in: "relay,gossip", wantErr: `capability "gossip", want one of`},
		{in: "relay,", wantErr: `capability ""`},
	}
	for _, tc := range tests {
		got, err := ParseCapabilities(tc.in)
		if tc.wantErr != "" {
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseCapabilities(%q) error %v, want one with %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseCapabilities(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestDecodeCapabilities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      []byte
		want    Capabilities
		wantErr bool
	}{
		{in: nil, want: 0},          // the RLP integer 0, as go-waku writes it
		{in: []byte{0x00}, want: 0}, // one zero byte, as nwaku writes it
		{in: []byte{0x0f}, want: Relay | Store | Filter | Lightpush},
		{in: []byte{0xff}, want: 0xff},
		{in: []byte{0x01, 0x00}, wantErr: true},
	}
	for _, tc := range tests {
		got, err := DecodeCapabilities(tc.in)
		if tc.wantErr {
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "waku2 is 2 bytes, want 1") {
				t.Errorf("DecodeCapabilities(%x) error %v, want ErrMalformed naming the length", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("DecodeCapabilities(%x) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestNewShards(t *testing.T) {
	t.Parallel()
	s, err := NewShards(7, 5, 1, 5, 1023, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Equal(Shards{Cluster: 7, Indices: []uint16{0, 1, 5, 1023}}) {
		t.Errorf("NewShards = %v, want 7/0,1,5,1023", s)
	}
	if s.String() != "7/0,1,5,1023" {
		t.Errorf("String = %q", s.String())
	}
	if !s.Contains(5) || s.Contains(4) {
		t.Error("Contains")
	}
	if _, err := NewShards(1, 3, 1024); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "shard 1024, want below 1024") {
		t.Errorf("NewShards(1, 3, 1024) error %v", err)
	}
}

func TestShardsOverlaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b Shards
		want bool
	}{
		{Shards{1, []uint16{0, 1}}, Shards{1, []uint16{1, 2}}, true},
		{Shards{1, []uint16{0, 1}}, Shards{2, []uint16{0, 1}}, false},
		{Shards{1, []uint16{0, 2, 4}}, Shards{1, []uint16{1, 3, 5}}, false},
		{Shards{1, []uint16{0, 2, 1000}}, Shards{1, []uint16{1, 3, 1000}}, true},
		{Shards{1, nil}, Shards{1, []uint16{0}}, false},
	}
	for _, tc := range tests {
		if got := tc.a.Overlaps(tc.b); got != tc.want {
			t.Errorf("%v.Overlaps(%v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := tc.b.Overlaps(tc.a); got != tc.want {
			t.Errorf("%v.Overlaps(%v) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestEncodeShardList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s       Shards
		want    string
		wantErr string
	}{
		{s: Shards{1, []uint16{0, 1, 2, 3, 4, 5, 6, 7}}, want: "0001 08 0000 0001 0002 0003 0004 0005 0006 0007"}, // TWN records' rs
		{s: Shards{0xabcd, nil}, want: "abcd 00"},
		{s: Shards{16, []uint16{32, 1023}}, want: "0010 02 0020 03ff"},
		{s: Shards{1, shardRange(0, 256)}, wantErr: "256 shards, an rs list holds at most 255"},
		{s: Shards{1, []uint16{1024}}, wantErr: "shard 1024, want below 1024"},
	}
	for _, tc := range tests {
		got, err := EncodeShardList(tc.s)
		if tc.wantErr != "" {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("EncodeShardList(%v) error %v, want %q", tc.s, err, tc.wantErr)
			}
			continue
		}
		if want := mustHex(t, tc.want); err != nil || !bytes.Equal(got, want) {
			t.Errorf("EncodeShardList(%v) = %x, %v; want %x", tc.s, got, err, want)
		}
	}
}

func TestDecodeShardList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Shards
		wantErr string
	}{
		{name: "twn", in: "0001 08 0000 0001 0002 0003 0004 0005 0006 0007", want: Shards{1, []uint16{0, 1, 2, 3, 4, 5, 6, 7}}},
		{name: "unsorted", in: "0010 03 0040 0001 0020", want: Shards{16, []uint16{1, 32, 64}}},
		{name: "no shards", in: "0001 00", want: Shards{1, []uint16{}}},
		{name: "highest shard", in: "ffff 01 03ff", want: Shards{0xffff, []uint16{1023}}},
		{name: "empty", in: "", wantErr: "rs is 0 bytes, want at least 3"},
		{name: "cluster only", in: "0001", wantErr: "rs is 2 bytes, want at least 3"},
		{name: "count too big", in: "0001 02 0000", wantErr: "rs counts 2 shards in 5 bytes, want 7 bytes"},
		{name: "count too small", in: "0001 01 0000 0001", wantErr: "rs counts 1 shards in 7 bytes, want 5 bytes"},
		{name: "odd trailing byte", in: "0001 01 0000 00", wantErr: "want 5 bytes"},
		{name: "shard 1024", in: "0001 01 0400", wantErr: "rs lists shard 1024, want below 1024"},
		{name: "shard ffff", in: "0001 02 0001 ffff", wantErr: "rs lists shard 65535"},
		{name: "duplicate", in: "0001 03 0002 0001 0002", wantErr: "rs lists shard 2 twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeShardList(mustHex(t, tc.in))
			if tc.wantErr != "" {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want ErrMalformed with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("= %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestShardVector(t *testing.T) {
	t.Parallel()
	// Bit positions as nwaku's toBitVector and go-waku's BitVector write
	// them: shard i is bit i%8 of vector byte i/8.
	tests := []struct {
		shards []uint16
		set    map[int]byte // value byte index (after the cluster) -> byte
	}{
		{nil, nil},
		{[]uint16{0}, map[int]byte{2: 0x01}},
		{[]uint16{7}, map[int]byte{2: 0x80}},
		{[]uint16{8, 9}, map[int]byte{3: 0x03}},
		{[]uint16{0, 1, 2, 3, 4, 5, 6, 7}, map[int]byte{2: 0xff}},
		{[]uint16{1023}, map[int]byte{129: 0x80}},
		{[]uint16{1016, 1023}, map[int]byte{129: 0x81}},
	}
	for _, tc := range tests {
		s := Shards{Cluster: 0x0102, Indices: tc.shards}
		b := EncodeShardVector(s)
		want := make([]byte, 130)
		want[0], want[1] = 0x01, 0x02
		for k, v := range tc.set {
			want[k] = v
		}
		if !bytes.Equal(b, want) {
			t.Errorf("EncodeShardVector(%v) = %x, want %x", s, b, want)
		}
		back, err := DecodeShardVector(b)
		if err != nil || back.Cluster != s.Cluster || !slices.Equal(back.Indices, tc.shards) {
			t.Errorf("DecodeShardVector(EncodeShardVector(%v)) = %v, %v", s, back, err)
		}
	}
	for _, n := range []int{0, 3, 129, 131, 300} {
		if _, err := DecodeShardVector(make([]byte, n)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "want 130") {
			t.Errorf("DecodeShardVector(%d bytes) error %v, want ErrMalformed wanting 130 bytes", n, err)
		}
	}
	all := make([]byte, 130)
	for k := range all {
		all[k] = 0xff
	}
	s, err := DecodeShardVector(all)
	if err != nil || s.Cluster != 0xffff || !slices.Equal(s.Indices, shardRange(0, 1024)) {
		t.Errorf("all bits set: %v, %v; want cluster 65535 and shards 0..1023", s.Cluster, err)
	}
}

// ShardEntry picks rs while it is shorter than rsv: up to 63 shards (129
// bytes against 130), as nwaku's withWakuRelaySharding and js-waku's
// encodeRelayShard do (rsv from 64 shards on).
func TestShardEntryChoice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n       int
		key     string
		wantLen int
	}{
		{0, KeyShardList, 3},
		{1, KeyShardList, 5},
		{8, KeyShardList, 19},
		{63, KeyShardList, 129},
		{64, KeyShardVector, 130},
		{255, KeyShardVector, 130},
		{1024, KeyShardVector, 130},
	}
	for _, tc := range tests {
		s := Shards{Cluster: 1, Indices: shardRange(0, uint16(tc.n))}
		key, v, err := ShardEntry(s)
		if err != nil || key != tc.key || len(v) != tc.wantLen {
			t.Errorf("%d shards: %s of %d bytes, %v; want %s of %d", tc.n, key, len(v), err, tc.key, tc.wantLen)
			continue
		}
		var back Shards
		if key == KeyShardList {
			back, err = DecodeShardList(v)
		} else {
			back, err = DecodeShardVector(v)
		}
		if err != nil || back.Cluster != 1 || !slices.Equal(back.Indices, s.Indices) && !(len(back.Indices) == 0 && len(s.Indices) == 0) {
			t.Errorf("%d shards do not round trip: %v, %v", tc.n, back, err)
		}
	}
	if _, _, err := ShardEntry(Shards{1, []uint16{3, 2}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unsorted shards: %v, want ErrInvalid", err)
	}
	if _, _, err := ShardEntry(Shards{1, []uint16{2, 2}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("duplicate shards: %v, want ErrInvalid", err)
	}
	if _, _, err := ShardEntry(Shards{1, []uint16{2000}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("shard 2000: %v, want ErrInvalid", err)
	}
}

func TestMultiaddrsCodec(t *testing.T) {
	t.Parallel()
	// The multiaddrs entry of the TWN record of node-01.do-ams3 (see
	// twn_test.go): /dns4/<host>/tcp/30303 and /dns4/<host>/tcp/8000/wss.
	twn := mustHex(t, "002b36266e6f64652d30312e646f2d616d73332e77616b752e73616e64626f782e7374617475732e696d06765f002d36266e6f64652d30312e646f2d616d73332e77616b752e73616e64626f782e7374617475732e696d061f40de03")
	addrs, err := DecodeMultiaddrs(twn)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/dns4/node-01.do-ams3.waku.sandbox.status.im/tcp/30303", "/dns4/node-01.do-ams3.waku.sandbox.status.im/tcp/8000/wss"}
	if got := addrStrings(addrs); !equalStrings(got, want) {
		t.Errorf("decoded %v, want %v", got, want)
	}
	enc, err := EncodeMultiaddrs(addrs)
	if err != nil || !bytes.Equal(enc, twn) {
		t.Errorf("re-encoded %x, %v; want %x", enc, err, twn)
	}
	if got, err := DecodeMultiaddrs(nil); err != nil || len(got) != 0 {
		t.Errorf("empty value: %v, %v; want no addresses", got, err)
	}
	wsAddr := mustAddrs(t, "/ip4/1.2.3.4/tcp/8000/ws")[0].Bytes()
	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"one byte", []byte{0x00}, "entry 0 at byte 0: 1 byte(s) left, want a 2-byte length"},
		{"zero length", []byte{0x00, 0x00}, "entry 0 has length 0"},
		{"length past end", append([]byte{0x00, byte(len(wsAddr) + 1)}, wsAddr...), "entry 0 has length 11, only 10 byte(s) left"},
		{"trailing byte", append(append([]byte{0x00, byte(len(wsAddr))}, wsAddr...), 0x00), "entry 1 at byte 12: 1 byte(s) left"},
		{"not a multiaddr", []byte{0x00, 0x02, 0xff, 0xff}, "entry 0:"},
		{"truncated component", []byte{0x00, 0x03, 0x04, 0x01, 0x02}, "entry 0:"},
		{"too long", make([]byte, 301), "multiaddrs is 301 bytes, want at most 300"},
	}
	for _, tc := range tests {
		if _, err := DecodeMultiaddrs(tc.in); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want ErrMalformed with %q", tc.name, err, tc.wantErr)
		}
	}
}
