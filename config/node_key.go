package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// NodeKeySize is the size of a secp256k1 private key: the node key is one
// (the key type Waku ENRs carry, and nwaku's --nodekey).
const NodeKeySize = 32

// secp256k1N is the order of the secp256k1 group (SEC 2, section 2.4.1): a
// private key is an integer in 1..N-1.
var secp256k1N = [NodeKeySize]byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
}

// DecodeNodeKey reads a secp256k1 private key written as nwaku's --nodekey
// takes it: 64 hex digits, optionally prefixed with 0x, with surrounding
// white space ignored (the form of p2p.nodekey and of the node key file).
// It checks that the key is a valid scalar (1..N-1). Its errors never quote
// the text: it is a secret.
func DecodeNodeKey(text string) ([]byte, error) {
	s := strings.TrimSpace(text)
	if rest, ok := strings.CutPrefix(s, "0x"); ok {
		s = rest
	} else if rest, ok := strings.CutPrefix(s, "0X"); ok {
		s = rest
	}
	if len(s) != 2*NodeKeySize {
		return nil, fmt.Errorf("holds %d characters, want %d hex digits (a %d-byte secp256k1 private key)", len(s), 2*NodeKeySize, NodeKeySize)
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		var bad hex.InvalidByteError
		if errors.As(err, &bad) {
			return nil, fmt.Errorf("is not hex: it holds a character other than 0-9, a-f, A-F; want %d hex digits", 2*NodeKeySize)
		}
		return nil, fmt.Errorf("is not hex (%v); want %d hex digits", err, 2*NodeKeySize)
	}
	if bytes.Equal(key, make([]byte, NodeKeySize)) || bytes.Compare(key, secp256k1N[:]) >= 0 {
		return nil, errors.New("is not a secp256k1 private key: it must be an integer from 1 to the group order minus 1")
	}
	return key, nil
}
