package autoshard

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Bounds of the static-sharding address space.
const (
	MaxCluster = 65535
	MaxShard   = 1023
	// MaxShards is the largest number of shards a cluster can have.
	MaxShards = MaxShard + 1
	// pubsubPrefix starts every static-sharding pubsub topic.
	pubsubPrefix = "/waku/2/rs/"
)

// Sentinel errors callers can branch on.
var (
	ErrInvalidPubsubTopic = errors.New("invalid pubsub topic")
	ErrInvalidShardCount  = errors.New("invalid shard count")
)

// PubsubTopic is a static-sharding relay shard: /waku/2/rs/<cluster>/<shard>.
type PubsubTopic struct {
	Cluster uint16
	Shard   uint16
}

// String formats the pubsub topic name.
func (p PubsubTopic) String() string {
	return pubsubPrefix + strconv.Itoa(int(p.Cluster)) + "/" + strconv.Itoa(int(p.Shard))
}

// NewPubsubTopic checks the bounds of cluster and shard.
func NewPubsubTopic(cluster, shard int) (PubsubTopic, error) {
	if cluster < 0 || cluster > MaxCluster {
		return PubsubTopic{}, fmt.Errorf("%w: cluster %d is out of range, allowed 0..%d", ErrInvalidPubsubTopic, cluster, MaxCluster)
	}
	if shard < 0 || shard > MaxShard {
		return PubsubTopic{}, fmt.Errorf("%w: shard %d is out of range, allowed 0..%d", ErrInvalidPubsubTopic, shard, MaxShard)
	}
	return PubsubTopic{Cluster: uint16(cluster), Shard: uint16(shard)}, nil
}

// ParsePubsubTopic parses /waku/2/rs/<cluster>/<shard> with decimal numbers
// in range and without leading zeros, signs or extra parts.
func ParsePubsubTopic(s string) (PubsubTopic, error) {
	rest, ok := strings.CutPrefix(s, pubsubPrefix)
	if !ok {
		return PubsubTopic{}, fmt.Errorf("%w %q: expected /waku/2/rs/<cluster>/<shard>", ErrInvalidPubsubTopic, s)
	}
	cs, ss, ok := strings.Cut(rest, "/")
	if !ok {
		return PubsubTopic{}, fmt.Errorf("%w %q: missing shard; expected /waku/2/rs/<cluster>/<shard>", ErrInvalidPubsubTopic, s)
	}
	cluster, err := parseBounded(cs, MaxCluster)
	if err != nil {
		return PubsubTopic{}, fmt.Errorf("%w %q: cluster %s", ErrInvalidPubsubTopic, s, err)
	}
	shard, err := parseBounded(ss, MaxShard)
	if err != nil {
		return PubsubTopic{}, fmt.Errorf("%w %q: shard %s", ErrInvalidPubsubTopic, s, err)
	}
	return PubsubTopic{Cluster: uint16(cluster), Shard: uint16(shard)}, nil
}

// parseBounded reads a canonical decimal number in 0..max.
func parseBounded(s string, max uint64) (uint64, error) {
	if s == "" {
		return 0, errors.New("is empty")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > max {
		return 0, fmt.Errorf("%s is out of range, allowed 0..%d", s, max)
	}
	return n, nil
}

// ShardIndex is the autosharding function:
// sha256(application || version), its last 8 bytes as a big-endian
// integer, modulo the number of shards.
func ShardIndex(ct ContentTopic, numShards int) (uint16, error) {
	if numShards < 1 || numShards > MaxShards {
		return 0, fmt.Errorf("%w: %d, allowed 1..%d", ErrInvalidShardCount, numShards, MaxShards)
	}
	h := sha256.New()
	h.Write([]byte(ct.Application))
	h.Write([]byte(ct.Version))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return uint16(binary.BigEndian.Uint64(sum[24:32]) % uint64(numShards)), nil
}

// Shard returns the pubsub topic a content topic maps to in a cluster of
// numShards shards.
func Shard(ct ContentTopic, cluster uint16, numShards int) (PubsubTopic, error) {
	idx, err := ShardIndex(ct, numShards)
	if err != nil {
		return PubsubTopic{}, err
	}
	return PubsubTopic{Cluster: cluster, Shard: idx}, nil
}

// ShardFor parses a content topic and returns its pubsub topic.
func ShardFor(contentTopic string, cluster uint16, numShards int) (PubsubTopic, error) {
	ct, err := ParseContentTopic(contentTopic)
	if err != nil {
		return PubsubTopic{}, err
	}
	return Shard(ct, cluster, numShards)
}
