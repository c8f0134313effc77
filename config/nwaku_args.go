package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// NwakuArgs rewrites nwaku's --name:value form of a flag (its docs write
// --dns-discovery:true, --staticnode:/ip4/...) as --name=value, which pflag
// reads, for the flag names RegisterFlags adds. Other arguments, and
// everything after "--", are returned as they are.
func NwakuArgs(args []string) []string {
	known := make(map[string]bool)
	for _, k := range keys() {
		for _, name := range k.flagNames() {
			known[name] = true
		}
	}
	for _, nf := range nwakuFlags() {
		known[nf.name] = true
	}
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range args {
		if a == "--" {
			break
		}
		body, isLong := strings.CutPrefix(a, "--")
		name, value, hasColon := strings.Cut(body, ":")
		if !isLong || !hasColon || strings.Contains(name, "=") || !known[name] {
			continue
		}
		out[i] = "--" + name + "=" + value
	}
	return out
}

// unknownFlagError is pflag's unknown-flag error worded for a command that
// takes the configuration flags.
type unknownFlagError struct {
	msg string
	err error
}

func (e *unknownFlagError) Error() string { return e.msg }
func (e *unknownFlagError) Unwrap() error { return e.err }

// ExplainFlagError words pflag's error for an unknown long flag when fs
// holds the flags of RegisterFlags (rlnd node, rlnd config show): the flag
// is neither rlnd's nor one of nwaku's that rlnd knows (nwaku flags it
// refuses are known, and Load says why it refuses them), with the closest
// known flag when one is near. The result wraps err; any other error is
// returned as it is.
func ExplainFlagError(fs *pflag.FlagSet, err error) error {
	var ne *pflag.NotExistError
	if !errors.As(err, &ne) || ne.GetSpecifiedShortnames() != "" || fs.Lookup(keys()[0].flagName()) == nil {
		return err
	}
	name := ne.GetSpecifiedName()
	msg := fmt.Sprintf("unknown flag --%s: neither an rlnd flag nor an nwaku flag rlnd knows", name)
	base, _, _ := strings.Cut(name, ":")
	if near := closestFlag(fs, base); near != "" {
		msg += fmt.Sprintf(" (did you mean --%s?)", near)
	}
	msg += "; --help lists the flags, README.md's \"nwaku command lines\" the nwaku ones"
	return &unknownFlagError{msg: msg, err: err}
}

// closestFlag is the flag of fs nearest to name by edit distance, if it is
// within 2 edits (and not name itself).
func closestFlag(fs *pflag.FlagSet, name string) string {
	best, bestDist := "", 3
	fs.VisitAll(func(f *pflag.Flag) {
		if d := editDistance(name, f.Name); d > 0 && d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
