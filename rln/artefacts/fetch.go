package artefacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// partSuffix ends the name of a download in progress; the file is named
// "." + name + random + partSuffix in the cache folder, so it is never
// under the final name before its digest is checked.
const partSuffix = ".part"

// staleAfter is the age past which a leftover download (a process killed
// mid-way) is removed; downloads in progress are far younger (each is
// bounded by Options.Timeout).
const staleAfter = time.Hour

// download fetches f into the cache: a temporary file in the cache folder,
// fsynced, checked by sha256, then renamed into place (atomic, so two
// processes fetching at once each put a whole file there). Whatever goes
// wrong, the temporary file is removed.
func (s *settings) download(ctx context.Context, f File) (err error) {
	u := s.url(f)
	s.say("artefacts: fetching %s (%s) from %s", f.Name, humanSize(f.Size), u)
	start := time.Now()
	fctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("artefacts: %w: %s: %w", ErrFetch, u, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return s.transferError(ctx, fctx, f, u, err, -1)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("artefacts: %w: GET %s: %s, want 200 OK", ErrFetch, u, resp.Status)
	}
	limit := f.Size + sizeSlack
	if resp.ContentLength > limit {
		return fmt.Errorf("artefacts: %w: GET %s: the server announces %d bytes; %s is %d bytes (at most %d are read)",
			ErrFetch, u, resp.ContentLength, f.Name, f.Size, limit)
	}

	tmp, err := os.CreateTemp(s.cache, "."+f.Name+".*"+partSuffix)
	if err != nil {
		return fmt.Errorf("artefacts: %w: a temporary file in the cache folder: %w", ErrFetch, err)
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				tmp.Close()
			}
			if rmErr := os.Remove(tmp.Name()); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
				s.log.Warn("artefacts: remove a failed download", "path", tmp.Name(), "err", rmErr)
			}
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return s.transferError(ctx, fctx, f, u, err, n)
	}
	if n > limit {
		return fmt.Errorf("artefacts: %w: GET %s: the answer runs past %d bytes (%s is %d bytes): cut off and removed",
			ErrFetch, u, limit, f.Name, f.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("artefacts: %w: %w: %s from %s has sha256 %s (%d bytes), want %s (%d bytes); the download was removed",
			ErrFetch, ErrChecksum, f.Name, u, got, n, f.SHA256, f.Size)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("artefacts: %w: %s: %w", ErrFetch, tmp.Name(), err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("artefacts: %w: fsync %s: %w", ErrFetch, tmp.Name(), err)
	}
	closed = true
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("artefacts: %w: close %s: %w", ErrFetch, tmp.Name(), err)
	}
	final := filepath.Join(s.cache, f.Name)
	if err = os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("artefacts: %w: rename into %s: %w", ErrFetch, final, err)
	}
	syncDir(s.cache, s.log)
	s.say("artefacts: %s: %d bytes in %.1f s, sha256 %s ok, saved as %s", f.Name, n, time.Since(start).Seconds(), f.SHA256[:16]+"...", final)
	return nil
}

// transferError words a failed request or body read: the file's own
// timeout, the caller's cancellation, or the network (offline).
func (s *settings) transferError(ctx, fctx context.Context, f File, u string, err error, read int64) error {
	got := ""
	if read >= 0 {
		got = fmt.Sprintf(" after %d of %d bytes", read, f.Size)
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("artefacts: %w: GET %s stopped%s: %w", ErrFetch, u, got, ctx.Err())
	case errors.Is(fctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("artefacts: %w: GET %s: %s not complete within %s%s: %w", ErrFetch, u, f.Name, s.timeout, got, context.DeadlineExceeded)
	}
	return fmt.Errorf("artefacts: %w: GET %s%s (offline, or the server is unreachable): %w", ErrFetch, u, got, err)
}

// removeStaleParts removes downloads left by processes that died
// mid-way.
func removeStaleParts(dir string, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, ".") || !strings.HasSuffix(name, partSuffix) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < staleAfter {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.Warn("artefacts: remove a stale download", "path", filepath.Join(dir, name), "err", err)
		}
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string, log *slog.Logger) {
	d, err := os.Open(dir)
	if err != nil {
		log.Warn("artefacts: open the cache folder to fsync it", "err", err)
		return
	}
	if err := d.Sync(); err != nil {
		log.Debug("artefacts: fsync the cache folder", "err", err)
	}
	d.Close()
}

// humanSize is n bytes as KiB or MiB.
func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
