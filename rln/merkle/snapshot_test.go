package merkle

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// sampleTree builds a small tree with gaps, erased leaves and a root history
// that has wrapped around.
func sampleTree(tb testing.TB, depth int) *Tree {
	tb.Helper()
	rng := newTestRand(uint64(depth))
	tr := mustNew(tb, depth, WithRootHistory(4))
	n := min(int(tr.Capacity())/2, 40)
	if _, err := tr.AppendBatch(randLeaves(rng, n)); err != nil {
		tb.Fatal(err)
	}
	for _, i := range []uint64{0, 3, 4, 5, uint64(n) - 1} {
		if i < uint64(n) {
			if err := tr.Set(i, fr.Element{}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tr.Set(tr.Capacity()-2, randLeaves(rng, 1)[0]); err != nil {
		tb.Fatal(err)
	}
	return tr
}

func snapshotBytes(tb testing.TB, tr *Tree) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := tr.WriteSnapshot(&buf); err != nil {
		tb.Fatalf("WriteSnapshot: %v", err)
	}
	return buf.Bytes()
}

func requireSameTree(tb testing.TB, got, want *Tree) {
	tb.Helper()
	if got.Depth() != want.Depth() || got.NextIndex() != want.NextIndex() || got.RootHistorySize() != want.RootHistorySize() {
		tb.Fatalf("depth/next/history size = %d/%d/%d, want %d/%d/%d", got.Depth(), got.NextIndex(), got.RootHistorySize(),
			want.Depth(), want.NextIndex(), want.RootHistorySize())
	}
	if r1, r2 := got.Root(), want.Root(); !r1.Equal(&r2) {
		tb.Fatalf("root %s, want %s", r1.String(), r2.String())
	}
	if !slices.Equal(got.RecentRoots(), want.RecentRoots()) {
		tb.Fatalf("root history differs")
	}
	for i := uint64(0); i < want.Capacity() && i < 1<<12; i++ {
		a, _ := got.Leaf(i)
		b, _ := want.Leaf(i)
		if !a.Equal(&b) {
			tb.Fatalf("leaf %d = %s, want %s", i, a.String(), b.String())
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	for _, depth := range []int{1, 3, 10, 20} {
		tr := sampleTree(t, depth)
		data := snapshotBytes(t, tr)
		r := bytes.NewReader(append(slices.Clone(data), "next record"...))
		got, err := ReadSnapshot(r)
		if err != nil {
			t.Fatalf("depth %d: ReadSnapshot: %v", depth, err)
		}
		requireSameTree(t, got, tr)
		if rest, _ := io.ReadAll(r); string(rest) != "next record" {
			t.Errorf("depth %d: ReadSnapshot consumed %q of the following data", depth, "next record"[:11-len(rest)])
		}
		// Deterministic encoding.
		if again := snapshotBytes(t, got); !bytes.Equal(again, data) {
			t.Errorf("depth %d: re-encoded snapshot differs", depth)
		}
		// The loaded tree keeps working and proves its leaves.
		p, err := got.Proof(1)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := got.Leaf(1)
		if !VerifyProof(got.Root(), leaf, p) {
			t.Errorf("depth %d: proof from loaded tree does not verify", depth)
		}
		if got.NextIndex() < got.Capacity() {
			if _, err := got.Append(leaf); err != nil {
				t.Errorf("depth %d: Append on loaded tree: %v", depth, err)
			}
		}
	}
}

func TestSnapshotSizeIsCompact(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, 20, WithRootHistory(1))
	if _, err := tr.AppendBatch(randLeaves(newTestRand(2), 100)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Set(50, fr.Element{}); err != nil {
		t.Fatal(err)
	}
	// header + 1 root + 2 runs + 99 leaves + checksum
	want := headerSize + elementSize + 2*runHeaderSize + 99*elementSize + checksumSize
	if got := len(snapshotBytes(t, tr)); got != want {
		t.Errorf("snapshot is %d bytes, want %d", got, want)
	}
}

func TestSnapshotTruncated(t *testing.T) {
	t.Parallel()
	data := snapshotBytes(t, sampleTree(t, 4))
	for n := 0; n < len(data); n++ {
		_, err := ReadSnapshot(bytes.NewReader(data[:n]))
		if !errors.Is(err, ErrCorruptSnapshot) {
			t.Fatalf("snapshot truncated to %d of %d bytes: err = %v, want ErrCorruptSnapshot", n, len(data), err)
		}
	}
}

func TestSnapshotBitFlips(t *testing.T) {
	t.Parallel()
	data := snapshotBytes(t, sampleTree(t, 4))
	for i := range data {
		for _, mask := range []byte{0x01, 0x80} {
			bad := slices.Clone(data)
			bad[i] ^= mask
			if _, err := ReadSnapshot(bytes.NewReader(bad)); !errors.Is(err, ErrCorruptSnapshot) {
				t.Fatalf("byte %d ^ %#x: err = %v, want ErrCorruptSnapshot", i, mask, err)
			}
		}
	}
}

// resealed recomputes the checksum of a snapshot whose body was edited, so
// that the checks behind the checksum are reached.
func resealed(body []byte) []byte {
	sum := sha256.Sum256(body)
	return append(slices.Clone(body), sum[:]...)
}

func TestSnapshotStructuralErrors(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, 4, WithRootHistory(2))
	if _, err := tr.AppendBatch(randLeaves(newTestRand(4), 5)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Set(2, fr.Element{}); err != nil {
		t.Fatal(err)
	}
	data := snapshotBytes(t, tr)
	body := data[:len(data)-checksumSize]
	runsAt := headerSize + 2*elementSize // two remembered roots
	// Runs: [0,2) and [3,5).
	modulus := fr.Modulus().FillBytes(make([]byte, elementSize))

	tests := []struct {
		name string
		edit func(b []byte)
		want string
	}{
		{"magic", func(b []byte) { b[0] = 'X' }, "magic"},
		{"version", func(b []byte) { binary.BigEndian.PutUint16(b[8:], 2) }, "version"},
		{"depth 0", func(b []byte) { b[10] = 0 }, "depth"},
		{"depth 33", func(b []byte) { b[10] = 33 }, "depth"},
		{"reserved", func(b []byte) { b[11] = 1 }, "reserved"},
		{"history size 0", func(b []byte) { binary.BigEndian.PutUint32(b[12:], 0) }, "history size"},
		{"history longer than size", func(b []byte) { binary.BigEndian.PutUint32(b[16:], 3) }, "remembered roots"},
		{"next beyond capacity", func(b []byte) { binary.BigEndian.PutUint64(b[20:], 17) }, "capacity"},
		{"more runs than leaves", func(b []byte) { binary.BigEndian.PutUint64(b[28:], 6) }, "runs"},
		{"root not canonical", func(b []byte) { copy(b[36:], modulus) }, "canonical"},
		{"root mismatch", func(b []byte) {
			b[67] ^= 1
			b[headerSize+2*elementSize-1] ^= 1
		}, "leaves give"},
		{"history does not end with root", func(b []byte) { b[headerSize+elementSize+31] ^= 1 }, "differs from root"},
		{"empty run", func(b []byte) { binary.BigEndian.PutUint64(b[runsAt+8:], 0) }, "leaf run 0"},
		{"overlapping runs", func(b []byte) {
			binary.BigEndian.PutUint64(b[runsAt+runHeaderSize+2*elementSize:], 1)
		}, "leaf run 1"},
		{"run past next index", func(b []byte) {
			binary.BigEndian.PutUint64(b[runsAt+runHeaderSize+2*elementSize:], 4)
		}, "leaf run 1"},
		{"leaf not canonical", func(b []byte) { copy(b[runsAt+runHeaderSize:], modulus) }, "leaf 0"},
		{"changed leaf", func(b []byte) { b[runsAt+runHeaderSize+5] ^= 1 }, "leaves give"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := slices.Clone(body)
			tc.edit(b)
			_, err := ReadSnapshot(bytes.NewReader(resealed(b)))
			if !errors.Is(err, ErrCorruptSnapshot) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrCorruptSnapshot mentioning %q", err, tc.want)
			}
		})
	}
	// Sanity: resealing the untouched body is accepted.
	if _, err := ReadSnapshot(bytes.NewReader(resealed(body))); err != nil {
		t.Fatalf("resealed original: %v", err)
	}
}

func TestSnapshotGarbage(t *testing.T) {
	t.Parallel()
	inputs := [][]byte{
		nil,
		[]byte("RLNMTREE"),
		bytes.Repeat([]byte{0xff}, 200),
		bytes.Repeat([]byte{0}, 4096),
		append([]byte(snapshotMagic), bytes.Repeat([]byte{0x7f}, 500)...),
	}
	for i, in := range inputs {
		if _, err := ReadSnapshot(bytes.NewReader(in)); !errors.Is(err, ErrCorruptSnapshot) {
			t.Errorf("input %d: err = %v, want ErrCorruptSnapshot", i, err)
		}
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after < len(p) {
		return 0, errors.New("disk on fire")
	}
	f.after -= len(p)
	return len(p), nil
}

func TestSnapshotIOErrors(t *testing.T) {
	t.Parallel()
	ioErr := errors.New("device gone")
	_, err := ReadSnapshot(failingReader{ioErr})
	if !errors.Is(err, ioErr) || errors.Is(err, ErrCorruptSnapshot) {
		t.Errorf("ReadSnapshot on failing reader: err = %v, want the reader's error, not ErrCorruptSnapshot", err)
	}
	tr := sampleTree(t, 4)
	if err := tr.WriteSnapshot(&failingWriter{after: 10}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("WriteSnapshot on failing writer: err = %v", err)
	}
}

func TestSaveLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "tree.snap")
	tr := sampleTree(t, 10)
	if err := tr.SaveFile(path); err != nil {
		t.Fatalf("SaveFile: %v", err)
	}
	// Overwrite an existing file.
	if _, err := tr.Append(fr.NewElement(77)); err != nil {
		t.Fatal(err)
	}
	if err := tr.SaveFile(path); err != nil {
		t.Fatalf("SaveFile over existing file: %v", err)
	}
	got, err := LoadFile(path)
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	requireSameTree(t, got, tr)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after saving, want only the snapshot", len(entries))
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"trailing":  append(slices.Clone(data), 0),
		"truncated": data[:len(data)-1],
	} {
		bad := filepath.Join(dir, name)
		if err := os.WriteFile(bad, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadFile(bad); !errors.Is(err, ErrCorruptSnapshot) || !strings.Contains(err.Error(), bad) {
			t.Errorf("LoadFile(%s): err = %v, want ErrCorruptSnapshot naming the file", name, err)
		}
	}
	if _, err := LoadFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing): err = %v, want os.ErrNotExist", err)
	}
	if err := tr.SaveFile(filepath.Join(dir, "no-such-dir", "x")); err == nil {
		t.Errorf("SaveFile into a missing directory succeeded")
	}
}

// seedCorpus returns the named inputs checked in under
// testdata/fuzz/FuzzReadSnapshot: valid small snapshots and mutations.
func seedCorpus(tb testing.TB) map[string][]byte {
	tb.Helper()
	seeds := map[string][]byte{}
	empty := snapshotBytes(tb, mustNew(tb, 1, WithRootHistory(1)))
	small := snapshotBytes(tb, sampleTree(tb, 3))
	full := mustNew(tb, 2, WithRootHistory(3))
	if _, err := full.AppendBatch(randLeaves(newTestRand(8), 4)); err != nil {
		tb.Fatal(err)
	}
	fullData := snapshotBytes(tb, full)
	seeds["valid-empty-depth1"] = empty
	seeds["valid-sparse-depth3"] = small
	seeds["valid-full-depth2"] = fullData
	seeds["truncated-header"] = small[:40]
	seeds["truncated-leaves"] = small[:len(small)-checksumSize-10]
	flipped := slices.Clone(small)
	flipped[headerSize+5] ^= 0x10
	seeds["flipped-root-history"] = flipped
	overlap := slices.Clone(fullData[:len(fullData)-checksumSize])
	binary.BigEndian.PutUint64(overlap[28:], 2) // claims a second run
	seeds["resealed-bad-run-count"] = resealed(overlap)
	seeds["garbage"] = []byte("RLNMTREE\x00\x01\x14\x00not a snapshot")
	return seeds
}

func corpusFile(data []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n")
}

// TestFuzzSeedCorpus checks that the checked-in seed corpus matches what the
// current code produces (regenerate with RLN_MERKLE_WRITE_SEEDS=1) and that
// the valid seeds load.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReadSnapshot")
	seeds := seedCorpus(t)
	if os.Getenv("RLN_MERKLE_WRITE_SEEDS") == "1" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range seeds {
			if err := os.WriteFile(filepath.Join(dir, name), corpusFile(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, data := range seeds {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("seed %s: %v (regenerate with RLN_MERKLE_WRITE_SEEDS=1)", name, err)
		}
		if !bytes.Equal(got, corpusFile(data)) {
			t.Errorf("seed %s is stale (regenerate with RLN_MERKLE_WRITE_SEEDS=1)", name)
		}
		_, err = ReadSnapshot(bytes.NewReader(data))
		if valid := strings.HasPrefix(name, "valid-"); valid != (err == nil) {
			t.Errorf("seed %s: ReadSnapshot err = %v", name, err)
		}
	}
}

func FuzzReadSnapshot(f *testing.F) {
	f.Add(snapshotBytes(f, sampleTree(f, 2)))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ReadSnapshot(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrCorruptSnapshot) {
				t.Fatalf("error does not wrap ErrCorruptSnapshot: %v", err)
			}
			return
		}
		// Whatever loads must re-encode and load to the same tree.
		again, err := ReadSnapshot(bytes.NewReader(snapshotBytes(t, tr)))
		if err != nil {
			t.Fatalf("re-reading an accepted snapshot: %v", err)
		}
		if r1, r2 := tr.Root(), again.Root(); !r1.Equal(&r2) || tr.NextIndex() != again.NextIndex() {
			t.Fatalf("re-read tree differs")
		}
	})
}
