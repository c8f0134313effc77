package config

import (
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

// The default data directory is $XDG_STATE_HOME/rlnd when the variable is
// an absolute path, else ~/.local/state/rlnd; without a home directory it
// is an error. (Not parallel: it sets $HOME.)
func TestDefaultDataDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, tt := range []struct{ xdg, want string }{
		{"/srv/state", "/srv/state/rlnd"},
		{"", filepath.Join(home, ".local", "state", "rlnd")},
		{"relative/state", filepath.Join(home, ".local", "state", "rlnd")},
	} {
		got, err := DefaultDataDir(tt.xdg)
		if err != nil || got != tt.want {
			t.Errorf("DefaultDataDir(%q) = %q, %v; want %q", tt.xdg, got, err, tt.want)
		}
	}
	t.Setenv("HOME", "")
	if got, err := DefaultDataDir(""); err == nil {
		t.Errorf("DefaultDataDir without a home = %q, want an error", got)
	}
}

// Load fills node.data-dir from Source.DefaultDataDir only when no layer
// sets it; --data-dir and RLND_NODE_DATA_DIR set it.
func TestLoadDataDir(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse([]string{"--data-dir", "/from/flag"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		src  Source
		want string
	}{
		{"default", Source{DefaultDataDir: "/state/rlnd"}, "/state/rlnd"},
		{"none", Source{}, ""},
		{"environment", Source{DefaultDataDir: "/state/rlnd", Env: []string{"RLND_NODE_DATA_DIR=/from/env"}}, "/from/env"},
		{"flag", Source{DefaultDataDir: "/state/rlnd", Flags: fs}, "/from/flag"},
	} {
		c, err := Load(tt.src)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if c.Node.DataDir != tt.want {
			t.Errorf("%s: node.data-dir = %q, want %q", tt.name, c.Node.DataDir, tt.want)
		}
	}
}
