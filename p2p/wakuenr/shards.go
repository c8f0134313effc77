package wakuenr

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// Shards are the relay shards of one cluster a node is on: the rs or rsv
// entry. Indices are in ascending order without duplicates, each below
// MaxShards (NewShards and the decoders make them so).
type Shards struct {
	Cluster uint16
	Indices []uint16
}

// NewShards returns cluster's shards indices, sorted and without
// duplicates. An index of MaxShards or more is an error.
func NewShards(cluster uint16, indices ...uint16) (Shards, error) {
	out := slices.Clone(indices)
	for _, i := range out {
		if i >= MaxShards {
			return Shards{}, fmt.Errorf("%w: shard %d, want below %d", ErrInvalid, i, MaxShards)
		}
	}
	slices.Sort(out)
	return Shards{Cluster: cluster, Indices: slices.Compact(out)}, nil
}

// Contains reports whether s lists shard i.
func (s Shards) Contains(i uint16) bool {
	_, ok := slices.BinarySearch(s.Indices, i)
	return ok
}

// Overlaps reports whether s and o are of the same cluster and share at
// least one shard.
func (s Shards) Overlaps(o Shards) bool {
	if s.Cluster != o.Cluster {
		return false
	}
	i, j := 0, 0
	for i < len(s.Indices) && j < len(o.Indices) {
		switch {
		case s.Indices[i] == o.Indices[j]:
			return true
		case s.Indices[i] < o.Indices[j]:
			i++
		default:
			j++
		}
	}
	return false
}

// Equal reports whether s and o are the same cluster and shards.
func (s Shards) Equal(o Shards) bool {
	return s.Cluster == o.Cluster && slices.Equal(s.Indices, o.Indices)
}

// String is "cluster/shard,shard,...", for example "1/0,1,2".
func (s Shards) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(s.Cluster)))
	b.WriteByte('/')
	for k, i := range s.Indices {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(i)))
	}
	return b.String()
}

// check verifies the invariant of Shards (what NewShards makes).
func (s Shards) check() error {
	for k, i := range s.Indices {
		if i >= MaxShards {
			return fmt.Errorf("%w: shard %d, want below %d", ErrInvalid, i, MaxShards)
		}
		if k > 0 && i <= s.Indices[k-1] {
			return fmt.Errorf("%w: shards %v are not ascending without duplicates (use NewShards)", ErrInvalid, s.Indices)
		}
	}
	return nil
}

// ShardEntry returns the entry that carries s, chosen as nwaku and js-waku
// choose: rs while it is shorter than rsv (up to 63 shards), rsv from 64
// shards on.
func ShardEntry(s Shards) (key string, value []byte, err error) {
	if err := s.check(); err != nil {
		return "", nil, err
	}
	if len(s.Indices) < shardListMax {
		v, err := EncodeShardList(s)
		return KeyShardList, v, err
	}
	return KeyShardVector, EncodeShardVector(s), nil
}

// EncodeShardList is the rs value of s: u16 BE cluster | u8 count | count
// x u16 BE shard. More than MaxShardListLen shards, or a shard of
// MaxShards or more, is an error.
func EncodeShardList(s Shards) ([]byte, error) {
	if len(s.Indices) > MaxShardListLen {
		return nil, fmt.Errorf("%w: %d shards, an rs list holds at most %d", ErrInvalid, len(s.Indices), MaxShardListLen)
	}
	b := make([]byte, 0, 3+2*len(s.Indices))
	b = binary.BigEndian.AppendUint16(b, s.Cluster)
	b = append(b, byte(len(s.Indices)))
	for _, i := range s.Indices {
		if i >= MaxShards {
			return nil, fmt.Errorf("%w: shard %d, want below %d", ErrInvalid, i, MaxShards)
		}
		b = binary.BigEndian.AppendUint16(b, i)
	}
	return b, nil
}

// EncodeShardVector is the rsv value of s: u16 BE cluster | 128-byte bit
// vector, shard i at bit i%8 (least significant first) of byte i/8.
// Indices of MaxShards or more are left out (NewShards refuses them).
func EncodeShardVector(s Shards) []byte {
	b := make([]byte, shardVectorLen)
	binary.BigEndian.PutUint16(b, s.Cluster)
	for _, i := range s.Indices {
		if i < MaxShards {
			b[2+i/8] |= 1 << (i % 8)
		}
	}
	return b
}

// DecodeShardList reads an rs value: exactly 3 + 2*count bytes, no shard
// of MaxShards or more, no shard listed twice. The indices come back in
// ascending order.
func DecodeShardList(b []byte) (Shards, error) {
	if len(b) < 3 {
		return Shards{}, fmt.Errorf("%w: %s is %d bytes, want at least 3 (cluster, count)", ErrMalformed, KeyShardList, len(b))
	}
	n := int(b[2])
	if len(b) != 3+2*n {
		return Shards{}, fmt.Errorf("%w: %s counts %d shards in %d bytes, want %d bytes", ErrMalformed, KeyShardList, n, len(b), 3+2*n)
	}
	s := Shards{Cluster: binary.BigEndian.Uint16(b), Indices: make([]uint16, n)}
	for k := range n {
		i := binary.BigEndian.Uint16(b[3+2*k:])
		if i >= MaxShards {
			return Shards{}, fmt.Errorf("%w: %s lists shard %d, want below %d", ErrMalformed, KeyShardList, i, MaxShards)
		}
		s.Indices[k] = i
	}
	slices.Sort(s.Indices)
	for k := 1; k < n; k++ {
		if s.Indices[k] == s.Indices[k-1] {
			return Shards{}, fmt.Errorf("%w: %s lists shard %d twice", ErrMalformed, KeyShardList, s.Indices[k])
		}
	}
	return s, nil
}

// DecodeShardVector reads an rsv value: exactly 130 bytes, shard i at bit
// i%8 of byte i/8 of the vector.
func DecodeShardVector(b []byte) (Shards, error) {
	if len(b) != shardVectorLen {
		return Shards{}, fmt.Errorf("%w: %s is %d bytes, want %d (cluster and a %d-bit vector)", ErrMalformed, KeyShardVector, len(b), shardVectorLen, MaxShards)
	}
	s := Shards{Cluster: binary.BigEndian.Uint16(b)}
	for k, v := range b[2:] {
		for v != 0 {
			bit := bits.TrailingZeros8(v)
			s.Indices = append(s.Indices, uint16(8*k+bit))
			v &^= 1 << bit
		}
	}
	return s, nil
}
