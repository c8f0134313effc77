// Package wakuenr reads and writes the Waku entries of Ethereum Node
// Records (EIP-778), as RFC 31/WAKU2-ENR and 51/WAKU2-RELAY-SHARDING define
// them and nwaku writes them:
//
//   - waku2: one byte of capability flags (see Capabilities);
//   - rs: the relay shards as a list, u16 BE cluster | u8 count | count x
//     u16 BE shard;
//   - rsv: the relay shards as a bit vector, u16 BE cluster | 128 bytes
//     (shards 0..1023); shard i is bit i%8 (least significant first) of
//     byte i/8 of the vector, as nwaku and go-waku write it;
//   - multiaddrs: the addresses the ip/tcp entries cannot say (websocket,
//     wss, DNS names), each u16 BE length | binary multiaddr, without the
//     /p2p part.
//
// Records are built on a go-ethereum enode.LocalNode (Apply) or standing
// alone (Build), and never beyond the 300-byte limit of an ENR: a record
// that would not fit is refused with ErrTooBig, nothing is dropped. Decode
// turns any record into a Peer: its libp2p peer id, the addresses to dial,
// its capabilities and shards. Every decoder is strict: a malformed entry
// is an error wrapping ErrMalformed that names the entry and what was
// expected; an absent entry is "unknown", never an error.
//
// js-waku (@waku/enr 0.0.25 and later, @waku/utils' relay shard codec)
// reads and writes the rsv bit vector with the opposite bit order within
// each byte (shard i is bit 7-i%8 of byte i/8). rs lists, which every
// implementation writes for fewer than 64 shards, read the same
// everywhere.
package wakuenr

import "errors"

// ENR keys of the Waku entries.
const (
	KeyCapabilities = "waku2"
	KeyShardList    = "rs"
	KeyShardVector  = "rsv"
	KeyMultiaddrs   = "multiaddrs"
)

// Shard limits of 51/WAKU2-RELAY-SHARDING.
const (
	// MaxShards is the number of shards a cluster has (0..1023).
	MaxShards = 1024
	// MaxShardListLen is the most shards an rs entry can list (its count
	// is one byte).
	MaxShardListLen = 255
	// shardListMax is nwaku's ShardingIndicesListMaxLength: from 64 shards
	// on, a record carries rsv rather than rs (3+2n bytes of rs are then
	// more than the 130 of rsv).
	shardListMax = 64
	// shardVectorLen is the length of an rsv value.
	shardVectorLen = 2 + MaxShards/8
)

// Errors callers branch on.
var (
	// ErrMalformed is wrapped by every error about an entry that is
	// present but cannot be read.
	ErrMalformed = errors.New("wakuenr: malformed entry")
	// ErrTooBig means the record would exceed enr.SizeLimit (300 bytes).
	ErrTooBig = errors.New("wakuenr: record too big")
	// ErrInvalid is wrapped by errors about values given to build a record
	// (shard out of range, address that cannot be encoded).
	ErrInvalid = errors.New("wakuenr: invalid value")
	// ErrKeyType means a key is not secp256k1, the only key type of Waku
	// ENRs (identity scheme v4).
	ErrKeyType = errors.New("wakuenr: not a secp256k1 key")
)
