package main

import (
	"context"
	"encoding/json"
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

type statusView struct {
	Hash         string `json:"hash"`
	Contract     string `json:"contract"`
	Index        uint64 `json:"index"`
	RateLimit    uint32 `json:"rateLimit"`
	State        string `json:"state"` // active, grace, expired, not registered
	GraceStarts  string `json:"graceStarts,omitempty"`
	Expires      string `json:"expires,omitempty"`
	LocalRootOK  bool   `json:"localRootMatchesChain"`
	SyncedBlock  uint64 `json:"syncedBlock"`
	IDCommitment string `json:"idCommitment"`
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
		Long: "For every membership in the RLN keystore: its index and rate limit on the registry, its\n" +
			"state (active, in grace, expired), when the grace period starts and when it expires,\n" +
			"and whether the Merkle root synced locally from the registry's events equals the\n" +
			"contract's root().",
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
	all, err := openKeystore(f.path, f.passwordFile, env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	cl, err := ethclient.DialContext(ctx, f.rpcURL)
	if err != nil {
		return fmt.Errorf("--rpc %s: %w", redact.URL(f.rpcURL), err)
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

	synced := map[common.Address]*membership.GroupManager{}
	var views []statusView
	for _, m := range all {
		if !strings.EqualFold(m.Contract.ChainID, fmt.Sprintf("0x%X", chainID)) {
			continue // another chain's membership
		}
		addr := common.HexToAddress(m.Contract.Address)
		reg, err := bindings.NewRlnRegistry(addr, cl)
		if err != nil {
			return nil, err
		}
		opts := &bind.CallOpts{Context: ctx}
		g, ok := synced[addr]
		if !ok {
			if g, err = syncRegistry(ctx, cl, f, chainID, addr, reg, opts); err != nil {
				return nil, err
			}
			synced[addr] = g
		}
		v, err := membershipStatus(ctx, g, reg, opts, m, addr)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}

// syncRegistry syncs the membership group of the registry at addr from the
// block it was deployed in.
func syncRegistry(ctx context.Context, cl *ethclient.Client, f statusFlags, chainID *big.Int,
	addr common.Address, reg *bindings.RlnRegistry, opts *bind.CallOpts) (*membership.GroupManager, error) {

	start, err := reg.DeployedBlockNumber(opts)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", addr.Hex(), err)
	}
	g, err := membership.NewGroupManager(membership.RedactErrors(cl, f.rpcURL), membership.SyncConfig{Contract: addr, ChainID: chainID.Uint64(), StartBlock: uint64(start)})
	if err != nil {
		return nil, err
	}
	if err := g.SyncOnce(ctx); err != nil {
		return nil, fmt.Errorf("sync %s (within --timeout %s): %w", addr.Hex(), f.timeout, err)
	}
	return g, nil
}

// membershipStatus reads membership m's state from the registry reg at addr,
// and whether the root g synced locally matches the contract's.
func membershipStatus(ctx context.Context, g *membership.GroupManager, reg *bindings.RlnRegistry,
	opts *bind.CallOpts, m membership.Membership, addr common.Address) (statusView, error) {

	idc := leBig(m.Identity.IDCommitment[:])
	v := statusView{Hash: m.Hash(), Contract: addr.Hex(), Index: m.TreeIndex, IDCommitment: "0x" + commitmentHex(m.Identity), SyncedBlock: g.SyncedBlock()}
	var err error
	if v.LocalRootOK, err = g.CheckOnChainRoot(ctx); err != nil {
		return statusView{}, err
	}
	in, err := reg.IsInMembershipSet(opts, idc)
	if err != nil {
		return statusView{}, err
	}
	v.State = "not registered"
	if !in {
		return v, nil
	}
	info, err := reg.Memberships(opts, idc)
	if err != nil {
		return statusView{}, err
	}
	expires, err := reg.MembershipExpirationTimestamp(opts, idc)
	if err != nil {
		return statusView{}, err
	}
	expired, err := reg.IsExpired(opts, idc)
	if err != nil {
		return statusView{}, err
	}
	grace, err := reg.IsInGracePeriod(opts, idc)
	if err != nil {
		return statusView{}, err
	}
	v.Index, v.RateLimit = uint64(info.Index), info.RateLimit
	v.GraceStarts, v.Expires = unixTime(info.GracePeriodStartTimestamp), unixTime(expires)
	switch {
	case expired:
		v.State = "expired"
	case grace:
		v.State = "grace"
	default:
		v.State = "active"
	}
	return v, nil
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
		fmt.Fprintf(out, "%s\n  contract %s  index %d  rate limit %d  state %s\n  grace from %s  expires %s\n  local root matches the chain at block %d: %v\n",
			v.Hash, v.Contract, v.Index, v.RateLimit, v.State, v.GraceStarts, v.Expires, v.SyncedBlock, v.LocalRootOK)
	}
	return nil
}

func unixTime(t *big.Int) string {
	if t == nil || !t.IsInt64() {
		return "?"
	}
	return time.Unix(t.Int64(), 0).UTC().Format(time.RFC3339)
}
