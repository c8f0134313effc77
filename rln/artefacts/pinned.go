package artefacts

import "fmt"

// File is one artefact rlnd uses, with its digest, its size and where in
// the zerokit repository it comes from.
type File struct {
	// Name is the file's name in an artefacts folder.
	Name string
	// SHA256 is the hex digest every copy must have.
	SHA256 string
	// Size is its length in bytes.
	Size int64
	// Commit and Path are its place in github.com/vacp2p/zerokit.
	Commit string
	Path   string
}

// zerokitRaw is where GitHub serves a file of the zerokit repository at a
// commit.
const zerokitRaw = "https://raw.githubusercontent.com/vacp2p/zerokit"

// URL is the file's pinned address: zerokit's raw file at its commit.
func (f File) URL() string { return fmt.Sprintf("%s/%s/%s", zerokitRaw, f.Commit, f.Path) }

// files are the three artefacts, as the provenance table shipped with
// them records: the proving key and the verifying key from the ceremony
// (tree_height_20, the folder's name before zerokit renamed it) and the
// witness graph (tree_depth_20).
var files = []File{
	{Name: ZKey, SHA256: "ae30d3d4b29d9dab8c65ff181644a3eb57c2c0fa9f687ea3baf8c7f711d7946a", Size: 3429990,
		Commit: "c6493bd10fd2f824bc6a6f19b45e7678395930d3", Path: "rln/resources/tree_height_20/rln_final.zkey"},
	{Name: VKey, SHA256: "ae43614cd02ebe951f44465924eff9882d1321b20f0cc129406bc5fa2547fe11", Size: 3656,
		Commit: "0997d15d33f0b7085c8ca76350c4863a30348a2b", Path: "rln/resources/tree_height_20/verification_key.json"},
	{Name: Graph, SHA256: "eaf1868e27b22c7deb6da8a253300c99effcfa417f807ef7105d3fb8628d1c54", Size: 280798,
		Commit: "e077b5bb99ef3e5f4b8efbe3524c73070ed1bf45", Path: "rln/resources/tree_depth_20/graph.bin"},
}

// Files returns the artefacts rlnd uses: the proving key, the verifying
// key and the witness graph, in that order.
func Files() []File { return append([]File(nil), files...) }

// lookup returns the pinned file of that name.
func lookup(name string) (File, bool) {
	for _, f := range files {
		if f.Name == name {
			return f, true
		}
	}
	return File{}, false
}
