package dnsdisc

import (
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"
)

// Prefixes of the TXT records of a tree (EIP-1459).
const (
	rootPrefix   = "enrtree-root:v1"
	branchPrefix = "enrtree-branch:"
	enrPrefix    = "enr:"
)

// root is a tree's root record:
//
//	enrtree-root:v1 e=<enr-root> l=<link-root> seq=<seq> sig=<signature>
//
// where the signature is a 65-byte secp256k1 signature, in URL-safe base64
// without padding, over keccak256 of the record without " sig=...".
type root struct {
	eroot, lroot string
	seq          uint64
	sig          []byte
}

// parseRoot reads a root record. It accepts what go-ethereum's client
// accepts from a conforming tree: the four fields in order, separated by
// white space, hashes of 12 to 32 bytes in base32, a decimal sequence
// number.
func parseRoot(txt string) (root, error) {
	if len(txt) > MaxEntrySize {
		return root{}, fmt.Errorf("record is %d bytes, at most %d allowed", len(txt), MaxEntrySize)
	}
	f := strings.Fields(txt)
	if len(f) == 0 || f[0] != rootPrefix {
		return root{}, fmt.Errorf("record %q does not start with %q", clip(txt), rootPrefix)
	}
	if len(f) != 5 {
		return root{}, fmt.Errorf("record %q has %d fields, expected %s e=<hash> l=<hash> seq=<number> sig=<signature>", clip(txt), len(f), rootPrefix)
	}
	var r root
	var ok bool
	if r.eroot, ok = strings.CutPrefix(f[1], "e="); !ok {
		return root{}, fmt.Errorf("second field %q is not e=<hash>", clip(f[1]))
	}
	if err := checkHash(r.eroot); err != nil {
		return root{}, fmt.Errorf("e=%q: %w", clip(r.eroot), err)
	}
	if r.lroot, ok = strings.CutPrefix(f[2], "l="); !ok {
		return root{}, fmt.Errorf("third field %q is not l=<hash>", clip(f[2]))
	}
	if err := checkHash(r.lroot); err != nil {
		return root{}, fmt.Errorf("l=%q: %w", clip(r.lroot), err)
	}
	seqText, ok := strings.CutPrefix(f[3], "seq=")
	if !ok {
		return root{}, fmt.Errorf("fourth field %q is not seq=<number>", clip(f[3]))
	}
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil {
		return root{}, fmt.Errorf("seq=%q is not a decimal number below 2^64", clip(seqText))
	}
	r.seq = seq
	sigText, ok := strings.CutPrefix(f[4], "sig=")
	if !ok {
		return root{}, fmt.Errorf("fifth field %q is not sig=<signature>", clip(f[4]))
	}
	if r.sig, err = base64.RawURLEncoding.DecodeString(sigText); err != nil {
		return root{}, fmt.Errorf("sig=%q is not URL-safe base64 without padding", clip(sigText))
	}
	if len(r.sig) != crypto.SignatureLength {
		return root{}, fmt.Errorf("sig is %d bytes, expected %d", len(r.sig), crypto.SignatureLength)
	}
	return r, nil
}

// signedText is the part of the record the signature covers.
func (r root) signedText() string {
	return fmt.Sprintf("%s e=%s l=%s seq=%d", rootPrefix, r.eroot, r.lroot, r.seq)
}

// verify reports whether pub signed the root.
func (r root) verify(pub *ecdsa.PublicKey) bool {
	hash := crypto.Keccak256([]byte(r.signedText()))
	return crypto.VerifySignature(crypto.CompressPubkey(pub), hash, r.sig[:crypto.RecoveryIDOffset])
}

// checkHash checks an entry hash as EIP-1459 writes it: base32 without
// padding, and (as go-ethereum requires) 12 to 32 bytes long.
func checkHash(h string) error {
	if n := b32.DecodedLen(len(h)); n < 12 || n > 32 {
		return fmt.Errorf("hash is %d characters, expected the base32 form of 12 to 32 bytes (20 to 52 characters)", len(h))
	}
	if _, err := b32.DecodeString(h); err != nil {
		return fmt.Errorf("hash is not base32 (RFC 4648 upper-case alphabet, no padding): %v", err)
	}
	return nil
}
