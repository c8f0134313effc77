package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// `rlnd version` says what was built: the Makefile's version and commit,
// or the build information of go install, go build and go run.
func TestVersionLine(t *testing.T) {
	t.Parallel()
	platform := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name              string
		ldVersion, commit string
		bi                *debug.BuildInfo
		want              string
	}{
		{name: "make build", ldVersion: "v0.4.0-3-g024bf39", commit: "024bf39aa",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			want: "rlnd v0.4.0-3-g024bf39 (commit 024bf39aa, " + platform + ")"},
		{name: "go build in a clean checkout",
			bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260601120000-0123456789ab"},
				Settings: settings("vcs", "git", "vcs.revision", "0123456789abcdef", "vcs.time", "2026-06-01T12:00:00Z", "vcs.modified", "false")},
			want: "rlnd v0.0.0-20260601120000-0123456789ab (commit 0123456789abcdef, committed 2026-06-01T12:00:00Z, clean tree, " + platform + ")"},
		{name: "go install in a checkout with local changes",
			bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260601120000-0123456789ab+dirty"},
				Settings: settings("vcs.revision", "0123456789abcdef", "vcs.time", "2026-06-01T12:00:00Z", "vcs.modified", "true")},
			want: "rlnd v0.0.0-20260601120000-0123456789ab+dirty (commit 0123456789abcdef, committed 2026-06-01T12:00:00Z, with local changes, " + platform + ")"},
		{name: "go install module@version",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v0.5.1"}},
			want: "rlnd v0.5.1 (no VCS revision: built from the module version, " + platform + ")"},
		{name: "go run",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			want: "rlnd (devel) (no VCS revision recorded: built by go run, with -buildvcs=false or outside a git checkout, " + platform + ")"},
		{name: "no build information", want: "rlnd (devel) (no VCS revision recorded: built by go run, with -buildvcs=false or outside a git checkout, " + platform + ")"},
		{name: "commit alone by ldflags", commit: "abc", want: "rlnd (devel) (commit abc, " + platform + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := versionLine(tt.ldVersion, tt.commit, tt.bi); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runCLI(t, nil, "version")
	// The test binary has build information but no VCS stamp.
	if code != 0 || !strings.HasPrefix(stdout, "rlnd ") || !strings.Contains(stdout, runtime.Version()) || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("version: exit %d, %q", code, stdout)
	}
}
