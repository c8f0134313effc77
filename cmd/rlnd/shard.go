package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/autoshard"
)

func newShardCmd(env []string) *cobra.Command {
	var (
		nf        networkFlags
		oldShards int
	)
	cmd := &cobra.Command{
		Use:   "shard CONTENT_TOPIC [--preset NAME | --config FILE] [--cluster N] [--num-shards N]",
		Short: "Print the pubsub topic (relay shard) a content topic maps to",
		Long: "Print the pubsub topic /waku/2/rs/<cluster>/<shard> that autosharding assigns to a\n" +
			"content topic (/app/version/name/encoding or /0/app/version/name/encoding), in the cluster\n" +
			"of --preset, --config or the RLND_* environment (as rlnd node reads them; The Waku Network,\n" +
			"cluster 1 with 8 shards, when nothing says otherwise); --cluster and --num-shards win.",
		Example: "  rlnd shard /myapp/1/chat/proto                # /waku/2/rs/1/0\n" +
			"  rlnd shard /myapp/1/chat/proto --preset devnet # /waku/2/rs/66/0\n" +
			"  rlnd shard /toychat/2/huilong/proto --cluster 42 --num-shards 16",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("shards") {
				if cmd.Flags().Changed("num-shards") {
					return usageError{fmt.Errorf("--shards is the deprecated name of --num-shards: give one of them")}
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "rlnd: --shards is deprecated: use --num-shards, the shard count's name in every command")
				if err := cmd.Flags().Set("num-shards", fmt.Sprint(oldShards)); err != nil {
					return usageError{err}
				}
			}
			n, err := nf.resolve(cmd, env)
			if err != nil {
				return err
			}
			topic, err := autoshard.ShardFor(args[0], n.cluster, n.numShards)
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), topic)
			return nil
		},
	}
	addNetworkFlags(cmd, &nf)
	cmd.Flags().IntVar(&oldShards, "shards", 0, "deprecated: --num-shards")
	_ = cmd.Flags().MarkHidden("shards")
	return cmd
}
