// Package devchain runs an embedded go-ethereum development chain that
// serves JSON-RPC on loopback, with funded deterministic dev accounts: the
// chain `rlnd devchain` and the tests run the registry on. The chain lives
// in memory, or in a data directory that keeps it across restarts.
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
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"
)

// ChainID is the dev chain's id (go-ethereum's dev chain configuration).
var ChainID = params.AllDevChainProtocolChanges.ChainID.Uint64()

// DefaultAccounts is the number of funded dev accounts when Config.Accounts
// is 0; MaxAccounts is the most a chain may have.
const (
	DefaultAccounts = 10
	MaxAccounts     = 1000
)

// Config of a dev chain.
type Config struct {
	// HTTP is the JSON-RPC listen address; it must be a loopback address.
	// Port 0 picks a free port.
	HTTP string
	// BlockTime seals a block at this interval; 0 seals only on Commit.
	BlockTime time.Duration
	// Accounts is how many funded dev accounts to create, 1..MaxAccounts;
	// 0 is DefaultAccounts, or the number a DataDir chain was created with.
	Accounts int
	// DataDir, if set, keeps the chain (blocks, state, the registry
	// DeployRegistry deployed) in this directory: a chain started again on
	// it continues where it stopped. "" keeps the chain in memory.
	DataDir string
}

// Chain is a running dev chain.
type Chain struct {
	stack     *node.Node
	beacon    *catalyst.SimulatedBeacon
	client    *ethclient.Client
	url       string
	keys      []*ecdsa.PrivateKey
	dataDir   string
	meta      chainMeta // what DataDir records besides the database
	startHead uint64
	db        ethdb.KeyValueSyncer // a DataDir chain's database (nil in memory)
	mu        sync.Mutex           // serializes sealing: Commit, Fork, AdjustTime
	syncErr   error                // the first failure to sync db (under mu)
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
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

// DevAddress is the address of DevKey(i).
func DevAddress(i int) common.Address { return crypto.PubkeyToAddress(DevKey(i).PublicKey) }

// Start launches the chain; Close stops it. A DataDir chain started again
// keeps its blocks, state and accounts.
func Start(cfg Config) (*Chain, error) {
	host, port, err := checkHTTP(cfg.HTTP)
	if err != nil {
		return nil, err
	}
	if cfg.Accounts < 0 || cfg.Accounts > MaxAccounts {
		return nil, fmt.Errorf("devchain: %d dev accounts, want 1..%d", cfg.Accounts, MaxAccounts)
	}
	c := &Chain{stop: make(chan struct{}), done: make(chan struct{}), dataDir: cfg.DataDir}
	n := cfg.Accounts
	if cfg.DataDir != "" {
		if n, err = c.openDataDir(cfg.Accounts); err != nil {
			return nil, err
		}
	} else if n == 0 {
		n = DefaultAccounts
	}
	alloc := types.GenesisAlloc{}
	for i := range n {
		k := DevKey(i)
		c.keys = append(c.keys, k)
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: devFunds}
	}
	if err := c.startNode(host, port, alloc); err != nil {
		return nil, err
	}
	if cfg.DataDir != "" {
		c.meta.Accounts = n
		if err := c.saveMeta(); err != nil {
			c.shutdown()
			return nil, err
		}
	}
	go c.seal(cfg.BlockTime)
	return c, nil
}

// checkHTTP splits a loopback listen address and, for a fixed port, makes
// sure it is free, so that a busy port is a clear error before anything
// starts.
func checkHTTP(addr string) (host string, port int, err error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("devchain: http address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", 0, fmt.Errorf("devchain: http address %q: the dev chain serves loopback only (127.0.0.1, ::1, localhost)", addr)
	}
	port, err = strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("devchain: http port %q is not 0..65535", portStr)
	}
	if port != 0 {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return "", 0, listenError(addr, err)
		}
		l.Close()
	}
	return host, port, nil
}

// listenError names the address when it is taken.
func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("devchain: %s is in use: %w", addr, err)
	}
	return fmt.Errorf("devchain: listen on %s: %w", addr, err)
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

// Address of dev account i (0 <= i < len(Keys())).
func (c *Chain) Address(i int) common.Address { return crypto.PubkeyToAddress(c.keys[i].PublicKey) }

// Client is an in-process client of the chain (no HTTP).
func (c *Chain) Client() simulated.Client { return c.client }

// DataDir is the directory the chain is kept in ("" in memory).
func (c *Chain) DataDir() string { return c.dataDir }

// StartHead is the head block when the chain started: 0 for a new chain,
// the last block sealed before for one started again from its DataDir.
func (c *Chain) StartHead() uint64 { return c.startHead }

// Commit seals a block with the pending transactions now.
func (c *Chain) Commit() common.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.beacon.Commit()
	c.persist()
	return h
}

// Fork makes the block with the given hash the head's parent for what is
// committed next: a reorg, for tests.
func (c *Chain) Fork(parent common.Hash) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.persist()
	return c.beacon.Fork(parent)
}

// AdjustTime seals an empty block d after the head's time: the chain's
// clock moves forward (for expiry tests). It fails while transactions are
// pending.
func (c *Chain) AdjustTime(d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.persist()
	return c.beacon.AdjustTime(d)
}

// persist flushes a DataDir chain's database write-ahead log to disk after
// a block is sealed, so that a chain whose process is killed restarts at
// that block: go-ethereum's pebble database otherwise keeps up to 500 KB
// of recent writes in memory only. Called with mu held.
func (c *Chain) persist() {
	if c.db == nil {
		return
	}
	if err := c.db.SyncKeyValue(); err != nil && c.syncErr == nil {
		c.syncErr = fmt.Errorf("devchain: sync the database: %w", err)
	}
}

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

// Close stops sealing and the node; a DataDir chain's database is flushed
// and closed.
func (c *Chain) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.done
		c.mu.Lock()
		c.closeErr = errors.Join(c.syncErr, c.shutdown())
		c.mu.Unlock()
	})
	return c.closeErr
}

// shutdown stops the beacon, the client and the node.
func (c *Chain) shutdown() error {
	var err error
	if c.client != nil {
		c.client.Close()
	}
	if c.beacon != nil {
		err = c.beacon.Stop()
	}
	return errors.Join(err, c.stack.Close())
}
