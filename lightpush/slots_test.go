package lightpush

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

func TestSlotsNeverReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slots")
	members, limits := []uint64{5, 9}, []uint64{2, 3}
	s, err := OpenSlots(path, members, limits, testSlotOpts(100))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[Slot]bool{}
	take := func(s *SlotStore, epoch uint64) Slot {
		t.Helper()
		sl, err := s.Take(epoch)
		if err != nil {
			t.Fatal(err)
		}
		if seen[sl] {
			t.Fatalf("slot %+v handed out twice", sl)
		}
		seen[sl] = true
		return sl
	}
	take(s, 100)
	take(s, 100)
	if s.Left(100) != 3 || s.Left(101) != 5 {
		t.Fatalf("left %d in epoch 100, %d in 101", s.Left(100), s.Left(101))
	}
	// A restart (even an unclean one: Close only closes the file) resumes
	// after the used slots.
	s.Close()
	s, err = OpenSlots(path, members, limits, testSlotOpts(100))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		take(s, 100)
	}
	if _, err := s.Take(100); !errors.Is(err, ErrNoSlot) {
		t.Fatalf("sixth slot of 5: %v", err)
	}
	take(s, 101)
	s.Close()

	// A torn record at the end (a crash mid-write) is cut, not misread.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{1, 2, 3, 4, 5, 6, 7})
	f.Close()
	s, err = OpenSlots(path, members, limits, testSlotOpts(100))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); (st.Size()-headerSize)%recordSize != 0 {
		t.Fatalf("file of %d bytes after reopening", st.Size())
	}
	if s.Left(101) != 4 {
		t.Fatalf("left %d in epoch 101 after the torn record", s.Left(101))
	}
	// Compaction keeps what later epochs used and drops the rest.
	if err := s.Compact(101); err != nil {
		t.Fatal(err)
	}
	take(s, 101)
	s.Close()
	s, err = OpenSlots(path, members, limits, testSlotOpts(100))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Left(101) != 3 || s.Left(100) != 5 {
		t.Fatalf("after compaction: left %d in 101, %d in 100", s.Left(101), s.Left(100))
	}
	if st, _ := os.Stat(path); st.Size() > headerSize+3*recordSize {
		t.Fatalf("compacted file of %d bytes", st.Size())
	}
}

// A membership's records survive a restart without it, and count again
// when it is back.
func TestSlotsOfAbsentMembership(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slots")
	s, _ := OpenSlots(path, []uint64{1, 2}, []uint64{1, 1}, testSlotOpts(7))
	s.Take(7)
	s.Take(7)
	s.Close()
	s, _ = OpenSlots(path, []uint64{2}, []uint64{1}, testSlotOpts(7))
	if s.Left(7) != 0 {
		t.Fatal("membership 2's used slot forgotten")
	}
	s.Close()
	s, _ = OpenSlots(path, []uint64{1, 2, 3}, []uint64{1, 1, 1}, testSlotOpts(7))
	defer s.Close()
	if sl, err := s.Take(7); err != nil || sl.Member != 3 {
		t.Fatalf("took %+v, %v; want membership 3's", sl, err)
	}
	if _, err := OpenSlots(filepath.Join(t.TempDir(), "x"), []uint64{1, 1}, []uint64{1, 1}, testSlotOpts(7)); err == nil {
		t.Fatal("duplicate membership accepted")
	}
}

// BenchmarkSlotTake is one slot handed out: its record written and synced
// (the file system's fsync dominates), two takers at once as the service's
// two workers are.
func BenchmarkSlotTake(b *testing.B) {
	s, err := OpenSlots(filepath.Join(b.TempDir(), "slots"), []uint64{1, 2}, []uint64{1 << 16, 1 << 16}, testSlotOpts(1))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var epoch atomic.Uint64
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e := epoch.Load()
			if _, err := s.Take(e); errors.Is(err, ErrNoSlot) {
				epoch.CompareAndSwap(e, e+1)
			} else if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
