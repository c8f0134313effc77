package peermgr

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// newID is a real peer id (secp256k1, as Waku's).
func newID(t testing.TB) peer.ID {
	t.Helper()
	k, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func candidate(t testing.TB, ip string, shards ...uint16) Candidate {
	t.Helper()
	return Candidate{
		Info:         peer.AddrInfo{ID: newID(t), Addrs: []ma.Multiaddr{ma.StringCast(fmt.Sprintf("/ip4/%s/tcp/60000", ip))}},
		ClusterKnown: true, Cluster: 1, Shards: shards, Caps: CapRelay, Source: SourceDiscv5,
	}
}

func TestNormalise(t *testing.T) {
	t.Parallel()
	id, other := newID(t), newID(t)
	addr := ma.StringCast("/ip4/192.0.2.1/tcp/60000")
	withID := addr.Encapsulate(ma.StringCast("/p2p/" + id.String()))
	withOther := addr.Encapsulate(ma.StringCast("/p2p/" + other.String()))
	var many []ma.Multiaddr
	for i := range MaxAddrs + 3 {
		many = append(many, ma.StringCast(fmt.Sprintf("/ip4/192.0.2.%d/tcp/60000", i+1)))
	}
	cases := []struct {
		name    string
		c       Candidate
		wantErr string
		check   func(Candidate) bool
	}{
		{"no id", Candidate{Info: peer.AddrInfo{Addrs: []ma.Multiaddr{addr}}}, "no peer id", nil},
		{"no address", Candidate{Info: peer.AddrInfo{ID: id}}, "no dialable address", nil},
		{"address of another peer", Candidate{Info: peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{withOther}}}, "names another peer", nil},
		{"shard out of range", Candidate{Info: peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{addr}}, ClusterKnown: true, Shards: []uint16{1024}}, "shard 1024", nil},
		{"source with spaces", Candidate{Info: peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{addr}}, Source: "dis cv5"}, "source", nil},
		{"long source", Candidate{Info: peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{addr}}, Source: strings.Repeat("s", MaxSourceLen+1)}, "source", nil},
		{"own /p2p part stripped and duplicates dropped", Candidate{Info: peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{withID, addr}}}, "",
			func(c Candidate) bool { return len(c.Info.Addrs) == 1 && c.Info.Addrs[0].Equal(addr) }},
		{"addresses bounded", Candidate{Info: peer.AddrInfo{ID: id, Addrs: many}}, "", func(c Candidate) bool { return len(c.Info.Addrs) == MaxAddrs }},
		{"shards sorted, deduplicated", Candidate{Info: peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{addr}}, ClusterKnown: true, Shards: []uint16{3, 1, 3}}, "",
			func(c Candidate) bool { return slices.Equal(c.Shards, []uint16{1, 3}) }},
		{"shards of an unknown cluster ignored", Candidate{Info: peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{addr}}, Shards: []uint16{3}}, "",
			func(c Candidate) bool { return c.Shards == nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := normalise(tc.c)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInvalidCandidate) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ErrInvalidCandidate saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(got) {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	b := DefaultBackoff
	want := []time.Duration{0, 120 * time.Second, 480 * time.Second, 1920 * time.Second, 7680 * time.Second, 7680 * time.Second, 7680 * time.Second}
	for n, w := range want {
		if got := b.Delay(n); got != w {
			t.Errorf("delay after %d failures %v, want %v", n, got, w)
		}
	}
	if got := b.Delay(1 << 30); got != b.Max {
		t.Errorf("delay after many failures %v, want the cap %v", got, b.Max)
	}
}

func TestBanTableBounded(t *testing.T) {
	t.Parallel()
	bt := newBanTable(3)
	for i := range 5 {
		bt.add(testID(fmt.Sprint(i)), t0.Add(time.Duration(10+i)*time.Minute), "test")
	}
	if bt.len() != 3 {
		t.Fatalf("%d bans kept, want 3", bt.len())
	}
	for i, want := range []bool{false, false, true, true, true} {
		if _, got := bt.banned(testID(fmt.Sprint(i)), t0); got != want {
			t.Errorf("peer %d banned %v, want %v (the bans that expire first make room)", i, got, want)
		}
	}
	if _, ok := bt.banned(testID("4"), t0.Add(time.Hour)); ok || bt.len() != 2 {
		t.Fatalf("expired ban kept (%d left)", bt.len())
	}
}

func TestLogLimiter(t *testing.T) {
	t.Parallel()
	l := newLogLimiter(time.Minute, 2, 5)
	l.roll(t0)
	a := testID("a")
	got := 0
	for range 10 {
		if l.allow(a) {
			got++
		}
	}
	if got != 2 {
		t.Fatalf("flapping peer logged %d times in a window, want 2", got)
	}
	for i := range 10 {
		l.allow(testID(fmt.Sprint(i)))
	}
	if l.lines != 5 {
		t.Fatalf("%d lines in a window, want the total bound 5", l.lines)
	}
	if n := l.roll(t0.Add(30 * time.Second)); n != 0 {
		t.Fatalf("window rolled early (%d)", n)
	}
	if n := l.roll(t0.Add(time.Minute)); n != 15 {
		t.Fatalf("%d lines reported suppressed, want 15 (8 of the flapping peer, 7 over the total)", n)
	}
	if !l.allow(a) || len(l.peers) != 1 {
		t.Fatal("a new window does not start afresh")
	}
}

func TestStoreBounds(t *testing.T) {
	t.Parallel()
	s := newPeerStore(4, 2, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	now := t0
	add := func(c Candidate) error {
		now = now.Add(time.Second)
		n, err := normalise(c)
		if err != nil {
			t.Fatal(err)
		}
		return s.upsert(n, now, nil)
	}
	a, b, c := candidate(t, "192.0.2.1"), candidate(t, "192.0.2.2"), candidate(t, "192.0.2.3")
	for _, x := range []Candidate{a, b} {
		if err := add(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := add(c); !errors.Is(err, ErrPrefixFull) {
		t.Fatalf("third peer of one /24: %v, want ErrPrefixFull", err)
	}
	if err := add(a); err != nil {
		t.Fatalf("known peer of a full prefix refused: %v", err)
	}
	// Loopback is exempt; the capacity evicts the least recently seen (b).
	for _, ip := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		if err := add(candidate(t, ip)); err != nil {
			t.Fatal(err)
		}
	}
	if s.len() != 4 || s.get(b.Info.ID) != nil || s.get(a.Info.ID) == nil {
		t.Fatalf("store of %d: b kept %v, a kept %v; want 4 with b (least recently seen) evicted", s.len(), s.get(b.Info.ID) != nil, s.get(a.Info.ID) != nil)
	}
	// Pinned records are not evicted: with all pinned, a new one is refused.
	if err := s.upsert(candidate(t, "127.0.0.9"), now, func(peer.ID) bool { return true }); !errors.Is(err, ErrStoreFull) {
		t.Fatal("a full store of pinned records took one more")
	}
	// The prefix count follows evictions: b's /24 has room again.
	if err := add(c); err != nil {
		t.Fatalf("prefix count not released: %v", err)
	}
}

func TestStoreFileRoundTrip(t *testing.T) {
	t.Parallel()
	a, b := candidate(t, "192.0.2.1", 0, 3), candidate(t, "192.0.2.2")
	b.ClusterKnown, b.Caps, b.Source = false, 0, "peer-exchange"
	want := []KnownPeer{
		{ID: a.Info.ID, Addrs: a.Info.Addrs, Source: a.Source, Caps: CapRelay | CapStore, ClusterKnown: true, Cluster: 1, Shards: []uint16{0, 3},
			LastSeen: time.UnixMilli(t0.UnixMilli()), Failures: 2, LastFailure: time.UnixMilli(t0.Add(-time.Minute).UnixMilli())},
		{ID: b.Info.ID, Addrs: b.Info.Addrs, Source: b.Source, LastSeen: time.UnixMilli(t0.UnixMilli())},
	}
	data, err := encodeStore(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeStore(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v\nwant %+v", got, want)
	}
}

func TestStoreFileCorrupt(t *testing.T) {
	t.Parallel()
	good, err := encodeStore([]KnownPeer{{ID: newID(t), Addrs: []ma.Multiaddr{ma.StringCast("/ip4/192.0.2.1/tcp/1")}, LastSeen: t0}})
	if err != nil {
		t.Fatal(err)
	}
	nl := bytes.IndexByte(good, '\n')
	flipped := slices.Clone(good)
	flipped[len(flipped)-5] ^= 0x01
	// A document with a valid checksum but content we never write.
	reseal := func(body string) []byte { return append(storeHeader([]byte(body)), body...) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no header"},
		{"truncated", good[:len(good)/2], "checksum"},
		{"header only", good[:nl+1], "checksum"},
		{"one bit flipped", flipped, "checksum"},
		{"other magic", append([]byte("other"), good[len(storeMagic):]...), "header"},
		{"other version", bytes.Replace(good, []byte(" 1 "), []byte(" 2 "), 1), "version 2"},
		{"unknown field", reseal(`{"peers":[],"x":1}`), "document"},
		{"bad peer id", reseal(`{"peers":[{"id":"nope","addrs":["/ip4/192.0.2.1/tcp/1"],"last_seen":1}]}`), "peer id"},
		{"shards without cluster", reseal(`{"peers":[{"id":"` + newID(t).String() + `","addrs":["/ip4/192.0.2.1/tcp/1"],"shards":[1],"last_seen":1}]}`), "shards without a cluster"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeStore(tc.data)
			if !errors.Is(err, errCorruptStore) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want errCorruptStore saying %q", err, tc.want)
			}
		})
	}
}

// faultFS is the OS file system with faults to inject.
type faultFS struct {
	osFS
	mu sync.Mutex
	// tornAt cuts the next write of a file after that many bytes and
	// fails it (-1: no fault); the other flags fail one step.
	tornAt                                        int
	failCreate, failSync, failRename, failSyncDir bool
}

func newFaultFS() *faultFS { return &faultFS{tornAt: -1} }

type faultFile struct {
	writeFile
	fs *faultFS
}

func (f *faultFS) Create(name string) (writeFile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failCreate {
		return nil, errors.New("injected: create failed")
	}
	w, err := f.osFS.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{writeFile: w, fs: f}, nil
}

func (w *faultFile) Write(b []byte) (int, error) {
	w.fs.mu.Lock()
	at := w.fs.tornAt
	w.fs.mu.Unlock()
	if at >= 0 && at < len(b) {
		n, _ := w.writeFile.Write(b[:at])
		return n, errors.New("injected: no space left on device")
	}
	return w.writeFile.Write(b)
}

func (w *faultFile) Sync() error {
	w.fs.mu.Lock()
	fail := w.fs.failSync
	w.fs.mu.Unlock()
	if fail {
		return errors.New("injected: sync failed")
	}
	return w.writeFile.Sync()
}

func (f *faultFS) Rename(oldpath, newpath string) error {
	f.mu.Lock()
	fail := f.failRename
	f.mu.Unlock()
	if fail {
		return errors.New("injected: rename failed")
	}
	return f.osFS.Rename(oldpath, newpath)
}

func (f *faultFS) SyncDir(dir string) error {
	f.mu.Lock()
	fail := f.failSyncDir
	f.mu.Unlock()
	if fail {
		return errors.New("injected: directory sync failed")
	}
	return f.osFS.SyncDir(dir)
}

// A save that fails at any step leaves the previous file as it was and no
// temporary file behind.
func TestWriteAtomicFaults(t *testing.T) {
	t.Parallel()
	old := []byte("previous file\n")
	data := bytes.Repeat([]byte("new content "), 100)
	cases := []struct {
		name   string
		inject func(*faultFS)
		newOK  bool // the new content is in place (only the directory sync failed)
	}{
		{"torn write", func(f *faultFS) { f.tornAt = 37 }, false},
		{"create fails", func(f *faultFS) { f.failCreate = true }, false},
		{"sync fails", func(f *faultFS) { f.failSync = true }, false},
		{"rename fails", func(f *faultFS) { f.failRename = true }, false},
		{"directory sync fails", func(f *faultFS) { f.failSyncDir = true }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "peers.json")
			if err := os.WriteFile(path, old, 0o600); err != nil {
				t.Fatal(err)
			}
			fsys := newFaultFS()
			tc.inject(fsys)
			if err := writeAtomic(fsys, path, data); err == nil {
				t.Fatal("no error from a failed save")
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := old
			if tc.newOK {
				want = data
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("file holds %.40q, want %.40q", got, want)
			}
			if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("temporary file left behind: %v", err)
			}
		})
	}
}
