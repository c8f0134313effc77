package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/contracts/devchain"
	"github.com/rlnd/rlnd/internal/redact"
	"github.com/rlnd/rlnd/membership"
)

func newMembershipKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Generate an RLN identity and write it to a file (mode 0600)",
		Long: "Generate an RLN identity (trapdoor, nullifier, secret = Poseidon(trapdoor, nullifier),\n" +
			"commitment = Poseidon(secret)) and write it as JSON to --out with mode 0600. Prints\n" +
			"the identity commitment, which `rlnd membership register --identity FILE` registers.\n" +
			"An existing file is never overwritten.",
		Example: "  rlnd membership keygen --out identity.json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := membership.NewIdentityCredential(rand.Reader)
			if err != nil {
				return err
			}
			b, err := json.Marshal(id)
			if err != nil {
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				if errors.Is(err, fs.ErrExist) {
					return usageError{fmt.Errorf("%s exists: choose another --out", out)}
				}
				return err
			}
			if _, err := f.Write(append(b, '\n')); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "identity commitment %s written to %s\n", commitmentHex(id), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "rln-identity.json", "file to write the identity to")
	return cmd
}

// commitmentHex is the identity commitment as every rlnd command prints
// it: the field element as a 0x-prefixed 64-digit big-endian hex number.
// That is the uint256 the registry takes and its events and block
// explorers show, the digits nwaku prints (inHex reverses the keystore's
// little-endian bytes) and js-waku's IDCommitmentBigInt in hex. Keystores
// and identity files store the same number as 32 little-endian bytes.
func commitmentHex(id membership.IdentityCredential) string { return id.CommitmentHex() }

// leBig reads little-endian bytes as an integer.
func leBig(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

type registerFlags struct {
	rpc, contract, identity, keystorePath, passwordFile string
	rateLimit                                           string
	devKey, kdfIterations                               int
	ethKeystore, ethPasswordFile                        string
	noApprove                                           bool
	timeout                                             time.Duration
}

func newMembershipRegisterCmd(env []string) *cobra.Command {
	var f registerFlags
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register an RLN membership on the registry (paying its deposit) and store it in the keystore",
		Long: "Register an identity commitment with a rate limit (messages per epoch) on the membership\n" +
			"registry, paying from a dev key of `rlnd devchain` (--dev-key) or an Ethereum keystore\n" +
			"(--eth-keystore), and add the membership (chain, contract, index, identity, rate limit)\n" +
			"to the RLN keystore. The identity comes from --identity (written by keygen) or is\n" +
			"generated. The keystore password comes from --password-file or $" + envKeystorePassword + ".\n\n" +
			"The registry takes a deposit in an ERC-20 token: its price calculator names the token\n" +
			"and the amount for the rate limit, and register pulls it with transferFrom. Before\n" +
			"sending anything, register checks the rate limit against the registry's bounds and\n" +
			"remaining total, the payer's token balance, and runs the registration as a call. If the\n" +
			"registry's allowance is short it approves exactly the deposit (one transaction, waited\n" +
			"for), then registers; with --no-approve it stops and says what to approve instead.\n" +
			"Reverts are shown decoded (the registry's custom errors and revert strings).",
		Example: "  RLND_KEYSTORE_PASSWORD=... rlnd membership register --rpc http://127.0.0.1:8545 \\\n" +
			"      --contract 0xa1C51e71CFb1dBB016dF743FD5dc48D62Ebb917B --rate-limit 20 --dev-key 1",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRegister(cmd, f, env)
		},
	}
	cmd.Flags().StringVar(&f.rpc, "rpc", "http://127.0.0.1:8545", "JSON-RPC URL of the chain")
	cmd.Flags().StringVar(&f.contract, "contract", "", "registry address (0x...)")
	cmd.Flags().StringVar(&f.rateLimit, "rate-limit", "", "messages per epoch of the membership (within the registry's bounds)")
	cmd.Flags().StringVar(&f.identity, "identity", "", "identity file from keygen (default: generate one)")
	cmd.Flags().StringVar(&f.keystorePath, "keystore", "rlnKeystore.json", "RLN keystore to add the membership to")
	cmd.Flags().StringVar(&f.passwordFile, "password-file", "", "file holding the RLN keystore password (else $"+envKeystorePassword+")")
	cmd.Flags().IntVar(&f.devKey, "dev-key", -1, "pay with dev account N of rlnd devchain (dev chains only)")
	cmd.Flags().StringVar(&f.ethKeystore, "eth-keystore", "", "pay with this Ethereum keystore (V3 JSON key file)")
	cmd.Flags().StringVar(&f.ethPasswordFile, "eth-password-file", "", "file holding the Ethereum keystore's password")
	cmd.Flags().IntVar(&f.kdfIterations, "kdf-iterations", membership.DefaultKDFIterations, "PBKDF2 iterations protecting the new credential (nwaku uses 1,000,000)")
	cmd.Flags().BoolVar(&f.noApprove, "no-approve", false, "never approve the deposit: fail, saying what to approve, if the registry's allowance is short")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Minute, "give up when the chain has not answered, or the transactions are not mined, by then")
	return cmd
}

// parseRateLimit reads --rate-limit: a whole number of messages per epoch.
func parseRateLimit(s string) (uint32, error) {
	if s == "" {
		return 0, usageError{errors.New("--rate-limit is required (messages per epoch)")}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, usageError{fmt.Errorf("--rate-limit %q: want a whole number of messages per epoch, 1 or more", s)}
	}
	return uint32(n), nil
}

func payerKey(f registerFlags) (*ecdsa.PrivateKey, error) {
	switch {
	case f.devKey < -1 || f.devKey >= devchain.MaxAccounts:
		return nil, usageError{fmt.Errorf("--dev-key %d: want a dev account of rlnd devchain, 0..N-1 for a chain of N accounts (10 by default)", f.devKey)}
	case f.devKey >= 0 && f.ethKeystore != "":
		return nil, usageError{errors.New("use one of --dev-key and --eth-keystore")}
	case f.devKey >= 0:
		return devchain.DevKey(f.devKey), nil
	case f.ethKeystore != "":
		js, err := os.ReadFile(f.ethKeystore)
		if err != nil {
			return nil, usageError{fmt.Errorf("--eth-keystore: %w", err)}
		}
		pw := ""
		if f.ethPasswordFile != "" {
			b, err := os.ReadFile(f.ethPasswordFile)
			if err != nil {
				return nil, usageError{fmt.Errorf("--eth-password-file: %w", err)}
			}
			pw = strings.TrimRight(string(b), "\r\n")
		}
		k, err := keystore.DecryptKey(js, pw)
		if err != nil {
			return nil, usageError{fmt.Errorf("--eth-keystore %s: %w", f.ethKeystore, err)}
		}
		return k.PrivateKey, nil
	}
	return nil, usageError{errors.New("no payer: use --dev-key N (dev chain) or --eth-keystore FILE")}
}

// readIdentity loads --identity, or generates an identity without it.
func readIdentity(path string) (membership.IdentityCredential, error) {
	var id membership.IdentityCredential
	if path == "" {
		return membership.NewIdentityCredential(rand.Reader)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return id, usageError{fmt.Errorf("--identity: %w", err)}
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, usageError{fmt.Errorf("--identity %s: %w", path, err)}
	}
	if _, err := id.Identity(); err != nil {
		return id, usageError{fmt.Errorf("--identity %s: %w", path, err)}
	}
	return id, nil
}

func runRegister(cmd *cobra.Command, f registerFlags, env []string) error {
	if !common.IsHexAddress(f.contract) {
		return usageError{fmt.Errorf("--contract %q is not an address (0x + 40 hex digits)", f.contract)}
	}
	if f.kdfIterations < 1 {
		return usageError{fmt.Errorf("--kdf-iterations %d: must be at least 1", f.kdfIterations)}
	}
	if f.timeout <= 0 {
		return usageError{fmt.Errorf("--timeout %s: must be positive", f.timeout)}
	}
	rateLimit, err := parseRateLimit(f.rateLimit)
	if err != nil {
		return err
	}
	password, err := keystorePassword(f.passwordFile, env)
	if err != nil {
		return err
	}
	key, err := payerKey(f)
	if err != nil {
		return err
	}
	id, err := readIdentity(f.identity)
	if err != nil {
		return err
	}
	// Fail on a wrong keystore password before spending anything.
	if k, err := membership.LoadOrNew(f.keystorePath); err != nil {
		return err
	} else if _, err := k.All(password); err != nil {
		return usageError{fmt.Errorf("%s: %w", f.keystorePath, err)}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	out := cmd.OutOrStdout()
	m, res, err := register(ctx, f, rateLimit, key, id, out)
	if err != nil {
		return err
	}
	hash, err := membership.AddToFile(f.keystorePath, m, password, f.kdfIterations)
	if err != nil {
		return fmt.Errorf("registered at index %d (tx %s) but could not store it: %w", m.TreeIndex, res.tx, err)
	}
	fmt.Fprintf(out, "registered commitment %s at index %d in block %d, rate limit %d (tx %s)\nstored in %s as %s\n",
		commitmentHex(id), m.TreeIndex, res.block, m.UserMessageLimit, res.tx, f.keystorePath, hash)
	return nil
}

// registration is a mined registration.
type registration struct {
	index, block uint64
	tx           string
}

// register checks everything it can, approves the deposit if need be, and
// registers the identity. Its errors quote f.rpc only redacted (the RPC
// client's errors carry the URL with its key and query).
func register(ctx context.Context, f registerFlags, rateLimit uint32, key *ecdsa.PrivateKey,
	id membership.IdentityCredential, out io.Writer) (m membership.Membership, res registration, err error) {
	defer func() { err = redact.Error(err, f.rpc) }()
	addr := common.HexToAddress(f.contract)
	cl, chainID, reg, err := dialRegistry(ctx, f.rpc, addr)
	if err != nil {
		return m, res, err
	}
	defer cl.Close()
	r := &registrar{cl: cl, chainID: chainID, registry: addr, reg: reg, key: key, owner: ownerOf(key), out: out}
	if err := r.prepare(ctx, f, rateLimit, leBig(id.IDCommitment[:])); err != nil {
		return m, res, err
	}
	if res, err = r.register(ctx, leBig(id.IDCommitment[:]), rateLimit, 0); err != nil {
		return m, res, err
	}
	m = membership.Membership{
		Contract:         membership.Contract{ChainID: fmt.Sprintf("0x%X", chainID), Address: addr.Hex()},
		TreeIndex:        res.index,
		Identity:         id,
		UserMessageLimit: uint64(rateLimit),
	}
	return m, res, nil
}

// prepare makes sure the registration can go through before it is sent:
// ether for gas, the rate limit, the token balance, a dry run, and the
// allowance (approving the deposit unless --no-approve).
func (r *registrar) prepare(ctx context.Context, f registerFlags, rateLimit uint32, idc *big.Int) error {
	if err := r.checkEther(ctx, f.devKey); err != nil {
		return err
	}
	t, err := r.terms(ctx, rateLimit)
	if err != nil {
		return err
	}
	if err := checkRateLimit(t, rateLimit); err != nil {
		return err
	}
	tok, err := depositToken(ctx, r.cl, t.token)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "deposit for rate limit %d: %s of token %s\n", rateLimit, tok.amount(t.price), tok.addr.Hex())
	if err := r.checkBalance(ctx, tok, t.price, rateLimit); err != nil {
		return err
	}
	allowance, err := tok.erc20.Allowance(&bind.CallOpts{Context: ctx}, r.owner, r.registry)
	if err != nil {
		return revertError(fmt.Sprintf("token %s allowance", tok.addr.Hex()), err)
	}
	short := allowance.Cmp(t.price) < 0
	if err := r.dryRun(ctx, idc, rateLimit, short); err != nil {
		return err
	}
	switch {
	case !short:
		fmt.Fprintf(r.out, "the registry's allowance, %s, covers the deposit\n", tok.amount(allowance))
		return nil
	case f.noApprove:
		return fmt.Errorf("--no-approve: the registry's allowance is short: account %s must first approve spender %s (the registry) for %s of token %s (the allowance now is %v base units): nothing was sent",
			r.owner.Hex(), r.registry.Hex(), tok.amount(t.price), tok.addr.Hex(), allowance)
	}
	return r.approve(ctx, tok, t.price)
}

// register sends register(idc, rateLimit, []) and waits for it; its index
// comes from the MembershipRegistered event. gasLimit 0 estimates the gas
// (a revert is then reported before sending); a mined failure is replayed
// to decode it.
func (r *registrar) register(ctx context.Context, idc *big.Int, rateLimit uint32, gasLimit uint64) (registration, error) {
	auth, err := r.transactor(ctx)
	if err != nil {
		return registration{}, err
	}
	auth.GasLimit = gasLimit
	tx, err := r.reg.Register(auth, idc, rateLimit, nil)
	if err != nil {
		return registration{}, revertError("register", err)
	}
	fmt.Fprintf(r.out, "register sent (tx %s)\n", tx.Hash().Hex())
	rcpt, err := waitSucceeded(ctx, r.cl, r.owner, "register", tx)
	if err != nil {
		return registration{}, err
	}
	for _, l := range rcpt.Logs {
		ev, err := r.reg.ParseMembershipRegistered(*l)
		if err != nil || ev.IdCommitment.Cmp(idc) != 0 {
			continue
		}
		return registration{index: uint64(ev.Index), block: rcpt.BlockNumber.Uint64(), tx: tx.Hash().Hex()}, nil
	}
	return registration{}, fmt.Errorf("register: transaction %s has no MembershipRegistered event", tx.Hash().Hex())
}
