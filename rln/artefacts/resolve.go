package artefacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Environment variables read by Resolve, Locate and Fetch (through
// Options.Getenv).
const (
	// EnvCache names the cache folder (default: os.UserCacheDir()/rlnd/rln/tree_depth_20).
	EnvCache = "RLND_ARTEFACTS_CACHE"
	// EnvURL is a base URL under which the three files sit by name,
	// replacing the pinned zerokit URLs.
	EnvURL = "RLND_ARTEFACTS_URL"
	// EnvFetch set to 0 (or false, no, off) refuses to fetch.
	EnvFetch = "RLND_ARTEFACTS_FETCH"
)

// DefaultTimeout bounds the download of one file, request to last byte.
const DefaultTimeout = 2 * time.Minute

// sizeSlack is how far past its real size a download may run before it is
// cut off (it is then refused as the wrong file).
const sizeSlack = 2 << 20

// More sentinel errors.
var (
	// ErrFetchOff is returned when the files must be fetched and
	// fetching is refused (RLND_ARTEFACTS_FETCH=0 or Options.NoFetch).
	ErrFetchOff = errors.New("fetching the RLN artefacts is off")
	// ErrFetch is returned when a download fails: the network, the
	// server's answer, the size or the digest (then with ErrChecksum).
	ErrFetch = errors.New("could not fetch an RLN artefact")
	// ErrSetting is a bad RLND_ARTEFACTS_* value or option.
	ErrSetting = errors.New("bad RLN artefacts setting")
)

// Source says where a folder of artefacts comes from.
type Source int

// The sources, in the order Resolve tries them.
const (
	// SourceConfig is the configured folder (rln.artefacts-dir), the only
	// place looked at when it is set.
	SourceConfig Source = iota + 1
	// SourceShared is ../shared/rln/tree_depth_20 beside the working
	// directory, one of its parents, or the binary (DefaultDir).
	SourceShared
	// SourceCache is the cache folder, complete and valid.
	SourceCache
	// SourceFetch is the cache folder, with files fetched into it (by
	// Resolve and Fetch) or to fetch (by Locate).
	SourceFetch
)

func (s Source) String() string {
	switch s {
	case SourceConfig:
		return "configured folder (rln.artefacts-dir)"
	case SourceShared:
		return "../shared/rln/tree_depth_20 beside the checkout or binary"
	case SourceCache:
		return "cache"
	case SourceFetch:
		return "cache, fetched on first use"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// Location is the folder Resolve, Locate or Fetch settled on.
type Location struct {
	Dir    string
	Source Source
	// Fetch names, for SourceFetch, the files fetched (Resolve, Fetch)
	// or to fetch (Locate): those missing from the cache or wrong there.
	Fetch []string
}

// Options say where to look and how to fetch. The zero value looks at
// ../shared, then the cache named by the environment, and fetches from the
// pinned zerokit URLs.
type Options struct {
	// Dir is the configured folder (rln.artefacts-dir). When set it is
	// the only place looked at: a missing or wrong file there is an error.
	Dir string
	// CacheDir replaces $RLND_ARTEFACTS_CACHE and the default cache folder.
	CacheDir string
	// BaseURL replaces $RLND_ARTEFACTS_URL: files are fetched from
	// BaseURL/<name> instead of the pinned zerokit URLs.
	BaseURL string
	// NoFetch refuses to fetch, as RLND_ARTEFACTS_FETCH=0 does.
	NoFetch bool
	// NoShared skips ../shared/rln/tree_depth_20.
	NoShared bool
	// Timeout bounds each file's download, request to last byte
	// (0: DefaultTimeout).
	Timeout time.Duration
	// Client makes the requests (nil: one that follows at most 5
	// redirects and the proxy settings of the environment).
	Client *http.Client
	// Progress receives a line for each file fetched (nil: none).
	Progress io.Writer
	// Logger receives the same as records (nil: discard).
	Logger *slog.Logger
	// Getenv reads the RLND_ARTEFACTS_* variables (nil: os.Getenv).
	Getenv func(string) string
}

// settings are Options with the environment and defaults applied.
type settings struct {
	o        Options
	cache    string
	base     string // "" for the pinned URLs
	fetchOff string // why fetching is off ("" when it is on)
	timeout  time.Duration
	client   *http.Client
	log      *slog.Logger
}

func (o Options) settings() (*settings, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	s := &settings{o: o, timeout: o.Timeout, client: o.Client, log: o.Logger}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.client == nil {
		s.client = &http.Client{CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return fmt.Errorf("more than 5 redirects")
			}
			return nil
		}}
	}
	var err error
	if s.cache, err = cacheDir(o.CacheDir, getenv); err != nil {
		return nil, err
	}
	raw, from := o.BaseURL, "Options.BaseURL"
	if raw == "" {
		raw, from = getenv(EnvURL), EnvURL
	}
	if raw != "" {
		if s.base, err = parseBase(raw); err != nil {
			return nil, fmt.Errorf("%w: %s=%q: %w", ErrSetting, from, raw, err)
		}
	}
	switch v := getenv(EnvFetch); strings.ToLower(strings.TrimSpace(v)) {
	case "", "1", "true", "yes", "on":
	case "0", "false", "no", "off":
		s.fetchOff = EnvFetch + "=" + v
	default:
		return nil, fmt.Errorf("%w: %s=%q: want 1 (fetch when needed, the default) or 0 (never fetch)", ErrSetting, EnvFetch, v)
	}
	if o.NoFetch {
		s.fetchOff = "fetching refused by the caller"
	}
	return s, nil
}

// CacheDir is the cache folder Resolve fetches into: $RLND_ARTEFACTS_CACHE
// (read with getenv, nil for os.Getenv) when set, else
// os.UserCacheDir()/rlnd/rln/tree_depth_20 ($XDG_CACHE_HOME or ~/.cache on
// Linux, ~/Library/Caches on macOS).
func CacheDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	return cacheDir("", getenv)
}

func cacheDir(given string, getenv func(string) string) (string, error) {
	dir := given
	if dir == "" {
		dir = getenv(EnvCache)
	}
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("%w: no cache folder: %w; set %s to a folder for the RLN artefacts", ErrSetting, err, EnvCache)
		}
		dir = filepath.Join(base, "rlnd", "rln", "tree_depth_20")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%w: cache folder %q: %w", ErrSetting, dir, err)
	}
	return abs, nil
}

// parseBase checks a base URL and returns it without a trailing slash.
func parseBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("want an http:// or https:// URL under which %s, %s and %s sit", ZKey, VKey, Graph)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("want a base URL without a query or fragment (the file names are appended to its path)")
	}
	return strings.TrimRight(raw, "/"), nil
}

// url is where f is fetched from.
func (s *settings) url(f File) string {
	if s.base != "" {
		return s.base + "/" + f.Name
	}
	return f.URL()
}

// Locate says which folder Resolve would use, and from which source,
// without fetching. It reads the files only to tell a complete cache from
// one that Resolve would fetch into; the configured and shared folders are
// not checked (Resolve and Verify do that).
func Locate(o Options) (Location, error) {
	s, err := o.settings()
	if err != nil {
		return Location{}, err
	}
	loc, _ := s.locate()
	return loc, nil
}

// locate is Locate, also returning what is wrong in the cache.
func (s *settings) locate() (Location, []FileStatus) {
	if s.o.Dir != "" {
		dir, err := filepath.Abs(s.o.Dir)
		if err != nil {
			dir = s.o.Dir
		}
		return Location{Dir: dir, Source: SourceConfig}, nil
	}
	if !s.o.NoShared {
		if dir := DefaultDir(); dir != "" {
			return Location{Dir: dir, Source: SourceShared}, nil
		}
	}
	bad := problems(Verify(s.cache))
	if len(bad) == 0 {
		return Location{Dir: s.cache, Source: SourceCache}, nil
	}
	return Location{Dir: s.cache, Source: SourceFetch, Fetch: names(bad)}, bad
}

// Resolve returns a folder holding the three artefacts, each checked by
// sha256: the configured folder (Options.Dir) when set, and only it; else
// ../shared/rln/tree_depth_20 when found (DefaultDir); else the cache when
// complete and valid; else the cache after fetching what it lacks (a
// corrupt cached file is fetched again). When fetching is off or fails,
// the error says where to put which files.
func Resolve(ctx context.Context, o Options) (Location, error) {
	s, err := o.settings()
	if err != nil {
		return Location{}, err
	}
	loc, bad := s.locate()
	switch loc.Source {
	case SourceConfig:
		if err := Check(loc.Dir); err != nil {
			return loc, fmt.Errorf("artefacts: the configured folder (rln.artefacts-dir) %s is not usable, and no other is looked at: %w", loc.Dir, err)
		}
	case SourceShared:
		if err := Check(loc.Dir); err != nil {
			return loc, fmt.Errorf("artefacts: %s (found beside the checkout or binary, used before the cache) is not usable; fix or remove it, or set rln.artefacts-dir: %w", loc.Dir, err)
		}
	case SourceFetch:
		if err := s.fetch(ctx, bad, true); err != nil {
			return loc, err
		}
	}
	return loc, nil
}

// Fetch fills the cache folder with the files it lacks (or holds wrong),
// whatever the configured and shared folders hold, so a machine can go
// offline with a complete cache. It returns SourceCache when nothing had
// to be fetched.
func Fetch(ctx context.Context, o Options) (Location, error) {
	s, err := o.settings()
	if err != nil {
		return Location{}, err
	}
	bad := problems(Verify(s.cache))
	if len(bad) == 0 {
		return Location{Dir: s.cache, Source: SourceCache}, nil
	}
	loc := Location{Dir: s.cache, Source: SourceFetch, Fetch: names(bad)}
	return loc, s.fetch(ctx, bad, false)
}

// Dir is Resolve's folder, for callers that only need its path.
func Dir(ctx context.Context, o Options) (string, error) {
	loc, err := Resolve(ctx, o)
	return loc.Dir, err
}

func problems(sts []FileStatus) []FileStatus {
	var bad []FileStatus
	for _, st := range sts {
		if st.Status != StatusOK {
			bad = append(bad, st)
		}
	}
	return bad
}

func names(sts []FileStatus) []string {
	out := make([]string, len(sts))
	for i, st := range sts {
		out[i] = st.File.Name
	}
	return out
}

// fetch downloads the files of bad into the cache, one after the other.
// lookedShared says the shared folder was looked for (for the error).
func (s *settings) fetch(ctx context.Context, bad []FileStatus, lookedShared bool) error {
	if s.fetchOff != "" {
		return s.unavailable(fmt.Errorf("artefacts: %w (%s), and the cache lacks them: %s", ErrFetchOff, s.fetchOff, whatIsWrong(bad)), lookedShared && !s.o.NoShared)
	}
	if err := os.MkdirAll(s.cache, 0o755); err != nil {
		return s.unavailable(fmt.Errorf("artefacts: %w: create the cache folder: %w", ErrFetch, err), false)
	}
	removeStaleParts(s.cache, s.log)
	for _, st := range bad {
		if st.Status == StatusBad {
			// The cache is rlnd's own and every file in it is checked on
			// use: a wrong one (a disk error, an interrupted copy by hand)
			// is replaced rather than left for the user to delete.
			s.warn("artefacts: the cached %s is wrong (%v): fetching it again", st.File.Name, st.Err)
		}
		if err := s.download(ctx, st.File); err != nil {
			return s.unavailable(err, false)
		}
	}
	return nil
}

// whatIsWrong lists the files of bad with what is wrong with each.
func whatIsWrong(bad []FileStatus) string {
	parts := make([]string, len(bad))
	for i, st := range bad {
		switch st.Status {
		case StatusMissing:
			parts[i] = st.File.Name + " missing"
		default:
			parts[i] = fmt.Sprintf("%s wrong (%v)", st.File.Name, st.Err)
		}
	}
	return strings.Join(parts, ", ")
}

// unavailable adds to err where to put which files by hand. The message
// stays one line (the command line prints errors as one, logs hold them as
// a value).
func (s *settings) unavailable(err error, sharedNotFound bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%v; to run without fetching, put into %s (the cache; %s names another) or into a folder named by rln.artefacts-dir (RLND_RLN_ARTEFACTS_DIR) these files:",
		err, s.cache, EnvCache)
	for i, f := range files {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s %s (%d bytes, sha256 %s, from %s)", sep, f.Name, f.Size, f.SHA256, f.URL())
	}
	if s.base != "" {
		fmt.Fprintf(&b, "; this run fetches from %s/<name> (%s or the caller)", s.base, EnvURL)
	}
	if sharedNotFound {
		b.WriteString("; ../shared/rln/tree_depth_20 was looked for beside the working directory, its parents and the binary: not found")
	}
	return &guideError{msg: b.String(), err: err}
}

// guideError is an error with instructions appended to its message; it
// unwraps to the error it explains.
type guideError struct {
	msg string
	err error
}

func (e *guideError) Error() string { return e.msg }
func (e *guideError) Unwrap() error { return e.err }

// say writes a progress line and logs it at info.
func (s *settings) say(format string, a ...any) { s.report(slog.LevelInfo, format, a...) }

// warn writes a progress line and logs it as a warning.
func (s *settings) warn(format string, a ...any) { s.report(slog.LevelWarn, format, a...) }

func (s *settings) report(level slog.Level, format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	if s.o.Progress != nil {
		fmt.Fprintln(s.o.Progress, line)
	}
	s.log.Log(context.Background(), level, line)
}
