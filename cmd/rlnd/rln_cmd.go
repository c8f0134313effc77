package main

import (
	"github.com/spf13/cobra"
)

func newRLNCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rln",
		Short: "RLN engine tools",
	}
	cmd.AddCommand(newRLNBenchCmd())
	return cmd
}
