package peermgr

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// The peer store file, version 1: one header line, then a JSON document.
//
//	rlnd-peerstore 1 <SHA-256 of the document, hex>\n
//	{"peers":[{"id":..., "addrs":[...], "source":..., "caps":..., "cluster":...,
//	  "shards":[...], "last_seen":<unix ms>, "failures":..., "last_failure":<unix ms>}, ...]}
//
// It is written whole to a temporary file beside it, synced, renamed over
// the old one and the directory synced, so a crash leaves either the old
// file or the new one. A file that does not check out (truncated, damaged,
// another version) is renamed to <path>.corrupt and the manager starts
// with an empty store.
const (
	storeMagic   = "rlnd-peerstore"
	storeVersion = 1
	// storeRecordBound is a generous bound on one record's encoded size,
	// for the bound on the file read at start.
	storeRecordBound = 8 << 10
)

// errCorruptStore reports a peer store file that does not check out (New
// keeps such a file aside and starts empty; callers never see it).
var errCorruptStore = errors.New("peermgr: corrupt peer store file")

type storeFile struct {
	Peers []storeRecord `json:"peers"`
}

type storeRecord struct {
	ID          string   `json:"id"`
	Addrs       []string `json:"addrs"`
	Source      string   `json:"source,omitempty"`
	Caps        uint8    `json:"caps,omitempty"`
	Cluster     *uint16  `json:"cluster,omitempty"`
	Shards      []uint16 `json:"shards,omitempty"`
	LastSeen    int64    `json:"last_seen"`
	Failures    int      `json:"failures,omitempty"`
	LastFailure int64    `json:"last_failure,omitempty"`
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// encodeStore serialises records.
func encodeStore(peers []KnownPeer) ([]byte, error) {
	doc := storeFile{Peers: make([]storeRecord, 0, len(peers))}
	for _, k := range peers {
		r := storeRecord{
			ID: k.ID.String(), Source: k.Source, Caps: uint8(k.Caps), Shards: k.Shards,
			LastSeen: unixMilli(k.LastSeen), Failures: k.Failures, LastFailure: unixMilli(k.LastFailure),
		}
		if k.ClusterKnown {
			c := k.Cluster
			r.Cluster = &c
		}
		for _, a := range k.Addrs {
			r.Addrs = append(r.Addrs, a.String())
		}
		doc.Peers = append(doc.Peers, r)
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("peermgr: encode peer store: %w", err)
	}
	return append(storeHeader(body), body...), nil
}

// storeHeader is the header line for a document.
func storeHeader(body []byte) []byte {
	sum := sha256.Sum256(body)
	return fmt.Appendf(nil, "%s %d %s\n", storeMagic, storeVersion, hex.EncodeToString(sum[:]))
}

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errCorruptStore, fmt.Sprintf(format, a...))
}

// decodeStore parses a peer store file. Every record must be one the
// manager could have written: a bad one makes the whole file corrupt
// (its checksum passed, so it is not damage but another writer).
func decodeStore(b []byte) ([]KnownPeer, error) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return nil, corrupt("no header line (truncated?)")
	}
	var magic, sum string
	var version int
	if n, err := fmt.Sscanf(string(b[:nl]), "%s %d %s", &magic, &version, &sum); err != nil || n != 3 || magic != storeMagic {
		return nil, corrupt("header %.60q: want %q, a version and a checksum", b[:nl], storeMagic)
	}
	if version != storeVersion {
		return nil, corrupt("version %d: want %d", version, storeVersion)
	}
	body := b[nl+1:]
	got := sha256.Sum256(body)
	if want, err := hex.DecodeString(sum); err != nil || !bytes.Equal(want, got[:]) {
		return nil, corrupt("checksum mismatch: the file is truncated or damaged")
	}
	var doc storeFile
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, corrupt("document: %v", err)
	}
	out := make([]KnownPeer, 0, len(doc.Peers))
	for i, r := range doc.Peers {
		k, err := r.known()
		if err != nil {
			return nil, corrupt("record %d: %v", i, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// known checks a record and converts it.
func (r storeRecord) known() (KnownPeer, error) {
	id, err := peer.Decode(r.ID)
	if err != nil {
		return KnownPeer{}, fmt.Errorf("peer id %.80q: %v", r.ID, err)
	}
	c := Candidate{Info: peer.AddrInfo{ID: id}, Source: r.Source, Caps: Capabilities(r.Caps)}
	if len(r.Addrs) > MaxAddrs {
		return KnownPeer{}, fmt.Errorf("%d addresses: want at most %d", len(r.Addrs), MaxAddrs)
	}
	for _, s := range r.Addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return KnownPeer{}, fmt.Errorf("address %.80q: %v", s, err)
		}
		c.Info.Addrs = append(c.Info.Addrs, a)
	}
	if r.Cluster != nil {
		c.ClusterKnown, c.Cluster, c.Shards = true, *r.Cluster, r.Shards
	} else if len(r.Shards) > 0 {
		return KnownPeer{}, errors.New("shards without a cluster")
	}
	if r.Failures < 0 || r.LastSeen < 0 || r.LastFailure < 0 {
		return KnownPeer{}, errors.New("negative failures or time")
	}
	n, err := normalise(c)
	if err != nil {
		return KnownPeer{}, err
	}
	if len(n.Info.Addrs) != len(r.Addrs) || len(n.Shards) != len(r.Shards) {
		return KnownPeer{}, errors.New("duplicate or unusable addresses or shards")
	}
	return KnownPeer{
		ID: id, Addrs: n.Info.Addrs, Source: n.Source, Caps: n.Caps,
		ClusterKnown: n.ClusterKnown, Cluster: n.Cluster, Shards: n.Shards,
		LastSeen: fromUnixMilli(r.LastSeen), Failures: r.Failures, LastFailure: fromUnixMilli(r.LastFailure),
	}, nil
}

// The file layer, so that tests can fail any step of a save.

type storeFS interface {
	// Open opens a file for reading.
	Open(name string) (io.ReadCloser, error)
	// Create creates or truncates a file for writing (mode 0600).
	Create(name string) (writeFile, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	// SyncDir makes a directory's entries durable.
	SyncDir(dir string) error
}

type writeFile interface {
	io.Writer
	Sync() error
	Close() error
}

type osFS struct{}

func (osFS) Open(name string) (io.ReadCloser, error) { return os.Open(name) }

func (osFS) Create(name string) (writeFile, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
}

func (osFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeAtomic replaces path with data: temporary file, sync, rename, sync
// of the directory. On any failure the old file is left as it was.
func writeAtomic(fsys storeFS, path string, data []byte) (err error) {
	tmp := path + ".tmp"
	f, err := fsys.Create(tmp)
	if err != nil {
		return fmt.Errorf("peermgr: create %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			_ = fsys.Remove(tmp)
		}
	}()
	n, err := f.Write(data)
	if err == nil && n != len(data) {
		err = io.ErrShortWrite
	}
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("peermgr: write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("peermgr: sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("peermgr: close %s: %w", tmp, err)
	}
	if err = fsys.Rename(tmp, path); err != nil {
		return fmt.Errorf("peermgr: rename %s to %s: %w", tmp, path, err)
	}
	if err := fsys.SyncDir(filepath.Dir(path)); err != nil {
		// The new file is in place; only its durability across a crash
		// is in doubt. Not an error for the old file's sake.
		return fmt.Errorf("peermgr: sync directory of %s: %w", path, err)
	}
	return nil
}

// readStore reads the peer store file: nil without error when there is
// none; errCorruptStore (wrapped) when it does not check out or exceeds
// limit bytes.
func readStore(fsys storeFS, path string, limit int64) ([]KnownPeer, error) {
	f, err := fsys.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("peermgr: open %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("peermgr: read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, corrupt("larger than %d bytes", limit)
	}
	return decodeStore(b)
}
