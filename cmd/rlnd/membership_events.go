package main

import (
	"context"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/rlnd/rlnd/contracts"
	"github.com/rlnd/rlnd/membership"
)

// membershipInfo is the result of the registry's memberships(id) getter.
type membershipInfo = struct {
	DepositAmount             *big.Int
	ActiveDuration            uint32
	GracePeriodStartTimestamp *big.Int
	GracePeriodDuration       uint32
	RateLimit                 uint32
	Index                     uint32
	Holder                    common.Address
	Token                     common.Address
}

// transferTopic is the ERC-20 Transfer event's id.
var transferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))

// eventTap passes a ChainSource through to the sync and keeps, for each
// commitment of the keystore, the last MembershipRegistered and
// MembershipErased log the sync read: after erasure the registry forgets a
// membership, its events do not.
type eventTap struct {
	membership.ChainSource
	want map[common.Hash]bool // commitments, as the events' first word

	mu                 sync.Mutex
	registered, erased map[common.Hash]types.Log
}

func newEventTap(src membership.ChainSource, all []membership.Membership) *eventTap {
	t := &eventTap{ChainSource: src, want: map[common.Hash]bool{},
		registered: map[common.Hash]types.Log{}, erased: map[common.Hash]types.Log{}}
	for _, m := range all {
		t.want[common.BigToHash(leBig(m.Identity.IDCommitment[:]))] = true
	}
	return t
}

// FilterLogs is the source's, noting the logs of interest.
func (t *eventTap) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	logs, err := t.ChainSource.FilterLogs(ctx, q)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range logs {
		if len(l.Topics) == 0 || len(l.Data) < 32 || l.Removed {
			continue
		}
		id := common.BytesToHash(l.Data[:32])
		if !t.want[id] {
			continue
		}
		switch l.Topics[0] {
		case contracts.EventTopics.Registered:
			keepLater(t.registered, id, l)
		case contracts.EventTopics.Erased:
			keepLater(t.erased, id, l)
		}
	}
	return logs, err
}

// keepLater stores l under id unless a later log is there.
func keepLater(m map[common.Hash]types.Log, id common.Hash, l types.Log) {
	if old, ok := m[id]; ok && (old.BlockNumber > l.BlockNumber || old.BlockNumber == l.BlockNumber && old.Index > l.Index) {
		return
	}
	m[id] = l
}

// lastEvents returns the last registration and erasure of idc (ok false
// when there is none).
func (t *eventTap) lastEvents(idc *big.Int) (reg, erased types.Log, regOK, erasedOK bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := common.BigToHash(idc)
	reg, regOK = t.registered[id]
	erased, erasedOK = t.erased[id]
	return reg, erased, regOK, erasedOK
}

// erased fills in the state of a membership the registry no longer has:
// erased if its last event is an erasure, else not registered. For an
// erased one the holder is the registration's sender and the deposit the
// token transfer to the registry just before its MembershipRegistered event.
func (rs *registryStatus) erased(ctx context.Context, v *statusView, idc *big.Int) (depositOf, error) {
	reg, er, regOK, erOK := rs.events.lastEvents(idc)
	if !erOK || regOK && (reg.BlockNumber > er.BlockNumber || reg.BlockNumber == er.BlockNumber && reg.Index > er.Index) {
		return depositOf{}, nil
	}
	v.State, v.ErasedBlock = stateErased, er.BlockNumber
	if len(er.Data) >= 96 {
		v.RateLimit = uint32(new(big.Int).SetBytes(er.Data[32:64]).Uint64())
		v.Index = new(big.Int).SetBytes(er.Data[64:96]).Uint64()
	}
	if !regOK {
		return depositOf{}, nil // registered before the sync's start: holder unknown
	}
	tx, _, err := rs.cl.TransactionByHash(ctx, reg.TxHash)
	if err != nil {
		return depositOf{}, fmt.Errorf("registration transaction %s: %w", reg.TxHash.Hex(), err)
	}
	holder, err := types.Sender(types.LatestSignerForChainID(rs.chainID), tx)
	if err != nil {
		return depositOf{}, fmt.Errorf("registration transaction %s: sender: %w", reg.TxHash.Hex(), err)
	}
	rcpt, err := rs.cl.TransactionReceipt(ctx, reg.TxHash)
	if err != nil {
		return depositOf{}, fmt.Errorf("registration transaction %s: receipt: %w", reg.TxHash.Hex(), err)
	}
	d := depositOf{holder: holder}
	for _, l := range rcpt.Logs {
		if l.Index < reg.Index && len(l.Topics) == 3 && l.Topics[0] == transferTopic && len(l.Data) == 32 &&
			common.BytesToAddress(l.Topics[1][:]) == holder && common.BytesToAddress(l.Topics[2][:]) == rs.addr {
			d.token, d.amount = l.Address, new(big.Int).SetBytes(l.Data)
		}
	}
	if d.amount == nil {
		return depositOf{}, nil // no deposit transfer found: nothing to show
	}
	return d, nil
}
