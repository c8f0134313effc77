package devchain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
)

// metaFile is the file in DataDir that records what the database does not:
// the dev account count (the genesis) and the registry DeployRegistry
// deployed.
const metaFile = "devchain.json"

// chainMeta is metaFile's content.
type chainMeta struct {
	Accounts int           `json:"accounts"`
	Registry *registryMeta `json:"registry,omitempty"`
}

// registryMeta locates a deployed registry.
type registryMeta struct {
	Address         common.Address `json:"address"`
	Token           common.Address `json:"token"`
	PriceCalculator common.Address `json:"priceCalculator"`
	Block           uint64         `json:"block"`
}

// openDataDir creates the data directory or reads what it records, and
// returns the number of dev accounts to fund: the recorded one for an
// existing chain (accounts must then be 0 or equal to it).
func (c *Chain) openDataDir(accounts int) (int, error) {
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return 0, fmt.Errorf("devchain: data directory: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(c.dataDir, metaFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, err := os.Stat(filepath.Join(c.dataDir, nodeName)); err == nil {
			return 0, fmt.Errorf("devchain: %s holds a chain but no %s: not a data directory of this dev chain, or damaged", c.dataDir, metaFile)
		}
		if accounts == 0 {
			accounts = DefaultAccounts
		}
		return accounts, nil
	case err != nil:
		return 0, fmt.Errorf("devchain: data directory: %w", err)
	}
	if err := json.Unmarshal(b, &c.meta); err != nil || c.meta.Accounts < 1 || c.meta.Accounts > MaxAccounts {
		return 0, fmt.Errorf("devchain: %s is damaged (%v)", filepath.Join(c.dataDir, metaFile), err)
	}
	if accounts != 0 && accounts != c.meta.Accounts {
		return 0, fmt.Errorf("devchain: %s holds a chain with %d dev accounts, not %d: start it with that many or use another data directory",
			c.dataDir, c.meta.Accounts, accounts)
	}
	return c.meta.Accounts, nil
}

// saveMeta writes metaFile atomically (a temporary file renamed over it).
func (c *Chain) saveMeta() error {
	b, err := json.MarshalIndent(c.meta, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(c.dataDir, metaFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("devchain: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("devchain: %w", err)
	}
	return nil
}
