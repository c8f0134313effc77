package membership

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/rlnd/rlnd/contracts/devchain"
)

// callSource answers eth_call with the next of its answers (the last one
// repeats) and eth_getCode with code.
type callSource struct {
	ChainSource
	answers []callAnswer
	calls   int
	code    []byte
}

type callAnswer struct {
	out []byte
	err error
}

func (s *callSource) CallContract(_ context.Context, call ethereum.CallMsg, _ *big.Int) ([]byte, error) {
	if !bytes.Equal(call.Data, deployedBlockSelector) {
		return nil, errors.New("fake: unexpected call")
	}
	a := s.answers[min(s.calls, len(s.answers)-1)]
	s.calls++
	return a.out, a.err
}

func (s *callSource) CodeAt(context.Context, common.Address, *big.Int) ([]byte, error) {
	return s.code, nil
}

// codedError is a JSON-RPC error answer.
type codedError struct {
	code int
	msg  string
}

func (e codedError) Error() string  { return e.msg }
func (e codedError) ErrorCode() int { return e.code }

func TestDeployedBlock(t *testing.T) {
	t.Parallel()
	deployed := common.LeftPadBytes([]byte{0x01, 0x02, 0x03}, 32)
	down := callAnswer{err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}
	tests := []struct {
		name    string
		answers []callAnswer
		noCode  bool
		want    uint64
		wantErr error
		text    string
		calls   int
	}{
		{name: "a uint32 word", answers: []callAnswer{{out: deployed}}, want: 0x010203, calls: 1},
		{name: "retried until the endpoint answers", answers: []callAnswer{down, down, {out: deployed}}, want: 0x010203, calls: 3},
		{name: "rate limited, then answered", answers: []callAnswer{{err: codedError{-32005, "limit exceeded"}}, {out: deployed}}, want: 0x010203, calls: 2},
		{name: "revert with data (code 3)", answers: []callAnswer{{err: codedError{3, "execution reverted: nope"}}}, wantErr: ErrNoDeployedBlock, calls: 1},
		{name: "revert without data", answers: []callAnswer{{err: codedError{-32000, "execution reverted"}}}, wantErr: ErrNoDeployedBlock, calls: 1},
		{name: "empty answer", answers: []callAnswer{{out: []byte{}}}, wantErr: ErrNoDeployedBlock, text: "returned nothing", calls: 1},
		{name: "empty answer, no code", answers: []callAnswer{{}}, noCode: true, wantErr: ErrNoContract, calls: 1},
		{name: "not a uint32", answers: []callAnswer{{out: common.LeftPadBytes([]byte{1, 0, 0, 0, 0}, 32)}}, text: "not a uint32", calls: 1},
		{name: "short answer", answers: []callAnswer{{out: []byte{1, 2}}}, text: "returned 2 bytes", calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &callSource{answers: tt.answers, code: []byte{0x60}}
			if tt.noCode {
				src.code = nil
			}
			got, err := DeployedBlock(t.Context(), src, testSyncConfig(t))
			switch {
			case tt.wantErr == nil && tt.text == "" && (err != nil || got != tt.want):
				t.Fatalf("DeployedBlock = %d, %v; want %d", got, err, tt.want)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("DeployedBlock = %d, %v; want %v", got, err, tt.wantErr)
			case tt.text != "" && (err == nil || !strings.Contains(err.Error(), tt.text)):
				t.Fatalf("DeployedBlock = %d, %v; want an error with %q", got, err, tt.text)
			}
			if src.calls != tt.calls {
				t.Fatalf("%d calls, want %d", src.calls, tt.calls)
			}
		})
	}
}

// An endpoint that never answers is retried until the context ends; the
// error then carries the last failure.
func TestDeployedBlockGivesUpWithContext(t *testing.T) {
	t.Parallel()
	src := &callSource{answers: []callAnswer{{err: errors.New("connection refused")}}}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := DeployedBlock(ctx, src, testSyncConfig(t))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("DeployedBlock = %v, want the deadline with the last error", err)
	}
}

// On the dev chain, over JSON-RPC: the registry deployed after empty blocks
// reports its deployment block; a contract that reverts every call is
// ErrNoDeployedBlock (geth's real revert answer).
func TestDeployedBlockDevchain(t *testing.T) {
	t.Parallel()
	c, err := devchain.Start(devchain.Config{HTTP: "127.0.0.1:0", Accounts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 5 {
		c.Commit()
	}
	reg, err := c.DeployRegistry(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if reg.Block < 5 {
		t.Fatalf("registry deployed in block %d, want after the 5 empty ones", reg.Block)
	}
	eth, err := ethclient.DialContext(t.Context(), c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer eth.Close()
	cfg := SyncConfig{Contract: reg.Address}
	got, err := DeployedBlock(t.Context(), eth, cfg)
	if err != nil || got != reg.Block {
		t.Fatalf("DeployedBlock = %d, %v; want %d", got, err, reg.Block)
	}

	cfg.Contract = deployReverter(t, c)
	if _, err := DeployedBlock(t.Context(), eth, cfg); !errors.Is(err, ErrNoDeployedBlock) {
		t.Fatalf("DeployedBlock of a contract without the view = %v, want ErrNoDeployedBlock", err)
	}
}

// deployReverter deploys a contract whose code reverts every call
// (PUSH1 0 PUSH1 0 REVERT) and returns its address.
func deployReverter(t *testing.T, c *devchain.Chain) common.Address {
	t.Helper()
	runtime := []byte{0x60, 0x00, 0x60, 0x00, 0xfd}
	// Init code: copy the runtime code to memory and return it.
	initCode := append([]byte{
		0x60, byte(len(runtime)), // PUSH1 len
		0x60, 0x0c, // PUSH1 offset of the runtime code in this init code
		0x60, 0x00, // PUSH1 0
		0x39,                     // CODECOPY
		0x60, byte(len(runtime)), // PUSH1 len
		0x60, 0x00, // PUSH1 0
		0xf3, // RETURN
	}, runtime...)
	auth, err := c.Transactor(0)
	if err != nil {
		t.Fatal(err)
	}
	client := c.Client()
	nonce, err := client.PendingNonceAt(t.Context(), auth.From)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := client.SuggestGasTipCap(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	head, err := client.HeaderByNumber(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := auth.Signer(auth.From, types.NewTx(&types.DynamicFeeTx{
		Nonce: nonce, GasTipCap: tip, GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip),
		Gas: 100_000, Data: initCode,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SendTransaction(t.Context(), tx); err != nil {
		t.Fatal(err)
	}
	r, err := c.WaitMined(t.Context(), tx)
	if err != nil {
		t.Fatalf("deploying the reverter: %v", err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("deploying the reverter: status %d", r.Status)
	}
	return r.ContractAddress
}
