package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/ethereum/go-ethereum/common"
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
	DevKey         string `json:"devKey"`
	DevAddress     string `json:"devAddress"`
	FundedAccounts int    `json:"fundedAccounts"`
}

// startDevchain starts the chain and deploys the registry with dev key 0.
func startDevchain(ctx context.Context, cfg devchain.Config) (*devchain.Chain, devchainInfo, error) {
	var info devchainInfo
	c, err := devchain.Start(cfg)
	if err != nil {
		return nil, info, err
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
		DevKey:         "0x" + hex.EncodeToString(crypto.FromECDSA(key)),
		DevAddress:     c.Address(0).Hex(),
		FundedAccounts: len(c.Keys()),
	}
	return c, info, nil
}

// DevnetContract is where the registry lands on a fresh dev chain: the
// proxy, the fourth contract dev account 0 creates (after the test token,
// the price calculator and the implementation).
func DevnetContract() common.Address {
	return crypto.CreateAddress(crypto.PubkeyToAddress(devchain.DevKey(0).PublicKey), 3)
}

func newDevchainCmd() *cobra.Command {
	var (
		cfg    devchain.Config
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "devchain",
		Short: "Run a local dev chain with the RLN registry deployed",
		Long: "Run an embedded go-ethereum development chain serving JSON-RPC on loopback, with the\n" +
			"membership registry deployed (price 0, rate limits 1..600) and funded dev accounts.\n" +
			"Prints the chain id, RPC URL, contract address and a dev key, then runs until stopped.\n" +
			"The dev keys are public: never use them on a real chain.",
		Example: "  rlnd devchain\n  rlnd devchain --http 127.0.0.1:8545 --block-time 2s --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.BlockTime < 0 {
				return usageError{fmt.Errorf("--block-time %s: must not be negative", cfg.BlockTime)}
			}
			c, info, err := startDevchain(cmd.Context(), cfg)
			if err != nil {
				return usageError{err}
			}
			defer c.Close()
			printDevchainInfo(cmd.OutOrStdout(), info, asJSON)
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.HTTP, "http", "127.0.0.1:8545", "JSON-RPC listen address (loopback only)")
	cmd.Flags().DurationVar(&cfg.BlockTime, "block-time", time.Second, "seal a block this often (0: only when transactions need it)")
	cmd.Flags().IntVar(&cfg.Accounts, "accounts", 10, "funded dev accounts")
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
	fmt.Fprintf(w, "dev account     %s\n", info.DevAddress)
	fmt.Fprintf(w, "dev key         %s  (public: dev chain only)\n", info.DevKey)
	fmt.Fprintf(w, "funded accounts %d\n", info.FundedAccounts)
}
