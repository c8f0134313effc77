package lightpush

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// faultFS is the operating system's file system with faults on demand:
// the n-th write of slot records fails after writing part of its bytes (as
// a full disk does), the n-th file sync fails, truncations fail, directory
// syncs fail. It records the directory syncs and renames it sees.
type faultFS struct {
	OSFS
	mu            sync.Mutex
	writes, syncs int
	failWrite     int // 1-based index of the write to fail; 0: none
	partial       int // bytes the failing write still writes
	failSync      int // 1-based index of the file sync to fail; 0: none
	failTruncate  bool
	failDirSync   bool
	onSync        func(n int) // called before the n-th file sync
	events        []string
}

func (fs *faultFS) OpenFile(name string, flag int, perm os.FileMode) (SlotFile, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if flag&os.O_CREATE != 0 {
		fs.event("create " + filepath.Base(name))
	}
	return &faultFile{File: f, fs: fs}, nil
}

func (fs *faultFS) Rename(a, b string) error {
	fs.event("rename " + filepath.Base(a) + " " + filepath.Base(b))
	return os.Rename(a, b)
}

func (fs *faultFS) SyncDir(dir string) error {
	fs.mu.Lock()
	fail := fs.failDirSync
	fs.mu.Unlock()
	if fail {
		return fmt.Errorf("sync dir %s: %w", dir, syscall.EIO)
	}
	fs.event("syncdir")
	return OSFS{}.SyncDir(dir)
}

func (fs *faultFS) event(e string) {
	fs.mu.Lock()
	fs.events = append(fs.events, e)
	fs.mu.Unlock()
}

type faultFile struct {
	*os.File
	fs *faultFS
}

func (f *faultFile) WriteAt(b []byte, off int64) (int, error) {
	fs := f.fs
	fs.mu.Lock()
	fs.writes++
	fail, partial := fs.writes == fs.failWrite, fs.partial
	fs.mu.Unlock()
	if fail {
		n, err := f.File.WriteAt(b[:min(partial, len(b))], off)
		if err != nil {
			return n, err
		}
		return n, fmt.Errorf("write: %w", syscall.ENOSPC)
	}
	return f.File.WriteAt(b, off)
}

func (f *faultFile) Sync() error {
	fs := f.fs
	fs.mu.Lock()
	fs.syncs++
	n, fail, hook := fs.syncs, fs.syncs == fs.failSync, fs.onSync
	fs.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	if fail {
		return fmt.Errorf("fsync: %w", syscall.EIO)
	}
	return f.File.Sync()
}

func (f *faultFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	fail := f.fs.failTruncate
	f.fs.mu.Unlock()
	if fail {
		return fmt.Errorf("truncate: %w", syscall.EIO)
	}
	return f.File.Truncate(size)
}

// testSlotOpts puts the clock in the middle of the given epoch of 1 s
// periods, with no epoch gap: the open epochs are it and the next.
func testSlotOpts(epoch uint64) SlotOptions {
	return SlotOptions{EpochPeriod: time.Second, Now: func() time.Time { return time.Unix(int64(epoch), 5e8) }}
}

var faultMembers, faultLimits = []uint64{3, 8}, []uint64{4, 5}

// slotFile writes a slot file of the given records (as the store does) and
// returns its bytes.
func slotFile(t *testing.T, path string, epoch uint64, n int) []byte {
	t.Helper()
	s, err := OpenSlots(path, faultMembers, faultLimits, testSlotOpts(epoch))
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := s.Take(epoch); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != headerSize+n*recordSize {
		t.Fatalf("file of %d bytes for %d records", len(b), n)
	}
	return b
}

// One flipped byte anywhere in the file (header, any record, the last
// record included) is damage: the file is kept aside unchanged, every slot
// of the current and the next epoch is used, and that survives a restart.
func TestSlotsCorruptByteAnywhere(t *testing.T) {
	t.Parallel()
	const epoch, n = 50, 6
	dir := t.TempDir()
	good := slotFile(t, filepath.Join(dir, "orig"), epoch, n)
	for pos := range good {
		path := filepath.Join(dir, fmt.Sprintf("slots-%d", pos))
		bad := bytes.Clone(good)
		bad[pos] ^= 0x10
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenSlots(path, faultMembers, faultLimits, testSlotOpts(epoch))
		if err != nil {
			t.Fatalf("byte %d: %v", pos, err)
		}
		d := s.Damage()
		if d == nil {
			t.Fatalf("byte %d flipped: no damage reported", pos)
		}
		if d.FirstEpoch != epoch || d.LastEpoch != epoch+1 {
			t.Fatalf("byte %d: blocked epochs %d-%d, want %d-%d", pos, d.FirstEpoch, d.LastEpoch, epoch, epoch+1)
		}
		if kept, err := os.ReadFile(d.KeptAs); err != nil || !bytes.Equal(kept, bad) {
			t.Fatalf("byte %d: damaged file not kept as it was (%v)", pos, err)
		}
		for _, e := range []uint64{epoch, epoch + 1} {
			if left := s.Left(e); left != 0 {
				t.Fatalf("byte %d: %d slots left in epoch %d of a damaged file", pos, left, e)
			}
			if _, err := s.Take(e); !errors.Is(err, ErrNoSlot) {
				t.Fatalf("byte %d: took a slot of epoch %d: %v", pos, e, err)
			}
		}
		s.Close()
		// The block is on disk: a restart in the same epoch keeps it.
		s, err = OpenSlots(path, faultMembers, faultLimits, testSlotOpts(epoch))
		if err != nil {
			t.Fatal(err)
		}
		if s.Damage() != nil || s.Left(epoch) != 0 || s.Left(epoch+1) != 0 {
			t.Fatalf("byte %d: after restart damage %v, left %d and %d", pos, s.Damage(), s.Left(epoch), s.Left(epoch+1))
		}
		s.Close()
	}
}

// A cut anywhere in the last two records is a torn tail: only the records
// cut are dropped, and nothing else changes.
func TestSlotsTruncateEveryOffset(t *testing.T) {
	t.Parallel()
	const epoch, n = 50, 6
	dir := t.TempDir()
	good := slotFile(t, filepath.Join(dir, "orig"), epoch, n)
	capacity := int(faultLimits[0] + faultLimits[1])
	for cut := len(good) - 2*recordSize; cut < len(good); cut++ {
		path := filepath.Join(dir, fmt.Sprintf("slots-%d", cut))
		if err := os.WriteFile(path, good[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenSlots(path, faultMembers, faultLimits, testSlotOpts(epoch))
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		whole := (cut - headerSize) / recordSize
		if s.Damage() != nil {
			t.Fatalf("cut at %d: damage %v", cut, s.Damage())
		}
		if want := int64((cut - headerSize) % recordSize); s.Torn() != want {
			t.Fatalf("cut at %d: %d torn bytes, want %d", cut, s.Torn(), want)
		}
		if left := s.Left(epoch); left != capacity-whole {
			t.Fatalf("cut at %d: %d left, want %d", cut, left, capacity-whole)
		}
		// The next record lands aligned.
		if _, err := s.Take(epoch); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if st, _ := os.Stat(path); st.Size() != int64(headerSize+(whole+1)*recordSize) {
			t.Fatalf("cut at %d: file of %d bytes after one more record", cut, st.Size())
		}
	}
}

func TestSlotsUnknownVersionIsDamage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "slots")
	b := slotFile(t, path, 9, 2)
	h := slotHeader()
	h[8] = 2
	binary.LittleEndian.PutUint32(h[12:], crc32.ChecksumIEEE(h[:12]))
	copy(b, h)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSlots(path, faultMembers, faultLimits, testSlotOpts(9))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d := s.Damage(); d == nil || d.Offset != 0 {
		t.Fatalf("version 2 file: damage %v", d)
	}
}

// A failed write (cut short at every length, as a full disk does) or a
// failed sync at a push: the slot is refused, the file is rolled back to
// its last whole record, the next push works, and a restart finds a clean
// file holding exactly the slots handed out.
func TestSlotsFailedWriteOrSyncRollsBack(t *testing.T) {
	t.Parallel()
	const epoch = 20
	type fault struct {
		name          string
		write, sync   int
		partial       int
		truncateFails bool
	}
	var faults []fault
	for p := 0; p < recordSize; p++ {
		faults = append(faults, fault{name: fmt.Sprintf("write cut at %d", p), write: 3, partial: p})
	}
	faults = append(faults, fault{name: "sync", sync: 3}, fault{name: "write and rollback", write: 3, partial: 5, truncateFails: true},
		fault{name: "sync and rollback", sync: 3, truncateFails: true})
	for _, fc := range faults {
		path := filepath.Join(t.TempDir(), "slots")
		fs := &faultFS{}
		opts := testSlotOpts(epoch)
		opts.FS = fs
		s, err := OpenSlots(path, faultMembers, faultLimits, opts)
		if err != nil {
			t.Fatal(err)
		}
		// Writes and syncs count from here: the header took one of each.
		fs.mu.Lock()
		fs.writes, fs.syncs = 0, 0
		fs.failWrite, fs.partial, fs.failSync = fc.write, fc.partial, fc.sync
		fs.failTruncate = fc.truncateFails
		fs.mu.Unlock()
		handed := 0
		for i := 1; i <= 4; i++ {
			_, err := s.Take(epoch)
			switch {
			case i < 3:
				if err != nil {
					t.Fatalf("%s: take %d: %v", fc.name, i, err)
				}
				handed++
			case i == 3:
				if err == nil {
					t.Fatalf("%s: the failing take succeeded", fc.name)
				}
			case fc.truncateFails:
				if !errors.Is(err, ErrSlotStoreBroken) {
					t.Fatalf("%s: take after a failed rollback: %v, want ErrSlotStoreBroken", fc.name, err)
				}
			default:
				if err != nil {
					t.Fatalf("%s: take after the rollback: %v", fc.name, err)
				}
				handed++
			}
		}
		s.Close()
		b, _ := os.ReadFile(path)
		if !fc.truncateFails && len(b) != headerSize+handed*recordSize {
			t.Fatalf("%s: file of %d bytes, want %d whole records", fc.name, len(b), handed)
		}
		s, err = OpenSlots(path, faultMembers, faultLimits, testSlotOpts(epoch))
		if err != nil {
			t.Fatal(err)
		}
		if s.Damage() != nil {
			t.Fatalf("%s: damage after restart: %v", fc.name, s.Damage())
		}
		used := int(faultLimits[0]+faultLimits[1]) - s.Left(epoch)
		if used < handed {
			t.Fatalf("%s: %d slots used after restart, %d were handed out", fc.name, used, handed)
		}
		s.Close()
	}
}

// The directory is synced after the file is created and after a
// compaction's rename; a failed sync after the rename stops the store.
func TestSlotsDirectorySynced(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "slots")
	fs := &faultFS{}
	opts := testSlotOpts(30)
	opts.FS = fs
	s, err := OpenSlots(path, faultMembers, faultLimits, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"create slots", "syncdir"}; fmt.Sprint(fs.events) != fmt.Sprint(want) {
		t.Fatalf("events at create: %v, want %v", fs.events, want)
	}
	if _, err := s.Take(29); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Take(30); err != nil {
		t.Fatal(err)
	}
	fs.events = nil
	if err := s.Compact(30); err != nil {
		t.Fatal(err)
	}
	if want := []string{"create slots.tmp", "rename slots.tmp slots", "syncdir"}; fmt.Sprint(fs.events) != fmt.Sprint(want) {
		t.Fatalf("events at compaction: %v, want %v", fs.events, want)
	}
	if _, err := s.Take(31); err != nil {
		t.Fatal(err)
	}
	fs.failDirSync = true
	if err := s.Compact(31); !errors.Is(err, ErrSlotStoreBroken) {
		t.Fatalf("compaction with a failed directory sync: %v", err)
	}
	if _, err := s.Take(31); !errors.Is(err, ErrSlotStoreBroken) {
		t.Fatalf("take after a failed directory sync: %v", err)
	}
	s.Close()
}
