package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/contracts/devchain"
)

// devchainInfo is what `rlnd devchain` prints once the chain is ready.
type devchainInfo struct {
	ChainID        uint64 `json:"chainId"`
	RPCURL         string `json:"rpcUrl"`
	Contract       string `json:"contract"`
	DeployedBlock  uint64 `json:"deployedBlock"`
	Token          string `json:"token"`
	Price          string `json:"pricePerMessage"` // token base units per message per epoch
	DevKey         string `json:"devKey"`          // account 0's
	DevAddress     string `json:"devAddress"`      // account 0's
	FundedAccounts int    `json:"fundedAccounts"`
	// Accounts are every funded dev account, by index (--dev-key N).
	Accounts []devAccount `json:"accounts"`
	DataDir  string       `json:"dataDir,omitempty"`
	// RestartedAt is the head block a DataDir chain restarted at (0 for a
	// new chain).
	RestartedAt uint64 `json:"restartedAtBlock,omitempty"`
}

// devAccount is one funded dev account: its index (membership register's
// --dev-key), address and private key (public knowledge: devchain.DevKey's
// derivation).
type devAccount struct {
	Index   int    `json:"index"`
	Address string `json:"address"`
	Key     string `json:"key"`
}

// startDevchain starts the chain and deploys the registry with dev key 0,
// or finds the one a restarted DataDir chain already has.
func startDevchain(ctx context.Context, cfg devchain.Config) (*devchain.Chain, devchainInfo, error) {
	var info devchainInfo
	c, err := devchain.Start(cfg)
	if err != nil {
		return nil, info, usageError{err}
	}
	reg, err := c.DeployRegistry(ctx)
	if err != nil {
		c.Close()
		return nil, info, err
	}
	keys := c.Keys()
	accounts := make([]devAccount, len(keys))
	for i, k := range keys {
		accounts[i] = devAccount{Index: i, Address: c.Address(i).Hex(), Key: "0x" + hex.EncodeToString(crypto.FromECDSA(k))}
	}
	info = devchainInfo{
		ChainID:        devchain.ChainID,
		RPCURL:         c.URL(),
		Contract:       reg.Address.Hex(),
		DeployedBlock:  reg.Block,
		Token:          reg.TokenAddress.Hex(),
		Price:          devchain.PricePerMessage.String(),
		DevKey:         accounts[0].Key,
		DevAddress:     accounts[0].Address,
		FundedAccounts: len(accounts),
		Accounts:       accounts,
		DataDir:        c.DataDir(),
		RestartedAt:    c.StartHead(),
	}
	return c, info, nil
}

func newDevchainCmd() *cobra.Command {
	var (
		cfg      devchain.Config
		accounts int
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "devchain",
		Short: "Run a local dev chain with the RLN registry deployed",
		Long: "Run an embedded go-ethereum development chain serving JSON-RPC on loopback, with the\n" +
			"membership registry deployed (a deposit of 0.001 test token per message per epoch, rate\n" +
			"limits 1..600) and dev accounts funded with ether and test tokens. Prints the chain id,\n" +
			"RPC URL, contract address and every funded dev account (index, address, private key),\n" +
			"then runs until stopped. With --datadir the\n" +
			"chain is kept in that directory and continues from there when started again (the\n" +
			"registry is not deployed again). The dev keys are public: never use them on a real chain.",
		Example: "  rlnd devchain\n  rlnd devchain --http 127.0.0.1:8545 --block-time 2s --json\n  rlnd devchain --datadir ./devchain-data",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.BlockTime < 0 {
				return usageError{fmt.Errorf("--block-time %s: must not be negative", cfg.BlockTime)}
			}
			if cmd.Flags().Changed("accounts") {
				if err := flagRange("accounts", accounts, 1, devchain.MaxAccounts); err != nil {
					return err
				}
				cfg.Accounts = accounts // else the default, or what --datadir's chain has
			}
			c, info, err := startDevchain(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer c.Close()
			printDevchainInfo(cmd.OutOrStdout(), info, asJSON)
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.HTTP, "http", "127.0.0.1:8545", "JSON-RPC listen address (loopback only)")
	cmd.Flags().DurationVar(&cfg.BlockTime, "block-time", time.Second, "seal a block this often (0: only when transactions need it)")
	cmd.Flags().IntVar(&accounts, "accounts", devchain.DefaultAccounts, "funded dev accounts (a --datadir chain keeps the number it was created with)")
	cmd.Flags().StringVar(&cfg.DataDir, "datadir", "", "keep the chain in this directory and continue it on the next start (default: in memory)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the details as one JSON object")
	return cmd
}

func printDevchainInfo(w io.Writer, info devchainInfo, asJSON bool) {
	if asJSON {
		_ = json.NewEncoder(w).Encode(info)
		return
	}
	fmt.Fprintf(w, "chain id        %d\n", info.ChainID)
	fmt.Fprintf(w, "rpc url         %s\n", info.RPCURL)
	fmt.Fprintf(w, "registry        %s (block %d)\n", info.Contract, info.DeployedBlock)
	fmt.Fprintf(w, "deposit token   %s (%s base units per message per epoch)\n", info.Token, info.Price)
	fmt.Fprintf(w, "funded accounts %d, given 1,000,000 ether and 1,000,000 deposit tokens each; rlnd membership register --dev-key N pays with account N\n", info.FundedAccounts)
	fmt.Fprintf(w, "  %3s  %-42s  %s\n", "N", "address", `private key = sha256("rlnd devchain account N/0"): public, dev chains only`)
	for _, a := range info.Accounts {
		fmt.Fprintf(w, "  %3d  %s  %s\n", a.Index, a.Address, a.Key)
	}
	switch {
	case info.DataDir != "" && info.RestartedAt > 0:
		fmt.Fprintf(w, "data dir        %s (restarted at block %d; registry and members kept)\n", info.DataDir, info.RestartedAt)
	case info.DataDir != "":
		fmt.Fprintf(w, "data dir        %s (new chain)\n", info.DataDir)
	}
}
