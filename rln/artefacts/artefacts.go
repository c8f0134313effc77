// Package artefacts locates, checks and fetches the RLNv2 ceremony
// artefacts (depth 20): the snarkjs proving key, the snarkjs verifying key
// and the circom-witnesscalc graph. They are public data from the zerokit
// repository, loaded at run time and never committed. Resolve finds a folder
// holding all three with their pinned sha256: the configured one, else
// ../shared/rln/tree_depth_20 beside the checkout or binary, else a cache
// folder, fetched into on first use.
package artefacts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File names inside an artefacts folder.
const (
	ZKey  = "rln_final.zkey"
	VKey  = "verification_key.json"
	Graph = "graph.bin"
)

// Sentinel errors.
var (
	ErrMissing  = errors.New("RLN artefact missing")
	ErrChecksum = errors.New("RLN artefact has the wrong sha256")
)

// relDefault is where a checkout of rlnd finds the artefacts: the shared
// folder beside the repository.
var relDefault = filepath.Join("..", "shared", "rln", "tree_depth_20")

// DefaultDir finds the default artefacts folder: ../shared/rln/tree_depth_20
// relative to the working directory or to any of its parents (so it works
// from a package's test directory), then relative to the executable. It
// returns "" when none holds the proving key.
func DefaultDir() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			starts = append(starts, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe), filepath.Dir(filepath.Dir(exe)))
	}
	for _, s := range starts {
		dir := filepath.Join(s, relDefault)
		if st, err := os.Stat(filepath.Join(dir, ZKey)); err == nil && st.Mode().IsRegular() {
			return dir
		}
	}
	return ""
}

// Read returns the content of one artefact after checking its sha256.
func Read(dir, name string) ([]byte, error) {
	f, ok := lookup(name)
	if !ok {
		return nil, fmt.Errorf("artefacts: unknown file %q", name)
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: no artefacts folder given for %s (rln.artefacts-dir, or `rlnd rln artefacts fetch`)", ErrMissing, name)
	}
	path := filepath.Join(dir, name)
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s not found (want %s, sha256 %s, from %s)", ErrMissing, path, name, f.SHA256, f.URL())
		}
		return nil, fmt.Errorf("artefacts: %s: %w", path, err)
	}
	// The size first: a wrong file is refused without reading it all.
	if !st.Mode().IsRegular() || st.Size() != f.Size {
		return nil, fmt.Errorf("%w: %s is %s, want a file of %d bytes with sha256 %s", ErrChecksum, path, describe(st), f.Size, f.SHA256)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("artefacts: read %s: %w", path, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
		return nil, fmt.Errorf("%w: %s has sha256 %s, want %s", ErrChecksum, path, got, f.SHA256)
	}
	return b, nil
}

// describe says what a file that is not the artefact is.
func describe(st fs.FileInfo) string {
	if !st.Mode().IsRegular() {
		return "not a regular file (" + st.Mode().Type().String() + ")"
	}
	return fmt.Sprintf("%d bytes", st.Size())
}

// Check verifies that dir holds every artefact with the right digest; the
// error names each file that is missing or wrong, on one line, and wraps
// each file's error.
func Check(dir string) error {
	var errs []any
	for _, st := range Verify(dir) {
		if st.Status != StatusOK {
			errs = append(errs, st.Err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf(strings.TrimSuffix(strings.Repeat("%w; ", len(errs)), "; "), errs...)
}

// Status is what Verify found of one file.
type Status int

// What a file can be.
const (
	StatusOK      Status = iota // present with the pinned sha256
	StatusMissing               // not there
	StatusBad                   // another size or digest, not a regular file, or unreadable
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "OK"
	case StatusMissing:
		return "MISSING"
	case StatusBad:
		return "BAD"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// FileStatus is one file of a folder as Verify found it.
type FileStatus struct {
	File File
	// Path is where it was looked for.
	Path   string
	Status Status
	// SHA256 is the digest found (StatusOK, and StatusBad when the file
	// could be read whole).
	SHA256 string
	// Err says what is wrong (nil for StatusOK); it wraps ErrMissing or
	// ErrChecksum, or the read error.
	Err error
}

// Verify checks the three files of dir by size and sha256, streaming
// them, and reports each in the order of Files.
func Verify(dir string) []FileStatus {
	out := make([]FileStatus, 0, len(files))
	for _, f := range files {
		out = append(out, verifyFile(dir, f))
	}
	return out
}

func verifyFile(dir string, f File) FileStatus {
	res := FileStatus{File: f, Path: filepath.Join(dir, f.Name), Status: StatusBad}
	if dir == "" {
		res.Status, res.Err = StatusMissing, fmt.Errorf("%w: no artefacts folder given for %s", ErrMissing, f.Name)
		return res
	}
	// Stat before opening: opening a FIFO would block.
	st, err := os.Stat(res.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			res.Status = StatusMissing
			res.Err = fmt.Errorf("%w: %s not found (want %s, sha256 %s, from %s)", ErrMissing, res.Path, f.Name, f.SHA256, f.URL())
			return res
		}
		res.Err = fmt.Errorf("artefacts: %s: %w", res.Path, err)
		return res
	}
	if !st.Mode().IsRegular() || st.Size() != f.Size {
		res.Err = fmt.Errorf("%w: %s is %s, want a file of %d bytes with sha256 %s", ErrChecksum, res.Path, describe(st), f.Size, f.SHA256)
		return res
	}
	r, err := os.Open(res.Path)
	if err != nil {
		res.Err = fmt.Errorf("artefacts: %s: %w", res.Path, err)
		return res
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(r, f.Size+1)); err != nil {
		res.Err = fmt.Errorf("artefacts: read %s: %w", res.Path, err)
		return res
	}
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	if res.SHA256 != f.SHA256 {
		res.Err = fmt.Errorf("%w: %s has sha256 %s, want %s", ErrChecksum, res.Path, res.SHA256, f.SHA256)
		return res
	}
	res.Status = StatusOK
	return res
}
