package autoshard

import (
	"errors"
	"testing"
)

// FuzzParseContentTopic checks that the parser never panics, that every
// error wraps the sentinel, and that accepted topics round-trip and shard.
func FuzzParseContentTopic(f *testing.F) {
	for _, s := range []string{"/myapp/1/chat/proto", "/0/myapp/1/chat/proto", "/1/a/b/c/d", "//a/b/c", "", "/", "/a/b/c/d/e/f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ct, err := ParseContentTopic(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidContentTopic) {
				t.Fatalf("error does not wrap ErrInvalidContentTopic: %v", err)
			}
			return
		}
		again, err := ParseContentTopic(ct.String())
		if err != nil || again.Application != ct.Application || again.Version != ct.Version ||
			again.Name != ct.Name || again.Encoding != ct.Encoding {
			t.Fatalf("round trip of %q via %q: %+v, %v", s, ct.String(), again, err)
		}
		idx, err := ShardIndex(ct, 8)
		if err != nil || idx >= 8 {
			t.Fatalf("ShardIndex = %d, %v", idx, err)
		}
	})
}

// FuzzParsePubsubTopic: no panics; accepted topics format back to the input.
func FuzzParsePubsubTopic(f *testing.F) {
	for _, s := range []string{"/waku/2/rs/1/0", "/waku/2/rs/65535/1023", "/waku/2/rs/01/0", "/waku/2/rs/1/", "/waku/2/default-waku/proto"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePubsubTopic(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPubsubTopic) {
				t.Fatalf("error does not wrap ErrInvalidPubsubTopic: %v", err)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("ParsePubsubTopic(%q).String() = %q", s, p.String())
		}
		if p.Shard > MaxShard {
			t.Fatalf("shard %d out of range", p.Shard)
		}
	})
}
