package lightpush

import (
	"errors"
	"io"
	"os"
)

// The slot store's file layer. The store promises that a slot handed out
// is on disk, so every write, sync, truncation and rename it does goes
// through these two interfaces: tests put a layer underneath that fails any
// of them, cuts writes short as a full disk does, or kills the process.

// SlotFile is an open slot file.
type SlotFile interface {
	io.Reader
	io.WriterAt
	Sync() error
	Truncate(size int64) error
	Close() error
}

// SlotFS is the file system the slot store lives in.
type SlotFS interface {
	// OpenFile opens name as os.OpenFile does.
	OpenFile(name string, flag int, perm os.FileMode) (SlotFile, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	MkdirAll(dir string, perm os.FileMode) error
	// SyncDir makes the directory's entries (a created or renamed file)
	// durable.
	SyncDir(dir string) error
}

// OSFS is the operating system's file system.
type OSFS struct{}

// OpenFile opens a file of the operating system.
func (OSFS) OpenFile(name string, flag int, perm os.FileMode) (SlotFile, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Rename renames a file.
func (OSFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// Remove removes a file.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// MkdirAll creates a directory and its parents.
func (OSFS) MkdirAll(dir string, perm os.FileMode) error { return os.MkdirAll(dir, perm) }

// SyncDir fsyncs a directory.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// isNotExist reports a missing file, whatever layer said it.
func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
