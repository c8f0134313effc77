package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/simulation"
)

func newRootCmd(env []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "rlnd",
		Short: "rlnd: an RLN rate-limited relay node for Waku v2 networks",
		Long: "rlnd runs relay, lightpush and store nodes of a Waku v2 network protected by RLN\n" +
			"(rate-limiting nullifiers), and the tools around them.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Flag parse errors and wrong argument counts are usage errors; an
	// unknown flag of a command taking the configuration flags says it is
	// neither rlnd's nor an nwaku flag rlnd knows.
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{config.ExplainFlagError(cmd.Flags(), err)}
	})
	root.AddCommand(newShardCmd(env), newConfigCmd(env), newMembershipCmd(env), newDevchainCmd(), newNodeCmd(env), newDevnetCmd(), newLightpushCmd(env), newStoreCmd(env), newFilterCmd(env), newRelayCmd(), newRLNCmd(env), newSimulateCmd(simulation.Run), newVersionCmd())
	return root
}

// exactArgs is cobra.ExactArgs with a usage-error result.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{fmt.Errorf("%s: %w (usage: %s)", cmd.CommandPath(), err, cmd.UseLine())}
		}
		return nil
	}
}
