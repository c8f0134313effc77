package k8s

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Write writes each manifest to dir/<Name>, creating dir if need be. A
// directory that holds other .yaml or .yml files is refused, before
// anything is written: `kubectl apply -f DIR` would apply them too (a
// stale manifest of an earlier render, say). Files of the same names are
// replaced.
func Write(dir string, ms []Manifest) error {
	if dir == "" {
		return errors.New("k8s: write: no directory given")
	}
	var names []string
	for i, m := range ms {
		if m.Name == "" || m.Name != filepath.Base(m.Name) || strings.HasPrefix(m.Name, ".") || !strings.HasSuffix(m.Name, ".yaml") {
			return fmt.Errorf("k8s: write: manifest %d is named %q, want a file name ending in .yaml", i, m.Name)
		}
		if slices.Contains(names, m.Name) {
			return fmt.Errorf("k8s: write: two manifests are named %q", m.Name)
		}
		if len(m.YAML) == 0 {
			return fmt.Errorf("k8s: write: manifest %q is empty", m.Name)
		}
		names = append(names, m.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("k8s: write: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("k8s: write: %w", err)
	}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if (ext == ".yaml" || ext == ".yml") && !slices.Contains(names, e.Name()) {
			return fmt.Errorf("k8s: write: %s holds %s, which is not one of the manifests: kubectl apply -f %s would apply it too; use an empty directory",
				dir, e.Name(), dir)
		}
	}
	for _, m := range ms {
		if err := writeFile(filepath.Join(dir, m.Name), m.YAML); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes b to path through a temporary file renamed over it.
func writeFile(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("k8s: write: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("k8s: write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("k8s: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("k8s: write %s: %w", path, err)
	}
	return nil
}
