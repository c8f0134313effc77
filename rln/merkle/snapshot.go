package merkle

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Snapshot format, version 1. All integers are big-endian; field elements
// are 32-byte big-endian canonical encodings (< r).
//
//	offset  size  field
//	0       8     magic "RLNMTREE"
//	8       2     version (1)
//	10      1     depth (1..32)
//	11      1     reserved, 0
//	12      4     root history size N (1..MaxRootHistory)
//	16      4     number of remembered roots L (1..N)
//	20      8     next index (<= 1<<depth)
//	28      8     number of leaf runs R
//	36      32    root
//	68      32*L  remembered roots, oldest first; the last equals root
//	...           R runs: start (8), count (8, >= 1), count leaves (32 each);
//	              runs are sorted, do not overlap and end at or before the
//	              next index; leaves outside every run are 0
//	...     32    SHA-256 of all preceding bytes
//
// Writers emit maximal runs of non-zero leaves, so a snapshot costs 32 bytes
// per member plus 16 per gap.
const (
	snapshotMagic   = "RLNMTREE"
	snapshotVersion = 1
	headerSize      = 68
	elementSize     = fr.Bytes
	runHeaderSize   = 16
	checksumSize    = sha256.Size
	// leafChunk is how many leaves are read or written per I/O call.
	leafChunk = 1024
)

// WriteSnapshot writes the whole tree (depth, next index, non-empty leaves,
// root and root history) to w in the format above.
func (t *Tree) WriteSnapshot(w io.Writer) error {
	runs := t.leafRuns()
	roots := t.history.list()

	bw := bufio.NewWriterSize(w, 64<<10)
	sum := sha256.New()
	out := io.MultiWriter(bw, sum)

	var hdr [headerSize]byte
	copy(hdr[0:8], snapshotMagic)
	binary.BigEndian.PutUint16(hdr[8:], snapshotVersion)
	hdr[10] = byte(t.depth)
	binary.BigEndian.PutUint32(hdr[12:], uint32(len(t.history.buf)))
	binary.BigEndian.PutUint32(hdr[16:], uint32(len(roots)))
	binary.BigEndian.PutUint64(hdr[20:], t.next)
	binary.BigEndian.PutUint64(hdr[28:], uint64(len(runs)))
	root := t.Root()
	fr.BigEndian.PutElement((*[elementSize]byte)(hdr[36:]), root)
	if _, err := out.Write(hdr[:]); err != nil {
		return fmt.Errorf("merkle: writing snapshot header: %w", err)
	}

	var el [elementSize]byte
	for _, r := range roots {
		fr.BigEndian.PutElement(&el, r)
		if _, err := out.Write(el[:]); err != nil {
			return fmt.Errorf("merkle: writing snapshot root history: %w", err)
		}
	}

	buf := make([]byte, 0, leafChunk*elementSize)
	leaves := &t.levels[0]
	for _, r := range runs {
		var rh [runHeaderSize]byte
		binary.BigEndian.PutUint64(rh[0:], r.lo)
		binary.BigEndian.PutUint64(rh[8:], r.hi-r.lo)
		if _, err := out.Write(rh[:]); err != nil {
			return fmt.Errorf("merkle: writing snapshot leaves: %w", err)
		}
		for i := r.lo; i < r.hi; {
			buf = buf[:0]
			for ; i < r.hi && len(buf) < cap(buf); i++ {
				fr.BigEndian.PutElement(&el, leaves.get(i))
				buf = append(buf, el[:]...)
			}
			if _, err := out.Write(buf); err != nil {
				return fmt.Errorf("merkle: writing snapshot leaves: %w", err)
			}
		}
	}

	if _, err := bw.Write(sum.Sum(nil)); err != nil {
		return fmt.Errorf("merkle: writing snapshot checksum: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("merkle: writing snapshot: %w", err)
	}
	return nil
}

// leafRuns returns the maximal runs of non-zero leaves below NextIndex.
func (t *Tree) leafRuns() []span {
	var runs []span
	l := &t.levels[0]
	open := false
	for pi, pg := range l.pages {
		base := uint64(pi) << l.shift
		for k := range pg {
			i := base + uint64(k)
			if i >= t.next {
				break
			}
			nonZero := !pg[k].IsZero()
			switch {
			case nonZero && open:
				runs[len(runs)-1].hi = i + 1
			case nonZero:
				runs = append(runs, span{i, i + 1})
				open = true
			default:
				open = false
			}
		}
		if pg == nil {
			open = false
		}
	}
	return runs
}

// snapshotReader reads a snapshot, hashing everything it reads, and turns
// truncation into ErrCorruptSnapshot.
type snapshotReader struct {
	r   io.Reader
	sum hash.Hash
}

func (s *snapshotReader) read(buf []byte, what string) error {
	if _, err := io.ReadFull(s.r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: truncated in %s", ErrCorruptSnapshot, what)
		}
		return fmt.Errorf("merkle: reading snapshot %s: %w", what, err)
	}
	s.sum.Write(buf)
	return nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorruptSnapshot}, args...)...)
}

// ReadSnapshot reads a snapshot written by WriteSnapshot, consuming exactly
// its bytes from r. It verifies the checksum, recomputes every inner node and
// checks the result against the stored root. Malformed input of any kind
// gives an error wrapping ErrCorruptSnapshot; errors of r itself are
// returned wrapped as they are.
func ReadSnapshot(r io.Reader) (*Tree, error) {
	sr := &snapshotReader{r: r, sum: sha256.New()}
	h, err := readSnapshotHeader(sr)
	if err != nil {
		return nil, err
	}
	t, err := newTree(h.depth, int(h.histSize), maxPageShift)
	if err != nil {
		return nil, corrupt("%v", err)
	}
	if err := readRootHistory(sr, t, &h); err != nil {
		return nil, err
	}
	runs, err := readLeafRuns(sr, t, &h)
	if err != nil {
		return nil, err
	}
	if err := readChecksum(sr); err != nil {
		return nil, err
	}
	t.next = h.next
	t.rehash(runs)
	if computed := t.Root(); !computed.Equal(&h.root) {
		return nil, corrupt("stored root %s, leaves give %s", h.root.String(), computed.String())
	}
	return t, nil
}

// snapshotHeader is the fixed-size header of a snapshot, checked.
type snapshotHeader struct {
	depth             int
	histSize, histLen uint32
	next, numRuns     uint64
	root              fr.Element
}

// readSnapshotHeader reads the header and checks each field against the
// format: magic, version, depth, reserved byte, root history size and
// length, next index, number of runs and a canonical root.
func readSnapshotHeader(sr *snapshotReader) (snapshotHeader, error) {
	var hdr [headerSize]byte
	if err := sr.read(hdr[:], "header"); err != nil {
		return snapshotHeader{}, err
	}
	if string(hdr[0:8]) != snapshotMagic {
		return snapshotHeader{}, corrupt("bad magic %q, want %q", hdr[0:8], snapshotMagic)
	}
	if v := binary.BigEndian.Uint16(hdr[8:]); v != snapshotVersion {
		return snapshotHeader{}, corrupt("unsupported version %d, want %d", v, snapshotVersion)
	}
	depth := int(hdr[10])
	if depth < MinDepth || depth > MaxDepth {
		return snapshotHeader{}, corrupt("depth %d, want %d..%d", depth, MinDepth, MaxDepth)
	}
	if hdr[11] != 0 {
		return snapshotHeader{}, corrupt("reserved byte is %d, want 0", hdr[11])
	}
	histSize := binary.BigEndian.Uint32(hdr[12:])
	if histSize < 1 || histSize > MaxRootHistory {
		return snapshotHeader{}, corrupt("root history size %d, want 1..%d", histSize, MaxRootHistory)
	}
	histLen := binary.BigEndian.Uint32(hdr[16:])
	if histLen < 1 || histLen > histSize {
		return snapshotHeader{}, corrupt("%d remembered roots, want 1..%d", histLen, histSize)
	}
	next := binary.BigEndian.Uint64(hdr[20:])
	capacity := uint64(1) << uint(depth)
	if next > capacity {
		return snapshotHeader{}, corrupt("next index %d exceeds capacity %d", next, capacity)
	}
	numRuns := binary.BigEndian.Uint64(hdr[28:])
	if numRuns > next {
		return snapshotHeader{}, corrupt("%d leaf runs for next index %d", numRuns, next)
	}
	root, err := fr.BigEndian.Element((*[elementSize]byte)(hdr[36:]))
	if err != nil {
		return snapshotHeader{}, corrupt("root is not a canonical field element")
	}
	return snapshotHeader{depth: depth, histSize: histSize, histLen: histLen, next: next, numRuns: numRuns, root: root}, nil
}

// readRootHistory reads the h.histLen remembered roots into t's history,
// replacing the empty root newTree recorded, and checks that the last is
// the root.
func readRootHistory(sr *snapshotReader, t *Tree, h *snapshotHeader) error {
	t.history = rootRing{buf: t.history.buf} // drop the empty root newTree recorded
	var el [elementSize]byte
	for k := uint32(0); k < h.histLen; k++ {
		if err := sr.read(el[:], "root history"); err != nil {
			return err
		}
		v, err := fr.BigEndian.Element(&el)
		if err != nil {
			return corrupt("remembered root %d is not a canonical field element", k)
		}
		t.history.push(v)
	}
	if last := t.history.list()[h.histLen-1]; !last.Equal(&h.root) {
		return corrupt("last remembered root %s differs from root %s", last.String(), h.root.String())
	}
	return nil
}

// readLeafRuns reads the h.numRuns leaf runs into t's leaves, checking that
// each is non-empty, sorted after the one before and below the next index,
// and that every leaf is canonical. It returns the runs.
func readLeafRuns(sr *snapshotReader, t *Tree, h *snapshotHeader) ([]span, error) {
	numRuns, next := h.numRuns, h.next
	runs := make([]span, 0, min(numRuns, 1024))
	buf := make([]byte, leafChunk*elementSize)
	leaves := &t.levels[0]
	end := uint64(0)
	for k := uint64(0); k < numRuns; k++ {
		var rh [runHeaderSize]byte
		if err := sr.read(rh[:], "leaf run header"); err != nil {
			return nil, err
		}
		start := binary.BigEndian.Uint64(rh[0:])
		count := binary.BigEndian.Uint64(rh[8:])
		if count == 0 || start < end || start >= next || count > next-start {
			return nil, corrupt("leaf run %d covers [%d, +%d), want a non-empty range in [%d, %d)", k, start, count, end, next)
		}
		for i := start; i < start+count; {
			n := min(start+count-i, leafChunk)
			chunk := buf[:n*elementSize]
			if err := sr.read(chunk, "leaves"); err != nil {
				return nil, err
			}
			for j := uint64(0); j < n; j++ {
				v, err := fr.BigEndian.Element((*[elementSize]byte)(chunk[j*elementSize:]))
				if err != nil {
					return nil, corrupt("leaf %d is not a canonical field element", i+j)
				}
				leaves.set(i+j, &v)
			}
			i += n
		}
		runs = append(runs, span{start, start + count})
		end = start + count
	}
	return runs, nil
}

// readChecksum reads the trailing SHA-256, without hashing it, and checks
// it against the hash of everything read before.
func readChecksum(sr *snapshotReader) error {
	want := sr.sum.Sum(nil)
	var got [checksumSize]byte
	if _, err := io.ReadFull(sr.r, got[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return corrupt("truncated in checksum")
		}
		return fmt.Errorf("merkle: reading snapshot checksum: %w", err)
	}
	if !bytes.Equal(got[:], want) {
		return corrupt("checksum %x, content hashes to %x", got, want)
	}
	return nil
}

// SaveFile writes a snapshot to path atomically: it writes a temporary file
// in the same directory, syncs it, renames it over path and syncs the
// directory.
func (t *Tree) SaveFile(path string) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("merkle: saving snapshot: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := t.WriteSnapshot(f); err != nil {
		return fmt.Errorf("merkle: saving snapshot to %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("merkle: syncing snapshot %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("merkle: closing snapshot %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("merkle: saving snapshot: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("merkle: snapshot %s written but directory not synced: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

// LoadFile reads a snapshot file written by SaveFile. Besides the checks of
// ReadSnapshot it rejects trailing bytes after the snapshot.
func LoadFile(path string) (*Tree, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("merkle: loading snapshot: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	t, err := ReadSnapshot(br)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	if _, err := br.ReadByte(); err == nil {
		return nil, fmt.Errorf("loading %s: %w", path, corrupt("trailing data after the checksum"))
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("merkle: loading snapshot %s: %w", path, err)
	}
	return t, nil
}
