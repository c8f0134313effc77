package dnsdisc

import (
	"crypto/ecdsa"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"
)

// Scheme is the prefix of every EIP-1459 tree URL.
const Scheme = "enrtree://"

// maxDomainLen is the longest tree domain accepted: a DNS name is at most
// 253 characters, and each entry of the tree lives at "<hash>.<domain>",
// where the hash label is 26 characters (16 bytes in base32) plus the dot.
const maxDomainLen = 253 - 27

// b32 is the base32 form EIP-1459 uses for public keys and entry hashes:
// the RFC 4648 alphabet without padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// URL is a parsed enrtree:// URL: the tree's domain and the public key
// that must have signed its root.
type URL struct {
	Domain    string // lower case, without a trailing dot
	PublicKey *ecdsa.PublicKey
}

// ParseURL parses an EIP-1459 URL, enrtree://<key>@<domain>, where key is
// the base32 (RFC 4648, no padding) form of a 33-byte compressed secp256k1
// public key. Errors wrap ErrInvalidURL.
func ParseURL(s string) (URL, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return URL{}, fmt.Errorf("%w: %q does not start with %q (expected %s<base32 public key>@<domain>)", ErrInvalidURL, clip(s), Scheme, Scheme)
	}
	keyText, domain, ok := strings.Cut(rest, "@")
	if !ok {
		return URL{}, fmt.Errorf("%w: %q has no '@': expected %s<base32 public key>@<domain>", ErrInvalidURL, clip(s), Scheme)
	}
	if keyText == "" {
		return URL{}, fmt.Errorf("%w: %q has no public key before '@'", ErrInvalidURL, clip(s))
	}
	key, err := b32.DecodeString(keyText)
	if err != nil {
		return URL{}, fmt.Errorf("%w: public key %q is not base32 (RFC 4648 upper-case alphabet, no padding): %v", ErrInvalidURL, clip(keyText), err)
	}
	if len(key) != 33 {
		return URL{}, fmt.Errorf("%w: public key %q is %d bytes, expected a 33-byte compressed secp256k1 key", ErrInvalidURL, clip(keyText), len(key))
	}
	pub, err := crypto.DecompressPubkey(key)
	if err != nil {
		return URL{}, fmt.Errorf("%w: public key %q is not a compressed secp256k1 point: %v", ErrInvalidURL, clip(keyText), err)
	}
	domain, err = checkDomain(domain)
	if err != nil {
		return URL{}, fmt.Errorf("%w: %q: %w", ErrInvalidURL, clip(s), err)
	}
	return URL{Domain: domain, PublicKey: pub}, nil
}

// String is the URL in canonical form: the key re-encoded and the domain
// in lower case.
func (u URL) String() string {
	if u.PublicKey == nil {
		return Scheme + "@" + u.Domain
	}
	return Scheme + b32.EncodeToString(crypto.CompressPubkey(u.PublicKey)) + "@" + u.Domain
}

// checkDomain returns d in lower case without its trailing dot, or why it
// is not a DNS name that can hold a tree.
func checkDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return "", fmt.Errorf("no domain after '@'")
	}
	if len(d) > maxDomainLen {
		return "", fmt.Errorf("domain is %d characters, the longest that leaves room for the tree's entry labels is %d", len(d), maxDomainLen)
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" {
			return "", fmt.Errorf("domain %q has an empty label", d)
		}
		if len(label) > 63 {
			return "", fmt.Errorf("domain %q has a label of %d characters, at most 63 allowed", d, len(label))
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("domain %q has a label %q that starts or ends with '-'", d, label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("domain %q has the character %q, expected letters, digits, '-' and '_'", d, c)
			}
		}
	}
	return strings.ToLower(d), nil
}

// clip shortens s for an error message: URLs come from configuration and
// from the network, and an error must not carry a megabyte of either.
func clip(s string) string {
	const limit = 120
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
