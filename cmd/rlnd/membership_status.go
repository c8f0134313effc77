package main

import (
	"context"
	"encoding/json"
	"fmt"
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

func newMembershipStatusCmd(env []string) *cobra.Command {
	var (
		rpcURL, path, passwordFile string
		asJSON                     bool
		timeout                    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each keystore membership's on-chain state and whether a local sync matches the chain",
		Long: "For every membership in the RLN keystore: its index and rate limit on the registry, its\n" +
			"state (active, in grace, expired), when the grace period starts and when it expires,\n" +
			"and whether the Merkle root synced locally from the registry's events equals the\n" +
			"contract's root().",
		Example: "  RLND_KEYSTORE_PASSWORD=... rlnd membership status --rpc http://127.0.0.1:8545",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			// Every error below may come from the RPC client, which
			// quotes the URL with its key and query.
			defer func() { err = redact.Error(err, rpcURL) }()
			all, err := openKeystore(path, passwordFile, env)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			cl, err := ethclient.DialContext(ctx, rpcURL)
			if err != nil {
				return fmt.Errorf("--rpc %s: %w", redact.URL(rpcURL), err)
			}
			defer cl.Close()
			chainID, err := cl.ChainID(ctx)
			if err != nil {
				return fmt.Errorf("--rpc %s: chain id: %w", redact.URL(rpcURL), err)
			}
			// One sync per registry the keystore names.
			synced := map[common.Address]*membership.GroupManager{}
			var views []statusView
			for _, m := range all {
				if !strings.EqualFold(m.Contract.ChainID, fmt.Sprintf("0x%X", chainID)) {
					continue // another chain's membership
				}
				addr := common.HexToAddress(m.Contract.Address)
				reg, err := bindings.NewRlnRegistry(addr, cl)
				if err != nil {
					return err
				}
				opts := &bind.CallOpts{Context: ctx}
				g, ok := synced[addr]
				if !ok {
					start, err := reg.DeployedBlockNumber(opts)
					if err != nil {
						return fmt.Errorf("registry %s: %w", addr.Hex(), err)
					}
					if g, err = membership.NewGroupManager(membership.RedactErrors(cl, rpcURL), membership.SyncConfig{Contract: addr, ChainID: chainID.Uint64(), StartBlock: uint64(start)}); err != nil {
						return err
					}
					if err := g.SyncOnce(ctx); err != nil {
						return fmt.Errorf("sync %s (within --timeout %s): %w", addr.Hex(), timeout, err)
					}
					synced[addr] = g
				}
				idc := leBig(m.Identity.IDCommitment[:])
				v := statusView{Hash: m.Hash(), Contract: addr.Hex(), Index: m.TreeIndex, IDCommitment: "0x" + commitmentHex(m.Identity), SyncedBlock: g.SyncedBlock()}
				if v.LocalRootOK, err = g.CheckOnChainRoot(ctx); err != nil {
					return err
				}
				in, err := reg.IsInMembershipSet(opts, idc)
				if err != nil {
					return err
				}
				v.State = "not registered"
				if in {
					info, err := reg.GetMembershipInfo(opts, idc)
					if err != nil {
						return err
					}
					terms, err := reg.GetMembershipTerms(opts, idc)
					if err != nil {
						return err
					}
					expired, err := reg.IsExpired(opts, idc)
					if err != nil {
						return err
					}
					grace, err := reg.IsInGracePeriod(opts, idc)
					if err != nil {
						return err
					}
					v.Index, v.RateLimit = uint64(info.Index), info.RateLimit
					v.GraceStarts, v.Expires = unixTime(terms.GracePeriodStartTimestamp), unixTime(terms.ExpirationTimestamp)
					switch {
					case expired:
						v.State = "expired"
					case grace:
						v.State = "grace"
					default:
						v.State = "active"
					}
				}
				views = append(views, v)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(views)
			}
			if len(views) == 0 {
				fmt.Fprintf(out, "no memberships on chain %d in %s\n", chainID, path)
			}
			for _, v := range views {
				fmt.Fprintf(out, "%s\n  contract %s  index %d  rate limit %d  state %s\n  grace from %s  expires %s\n  local root matches the chain at block %d: %v\n",
					v.Hash, v.Contract, v.Index, v.RateLimit, v.State, v.GraceStarts, v.Expires, v.SyncedBlock, v.LocalRootOK)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&rpcURL, "rpc", "http://127.0.0.1:8545", "JSON-RPC URL of the chain")
	cmd.Flags().StringVar(&path, "keystore", "rlnKeystore.json", "RLN keystore")
	cmd.Flags().StringVar(&passwordFile, "password-file", "", "file holding the keystore password (else $"+envKeystorePassword+")")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up when the chain has not answered (and the sync has not finished) by then")
	return cmd
}

func unixTime(t *big.Int) string {
	if t == nil || !t.IsInt64() {
		return "?"
	}
	return time.Unix(t.Int64(), 0).UTC().Format(time.RFC3339)
}
