package main

import (
	"github.com/spf13/cobra"
)

func newRLNCmd(env []string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rln",
		Short: "RLN engine tools: benchmark, ceremony artefacts",
	}
	cmd.AddCommand(newRLNBenchCmd(env), newRLNArtefactsCmd(env))
	return cmd
}
