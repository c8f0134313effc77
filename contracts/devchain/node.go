package devchain

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"strconv"
	"syscall"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

// nodeName names the node's directory inside DataDir (go-ethereum would
// take the executable's name, which differs between rlnd and its tests).
const nodeName = "chain"

// startNode assembles the chain as go-ethereum's simulated backend
// (ethclient/simulated) does: a node without peers, the eth service on the
// all-forks dev genesis, the filter API and a simulated beacon that seals
// on demand. It does not use simulated.NewBackend for two reasons: that
// panics when the node cannot start (a busy port, a locked data
// directory), and it rewinds the chain to genesis on start, which would
// undo a DataDir chain on every restart.
func (c *Chain) startNode(host string, port int, alloc types.GenesisAlloc) error {
	nc := node.DefaultConfig
	nc.Name = nodeName
	nc.DataDir = c.dataDir
	nc.P2P = p2p.Config{NoDiscovery: true}
	nc.HTTPHost = host
	nc.HTTPPort = port
	nc.HTTPModules = []string{"eth", "net", "web3"}
	nc.HTTPVirtualHosts = []string{"*"}
	stack, err := node.New(&nc)
	if err != nil {
		if errors.Is(err, node.ErrDatadirUsed) {
			return fmt.Errorf("devchain: data directory %s is in use by another process (a running rlnd devchain?)", c.dataDir)
		}
		return fmt.Errorf("devchain: %w", err)
	}
	c.stack = stack
	backend, err := eth.New(stack, ethConfig(alloc, c.dataDir != ""))
	if err != nil {
		stack.Close()
		return c.startError(err)
	}
	fs := filters.NewFilterSystem(backend.APIBackend, filters.Config{})
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(fs)}})
	if err := stack.Start(); err != nil { // closes the node when it fails
		if errors.Is(err, syscall.EADDRINUSE) { // taken since checkHTTP
			return listenError(net.JoinHostPort(host, strconv.Itoa(port)), err)
		}
		return fmt.Errorf("devchain: start: %w", err)
	}
	if c.beacon, err = catalyst.NewSimulatedBeacon(0, common.Address{}, backend); err != nil {
		stack.Close()
		return fmt.Errorf("devchain: beacon: %w", err)
	}
	c.client = ethclient.NewClient(stack.Attach())
	c.url = stack.HTTPEndpoint()
	c.startHead = backend.BlockChain().CurrentBlock().Number.Uint64()
	if c.dataDir != "" {
		c.db = backend.ChainDb()
	}
	return nil
}

// ethConfig is the simulated backend's eth configuration. A persistent
// chain keeps every block's state (hash scheme, no pruning): each block's
// state is written when it is sealed (Chain.persist flushes it), so even a
// chain that was not closed restarts at its last block, and root() and
// other calls at any past block work.
func ethConfig(alloc types.GenesisAlloc, persistent bool) *ethconfig.Config {
	genesisAlloc := core.SystemContractAllocs()
	maps.Copy(genesisAlloc, alloc)
	ec := ethconfig.Defaults
	ec.Genesis = &core.Genesis{
		Config:   params.AllDevChainProtocolChanges,
		GasLimit: ethconfig.Defaults.Miner.GasCeil,
		Alloc:    genesisAlloc,
	}
	ec.SyncMode = ethconfig.FullSync
	ec.TxPool.NoLocals = true
	// Logs stay unindexed (the simulated backend's default): go-ethereum
	// builds its log index asynchronously and eth_getLogs fails while the
	// index lags the head, which a fast block timer makes common.
	ec.LogNoHistory = true
	if persistent {
		ec.StateScheme = rawdb.HashScheme
		ec.NoPruning = true
	}
	return &ec
}

// startError explains a failure of the eth service on a data directory.
func (c *Chain) startError(err error) error {
	var mismatch *core.GenesisMismatchError
	if c.dataDir != "" && errors.As(err, &mismatch) {
		return fmt.Errorf("devchain: %s holds another chain (another genesis: other dev accounts?): %w", c.dataDir, err)
	}
	return fmt.Errorf("devchain: %w", err)
}
