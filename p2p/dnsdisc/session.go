package dnsdisc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"
)

// errBudget ends a tree's read once it has asked for as many entries as
// the bounds allow.
var errBudget = errors.New("dnsdisc: the tree has more entries than the bounds allow")

// session answers the DNS questions of go-ethereum's client while it reads
// one tree: the root record is the one already fetched and verified; an
// entry is asked of the DNS server (or taken from the entries of the
// tree's previous read: an entry's name is its hash, so an entry seen
// under a name never changes), checked against the bounds and against its
// name's hash, and counted against the tree's budget of entries.
//
// go-ethereum's client reads a tree one query at a time, and only asks for
// names reached from the verified root through entries whose hashes
// matched their names: every entry the session passes on belongs to the
// signed tree.
type session struct {
	c       *Client
	ctx     context.Context
	domain  string
	rootTXT string
	budget  int
	used    int
	prev    map[string]string // label -> entry, from the tree's previous read
	next    map[string]string // label -> entry, of this read
}

// LookupTXT implements go-ethereum's dnsdisc.Resolver. The context given
// by go-ethereum's client carries only its own timeout, which equals
// Config.Timeout: the session uses its own context and Client.query's
// timeout instead, so that waiting for the rate limit is not taken out of
// the query's time.
func (s *session) LookupTXT(_ context.Context, name string) ([]string, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	if name == s.domain {
		return []string{s.rootTXT}, nil
	}
	label, parent, ok := strings.Cut(name, ".")
	if !ok || parent != s.domain {
		return nil, fmt.Errorf("%w: asked for %q, which is not an entry of %s", ErrInvalidTree, clip(name), s.domain)
	}
	s.used++
	if s.used > s.budget {
		return nil, fmt.Errorf("%w (%d entries)", errBudget, s.budget)
	}
	if txt, ok := s.prev[label]; ok {
		s.next[label] = txt
		return []string{txt}, nil
	}
	txts, err := s.c.query(s.ctx, name)
	if err != nil {
		return nil, err
	}
	txt, err := checkEntry(label, txts)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidTree, name, err)
	}
	s.next[label] = txt
	return []string{txt}, nil
}

// checkEntry picks the tree entry among the TXT records at the name
// <label>.<domain>: as go-ethereum's client does, the first record that
// starts with an entry prefix (a branch, a node record or a link). It must
// be within MaxEntrySize, the name hold at most MaxRecordsPerName records,
// and the entry's keccak256 hash start with the bytes the label encodes.
func checkEntry(label string, txts []string) (string, error) {
	if len(txts) > MaxRecordsPerName {
		return "", fmt.Errorf("%d TXT records, at most %d allowed (a tree entry is one record)", len(txts), MaxRecordsPerName)
	}
	if err := checkHash(label); err != nil {
		return "", fmt.Errorf("label %q: %w", clip(label), err)
	}
	want, _ := b32.DecodeString(label)
	for _, txt := range txts {
		if !isEntry(txt) {
			continue
		}
		if len(txt) > MaxEntrySize {
			return "", fmt.Errorf("entry is %d bytes, at most %d allowed", len(txt), MaxEntrySize)
		}
		if !bytes.HasPrefix(crypto.Keccak256([]byte(txt)), want) {
			return "", fmt.Errorf("entry %q does not hash to its name", clip(txt))
		}
		return txt, nil
	}
	return "", fmt.Errorf("none of the %d TXT records starts with %q, %q or %q", len(txts), branchPrefix, enrPrefix, Scheme)
}

func isEntry(txt string) bool {
	return strings.HasPrefix(txt, branchPrefix) || strings.HasPrefix(txt, enrPrefix) || strings.HasPrefix(txt, Scheme)
}
