package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version and commit are set at build time by the Makefile
// (-ldflags "-X main.version=... -X main.commit=..."). Without them (go
// install, go build, go run) the build's own information says what was
// built: see buildVersion.
var (
	version = ""
	commit  = ""
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the rlnd version",
		Long: "Print the version and commit rlnd was built from. A binary built by make has them from\n" +
			"git; one built by go install or go build has the module version and, inside a checkout,\n" +
			"the VCS revision, its time and whether the tree had local changes; go run records no\n" +
			"revision.",
		Example: "  rlnd version",
		Args:    exactArgs(0),
		Run: func(cmd *cobra.Command, _ []string) {
			bi, _ := debug.ReadBuildInfo()
			fmt.Fprintln(cmd.OutOrStdout(), versionLine(version, commit, bi))
		},
	}
}

// buildVersion is what the build says about itself: the module version
// ("(devel)" when the go command had none) and the VCS settings the go
// command stamps inside a checkout (-buildvcs, on by default for go build
// and go install, off for go run).
type buildVersion struct {
	module   string // the main module's version
	revision string // vcs.revision
	time     string // vcs.time (RFC 3339)
	modified string // vcs.modified: "true" or "false"; "" when not stamped
}

// readBuildVersion picks the fields of buildVersion out of bi (nil: a
// binary without build information).
func readBuildVersion(bi *debug.BuildInfo) buildVersion {
	var v buildVersion
	if bi == nil {
		return v
	}
	v.module = bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.revision = s.Value
		case "vcs.time":
			v.time = s.Value
		case "vcs.modified":
			v.modified = s.Value
		}
	}
	return v
}

// versionString is the version alone: the Makefile's, else the module's,
// else "(devel)". The node announces it (identify's agent version, the
// REST API's /debug/v1/version).
func versionString() string {
	if version != "" {
		return version
	}
	bi, _ := debug.ReadBuildInfo()
	if m := readBuildVersion(bi).module; m != "" {
		return m
	}
	return "(devel)"
}

// versionLine is what `rlnd version` prints: the version and commit the
// Makefile set, or else what the build information bi holds (nil: none).
func versionLine(ldVersion, ldCommit string, bi *debug.BuildInfo) string {
	platform := fmt.Sprintf("%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if ldVersion != "" || ldCommit != "" {
		v, c := ldVersion, ldCommit
		if v == "" {
			v = "(devel)"
		}
		if c == "" {
			c = "unknown"
		}
		return fmt.Sprintf("rlnd %s (commit %s, %s)", v, c, platform)
	}
	b := readBuildVersion(bi)
	v := b.module
	if v == "" {
		v = "(devel)"
	}
	var parts []string
	switch {
	case b.revision != "":
		parts = append(parts, "commit "+b.revision)
		if b.time != "" {
			parts = append(parts, "committed "+b.time)
		}
		switch b.modified {
		case "true":
			parts = append(parts, "with local changes")
		case "false":
			parts = append(parts, "clean tree")
		}
	case b.module != "" && b.module != "(devel)":
		// go install module@version: the module version names the
		// source; there is no checkout to take a revision from.
		parts = append(parts, "no VCS revision: built from the module version")
	default:
		parts = append(parts, "no VCS revision recorded: built by go run, with -buildvcs=false or outside a git checkout")
	}
	parts = append(parts, platform)
	return fmt.Sprintf("rlnd %s (%s)", v, strings.Join(parts, ", "))
}
