package membership

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// ErrMalformedLog is returned when the endpoint returns a registry log that
// cannot be decoded or is out of range. The sync stops at that batch.
var ErrMalformedLog = errors.New("membership: malformed registry log")

// Event signatures of the WakuRlnV2 registry. None has indexed parameters:
// topic 0 is the signature hash and every value is a 32-byte ABI word of
// the data.
const (
	sigRegistered = "MembershipRegistered(uint256,uint256,uint32)"
	sigExpired    = "MembershipExpired(uint256,uint32,uint32)"
	sigErased     = "MembershipErased(uint256,uint32,uint32)"
	sigExtended   = "MembershipExtended(uint256,uint32,uint32,uint256)"
	sigRoot       = "root()"
)

var (
	topicRegistered = crypto.Keccak256Hash([]byte(sigRegistered))
	topicExpired    = crypto.Keccak256Hash([]byte(sigExpired))
	topicErased     = crypto.Keccak256Hash([]byte(sigErased))
	topicExtended   = crypto.Keccak256Hash([]byte(sigExtended))
	// registryTopics is the topic-0 filter of eth_getLogs.
	registryTopics = []common.Hash{topicRegistered, topicExpired, topicErased, topicExtended}
	// rootSelector is the calldata of root().
	rootSelector = crypto.Keccak256([]byte(sigRoot))[:4]
)

type eventKind uint8

const (
	eventRegistered eventKind = iota + 1
	eventExpired
	eventErased
	eventExtended
)

func (k eventKind) String() string {
	switch k {
	case eventRegistered:
		return "MembershipRegistered"
	case eventExpired:
		return "MembershipExpired"
	case eventErased:
		return "MembershipErased"
	case eventExtended:
		return "MembershipExtended"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// registryEvent is a decoded registry log.
type registryEvent struct {
	kind       eventKind
	block      uint64
	blockHash  common.Hash
	logIndex   uint
	txHash     common.Hash
	commitment fr.Element
	rateLimit  fr.Element // MembershipRegistered only
	index      uint64
	// full marks a MembershipErased of a full erasure, which writes 0 to
	// the leaf (set by classifyErasures; the log does not tell).
	full bool
}

// writesLeaf reports whether the event changes the tree, as in WakuRlnV2: a
// registration writes its rate commitment, a full erasure writes 0. A lazy
// erasure leaves the leaf until the index is reused; MembershipExpired is
// always followed by the MembershipErased of the same erasure, and an
// extension changes only the membership's terms.
func (ev *registryEvent) writesLeaf() bool {
	return ev.kind == eventRegistered || (ev.kind == eventErased && ev.full)
}

const abiWord = 32

// malformed builds the error for log l.
func malformed(l *types.Log, format string, args ...any) error {
	return fmt.Errorf("%w: block %d (%s), log index %d: %s", ErrMalformedLog, l.BlockNumber, l.BlockHash.Hex(), l.Index, fmt.Sprintf(format, args...))
}

// decodeLog decodes one log of the registry at contract.
func decodeLog(l *types.Log, contract common.Address) (registryEvent, error) {
	ev := registryEvent{block: l.BlockNumber, blockHash: l.BlockHash, logIndex: l.Index, txHash: l.TxHash}
	if l.Removed {
		return ev, malformed(l, "log is marked removed")
	}
	if l.Address != contract {
		return ev, malformed(l, "emitted by %s, want the registry %s", l.Address.Hex(), contract.Hex())
	}
	if len(l.Topics) != 1 {
		return ev, malformed(l, "%d topics, want 1 (registry events have no indexed parameters)", len(l.Topics))
	}
	var want int
	switch l.Topics[0] {
	case topicRegistered:
		ev.kind, want = eventRegistered, 3*abiWord
	case topicExpired:
		ev.kind, want = eventExpired, 3*abiWord
	case topicErased:
		ev.kind, want = eventErased, 3*abiWord
	case topicExtended:
		ev.kind, want = eventExtended, 4*abiWord
	default:
		return ev, malformed(l, "unknown topic %s", l.Topics[0].Hex())
	}
	if len(l.Data) != want {
		return ev, malformed(l, "%s with %d data bytes, want %d", ev.kind, len(l.Data), want)
	}
	word := func(k int) *[abiWord]byte { return (*[abiWord]byte)(l.Data[k*abiWord:]) }

	var err error
	if ev.commitment, err = fr.BigEndian.Element(word(0)); err != nil {
		return ev, malformed(l, "%s idCommitment 0x%x is not below the BN254 scalar field modulus", ev.kind, word(0)[:])
	}
	if ev.kind == eventRegistered {
		if ev.rateLimit, err = fr.BigEndian.Element(word(1)); err != nil {
			return ev, malformed(l, "%s membershipRateLimit 0x%x is not below the BN254 scalar field modulus", ev.kind, word(1)[:])
		}
	} else if _, ok := uint32Word(word(1)); !ok {
		return ev, malformed(l, "%s membershipRateLimit 0x%x is not a uint32", ev.kind, word(1)[:])
	}
	index, ok := uint32Word(word(2))
	if !ok {
		return ev, malformed(l, "%s index 0x%x is not a uint32", ev.kind, word(2)[:])
	}
	if index >= MaxMembers {
		return ev, malformed(l, "%s index %d, want < %d (depth-%d tree)", ev.kind, index, MaxMembers, TreeDepth)
	}
	ev.index = uint64(index)
	return ev, nil
}

// uint32Word decodes an ABI uint32 word, which must have its upper 28 bytes
// zero.
func uint32Word(w *[abiWord]byte) (uint32, bool) {
	for _, b := range w[:abiWord-4] {
		if b != 0 {
			return 0, false
		}
	}
	return uint32(w[28])<<24 | uint32(w[29])<<16 | uint32(w[30])<<8 | uint32(w[31]), true
}

// decodeUint32 decodes a view's answer that must be one ABI uint32 word;
// what names the call in the error.
func decodeUint32(out []byte, what string) (uint32, error) {
	if len(out) != abiWord {
		return 0, fmt.Errorf("membership: %s returned %d bytes, want one %d-byte word", what, len(out), abiWord)
	}
	v, ok := uint32Word((*[abiWord]byte)(out))
	if !ok {
		return 0, fmt.Errorf("membership: %s returned 0x%x, not a uint32", what, out)
	}
	return v, nil
}

// decodeLogs decodes the logs of the block range [from, to] in chain order.
// Besides each log's own checks it rejects logs outside the range, two logs
// with the same position and logs of one block with different block hashes.
func decodeLogs(logs []types.Log, from, to uint64, contract common.Address) ([]registryEvent, error) {
	order := make([]int, len(logs))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(logs[a].BlockNumber, logs[b].BlockNumber); c != 0 {
			return c
		}
		return cmp.Compare(uint64(logs[a].Index), uint64(logs[b].Index))
	})
	events := make([]registryEvent, 0, len(logs))
	for k, o := range order {
		l := &logs[o]
		if l.BlockNumber < from || l.BlockNumber > to {
			return nil, malformed(l, "outside the requested blocks %d..%d", from, to)
		}
		if k > 0 {
			prev := &logs[order[k-1]]
			if prev.BlockNumber == l.BlockNumber {
				if prev.Index == l.Index {
					return nil, malformed(l, "returned twice")
				}
				if prev.BlockHash != l.BlockHash {
					return nil, fmt.Errorf("%w: logs of block %d carry hashes %s and %s", errChainMoved, l.BlockNumber, prev.BlockHash.Hex(), l.BlockHash.Hex())
				}
			}
		}
		ev, err := decodeLog(l, contract)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	return events, nil
}
