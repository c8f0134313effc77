package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/contracts/bindings"
	"github.com/rlnd/rlnd/internal/redact"
	"github.com/rlnd/rlnd/membership"
)

// Membership states status reports.
const (
	stateActive        = "active"
	stateGrace         = "grace"
	stateExpired       = "expired"
	stateErased        = "erased"
	stateNotRegistered = "not registered"
)

type statusView struct {
	Hash         string `json:"hash"`
	IDCommitment string `json:"idCommitment"`
	Contract     string `json:"contract"`
	Index        uint64 `json:"index"`
	RateLimit    uint32 `json:"rateLimit"`
	State        string `json:"state"` // active, grace, expired, erased, not registered
	GraceStarts  string `json:"graceStarts,omitempty"`
	Expires      string `json:"expires,omitempty"`
	ErasedBlock  uint64 `json:"erasedBlock,omitempty"`
	Holder       string `json:"holder,omitempty"`
	Deposit      string `json:"deposit,omitempty"` // token base units
	DepositToken string `json:"depositToken,omitempty"`
	// Withdrawable is depositsToWithdraw(holder, token): the holder's
	// deposits of erased memberships, in token base units.
	Withdrawable string `json:"withdrawable,omitempty"`
	LocalRootOK  bool   `json:"localRootMatchesChain"`
	SyncedBlock  uint64 `json:"syncedBlock"`

	depositText, withdrawableText string // with the token's decimals, for the text output
}

// statusFlags holds the flags of membership status.
type statusFlags struct {
	rpcURL, path, passwordFile string
	asJSON                     bool
	timeout                    time.Duration
}

func newMembershipStatusCmd(env []string) *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each keystore membership's on-chain state and whether a local sync matches the chain",
		Long: "For every membership in the RLN keystore on the chain --rpc serves: its index and rate\n" +
			"limit on the registry, its state (active, grace, expired, erased, not registered), when\n" +
			"its grace period starts and when it expires, its holder, its deposit (amount and token)\n" +
			"and the holder's withdrawable deposits of erased memberships, and whether the Merkle root\n" +
			"synced locally from the registry's events (from its deployedBlockNumber) equals the\n" +
			"contract's root() at the synced block. The registry is read at that block too.",
		Example: "  RLND_KEYSTORE_PASSWORD=... rlnd membership status --rpc http://127.0.0.1:8545",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd, f, env)
		},
	}
	cmd.Flags().StringVar(&f.rpcURL, "rpc", "http://127.0.0.1:8545", "JSON-RPC URL of the chain")
	cmd.Flags().StringVar(&f.path, "keystore", "rlnKeystore.json", "RLN keystore")
	cmd.Flags().StringVar(&f.passwordFile, "password-file", "", "file holding the keystore password (else $"+envKeystorePassword+")")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print a JSON array")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Minute, "give up when the chain has not answered (and the sync has not finished) by then")
	return cmd
}

// runStatus is the body of membership status: it opens the keystore, dials
// the chain and prints the state of each membership on that chain.
func runStatus(cmd *cobra.Command, f statusFlags, env []string) (err error) {
	// Every error below may come from the RPC client, which quotes the URL
	// with its key and query.
	defer func() { err = redact.Error(err, f.rpcURL) }()
	if f.timeout <= 0 {
		return usageError{fmt.Errorf("--timeout %s: must be positive", f.timeout)}
	}
	all, err := openKeystore(f.path, f.passwordFile, env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	cl, err := ethclient.DialContext(ctx, f.rpcURL)
	if err != nil {
		return usageError{fmt.Errorf("--rpc %s: %w", redact.URL(f.rpcURL), err)}
	}
	defer cl.Close()
	chainID, err := cl.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("--rpc %s: chain id: %w", redact.URL(f.rpcURL), err)
	}
	views, err := statusViews(ctx, cl, f, chainID, all)
	if err != nil {
		return err
	}
	return printStatus(cmd.OutOrStdout(), f, chainID, views)
}

// statusViews reports each membership of all that is on chain chainID, in
// keystore order, syncing each registry they name once.
func statusViews(ctx context.Context, cl *ethclient.Client, f statusFlags, chainID *big.Int,
	all []membership.Membership) ([]statusView, error) {

	synced := map[common.Address]*registryStatus{}
	tokens := map[common.Address]tokenInfo{}
	var views []statusView
	for _, m := range all {
		if !strings.EqualFold(m.Contract.ChainID, fmt.Sprintf("0x%X", chainID)) {
			continue // another chain's membership
		}
		addr := common.HexToAddress(m.Contract.Address)
		rs, ok := synced[addr]
		if !ok {
			var err error
			if rs, err = syncRegistry(ctx, cl, f, chainID, addr, all); err != nil {
				return nil, err
			}
			synced[addr] = rs
		}
		v, err := rs.status(ctx, m, tokens)
		if err != nil {
			return nil, fmt.Errorf("membership %s: %w", m.Hash(), err)
		}
		views = append(views, v)
	}
	return views, nil
}

// registryStatus is a registry synced up to a block, read at that block.
type registryStatus struct {
	cl      *ethclient.Client
	chainID *big.Int
	addr    common.Address
	reg     *bindings.RlnRegistry
	g       *membership.GroupManager
	events  *eventTap
	opts    *bind.CallOpts // at the synced block
	rootOK  bool
}

// syncRegistry syncs the membership group of the registry at addr from the
// block it was deployed in, noting the events of the commitments in all.
func syncRegistry(ctx context.Context, cl *ethclient.Client, f statusFlags, chainID *big.Int,
	addr common.Address, all []membership.Membership) (*registryStatus, error) {

	reg, err := bindings.NewRlnRegistry(addr, cl)
	if err != nil {
		return nil, err
	}
	start, err := reg.DeployedBlockNumber(&bind.CallOpts{Context: ctx})
	if errors.Is(err, bind.ErrNoCode) || err != nil && isRevert(err) {
		return nil, fmt.Errorf("the keystore's registry %s is not an RLN registry like WakuRlnV2 (%v)", addr.Hex(), revertError("deployedBlockNumber()", err))
	} else if err != nil {
		return nil, fmt.Errorf("registry %s: deployedBlockNumber(): %w", addr.Hex(), err)
	}
	tap := newEventTap(membership.RedactErrors(cl, f.rpcURL), all)
	g, err := membership.NewGroupManager(tap, membership.SyncConfig{Contract: addr, ChainID: chainID.Uint64(), StartBlock: uint64(start)})
	if err != nil {
		return nil, err
	}
	if err := g.SyncOnce(ctx); err != nil {
		return nil, fmt.Errorf("sync %s (within --timeout %s): %w", addr.Hex(), f.timeout, err)
	}
	rs := &registryStatus{cl: cl, chainID: chainID, addr: addr, reg: reg, g: g, events: tap,
		opts: &bind.CallOpts{Context: ctx, BlockNumber: new(big.Int).SetUint64(g.SyncedBlock())}}
	if rs.rootOK, err = g.CheckOnChainRoot(ctx); err != nil {
		return nil, err
	}
	return rs, nil
}

// status reads membership m's state from the registry at the synced block.
func (rs *registryStatus) status(ctx context.Context, m membership.Membership, tokens map[common.Address]tokenInfo) (statusView, error) {
	idc := leBig(m.Identity.IDCommitment[:])
	v := statusView{Hash: m.Hash(), Contract: rs.addr.Hex(), Index: m.TreeIndex, IDCommitment: commitmentHex(m.Identity),
		SyncedBlock: rs.g.SyncedBlock(), LocalRootOK: rs.rootOK, State: stateNotRegistered}
	info, err := rs.reg.Memberships(rs.opts, idc)
	if err != nil {
		return v, revertError("memberships()", err)
	}
	var deposit depositOf
	if info.RateLimit != 0 {
		if deposit, err = rs.current(&v, idc, info); err != nil {
			return v, err
		}
	} else if deposit, err = rs.erased(ctx, &v, idc); err != nil {
		return v, err
	}
	if deposit.holder == (common.Address{}) {
		return v, nil
	}
	return v, rs.showDeposit(ctx, &v, deposit, tokens)
}

// depositOf is who holds a membership and what it deposited.
type depositOf struct {
	holder, token common.Address
	amount        *big.Int
}

// current fills in the state of a membership in the set.
func (rs *registryStatus) current(v *statusView, idc *big.Int, info membershipInfo) (depositOf, error) {
	expires, err := rs.reg.MembershipExpirationTimestamp(rs.opts, idc)
	if err != nil {
		return depositOf{}, revertError("membershipExpirationTimestamp()", err)
	}
	expired, err := rs.reg.IsExpired(rs.opts, idc)
	if err != nil {
		return depositOf{}, revertError("isExpired()", err)
	}
	grace, err := rs.reg.IsInGracePeriod(rs.opts, idc)
	if err != nil {
		return depositOf{}, revertError("isInGracePeriod()", err)
	}
	v.Index, v.RateLimit = uint64(info.Index), info.RateLimit
	v.GraceStarts, v.Expires = unixTime(info.GracePeriodStartTimestamp), unixTime(expires)
	switch {
	case expired:
		v.State = stateExpired
	case grace:
		v.State = stateGrace
	default:
		v.State = stateActive
	}
	return depositOf{holder: info.Holder, token: info.Token, amount: info.DepositAmount}, nil
}

// showDeposit fills in the deposit and the holder's withdrawable balance.
func (rs *registryStatus) showDeposit(ctx context.Context, v *statusView, d depositOf, tokens map[common.Address]tokenInfo) error {
	tok, ok := tokens[d.token]
	if !ok {
		var err error
		if tok, err = depositToken(ctx, rs.cl, d.token); err != nil {
			return err
		}
		tokens[d.token] = tok
	}
	w, err := rs.reg.DepositsToWithdraw(rs.opts, d.holder, d.token)
	if err != nil {
		return revertError("depositsToWithdraw()", err)
	}
	v.Holder, v.DepositToken, v.Withdrawable = d.holder.Hex(), d.token.Hex(), w.String()
	v.withdrawableText = tok.amount(w)
	if d.amount != nil {
		v.Deposit, v.depositText = d.amount.String(), tok.amount(d.amount)
	}
	return nil
}

// printStatus writes views as a JSON array with --json, else as text.
func printStatus(out io.Writer, f statusFlags, chainID *big.Int, views []statusView) error {
	if f.asJSON {
		return json.NewEncoder(out).Encode(views)
	}
	if len(views) == 0 {
		fmt.Fprintf(out, "no memberships on chain %d in %s\n", chainID, f.path)
	}
	for _, v := range views {
		fmt.Fprintf(out, "%s\n  commitment %s\n  contract %s  index %d  rate limit %d  state %s\n",
			v.Hash, v.IDCommitment, v.Contract, v.Index, v.RateLimit, v.State)
		if v.GraceStarts != "" {
			fmt.Fprintf(out, "  grace from %s  expires %s\n", v.GraceStarts, v.Expires)
		}
		if v.ErasedBlock != 0 {
			fmt.Fprintf(out, "  erased in block %d\n", v.ErasedBlock)
		}
		if v.Holder != "" {
			fmt.Fprintf(out, "  holder %s  deposit %s of token %s\n  withdrawable by the holder (depositsToWithdraw): %s\n",
				v.Holder, orUnknown(v.depositText), v.DepositToken, v.withdrawableText)
		}
		fmt.Fprintf(out, "  local root matches root() at block %d: %v\n", v.SyncedBlock, v.LocalRootOK)
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func unixTime(t *big.Int) string {
	if t == nil || !t.IsInt64() {
		return "?"
	}
	return time.Unix(t.Int64(), 0).UTC().Format(time.RFC3339)
}
