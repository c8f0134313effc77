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
	DevKey         string `json:"devKey"`
	DevAddress     string `json:"devAddress"`
	FundedAccounts int    `json:"fundedAccounts"`
	DataDir        string `json:"dataDir,omitempty"`
	// RestartedAt is the head block a DataDir chain restarted at (0 for a
	// new chain).
	RestartedAt uint64 `json:"restartedAtBlock,omitempty"`
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
	key := c.Keys()[0]
	info = devchainInfo{
		ChainID:        devchain.ChainID,
		RPCURL:         c.URL(),
		Contract:       reg.Address.Hex(),
		DeployedBlock:  reg.Block,
		Token:          reg.TokenAddress.Hex(),
		Price:          devchain.PricePerMessage.String(),
		DevKey:         "0x" + hex.EncodeToString(crypto.FromECDSA(key)),
		DevAddress:     c.Address(0).Hex(),
		FundedAccounts: len(c.Keys()),
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
			"RPC URL, contract address and a dev key, then runs until stopped. With --datadir the\n" +
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
	fmt.Fprintf(w, "dev account     %s\n", info.DevAddress)
	fmt.Fprintf(w, "dev key         %s  (public: dev chain only)\n", info.DevKey)
	fmt.Fprintf(w, "funded accounts %d (--dev-key 0..%d)\n", info.FundedAccounts, info.FundedAccounts-1)
	switch {
	case info.DataDir != "" && info.RestartedAt > 0:
		fmt.Fprintf(w, "data dir        %s (restarted at block %d; registry and members kept)\n", info.DataDir, info.RestartedAt)
	case info.DataDir != "":
		fmt.Fprintf(w, "data dir        %s (new chain)\n", info.DataDir)
	}
}
