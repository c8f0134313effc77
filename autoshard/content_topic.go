// Package autoshard maps Waku content topics to relay shards
// (51/WAKU2-RELAY-SHARDING, autosharding) and formats and parses the
// static-sharding pubsub topic names /waku/2/rs/<cluster>/<shard>.
// Everything here is a pure function.
package autoshard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidContentTopic is wrapped by every content-topic parse error.
var ErrInvalidContentTopic = errors.New("invalid content topic")

// ContentTopic is a parsed content topic:
// /{application}/{version}/{name}/{encoding}, optionally prefixed by a
// numeric generation (only generation 0 exists).
type ContentTopic struct {
	// Generation is 0 for both forms; HasGeneration records whether the
	// topic was written in the long form so String gives the input back.
	Generation    int
	HasGeneration bool
	Application   string
	Version       string
	Name          string
	Encoding      string
}

// partNames names the parts of each form, for error messages.
var (
	shortParts = [...]string{"application", "version", "name", "encoding"}
	longParts  = [...]string{"generation", "application", "version", "name", "encoding"}
)

// ParseContentTopic parses the short form /app/version/name/encoding or the
// long form /generation/app/version/name/encoding. The error names the part
// that is wrong.
func ParseContentTopic(s string) (ContentTopic, error) {
	fail := func(format string, args ...any) (ContentTopic, error) {
		return ContentTopic{}, fmt.Errorf("%w %q: %s", ErrInvalidContentTopic, s, fmt.Sprintf(format, args...))
	}
	if s == "" {
		return fail("empty; expected /{application}/{version}/{name}/{encoding}")
	}
	if !strings.HasPrefix(s, "/") {
		return fail("must start with '/'; expected /{application}/{version}/{name}/{encoding}")
	}
	parts := strings.Split(s[1:], "/")
	var names []string
	switch len(parts) {
	case 4:
		names = shortParts[:]
	case 5:
		names = longParts[:]
	default:
		return fail("has %d parts, expected 4 (/{application}/{version}/{name}/{encoding}) or 5 (with a leading /{generation})", len(parts))
	}
	for i, p := range parts {
		if p == "" {
			return fail("%s (part %d) is empty", names[i], i+1)
		}
	}
	var ct ContentTopic
	if len(parts) == 5 {
		gen, err := strconv.ParseUint(parts[0], 10, 32)
		if err != nil {
			return fail("generation %q is not a number", parts[0])
		}
		if gen != 0 {
			return fail("generation %d is not supported, only generation 0 exists", gen)
		}
		ct.HasGeneration = true
		parts = parts[1:]
	}
	ct.Application, ct.Version, ct.Name, ct.Encoding = parts[0], parts[1], parts[2], parts[3]
	return ct, nil
}

// String formats the topic in the form it was parsed from.
func (c ContentTopic) String() string {
	s := "/" + c.Application + "/" + c.Version + "/" + c.Name + "/" + c.Encoding
	if c.HasGeneration {
		return "/" + strconv.Itoa(c.Generation) + s
	}
	return s
}
