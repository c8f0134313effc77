// Package redact hides the secrets that endpoint addresses carry (RPC URLs
// with API keys, database URLs with passwords) before they reach a log line,
// an error string or printed configuration.
//
// What is hidden: the user info (user and password), the query string, the
// fragment, and every path segment that looks like an API key (a token of at
// least 16 letters, digits and -_+=~. with a digit or an upper-case letter in
// it, or any such token of 32 or more). Scheme, host and port stay, so that a
// message still says which endpoint it was about. Each hidden part becomes the
// word "redacted".
package redact

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Mark replaces each hidden part.
const Mark = "redacted"

// minFragment is the shortest secret fragment that Text replaces wherever it
// appears outside a URL; shorter ones would garble ordinary words, and inside
// a URL they are hidden anyway.
const minFragment = 4

// URL returns s, an endpoint address, with its secrets replaced by Mark.
// s may be a URL (http, https, ws, wss, postgres, ...), a file path, or a
// PostgreSQL keyword/value connection string ("host=h password=p"), whose
// password values are hidden. A URL that does not parse keeps only its
// scheme and a plain host[:port]. URL never panics.
func URL(s string) string {
	if s == "" {
		return ""
	}
	if dsnStart.MatchString(s) {
		return keywordDSN(s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return unparsed(s)
	}
	if u.Opaque != "" {
		// "host:8545" parses as scheme "host", opaque "8545"; anything
		// else opaque may hold a secret.
		if !isPort(u.Opaque) {
			u.Opaque = Mark
		}
	} else {
		if u.User != nil {
			u.User = url.User(Mark)
		}
		p := redactPath(u.EscapedPath())
		if dec, err := url.PathUnescape(p); err == nil {
			u.Path, u.RawPath = dec, p
		} else {
			u.Path, u.RawPath = "/"+Mark, ""
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = Mark
	}
	u.ForceQuery = false
	if u.Fragment != "" {
		u.Fragment, u.RawFragment = Mark, ""
	}
	return u.String()
}

// redactPath replaces the key-like segments of an escaped path.
func redactPath(p string) string {
	if p == "" {
		return ""
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		dec, err := url.PathUnescape(seg)
		if err != nil || KeyLike(dec) {
			segs[i] = Mark
		}
	}
	return strings.Join(segs, "/")
}

// KeyLike reports whether a path segment looks like an API key: hex, base58
// and base64 tokens such as Infura's 32 hex digits or Alchemy's keys.
func KeyLike(seg string) bool {
	if len(seg) < 16 {
		return false
	}
	var digit, upper bool
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z', strings.IndexByte("-_+=~.", c) >= 0:
		default:
			return false
		}
	}
	return digit || upper || len(seg) >= 32
}

// unparsed is URL for text that does not parse as a URL: it keeps the
// scheme, and the host and port when they are plainly a host and a port and
// nothing in s could be user info.
func unparsed(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !validScheme(scheme) {
		return Mark
	}
	scheme = strings.ToLower(scheme)
	host, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, tail = rest[:i], rest[i:]
	}
	if strings.Contains(s, "@") || !plainHostPort(host) {
		host = Mark
	}
	if tail != "" {
		return scheme + "://" + host + "/" + Mark
	}
	return scheme + "://" + host
}

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// plainHostPort accepts a DNS name or IPv4 address or [IPv6], with an
// optional numeric port.
func plainHostPort(s string) bool {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return false
		}
		for _, c := range s[1:end] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
				return false
			}
		}
		host, port = "", s[end+1:]
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
	}
	for _, c := range host {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return port == "" && !strings.Contains(s, ":") || isPort(port)
}

func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// keyword is one keyword=value pair of a libpq connection string; value is
// as written (quotes and escapes included).
type keyword struct{ key, value string }

// dsnStart matches the start of a libpq keyword/value connection string.
var dsnStart = regexp.MustCompile(`^\s*[A-Za-z_][A-Za-z0-9_]*\s*=`)

// parseKeywords reads a libpq keyword/value connection string. When it
// meets something it cannot read it stops: rest is the unread text, from
// the start of the pair it could not read.
func parseKeywords(s string) (pairs []keyword, rest string) {
	i := 0
	skipSpace := func() {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	for {
		skipSpace()
		if i >= len(s) {
			return pairs, ""
		}
		start := i
		for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || i > start && s[i] >= '0' && s[i] <= '9') {
			i++
		}
		key := s[start:i]
		skipSpace()
		if key == "" || i >= len(s) || s[i] != '=' {
			return pairs, s[start:]
		}
		i++
		skipSpace()
		vstart := i
		if i < len(s) && s[i] == '\'' {
			i++
			for {
				if i >= len(s) {
					return pairs, s[start:] // unterminated quote
				}
				if s[i] == '\\' {
					i += 2
					continue
				}
				i++
				if s[i-1] == '\'' {
					break
				}
			}
		} else {
			for i < len(s) && !isSpace(s[i]) {
				if s[i] == '\\' {
					i++
				}
				i++
			}
		}
		pairs = append(pairs, keyword{key: key, value: s[vstart:min(i, len(s))]})
	}
}

// keywordDSN hides the secret values of a libpq keyword/value connection
// string, and any value that holds URL syntax; text it cannot read becomes
// one Mark.
func keywordDSN(s string) string {
	pairs, rest := parseKeywords(s)
	parts := make([]string, 0, len(pairs)+1)
	for _, p := range pairs {
		v := p.value
		switch {
		case secretKeyword(p.key), strings.ContainsAny(v, "?#@"):
			v = Mark
		case strings.Contains(v, "://"):
			v = URL(strings.Trim(v, "'"))
		}
		parts = append(parts, p.key+"="+v)
	}
	if rest != "" {
		parts = append(parts, Mark)
	}
	return strings.Join(parts, " ")
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// secretKeyword reports whether a connection-string or query keyword names
// a secret (password, sslpassword, apikey, access_token, ...).
func secretKeyword(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"pass", "secret", "token", "key", "auth", "sig"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// urlInText finds URL-like tokens in free text: a scheme, "://", and what
// follows up to a space, a quote or a bracket.
var urlInText = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'`<>()\\[\\]{}]*")

// Text returns s with every URL in it redacted, and with the secret parts of
// each of raws (the addresses the text may quote, such as the RPC URL a
// client dialled) replaced by Mark wherever they appear, even outside a URL
// or escaped. Secret fragments shorter than 4 characters are replaced only
// inside URLs.
func Text(s string, raws ...string) string {
	for _, raw := range raws {
		if raw == "" {
			continue
		}
		if len(raw) >= minFragment {
			s = strings.ReplaceAll(s, raw, URL(raw))
		}
		for _, f := range fragments(raw) {
			s = strings.ReplaceAll(s, f, Mark)
		}
	}
	return urlInText.ReplaceAllStringFunc(s, func(u string) string {
		// Punctuation that ends a sentence or a "url: cause" prefix is
		// the text's, not the URL's.
		core := strings.TrimRight(u, ".,:;!")
		return URL(core) + u[len(core):]
	})
}

// fragments lists the secret parts of raw, longest first, in the forms an
// error message may quote them: as written, escaped and unescaped.
func fragments(raw string) []string {
	seen := map[string]bool{}
	add := func(fs ...string) {
		for _, f := range fs {
			if len(f) >= minFragment && f != Mark {
				seen[f] = true
			}
		}
	}
	addForms := func(f string) {
		add(f, url.PathEscape(f), url.QueryEscape(f))
		if d, err := url.PathUnescape(f); err == nil {
			add(d)
		}
		if d, err := url.QueryUnescape(f); err == nil {
			add(d)
		}
	}
	if dsnStart.MatchString(raw) {
		for _, v := range keywordSecrets(raw) {
			addForms(v)
		}
	} else if u, err := url.Parse(raw); err == nil {
		if u.User != nil {
			// A user name alone is no secret (and "postgres" is in
			// every scheme), unless it is a key.
			if KeyLike(u.User.Username()) {
				addForms(u.User.Username())
			}
			if p, ok := u.User.Password(); ok {
				addForms(p)
				addForms(u.User.String())
			}
		}
		addForms(u.RawQuery)
		for k, vs := range u.Query() {
			for _, v := range vs {
				if secretKeyword(k) || KeyLike(v) {
					addForms(v)
				}
			}
		}
		addForms(u.Fragment)
		if u.Opaque != "" && !isPort(u.Opaque) {
			addForms(u.Opaque)
		}
		for _, seg := range strings.Split(u.EscapedPath(), "/") {
			if dec, err := url.PathUnescape(seg); err != nil || KeyLike(dec) {
				addForms(seg)
			}
		}
	} else if _, rest, ok := strings.Cut(raw, "://"); ok {
		// Unparsed: everything after the host may be secret, and so may a
		// host that is not plainly one.
		host, tail := rest, ""
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			host, tail = rest[:i], rest[i+1:]
		}
		if strings.Contains(raw, "@") || !plainHostPort(host) {
			addForms(rest)
		}
		addForms(tail)
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

// keywordSecrets returns the secret values of a libpq keyword/value
// connection string (as written and unquoted), and the text it could not
// read.
func keywordSecrets(s string) []string {
	pairs, rest := parseKeywords(s)
	var out []string
	for _, p := range pairs {
		if secretKeyword(p.key) || strings.ContainsAny(p.value, "?#@") {
			out = append(out, p.value, strings.Trim(p.value, "'"))
		}
	}
	if rest != "" {
		out = append(out, rest)
	}
	return out
}

// Error returns err with its text passed through Text(msg, raws...). The
// result unwraps to err, so errors.Is and errors.As still see the original
// chain (whose own texts are not redacted: print the result, not them).
// When nothing needs hiding, Error returns err itself.
func Error(err error, raws ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := Text(msg, raws...)
	if red == msg {
		return err
	}
	return &redacted{msg: red, err: err}
}

type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
