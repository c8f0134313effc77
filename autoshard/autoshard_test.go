package autoshard

import (
	"errors"
	"strings"
	"testing"
)

func TestParseContentTopic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    ContentTopic
		wantErr string // substring of the error; empty means success
	}{
		{in: "/myapp/1/chat/proto", want: ContentTopic{Application: "myapp", Version: "1", Name: "chat", Encoding: "proto"}},
		{in: "/0/myapp/1/chat/proto", want: ContentTopic{HasGeneration: true, Application: "myapp", Version: "1", Name: "chat", Encoding: "proto"}},
		{in: "/toychat/2/huilong/proto", want: ContentTopic{Application: "toychat", Version: "2", Name: "huilong", Encoding: "proto"}},
		{in: "/a/b/c/d", want: ContentTopic{Application: "a", Version: "b", Name: "c", Encoding: "d"}},
		// Generations.
		{in: "/1/myapp/1/chat/proto", wantErr: "generation 1 is not supported"},
		{in: "/x/myapp/1/chat/proto", wantErr: `generation "x" is not a number`},
		{in: "/-1/myapp/1/chat/proto", wantErr: `generation "-1" is not a number`},
		{in: "/99999999999/myapp/1/chat/proto", wantErr: `generation "99999999999" is not a number`},
		// Empty parts, named.
		{in: "//1/chat/proto", wantErr: "application (part 1) is empty"},
		{in: "/myapp//chat/proto", wantErr: "version (part 2) is empty"},
		{in: "/myapp/1//proto", wantErr: "name (part 3) is empty"},
		{in: "/myapp/1/chat/", wantErr: "encoding (part 4) is empty"},
		{in: "//myapp/1/chat/proto", wantErr: "generation (part 1) is empty"},
		{in: "/0//1/chat/proto", wantErr: "application (part 2) is empty"},
		{in: "/0/myapp/1/chat/", wantErr: "encoding (part 5) is empty"},
		// Shape.
		{in: "", wantErr: "empty"},
		{in: "myapp/1/chat/proto", wantErr: "must start with '/'"},
		{in: "/myapp/1/chat", wantErr: "has 3 parts"},
		{in: "/0/myapp/1/chat/proto/extra", wantErr: "has 6 parts"},
		{in: "/", wantErr: "has 1 parts"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseContentTopic(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseContentTopic(%q) = %+v, want error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidContentTopic) {
					t.Fatalf("ParseContentTopic(%q) error %q, want %q wrapping ErrInvalidContentTopic", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseContentTopic(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseContentTopic(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Fatalf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

// Reference vectors published with the Waku interop test suite for 8 shards,
// plus the example in PROTOCOLS.md (/myapp/1 -> shard 0).
func TestShardReferenceVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		topic string
		shard uint16
	}{
		{"/myapp/1/latest/proto", 0},
		{"/myapp/1/chat/proto", 0},
		{"/waku/2/content/test.js", 1},
		{"/app/22/sometopic/someencoding", 2},
		{"/toychat/2/huilong/proto", 3},
		{"/0/toychat/2/huilong/proto", 3},
		{"/statusim/1/community/cbor", 4},
		{"/app/27/sometopic/someencoding", 5},
		{"/app/29/sometopic/someencoding", 6},
		{"/app/20/sometopic/someencoding", 7},
	}
	for _, tt := range tests {
		got, err := ShardFor(tt.topic, 1, 8)
		if err != nil {
			t.Fatalf("ShardFor(%q): %v", tt.topic, err)
		}
		want := PubsubTopic{Cluster: 1, Shard: tt.shard}
		if got != want {
			t.Errorf("ShardFor(%q) = %v, want %v", tt.topic, got, want)
		}
	}
}

func TestShardDependsOnlyOnAppAndVersion(t *testing.T) {
	t.Parallel()
	a, _ := ShardFor("/myapp/1/one/proto", 1, 1024)
	b, _ := ShardFor("/0/myapp/1/two/rfc26", 1, 1024)
	if a != b {
		t.Fatalf("same app/version gave %v and %v", a, b)
	}
	one, _ := ShardFor("/myapp/1/x/proto", 1, 1)
	if one.Shard != 0 {
		t.Fatalf("one shard: got %v", one)
	}
}

func TestShardCountBounds(t *testing.T) {
	t.Parallel()
	ct := ContentTopic{Application: "a", Version: "1", Name: "n", Encoding: "e"}
	for _, n := range []int{0, -1, 1025} {
		if _, err := ShardIndex(ct, n); !errors.Is(err, ErrInvalidShardCount) {
			t.Errorf("ShardIndex(%d shards) error = %v, want ErrInvalidShardCount", n, err)
		}
	}
	for _, n := range []int{1, 8, 1024} {
		idx, err := ShardIndex(ct, n)
		if err != nil || int(idx) >= n {
			t.Errorf("ShardIndex(%d shards) = %d, %v", n, idx, err)
		}
	}
}

func TestPubsubTopic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    PubsubTopic
		wantErr string
	}{
		{in: "/waku/2/rs/1/0", want: PubsubTopic{1, 0}},
		{in: "/waku/2/rs/0/0", want: PubsubTopic{0, 0}},
		{in: "/waku/2/rs/65535/1023", want: PubsubTopic{65535, 1023}},
		{in: "/waku/2/rs/65536/0", wantErr: "cluster 65536 is out of range, allowed 0..65535"},
		{in: "/waku/2/rs/1/1024", wantErr: "shard 1024 is out of range, allowed 0..1023"},
		{in: "/waku/2/rs/1/", wantErr: "shard is empty"},
		{in: "/waku/2/rs//1", wantErr: "cluster is empty"},
		{in: "/waku/2/rs/1", wantErr: "missing shard"},
		{in: "/waku/2/rs/1/2/3", wantErr: `shard "2/3" is not a decimal number`},
		{in: "/waku/2/rs/01/2", wantErr: "leading zero"},
		{in: "/waku/2/rs/+1/2", wantErr: "not a decimal number"},
		{in: "/waku/2/rs/1/-2", wantErr: "not a decimal number"},
		{in: "/waku/2/default-waku/proto", wantErr: "expected /waku/2/rs/<cluster>/<shard>"},
		{in: "/waku/2/rs/99999999999999999999999/0", wantErr: "out of range"},
		{in: "", wantErr: "expected"},
	}
	for _, tt := range tests {
		got, err := ParsePubsubTopic(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidPubsubTopic) {
				t.Errorf("ParsePubsubTopic(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParsePubsubTopic(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		if got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

func TestNewPubsubTopicBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cluster, shard int
		ok             bool
	}{
		{0, 0, true}, {65535, 1023, true}, {-1, 0, false}, {65536, 0, false}, {0, -1, false}, {0, 1024, false},
	}
	for _, tt := range tests {
		_, err := NewPubsubTopic(tt.cluster, tt.shard)
		if (err == nil) != tt.ok {
			t.Errorf("NewPubsubTopic(%d, %d) error = %v, want ok=%v", tt.cluster, tt.shard, err, tt.ok)
		}
	}
}

func BenchmarkShardFor(b *testing.B) {
	for b.Loop() {
		if _, err := ShardFor("/toychat/2/huilong/proto", 1, 8); err != nil {
			b.Fatal(err)
		}
	}
}
