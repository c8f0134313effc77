package wakuenr

import (
	"crypto/ecdsa"
	"slices"
	"testing"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	ma "github.com/multiformats/go-multiaddr"
)

func addrStrings(addrs []ma.Multiaddr) []string {
	out := make([]string, len(addrs))
	for k, a := range addrs {
		out[k] = a.String()
	}
	return out
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

func mustAddrs(tb testing.TB, ss ...string) []ma.Multiaddr {
	tb.Helper()
	out := make([]ma.Multiaddr, len(ss))
	for k, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			tb.Fatalf("multiaddr %q: %v", s, err)
		}
		out[k] = a
	}
	return out
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := gethcrypto.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func mustShards(tb testing.TB, cluster uint16, indices ...uint16) *Shards {
	tb.Helper()
	s, err := NewShards(cluster, indices...)
	if err != nil {
		tb.Fatal(err)
	}
	return &s
}

func shardRange(from, to uint16) []uint16 {
	var out []uint16
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}
