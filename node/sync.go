package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/redact"
	"github.com/rlnd/rlnd/membership"
)

// chainNames name the chains of the presets, for the error of a missing
// endpoint.
var chainNames = map[uint64]string{59141: "Linea Sepolia, The Waku Network's registry chain"}

// checkChainEndpoint refuses, before anything starts, a node that is to
// sync the membership registry (RLN on, no group given) from no chain
// endpoint: one line naming the key, its flag and environment variable,
// and the chain the endpoint must serve.
func checkChainEndpoint(cfg *config.Config, o Options) error {
	if !cfg.RLN.Enabled || o.Group != nil || cfg.Chain.RPCURL != "" {
		return nil
	}
	chain := fmt.Sprintf("chain %d", cfg.Chain.ChainID)
	if name, ok := chainNames[cfg.Chain.ChainID]; ok {
		chain += " (" + name + ")"
	}
	return fmt.Errorf("node: chain.rpc-url is empty, and RLN (rln.enabled) needs it to sync the membership registry %s on %s: "+
		"set chain.rpc-url (flag --chain-rpc-url, env RLND_CHAIN_RPC_URL) to an http(s) or ws(s) RPC endpoint of chain %d",
		cfg.Chain.Contract, chain, cfg.Chain.ChainID)
}

// startSync dials the chain and syncs the registry once, then follows it.
// The start gives up when the endpoint has answered nothing for
// chain.start-timeout; a long history sync that gets answers goes on.
func (n *Node) startSync(ctx, runCtx context.Context, o Options) error {
	cfg := n.cfg
	url := cfg.Chain.RPCURL
	if !common.IsHexAddress(cfg.Chain.Contract) {
		return fmt.Errorf("node: chain.contract %q is not an address", cfg.Chain.Contract)
	}
	timeout := cfg.Chain.StartTimeout
	dialCtx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		dialCtx, cancel = context.WithTimeout(ctx, timeout)
	}
	eth, err := ethclient.DialContext(dialCtx, url)
	cancel()
	if err != nil {
		return fmt.Errorf("node: chain %s: %w", redact.URL(url), redact.Error(err, url))
	}
	n.eth = eth
	var src membership.ChainSource = membership.RedactErrors(eth, url)
	if o.WrapChain != nil {
		src = o.WrapChain(src)
	}
	watch := membership.Watch(src)
	sc, err := n.syncConfig(o.SyncConfig)
	if err != nil {
		return err
	}
	var gm *membership.GroupManager
	err = watch.Run(ctx, timeout, func(ctx context.Context) error {
		var ferr error
		gm, ferr = n.firstSync(ctx, watch, sc)
		return ferr
	})
	if errors.Is(err, membership.ErrChainUnreachable) {
		return fmt.Errorf("node: chain %s (chain.start-timeout %v): %w", redact.URL(url), timeout, err)
	}
	if err != nil {
		return err
	}
	if err := gm.Start(runCtx); err != nil {
		return err
	}
	n.gm, n.group = gm, gm
	return nil
}

// firstSync finds the start block, builds the manager and syncs up to the
// chain's safe head.
func (n *Node) firstSync(ctx context.Context, src membership.ChainSource, sc membership.SyncConfig) (*membership.GroupManager, error) {
	start, err := n.startBlock(ctx, src, sc)
	if err != nil {
		return nil, err
	}
	sc.StartBlock = start
	gm, err := membership.NewGroupManager(src, sc)
	if err != nil {
		return nil, err
	}
	if err := gm.SyncOnce(ctx); err != nil {
		return nil, fmt.Errorf("node: registry sync: %w", err)
	}
	return gm, nil
}

// syncConfig completes the sync's configuration from the node's: the
// registry, the root window, the logger and registry of metrics, and the
// checkpoint in the data directory (its membership folder created) unless
// the options give one.
func (n *Node) syncConfig(sc membership.SyncConfig) (membership.SyncConfig, error) {
	cfg := n.cfg
	sc.Contract = common.HexToAddress(cfg.Chain.Contract)
	sc.ChainID = cfg.Chain.ChainID
	if sc.RootWindow == 0 {
		sc.RootWindow = cfg.RLN.RootWindow
	}
	if sc.Logger == nil {
		sc.Logger = n.log
	}
	sc.Registerer = n.registry
	if sc.CheckpointPath == "" && n.dataDir != "" {
		sc.CheckpointPath = checkpointPath(n.dataDir, sc.ChainID, sc.Contract)
		if err := os.MkdirAll(filepath.Dir(sc.CheckpointPath), 0o700); err != nil {
			return sc, fmt.Errorf("node: membership checkpoint folder: %w", err)
		}
	}
	return sc, nil
}

// startBlock is the first block of the sync: the options' or
// chain.start-block when set; else, with a checkpoint, the one it was
// started from (the manager refuses a checkpoint of another start block);
// else the registry's deployedBlockNumber().
func (n *Node) startBlock(ctx context.Context, src membership.ChainSource, sc membership.SyncConfig) (uint64, error) {
	if sc.StartBlock != 0 {
		return sc.StartBlock, nil
	}
	if b := n.cfg.Chain.StartBlock; b != 0 {
		return b, nil
	}
	if sc.CheckpointPath != "" {
		info, err := membership.ReadCheckpointInfo(sc.CheckpointPath)
		if err == nil {
			return info.StartBlock, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("node: membership checkpoint (remove it to resync): %w", err)
		}
	}
	b, err := membership.DeployedBlock(ctx, src, sc)
	if errors.Is(err, membership.ErrNoDeployedBlock) {
		return 0, fmt.Errorf("node: %w; set chain.start-block to the block the registry was deployed in", err)
	}
	if err != nil {
		return 0, fmt.Errorf("node: registry deployment block: %w", err)
	}
	n.log.Info("no membership checkpoint; syncing from the registry's deployment block", "block", b, "contract", sc.Contract.Hex())
	return b, nil
}
