package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/contracts/bindings"
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
			fmt.Fprintf(cmd.OutOrStdout(), "identity commitment 0x%s written to %s\n", commitmentHex(id), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "rln-identity.json", "file to write the identity to")
	return cmd
}

// commitmentHex is the identity commitment as a big-endian hex number, as
// the contract and block explorers show it.
func commitmentHex(id membership.IdentityCredential) string {
	return fmt.Sprintf("%064x", leBig(id.IDCommitment[:]))
}

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
	rateLimit                                           uint32
	devKey, kdfIterations                               int
	ethKeystore, ethPasswordFile                        string
}

func newMembershipRegisterCmd(env []string) *cobra.Command {
	var f registerFlags
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register an RLN membership on the registry and store it in the keystore",
		Long: "Register an identity commitment with a rate limit (messages per epoch) on the membership\n" +
			"registry, paying from a dev key of `rlnd devchain` (--dev-key) or an Ethereum keystore\n" +
			"(--eth-keystore), wait for the transaction, and add the membership (chain, contract,\n" +
			"index, identity, rate limit) to the RLN keystore. The identity comes from --identity\n" +
			"(written by keygen) or is generated. The keystore password comes from --password-file\n" +
			"or $" + envKeystorePassword + ".",
		Example: "  RLND_KEYSTORE_PASSWORD=... rlnd membership register --rpc http://127.0.0.1:8545 \\\n" +
			"      --contract 0xa1C51e71CFb1dBB016dF743FD5dc48D62Ebb917B --rate-limit 20 --dev-key 1",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRegister(cmd, f, env)
		},
	}
	cmd.Flags().StringVar(&f.rpc, "rpc", "http://127.0.0.1:8545", "JSON-RPC URL of the chain")
	cmd.Flags().StringVar(&f.contract, "contract", "", "registry address (0x...)")
	cmd.Flags().Uint32Var(&f.rateLimit, "rate-limit", 0, "messages per epoch of the membership")
	cmd.Flags().StringVar(&f.identity, "identity", "", "identity file from keygen (default: generate one)")
	cmd.Flags().StringVar(&f.keystorePath, "keystore", "rlnKeystore.json", "RLN keystore to add the membership to")
	cmd.Flags().StringVar(&f.passwordFile, "password-file", "", "file holding the RLN keystore password (else $"+envKeystorePassword+")")
	cmd.Flags().IntVar(&f.devKey, "dev-key", -1, "pay with dev account N of rlnd devchain (dev chains only)")
	cmd.Flags().StringVar(&f.ethKeystore, "eth-keystore", "", "pay with this Ethereum keystore (V3 JSON key file)")
	cmd.Flags().StringVar(&f.ethPasswordFile, "eth-password-file", "", "file holding the Ethereum keystore's password")
	cmd.Flags().IntVar(&f.kdfIterations, "kdf-iterations", membership.DefaultKDFIterations, "PBKDF2 iterations protecting the new credential (nwaku uses 1,000,000)")
	return cmd
}

func payerKey(f registerFlags) (*ecdsa.PrivateKey, error) {
	switch {
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

func runRegister(cmd *cobra.Command, f registerFlags, env []string) error {
	if !common.IsHexAddress(f.contract) {
		return usageError{fmt.Errorf("--contract %q is not an address (0x + 40 hex digits)", f.contract)}
	}
	if f.kdfIterations < 1 {
		return usageError{fmt.Errorf("--kdf-iterations %d: must be at least 1", f.kdfIterations)}
	}
	if f.rateLimit == 0 {
		return usageError{errors.New("--rate-limit is required (messages per epoch)")}
	}
	password, err := keystorePassword(f.passwordFile, env)
	if err != nil {
		return err
	}
	key, err := payerKey(f)
	if err != nil {
		return err
	}
	var id membership.IdentityCredential
	if f.identity != "" {
		b, err := os.ReadFile(f.identity)
		if err != nil {
			return usageError{fmt.Errorf("--identity: %w", err)}
		}
		if err := json.Unmarshal(b, &id); err != nil {
			return usageError{fmt.Errorf("--identity %s: %w", f.identity, err)}
		}
		if _, err := id.Identity(); err != nil {
			return usageError{fmt.Errorf("--identity %s: %w", f.identity, err)}
		}
	} else if id, err = membership.NewIdentityCredential(rand.Reader); err != nil {
		return err
	}
	// Fail on a wrong keystore password before spending anything.
	if k, err := membership.LoadOrNew(f.keystorePath); err != nil {
		return err
	} else if _, err := k.All(password); err != nil {
		return usageError{fmt.Errorf("%s: %w", f.keystorePath, err)}
	}

	ctx := cmd.Context()
	m, tx, err := register(ctx, f.rpc, common.HexToAddress(f.contract), key, id, f.rateLimit)
	if err != nil {
		return err
	}
	hash, err := membership.AddToFile(f.keystorePath, m, password, f.kdfIterations)
	if err != nil {
		return fmt.Errorf("registered at index %d (tx %s) but could not store it: %w", m.TreeIndex, tx, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "registered commitment 0x%s at index %d, rate limit %d (tx %s)\nstored in %s as %s\n",
		commitmentHex(id), m.TreeIndex, m.UserMessageLimit, tx, f.keystorePath, hash)
	return nil
}

// register sends the registration and reads the index from its event.
// Its errors quote rpcURL only redacted (the RPC client's errors carry the
// URL with its key and query).
func register(ctx context.Context, rpcURL string, contract common.Address, key *ecdsa.PrivateKey,
	id membership.IdentityCredential, rateLimit uint32) (m membership.Membership, txHash string, err error) {
	defer func() { err = redact.Error(err, rpcURL) }()
	cl, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return m, "", fmt.Errorf("--rpc %s: %w", redact.URL(rpcURL), err)
	}
	defer cl.Close()
	chainID, err := cl.ChainID(ctx)
	if err != nil {
		return m, "", fmt.Errorf("--rpc %s: chain id: %w", redact.URL(rpcURL), err)
	}
	if code, err := cl.CodeAt(ctx, contract, nil); err != nil || len(code) == 0 {
		return m, "", usageError{fmt.Errorf("no contract at %s on chain %d (%v)", contract.Hex(), chainID, err)}
	}
	reg, err := bindings.NewRlnRegistry(contract, cl)
	if err != nil {
		return m, "", err
	}
	auth, err := bind.NewKeyedTransactorWithChainID(key, chainID)
	if err != nil {
		return m, "", err
	}
	auth.Context = ctx
	tx, err := reg.Register(auth, leBig(id.IDCommitment[:]), rateLimit, nil)
	if err != nil {
		return m, "", fmt.Errorf("register: %w", err)
	}
	rcpt, err := bind.WaitMined(ctx, cl, tx)
	if err != nil {
		return m, "", fmt.Errorf("register: waiting for %s: %w", tx.Hash().Hex(), err)
	}
	if rcpt.Status != 1 {
		return m, "", fmt.Errorf("register: transaction %s reverted", tx.Hash().Hex())
	}
	for _, l := range rcpt.Logs {
		ev, err := reg.ParseMembershipRegistered(*l)
		if err != nil || ev.IdCommitment.Cmp(leBig(id.IDCommitment[:])) != 0 {
			continue
		}
		m = membership.Membership{
			Contract:         membership.Contract{ChainID: fmt.Sprintf("0x%X", chainID), Address: contract.Hex()},
			TreeIndex:        uint64(ev.Index),
			Identity:         id,
			UserMessageLimit: uint64(rateLimit),
		}
		return m, tx.Hash().Hex(), nil
	}
	return m, "", fmt.Errorf("register: transaction %s has no MembershipRegistered event", tx.Hash().Hex())
}
