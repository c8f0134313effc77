// Package devchain runs an embedded go-ethereum development chain that
// serves JSON-RPC on loopback, with funded deterministic dev accounts: the
// chain `rlnd devchain` and the tests run the registry on.
package devchain

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"
)

// ChainID is the dev chain's id (go-ethereum's dev chain configuration).
var ChainID = params.AllDevChainProtocolChanges.ChainID.Uint64()

// Config of a dev chain.
type Config struct {
	// HTTP is the JSON-RPC listen address; it must be a loopback address.
	// Port 0 picks a free port.
	HTTP string
	// BlockTime seals a block at this interval; 0 seals only on Commit.
	BlockTime time.Duration
	// Accounts is how many funded dev accounts to create (default 10).
	Accounts int
}

// Chain is a running dev chain.
type Chain struct {
	backend *simulated.Backend
	url     string
	keys    []*ecdsa.PrivateKey
	mu      sync.Mutex // serializes Commit
	stop    chan struct{}
	done    chan struct{}
}

// devFunds is what each dev account starts with: 1,000,000 ether.
var devFunds = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))

// DevKey is the i-th deterministic dev key: sha256("rlnd devchain account " + i)
// as a secp256k1 private key. Public knowledge: never use it on a real chain.
func DevKey(i int) *ecdsa.PrivateKey {
	for n := 0; ; n++ {
		seed := sha256.Sum256([]byte("rlnd devchain account " + strconv.Itoa(i) + "/" + strconv.Itoa(n)))
		if k, err := crypto.ToECDSA(seed[:]); err == nil {
			return k
		}
	}
}

// Start launches the chain; Close stops it.
func Start(cfg Config) (*Chain, error) {
	host, portStr, err := net.SplitHostPort(cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("devchain: http address %q: %w", cfg.HTTP, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("devchain: http address %q: the dev chain serves loopback only (127.0.0.1, ::1, localhost)", cfg.HTTP)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("devchain: http port %q is not 0..65535", portStr)
	}
	if port == 0 {
		if port, err = freePort(host); err != nil {
			return nil, err
		}
	}
	n := cfg.Accounts
	if n <= 0 {
		n = 10
	}
	c := &Chain{stop: make(chan struct{}), done: make(chan struct{})}
	alloc := types.GenesisAlloc{}
	for i := range n {
		k := DevKey(i)
		c.keys = append(c.keys, k)
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: devFunds}
	}
	c.backend = simulated.NewBackend(alloc, func(nc *node.Config, ec *ethconfig.Config) {
		nc.HTTPHost = host
		nc.HTTPPort = port
		nc.HTTPModules = []string{"eth", "net", "web3"}
		nc.HTTPVirtualHosts = []string{"*"}
		// Logs stay unindexed (the simulated backend's default): go-ethereum
		// builds its log index asynchronously and eth_getLogs fails while
		// the index lags the head, which a fast block timer makes common.
	})
	c.url = "http://" + net.JoinHostPort(host, strconv.Itoa(port))
	go c.seal(cfg.BlockTime)
	return c, nil
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("devchain: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Chain) seal(every time.Duration) {
	defer close(c.done)
	if every <= 0 {
		<-c.stop
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.Commit()
		}
	}
}

// URL is the JSON-RPC endpoint.
func (c *Chain) URL() string { return c.url }

// Keys are the funded dev accounts' keys.
func (c *Chain) Keys() []*ecdsa.PrivateKey { return c.keys }

// Address of dev account i.
func (c *Chain) Address(i int) common.Address { return crypto.PubkeyToAddress(c.keys[i].PublicKey) }

// Client is an in-process client of the chain (no HTTP).
func (c *Chain) Client() simulated.Client { return c.backend.Client() }

// Commit seals a block with the pending transactions now.
func (c *Chain) Commit() common.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.backend.Commit()
}

// Fork makes the block with the given hash the head's parent for what is
// committed next: a reorg, for tests.
func (c *Chain) Fork(parent common.Hash) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.backend.Fork(parent)
}

// AdjustTime moves the chain's clock forward (for expiry tests).
func (c *Chain) AdjustTime(d time.Duration) error { return c.backend.AdjustTime(d) }

// WaitMined commits blocks until the transaction is mined (when no block
// time is set, or to avoid waiting for it) and returns its receipt.
func (c *Chain) WaitMined(ctx context.Context, tx *types.Transaction) (*types.Receipt, error) {
	for {
		r, err := c.Client().TransactionReceipt(ctx, tx.Hash())
		if err == nil {
			return r, nil
		}
		if ctx.Err() != nil {
			return nil, errors.Join(err, ctx.Err())
		}
		c.Commit()
	}
}

// Close stops sealing and the node.
func (c *Chain) Close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	return c.backend.Close()
}
