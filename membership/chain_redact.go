package membership

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/rlnd/rlnd/internal/redact"
)

// RedactErrors wraps src, a client of the JSON-RPC endpoint at rpcURL, so
// that the errors it returns quote rpcURL (and any other URL) only in
// redacted form: go-ethereum's HTTP transport puts the whole URL, API key
// and query included, into its errors, and the manager logs them. The
// errors still unwrap to the client's, so errors.Is(err, ethereum.NotFound)
// and revert data keep working.
func RedactErrors(src ChainSource, rpcURL string) ChainSource {
	return redactedSource{src: src, url: rpcURL}
}

type redactedSource struct {
	src ChainSource
	url string
}

func (r redactedSource) ChainID(ctx context.Context) (*big.Int, error) {
	id, err := r.src.ChainID(ctx)
	return id, redact.Error(err, r.url)
}

func (r redactedSource) HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error) {
	h, err := r.src.HeaderByNumber(ctx, number)
	return h, redact.Error(err, r.url)
}

func (r redactedSource) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	logs, err := r.src.FilterLogs(ctx, q)
	return logs, redact.Error(err, r.url)
}

func (r redactedSource) CodeAt(ctx context.Context, account common.Address, blockNumber *big.Int) ([]byte, error) {
	code, err := r.src.CodeAt(ctx, account, blockNumber)
	return code, redact.Error(err, r.url)
}

func (r redactedSource) CallContract(ctx context.Context, call ethereum.CallMsg, blockNumber *big.Int) ([]byte, error) {
	out, err := r.src.CallContract(ctx, call, blockNumber)
	return out, redact.Error(err, r.url)
}

func (r redactedSource) TransactionByHash(ctx context.Context, hash common.Hash) (*types.Transaction, bool, error) {
	tx, pending, err := r.src.TransactionByHash(ctx, hash)
	return tx, pending, redact.Error(err, r.url)
}
