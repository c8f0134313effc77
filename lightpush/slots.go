package lightpush

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// A slot is one RLN message id of one membership in one epoch: proving two
// messages with the same slot is double signalling, which reveals the
// member's secret and gets it slashed. The slot store hands out each slot
// once, ever: a slot is written and synced to disk before it is returned,
// so a crash and restart within the same epoch can never hand it out again.

// Slot is an allocated (epoch, membership, message id).
type Slot struct {
	Epoch     uint64
	Member    uint64 // the membership's leaf index in the tree
	MessageID uint64
}

// recordSize is the on-disk record: epoch u64 | member u64 | message id u32
// | crc32 (IEEE) of the first 20 bytes, little-endian.
const recordSize = 24

// ErrNoSlot means every membership used its whole rate in the epoch.
var ErrNoSlot = errors.New("lightpush: no RLN slot left this epoch")

// SlotStore allocates slots and persists them.
type SlotStore struct {
	mu     sync.Mutex
	path   string
	f      *os.File
	limits map[uint64]uint64 // member -> user message limit
	order  []uint64          // members, in allocation order
	next   map[uint64]map[uint64]uint64
	cursor int
	closed bool
}

// OpenSlots opens (or creates) the store at path for the given memberships
// (leaf index -> rate limit). Records of other memberships are kept: they
// still count if the membership comes back. A torn last record (a crash
// while it was being written, so before it was ever handed out) is cut.
func OpenSlots(path string, members []uint64, limits []uint64) (*SlotStore, error) {
	if len(members) != len(limits) {
		return nil, errors.New("lightpush: one limit per membership")
	}
	s := &SlotStore{path: path, limits: map[uint64]uint64{}, next: map[uint64]map[uint64]uint64{}}
	for i, m := range members {
		if _, dup := s.limits[m]; dup {
			return nil, fmt.Errorf("lightpush: membership %d given twice", m)
		}
		s.limits[m] = limits[i]
		s.order = append(s.order, m)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	good, err := s.load(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("lightpush: cut the torn record of %s: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	s.f = f
	return s, nil
}

// load reads the records and returns the length of the valid prefix.
func (s *SlotStore) load(f *os.File) (int64, error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, fmt.Errorf("lightpush: read %s: %w", s.path, err)
	}
	var good int64
	for len(data) >= recordSize {
		rec := data[:recordSize]
		if crc32.ChecksumIEEE(rec[:20]) != binary.LittleEndian.Uint32(rec[20:]) {
			break
		}
		s.mark(Slot{
			Epoch:     binary.LittleEndian.Uint64(rec[0:]),
			Member:    binary.LittleEndian.Uint64(rec[8:]),
			MessageID: uint64(binary.LittleEndian.Uint32(rec[16:])),
		})
		data = data[recordSize:]
		good += recordSize
	}
	return good, nil
}

// mark records a slot as used: the member's next id in the epoch moves past
// it.
func (s *SlotStore) mark(sl Slot) {
	e := s.next[sl.Epoch]
	if e == nil {
		e = map[uint64]uint64{}
		s.next[sl.Epoch] = e
	}
	if sl.MessageID+1 > e[sl.Member] {
		e[sl.Member] = sl.MessageID + 1
	}
}

func encodeSlot(sl Slot) []byte {
	rec := make([]byte, recordSize)
	binary.LittleEndian.PutUint64(rec[0:], sl.Epoch)
	binary.LittleEndian.PutUint64(rec[8:], sl.Member)
	binary.LittleEndian.PutUint32(rec[16:], uint32(sl.MessageID))
	binary.LittleEndian.PutUint32(rec[20:], crc32.ChecksumIEEE(rec[:20]))
	return rec
}

// Take allocates the next free slot of the epoch, rotating over the
// memberships, and returns it once it is on disk.
func (s *SlotStore) Take(epoch uint64) (Slot, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Slot{}, errors.New("lightpush: slot store closed")
	}
	var sl Slot
	found := false
	for k := range s.order {
		m := s.order[(s.cursor+k)%len(s.order)]
		if id := s.next[epoch][m]; id < s.limits[m] {
			sl = Slot{Epoch: epoch, Member: m, MessageID: id}
			s.cursor = (s.cursor + k + 1) % len(s.order)
			found = true
			break
		}
	}
	if !found {
		s.mu.Unlock()
		return Slot{}, ErrNoSlot
	}
	// Marked before the write: a failed write burns the slot rather than
	// risking it being handed out twice.
	s.mark(sl)
	_, err := s.f.Write(encodeSlot(sl))
	f := s.f
	s.mu.Unlock()
	if err != nil {
		return Slot{}, fmt.Errorf("lightpush: persist slot: %w", err)
	}
	// The sync covers this record (and any written before it).
	if err := f.Sync(); err != nil {
		return Slot{}, fmt.Errorf("lightpush: sync slot: %w", err)
	}
	return sl, nil
}

// Left is the number of slots not yet used in the epoch.
func (s *SlotStore) Left(epoch uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := 0
	for _, m := range s.order {
		if used := s.next[epoch][m]; used < s.limits[m] {
			left += int(s.limits[m] - used)
		}
	}
	return left
}

// Compact drops the records of epochs before minEpoch: the file is
// rewritten to a temporary file, synced and renamed over the old one.
func (s *SlotStore) Compact(minEpoch uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stale := false
	for e := range s.next {
		if e < minEpoch {
			stale = true
		}
	}
	if !stale || s.closed {
		return nil
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	var buf []byte
	for e, members := range s.next {
		if e < minEpoch {
			continue
		}
		for m, next := range members {
			// The highest id used stands for all below it.
			buf = append(buf, encodeSlot(Slot{Epoch: e, Member: m, MessageID: next - 1})...)
		}
	}
	if _, err = f.Write(buf); err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("lightpush: compact slots: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		f.Close()
		return err
	}
	if d, err := os.Open(filepath.Dir(s.path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	s.f.Close()
	s.f = f
	for e := range s.next {
		if e < minEpoch {
			delete(s.next, e)
		}
	}
	return nil
}

// Close closes the file.
func (s *SlotStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.f.Close()
}
