package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
)

// lineHandler keeps every record as one line of text and closes enough
// once it holds want records.
type lineHandler struct {
	mu     sync.Mutex
	lines  []string
	want   int
	enough chan struct{}
}

func (h *lineHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *lineHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *lineHandler) WithGroup(string) slog.Handler            { return h }
func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value.Any())
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, b.String())
	if len(h.lines) == h.want {
		close(h.enough)
	}
	return nil
}

func (h *lineHandler) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.lines, "\n")
}

// syncAgainstDeadEndpoint runs SyncOnce against an HTTP endpoint nothing
// listens on until the manager has logged two failed attempts, and returns
// the error and the log.
func syncAgainstDeadEndpoint(t *testing.T, wrap func(ChainSource, string) ChainSource) (string, string, error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rpcURL := "http://op:Hunter2-pw@" + addr + "/v3/9aa3d95b3bc440fa88ea12eaa4456161?apikey=S3cretQueryKey"
	cl, err := ethclient.DialContext(context.Background(), rpcURL)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	h := &lineHandler{want: 2, enough: make(chan struct{})}
	g, err := NewGroupManager(wrap(cl, rpcURL), SyncConfig{
		Contract: common.HexToAddress("0xa1C51e71CFb1dBB016dF743FD5dc48D62Ebb917B"),
		Retry:    RetryConfig{Initial: time.Millisecond, Max: time.Millisecond},
		Logger:   slog.New(h),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-h.enough
		cancel()
	}()
	err = g.SyncOnce(ctx)
	if err == nil {
		t.Fatal("SyncOnce succeeded against an endpoint nothing listens on")
	}
	return rpcURL, h.text(), err
}

var rpcSecrets = []string{"Hunter2-pw", "9aa3d95b3bc440fa88ea12eaa4456161", "S3cretQueryKey", "apikey"}

func TestRedactErrorsHidesTheRPCURL(t *testing.T) {
	t.Parallel()
	_, logText, err := syncAgainstDeadEndpoint(t, RedactErrors)
	for _, text := range []string{err.Error(), logText} {
		for _, s := range rpcSecrets {
			if strings.Contains(text, s) {
				t.Errorf("%q holds the secret %q", text, s)
			}
		}
	}
	if !strings.Contains(logText, "/v3/redacted?redacted") {
		t.Errorf("the log does not name the endpoint in redacted form:\n%s", logText)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("SyncOnce error %v is not context.Canceled", err)
	}
}

// The test above can fail: without the wrapper go-ethereum's errors
// carry the key and the query.
func TestChainErrorsCarryTheRPCURL(t *testing.T) {
	t.Parallel()
	_, logText, _ := syncAgainstDeadEndpoint(t, func(s ChainSource, _ string) ChainSource { return s })
	if !strings.Contains(logText, "9aa3d95b3bc440fa88ea12eaa4456161") || !strings.Contains(logText, "S3cretQueryKey") {
		t.Errorf("go-ethereum's errors no longer quote the URL; RedactErrors may be unneeded:\n%s", logText)
	}
}

// notFoundSource answers every call with ethereum.NotFound.
type notFoundSource struct{}

func (notFoundSource) ChainID(context.Context) (*big.Int, error) { return nil, ethereum.NotFound }
func (notFoundSource) HeaderByNumber(context.Context, *big.Int) (*types.Header, error) {
	return nil, ethereum.NotFound
}
func (notFoundSource) FilterLogs(context.Context, ethereum.FilterQuery) ([]types.Log, error) {
	return nil, ethereum.NotFound
}
func (notFoundSource) CodeAt(context.Context, common.Address, *big.Int) ([]byte, error) {
	return nil, ethereum.NotFound
}
func (notFoundSource) CallContract(context.Context, ethereum.CallMsg, *big.Int) ([]byte, error) {
	return nil, ethereum.NotFound
}
func (notFoundSource) TransactionByHash(context.Context, common.Hash) (*types.Transaction, bool, error) {
	return nil, false, ethereum.NotFound
}

func TestRedactErrorsKeepsErrorIdentity(t *testing.T) {
	t.Parallel()
	src := RedactErrors(notFoundSource{}, "https://h/v3/9aa3d95b3bc440fa88ea12eaa4456161")
	ctx := context.Background()
	_, e1 := src.ChainID(ctx)
	_, e2 := src.HeaderByNumber(ctx, nil)
	_, e3 := src.FilterLogs(ctx, ethereum.FilterQuery{})
	_, e4 := src.CodeAt(ctx, common.Address{}, nil)
	_, e5 := src.CallContract(ctx, ethereum.CallMsg{}, nil)
	_, _, e6 := src.TransactionByHash(ctx, common.Hash{})
	for i, err := range []error{e1, e2, e3, e4, e5, e6} {
		if err != ethereum.NotFound {
			t.Errorf("call %d: error %v, want ethereum.NotFound itself", i+1, err)
		}
	}
}
