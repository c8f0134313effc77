package lightpush

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/rlnd/rlnd/rln"
)

// A slot is one RLN message id of one membership in one epoch: proving two
// messages with the same slot is double signalling, which reveals the
// member's secret and gets it slashed. The slot store hands out each slot
// once, ever: a slot is written and synced to disk before it is returned,
// so a crash and restart within the same epoch can never hand it out again.
//
// The file is a 16-byte header (magic "rlndslot", version u32, crc32 of the
// first 12 bytes) and then 24-byte records (epoch u64 | member u64 | message
// id u32 | crc32 of the first 20 bytes), all little-endian. Only one kind of
// damage is expected and repaired: a final record cut short by a crash while
// it was written (it was never synced, so its slot was never handed out).
// Anything else (a bad record before the end, a misaligned tail, an unknown
// header or version) means records may be lost, so the store keeps the file
// aside and treats every slot of the epochs a message may still be proved in
// as used: it never guesses which slots a damaged file held.

// Slot is an allocated (epoch, membership, message id).
type Slot struct {
	Epoch     uint64
	Member    uint64 // the membership's leaf index in the tree
	MessageID uint64
}

const (
	headerSize      = 16
	recordSize      = 24
	slotFileVersion = 1
)

var slotMagic = [8]byte{'r', 'l', 'n', 'd', 's', 'l', 'o', 't'}

var (
	// ErrNoSlot means every membership used its whole rate in the epoch.
	ErrNoSlot = errors.New("lightpush: no RLN slot left this epoch")
	// ErrSlotStoreBroken means a failed write could not be rolled back: the
	// file's state is unknown, so no slot is handed out until a restart
	// reads it again.
	ErrSlotStoreBroken = errors.New("lightpush: slot store failed and hands out no slot until restarted")
)

// SlotOptions configures a slot store.
type SlotOptions struct {
	// FS is the file layer (default: the operating system's).
	FS SlotFS
	// Now, EpochPeriod and MaxEpochGap say which epochs a message may still
	// be proved in, which a damaged file blocks (required: EpochPeriod).
	Now         func() time.Time
	EpochPeriod time.Duration
	MaxEpochGap time.Duration
}

// Damage describes a slot file found damaged when it was opened.
type Damage struct {
	Reason string // what was wrong
	Offset int64  // where, in bytes from the start
	KeptAs string // the damaged file, kept aside
	// FirstEpoch and LastEpoch are the epochs whose slots were all marked
	// used for the store's memberships.
	FirstEpoch, LastEpoch uint64
}

func (d *Damage) Error() string {
	return fmt.Sprintf("slot file damaged at byte %d (%s); kept as %s; every slot of epochs %d-%d treated as used",
		d.Offset, d.Reason, d.KeptAs, d.FirstEpoch, d.LastEpoch)
}

// SlotStore allocates slots and persists them.
type SlotStore struct {
	mu     sync.Mutex
	path   string
	opts   SlotOptions
	f      SlotFile
	size   int64             // bytes of whole records (and header) in f
	limits map[uint64]uint64 // member -> user message limit
	order  []uint64          // members, in allocation order
	next   map[uint64]map[uint64]uint64
	cursor int
	closed bool
	broken error
	torn   int64
	damage *Damage
}

// OpenSlots opens (or creates) the store at path for the given memberships
// (leaf index -> rate limit). Records of other memberships are kept: they
// still count if the membership comes back. A torn last record is cut; any
// other damage is handled as the package comment says and reported by
// Damage.
func OpenSlots(path string, members []uint64, limits []uint64, opts SlotOptions) (*SlotStore, error) {
	if len(members) != len(limits) {
		return nil, errors.New("lightpush: one limit per membership")
	}
	if opts.EpochPeriod <= 0 {
		return nil, errors.New("lightpush: the slot store needs the epoch period")
	}
	if opts.FS == nil {
		opts.FS = OSFS{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &SlotStore{path: path, opts: opts, limits: map[uint64]uint64{}, next: map[uint64]map[uint64]uint64{}}
	for i, m := range members {
		if _, dup := s.limits[m]; dup {
			return nil, fmt.Errorf("lightpush: membership %d given twice", m)
		}
		if limits[i] == 0 || limits[i] > 1<<32 {
			return nil, fmt.Errorf("lightpush: membership %d has rate limit %d, want 1 to 2^32", m, limits[i])
		}
		s.limits[m] = limits[i]
		s.order = append(s.order, m)
	}
	fs := opts.FS
	dir := filepath.Dir(path)
	if err := fs.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lightpush: slot directory: %w", err)
	}
	f, err := fs.OpenFile(path, os.O_RDWR, 0)
	if isNotExist(err) {
		f, err = fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("lightpush: open slot file: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lightpush: read %s: %w", path, err)
	}
	good, reason := parseSlots(data, s.mark)
	if reason != "" {
		f.Close()
		if err := s.quarantine(reason, good); err != nil {
			return nil, err
		}
		return s, nil
	}
	s.f = f
	switch {
	case good == 0:
		// New, or a header cut short at creation: nothing was ever handed
		// out from this file.
		err = s.writeHeader()
	case good < int64(len(data)):
		s.torn = int64(len(data)) - good
		err = f.Truncate(good)
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			err = fmt.Errorf("lightpush: cut the torn record of %s: %w", path, err)
		}
		s.size = good
	default:
		s.size = good
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// writeHeader starts an empty file (new, or a header cut short at
// creation) and makes its directory entry durable.
func (s *SlotStore) writeHeader() error {
	err := s.f.Truncate(0)
	if err == nil {
		_, err = s.f.WriteAt(slotHeader(), 0)
	}
	if err == nil {
		err = s.f.Sync()
	}
	if err == nil {
		err = s.opts.FS.SyncDir(filepath.Dir(s.path))
	}
	if err != nil {
		return fmt.Errorf("lightpush: start slot file %s: %w", s.path, err)
	}
	s.size = headerSize
	return nil
}

func slotHeader() []byte {
	h := make([]byte, headerSize)
	copy(h, slotMagic[:])
	binary.LittleEndian.PutUint32(h[8:], slotFileVersion)
	binary.LittleEndian.PutUint32(h[12:], crc32.ChecksumIEEE(h[:12]))
	return h
}

// parseSlots reads a slot file, calling visit for every valid record. It
// returns the length of the part to keep and, for damage, what is wrong
// (the damage is at that length). A final record cut short is not damage:
// good then stops before it.
func parseSlots(data []byte, visit func(Slot)) (good int64, damage string) {
	if len(data) < headerSize {
		if bytes.HasPrefix(slotHeader(), data) {
			return 0, ""
		}
		return 0, fmt.Sprintf("%d bytes that are not a slot file header", len(data))
	}
	h := data[:headerSize]
	switch {
	case !bytes.Equal(h[:8], slotMagic[:]):
		return 0, "not a slot file (unknown magic)"
	case crc32.ChecksumIEEE(h[:12]) != binary.LittleEndian.Uint32(h[12:]):
		return 0, "header checksum mismatch"
	case binary.LittleEndian.Uint32(h[8:]) != slotFileVersion:
		return 0, fmt.Sprintf("unknown version %d (this build reads %d)", binary.LittleEndian.Uint32(h[8:]), slotFileVersion)
	}
	off := int64(headerSize)
	for ; int64(len(data))-off >= recordSize; off += recordSize {
		rec := data[off : off+recordSize]
		if crc32.ChecksumIEEE(rec[:20]) != binary.LittleEndian.Uint32(rec[20:]) {
			return off, "record checksum mismatch"
		}
		visit(decodeSlot(rec))
	}
	return off, ""
}

func decodeSlot(rec []byte) Slot {
	return Slot{
		Epoch:     binary.LittleEndian.Uint64(rec[0:]),
		Member:    binary.LittleEndian.Uint64(rec[8:]),
		MessageID: uint64(binary.LittleEndian.Uint32(rec[16:])),
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

// openEpochs are the epochs a message may be proved in now: those of the
// timestamps within the max epoch gap of the clock, and at least the
// current and the next.
func (s *SlotStore) openEpochs() (first, last uint64) {
	now, p := s.opts.Now(), s.opts.EpochPeriod
	first = rln.Epoch(now.Add(-s.opts.MaxEpochGap), p)
	last = max(rln.Epoch(now, p)+1, rln.Epoch(now.Add(s.opts.MaxEpochGap), p))
	return first, last
}

// quarantine handles a damaged file: it is renamed aside, every slot of the
// open epochs is marked used for the store's memberships, and a new file
// holding that (and the valid records read) takes its place.
func (s *SlotStore) quarantine(reason string, at int64) error {
	fs, dir := s.opts.FS, filepath.Dir(s.path)
	first, last := s.openEpochs()
	d := &Damage{Reason: reason, Offset: at, KeptAs: fmt.Sprintf("%s.damaged-%d", s.path, s.opts.Now().UnixNano()), FirstEpoch: first, LastEpoch: last}
	if err := fs.Rename(s.path, d.KeptAs); err != nil {
		return fmt.Errorf("lightpush: %s: set the damaged file aside: %w", d.Error(), err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return fmt.Errorf("lightpush: %s: sync %s: %w", d.Error(), dir, err)
	}
	for e := first; e <= last; e++ {
		for _, m := range s.order {
			s.mark(Slot{Epoch: e, Member: m, MessageID: s.limits[m] - 1})
		}
	}
	if err := s.rewrite(0); err != nil {
		return fmt.Errorf("lightpush: %s: %w", d.Error(), err)
	}
	s.damage = d
	return nil
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

// Take allocates the next free slot of the epoch, rotating over the
// memberships, and returns it once it is on disk. A failed write or sync
// is rolled back to the last whole record and the slot stays unused in the
// file but burnt in memory: it is never handed out by this process.
func (s *SlotStore) Take(epoch uint64) (Slot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return Slot{}, errors.New("lightpush: slot store closed")
	case s.broken != nil:
		return Slot{}, fmt.Errorf("%w: %v", ErrSlotStoreBroken, s.broken)
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
		return Slot{}, ErrNoSlot
	}
	s.mark(sl)
	n, err := s.f.WriteAt(encodeSlot(sl), s.size)
	if err == nil && n < recordSize {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		if rerr := s.rollback(); rerr != nil {
			s.broken = fmt.Errorf("roll back to %d bytes after %v: %w", s.size, err, rerr)
			return Slot{}, fmt.Errorf("%w: %v", ErrSlotStoreBroken, s.broken)
		}
		return Slot{}, fmt.Errorf("lightpush: persist slot: %w", err)
	}
	s.size += recordSize
	return sl, nil
}

// rollback cuts what a failed write may have left after the last whole
// record, so the next record lands aligned.
func (s *SlotStore) rollback() error {
	if err := s.f.Truncate(s.size); err != nil {
		return err
	}
	return s.f.Sync()
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

// Capacity is the number of slots of one epoch.
func (s *SlotStore) Capacity() int {
	n := 0
	for _, l := range s.limits {
		n += int(l)
	}
	return n
}

// Used calls fn for every (epoch, member) with slots used, with the number
// used (ids 0 to n-1).
func (s *SlotStore) Used(fn func(epoch, member, n uint64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for e, members := range s.next {
		for m, n := range members {
			fn(e, m, n)
		}
	}
}

// Damage is the damage found at open, or nil.
func (s *SlotStore) Damage() *Damage { return s.damage }

// Torn is the number of bytes of a torn final record cut at open.
func (s *SlotStore) Torn() int64 { return s.torn }

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
	if s.broken != nil {
		return fmt.Errorf("%w: %v", ErrSlotStoreBroken, s.broken)
	}
	return s.rewrite(minEpoch)
}

// rewrite writes the used slots of epochs from minEpoch on to a new file
// and renames it over the store's: the highest id used stands for all
// below it. Until the rename, the old file stays as it was; a failure after
// it (the directory not synced) leaves the store broken, since the old file
// could come back after a crash without the records appended to the new.
func (s *SlotStore) rewrite(minEpoch uint64) error {
	fs, dir := s.opts.FS, filepath.Dir(s.path)
	tmp := s.path + ".tmp"
	f, err := fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("lightpush: compact slots: %w", err)
	}
	buf := slotHeader()
	epochs := make([]uint64, 0, len(s.next))
	for e := range s.next {
		if e >= minEpoch {
			epochs = append(epochs, e)
		}
	}
	sort.Slice(epochs, func(i, j int) bool { return epochs[i] < epochs[j] })
	for _, e := range epochs {
		members := make([]uint64, 0, len(s.next[e]))
		for m := range s.next[e] {
			members = append(members, m)
		}
		sort.Slice(members, func(i, j int) bool { return members[i] < members[j] })
		for _, m := range members {
			buf = append(buf, encodeSlot(Slot{Epoch: e, Member: m, MessageID: s.next[e][m] - 1})...)
		}
	}
	n, err := f.WriteAt(buf, 0)
	if err == nil && n < len(buf) {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		_ = fs.Remove(tmp)
		return fmt.Errorf("lightpush: compact slots: write %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, s.path); err != nil {
		f.Close()
		_ = fs.Remove(tmp)
		return fmt.Errorf("lightpush: compact slots: %w", err)
	}
	if s.f != nil {
		s.f.Close()
	}
	s.f, s.size = f, int64(len(buf))
	if err := fs.SyncDir(dir); err != nil {
		s.broken = fmt.Errorf("sync %s after renaming the compacted slot file: %w", dir, err)
		return fmt.Errorf("%w: %v", ErrSlotStoreBroken, s.broken)
	}
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
