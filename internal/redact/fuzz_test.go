package redact

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzURL: URL never panics; for every input that parses as a URL the output
// holds neither the password of its user info nor its query (unless that
// text is also in a part that stays: scheme, host, path, or the mark and
// URL punctuation); the output parses back with no user info, query or
// fragment other than the mark; and redacting twice changes nothing.
func FuzzURL(f *testing.F) {
	for _, s := range []string{
		"http://127.0.0.1:8545",
		"https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161",
		"https://eth-mainnet.g.alchemy.com/v2/aB3dEfGhIjKlMnOpQrStUvWxYz012345",
		"https://user:hunter22@rpc.example.org:8443/p?apikey=s3cr3t#f",
		"postgres://rlnd:pg-pass@db:5432/rlnd?sslmode=disable",
		"host=db user=rlnd password='pg pass' dbname=rlnd",
		"http://u:p%zz@h/",
		"localhost:8545",
		"//u:p@h/x?y",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := URL(s)
		// (A path can come out looking like a keyword string, which is
		// redacted by other rules.)
		if again := URL(out); again != out && dsnStart.MatchString(s) == dsnStart.MatchString(out) {
			t.Fatalf("URL(%q) = %q, but URL(%q) = %q", s, out, out, again)
		}
		if dsnStart.MatchString(s) {
			pairs, _ := parseKeywords(s)
			var kept []string
			for _, p := range pairs {
				kept = append(kept, p.key)
				if !secretKeyword(p.key) {
					kept = append(kept, p.value)
				}
			}
			keptText := strings.Join(append(kept, Mark), "\x00")
			for _, p := range pairs {
				v := strings.Trim(p.value, "'")
				if secretKeyword(p.key) && alnum(v) && !strings.Contains(keptText, v) && strings.Contains(out, v) {
					t.Fatalf("URL(%q) = %q keeps the %s value %q", s, out, p.key, v)
				}
			}
			got, _ := parseKeywords(out)
			for _, p := range got {
				if secretKeyword(p.key) && p.value != Mark {
					t.Fatalf("URL(%q) = %q: %s=%s", s, out, p.key, p.value)
				}
			}
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		skeleton := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
		kept := strings.Join([]string{skeleton, u.Scheme, u.Host, u.EscapedPath(), u.Path, u.Opaque, Mark}, "\x00")
		// An alphanumeric secret can only be in the output within one
		// part of it; others are covered by the structure checks below.
		if p, ok := u.User.Password(); ok && alnum(p) && !strings.Contains(kept, p) && strings.Contains(out, p) {
			t.Fatalf("URL(%q) = %q keeps the password %q", s, out, p)
		}
		if q := u.RawQuery; alnum(q) && !strings.Contains(kept, q) && strings.Contains(out, q) {
			t.Fatalf("URL(%q) = %q keeps the query %q", s, out, q)
		}
		v, err := url.Parse(out)
		if err != nil {
			t.Fatalf("URL(%q) = %q, which does not parse: %v", s, out, err)
		}
		// The output is the input's scheme, host and path segments, each
		// segment kept or replaced, and nothing else but the mark.
		if v.User != nil && v.User.String() != Mark {
			t.Fatalf("URL(%q) = %q has user info %q", s, out, v.User.String())
		}
		if v.RawQuery != "" && v.RawQuery != Mark {
			t.Fatalf("URL(%q) = %q has query %q", s, out, v.RawQuery)
		}
		if v.Fragment != "" && v.Fragment != Mark {
			t.Fatalf("URL(%q) = %q has fragment %q", s, out, v.Fragment)
		}
		if v.Scheme != u.Scheme || v.Host != u.Host {
			t.Fatalf("URL(%q) = %q: scheme and host %q %q, want %q %q", s, out, v.Scheme, v.Host, u.Scheme, u.Host)
		}
		if v.Opaque != u.Opaque && v.Opaque != Mark {
			t.Fatalf("URL(%q) = %q: opaque part %q", s, out, v.Opaque)
		}
		vp := v.EscapedPath()
		if !strings.HasPrefix(u.EscapedPath(), "./") {
			vp = strings.TrimPrefix(vp, "./") // how url.URL.String writes a first segment with a colon
		}
		in, got := strings.Split(u.EscapedPath(), "/"), strings.Split(vp, "/")
		if len(in) != len(got) {
			t.Fatalf("URL(%q) = %q: path %q, want the segments of %q", s, out, v.EscapedPath(), u.EscapedPath())
		}
		for i := range in {
			if got[i] != in[i] && got[i] != Mark {
				t.Fatalf("URL(%q) = %q: path segment %q, want %q or %q", s, out, got[i], in[i], Mark)
			}
		}
	})
}

// alnum reports whether s is non-empty letters and digits.
func alnum(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// FuzzText: Text never panics, and a URL quoted in free text loses its
// password and query whatever surrounds it.
func FuzzText(f *testing.F) {
	f.Add("Post \"", "https://u:hunter22@h/v3/9aa3d95b3bc440fa88ea12eaa4456161?k=v", "\": EOF")
	f.Add("failed: ", "postgres://rlnd:pg-pass@db/rlnd", "")
	f.Add("", "host=db password=secret", " (bad)")
	f.Fuzz(func(t *testing.T, prefix, raw, suffix string) {
		out := Text(prefix+raw+suffix, raw)
		u, err := url.Parse(raw)
		if err != nil || dsnStart.MatchString(raw) {
			return
		}
		kept := strings.Join([]string{prefix, suffix, u.Scheme, u.Host, u.EscapedPath(), u.Path, u.Opaque, Mark, ":/@?#"}, "\x00")
		if p, ok := u.User.Password(); ok && len(p) >= minFragment && !strings.Contains(kept, p) && strings.Contains(out, p) {
			t.Fatalf("Text(%q) = %q keeps the password %q", prefix+raw+suffix, out, p)
		}
		if q := u.RawQuery; len(q) >= minFragment && !strings.Contains(kept, q) && strings.Contains(out, q) {
			t.Fatalf("Text(%q) = %q keeps the query %q", prefix+raw+suffix, out, q)
		}
	})
}
