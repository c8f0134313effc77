// Package artefacts locates and checks the RLNv2 ceremony artefacts (depth
// 20): the snarkjs proving key, the snarkjs verifying key and the
// circom-witnesscalc graph. They are public data from the zerokit repository
// (rln/resources/tree_depth_20), loaded at run time and never committed.
package artefacts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File names inside an artefacts folder.
const (
	ZKey  = "rln_final.zkey"
	VKey  = "verification_key.json"
	Graph = "graph.bin"
)

// Checksums of the files rlnd uses (see the provenance table shipped with
// them); a file with another digest is refused.
var checksums = map[string]string{
	ZKey:  "ae30d3d4b29d9dab8c65ff181644a3eb57c2c0fa9f687ea3baf8c7f711d7946a",
	VKey:  "ae43614cd02ebe951f44465924eff9882d1321b20f0cc129406bc5fa2547fe11",
	Graph: "eaf1868e27b22c7deb6da8a253300c99effcfa417f807ef7105d3fb8628d1c54",
}

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
	want, ok := checksums[name]
	if !ok {
		return nil, fmt.Errorf("artefacts: unknown file %q", name)
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: no artefacts folder configured and ../shared/rln/tree_depth_20 not found; "+
			"get %s from zerokit's rln/resources/tree_depth_20 and set rln.artefacts-dir", ErrMissing, name)
	}
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s not found (from zerokit's rln/resources/tree_depth_20)", ErrMissing, path)
		}
		return nil, fmt.Errorf("artefacts: read %s: %w", path, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("%w: %s has sha256 %s, want %s", ErrChecksum, path, got, want)
	}
	return b, nil
}

// Check verifies that dir holds every artefact with the right digest.
func Check(dir string) error {
	var errs []error
	for _, name := range []string{ZKey, VKey, Graph} {
		if _, err := Read(dir, name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
