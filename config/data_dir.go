package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvXDGStateHome is the variable of the XDG base directory specification
// that DefaultDataDir honours.
const EnvXDGStateHome = "XDG_STATE_HOME"

// DefaultDataDir is the data directory of a node whose node.data-dir is not
// set: $XDG_STATE_HOME/rlnd when xdgStateHome (the variable's value) is an
// absolute path, as the XDG base directory specification has it (a
// relative one is ignored), else ~/.local/state/rlnd in the user's home
// directory (os.UserHomeDir). It creates nothing.
func DefaultDataDir(xdgStateHome string) (string, error) {
	if xdgStateHome != "" && filepath.IsAbs(xdgStateHome) {
		return filepath.Join(xdgStateHome, "rlnd"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no default data directory (%s is not set and %w)", EnvXDGStateHome, err)
	}
	return filepath.Join(home, ".local", "state", "rlnd"), nil
}
