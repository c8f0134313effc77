package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// log.status-interval is off (0) in both presets, and takes 0 or any
// duration of at least a second from the environment, a file or a flag;
// anything shorter or negative is refused naming the key and what is
// allowed.
func TestStatusInterval(t *testing.T) {
	t.Parallel()
	for _, name := range PresetNames() {
		c, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if c.Log.StatusInterval != 0 {
			t.Errorf("preset %s: log.status-interval %s, want 0 (off)", name, c.Log.StatusInterval)
		}
	}
	tests := []struct {
		name string
		src  func(t *testing.T) Source
		want time.Duration
		err  string // "" when valid
	}{
		{name: "env off", src: envSource("RLND_LOG_STATUS_INTERVAL=0"), want: 0},
		{name: "env one second", src: envSource("RLND_LOG_STATUS_INTERVAL=1s"), want: time.Second},
		{name: "env minutes", src: envSource("RLND_LOG_STATUS_INTERVAL=5m"), want: 5 * time.Minute},
		{name: "file", src: func(t *testing.T) Source {
			return Source{File: writeFile(t, "rlnd.yaml", "log:\n  status-interval: 30s\n")}
		}, want: 30 * time.Second},
		{name: "flag", src: func(t *testing.T) Source {
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			RegisterFlags(fs)
			if err := fs.Parse([]string{"--log-status-interval", "2m"}); err != nil {
				t.Fatal(err)
			}
			return Source{Flags: fs}
		}, want: 2 * time.Minute},
		{name: "below a second", src: envSource("RLND_LOG_STATUS_INTERVAL=500ms"),
			err: "log.status-interval: 500ms is not allowed, allowed 0 (no status line) or >= 1s"},
		{name: "negative", src: envSource("RLND_LOG_STATUS_INTERVAL=-1s"),
			err: "log.status-interval: -1s is not allowed, allowed 0 (no status line) or >= 1s"},
		{name: "not a duration", src: envSource("RLND_LOG_STATUS_INTERVAL=often"), err: "log.status-interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tt.src(t))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Load: %v, want an error containing %q", err, tt.err)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Log.StatusInterval != tt.want {
				t.Fatalf("log.status-interval %s, want %s", c.Log.StatusInterval, tt.want)
			}
		})
	}
}

func envSource(env ...string) func(*testing.T) Source {
	return func(*testing.T) Source { return Source{Env: env} }
}
