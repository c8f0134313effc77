package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/membership"
)

// envKeystorePassword carries the keystore password when no file is given.
const envKeystorePassword = config.EnvKeystorePassword

func newMembershipCmd(env []string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "membership",
		Short: "RLN memberships and their keystore",
	}
	cmd.AddCommand(newMembershipKeygenCmd(), newMembershipRegisterCmd(env), newMembershipListCmd(env), newMembershipStatusCmd(env))
	return cmd
}

// keystorePassword reads --password-file, else RLND_KEYSTORE_PASSWORD.
func keystorePassword(file string, env []string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageError{fmt.Errorf("--password-file: %w", err)}
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if p := lookupEnv(env, envKeystorePassword); p != "" {
		return p, nil
	}
	return "", usageError{fmt.Errorf("no keystore password: use --password-file FILE or set %s", envKeystorePassword)}
}

// openKeystore decrypts every membership of a keystore; a wrong password is
// a usage error.
func openKeystore(path, passwordFile string, env []string) ([]membership.Membership, error) {
	password, err := keystorePassword(passwordFile, env)
	if err != nil {
		return nil, err
	}
	k, err := membership.Load(path)
	if err != nil {
		return nil, err
	}
	all, err := k.All(password)
	if errors.Is(err, membership.ErrWrongPassword) {
		return nil, usageError{fmt.Errorf("%s: %w", path, err)}
	}
	return all, err
}

type membershipView struct {
	Hash             string `json:"hash"`
	ChainID          string `json:"chainId"`
	Contract         string `json:"contract"`
	TreeIndex        uint64 `json:"treeIndex"`
	UserMessageLimit uint64 `json:"userMessageLimit,omitempty"`
	IDCommitment     string `json:"idCommitment"`
}

func newMembershipListCmd(env []string) *cobra.Command {
	var (
		path, passwordFile string
		asJSON             bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the memberships in a keystore (nwaku/go-waku format), without secrets",
		Long: "Decrypt every credential of a Waku RLN keystore and print its membership: registry\n" +
			"(chain id and contract), tree index, rate limit and identity commitment. Secrets are\n" +
			"never printed. The password comes from --password-file or $" + envKeystorePassword + ".",
		Example: "  RLND_KEYSTORE_PASSWORD=... rlnd membership list --keystore rlnKeystore.json\n" +
			"  rlnd membership list --keystore rlnKeystore.json --password-file pw.txt --json",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := openKeystore(path, passwordFile, env)
			if err != nil {
				return err
			}
			views := make([]membershipView, len(all))
			for i, m := range all {
				views[i] = membershipView{Hash: m.Hash(), ChainID: m.Contract.ChainID, Contract: m.Contract.Address,
					TreeIndex: m.TreeIndex, UserMessageLimit: m.UserMessageLimit,
					IDCommitment: commitmentHex(m.Identity)}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(views)
			}
			if len(views) == 0 {
				fmt.Fprintln(out, "no memberships")
			}
			for _, v := range views {
				fmt.Fprintf(out, "%s  chain %s  contract %s  index %d  limit %d  commitment %s\n",
					v.Hash, v.ChainID, v.Contract, v.TreeIndex, v.UserMessageLimit, v.IDCommitment)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "keystore", "rlnKeystore.json", "keystore file")
	cmd.Flags().StringVar(&passwordFile, "password-file", "", "file holding the keystore password (else $"+envKeystorePassword+")")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}
