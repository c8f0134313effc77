package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/autoshard"
)

func newShardCmd() *cobra.Command {
	var (
		cluster int
		shards  int
	)
	cmd := &cobra.Command{
		Use:   "shard CONTENT_TOPIC",
		Short: "Print the pubsub topic (relay shard) a content topic maps to",
		Long: "Print the pubsub topic /waku/2/rs/<cluster>/<shard> that autosharding assigns to a\n" +
			"content topic (/app/version/name/encoding or /0/app/version/name/encoding).",
		Example: "  rlnd shard /myapp/1/chat/proto                # /waku/2/rs/1/0\n" +
			"  rlnd shard /toychat/2/huilong/proto --cluster 42 --shards 16",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cluster < 0 || cluster > autoshard.MaxCluster {
				return usageError{fmt.Errorf("--cluster %d is out of range, allowed 0..%d", cluster, autoshard.MaxCluster)}
			}
			topic, err := autoshard.ShardFor(args[0], uint16(cluster), shards)
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), topic)
			return nil
		},
	}
	cmd.Flags().IntVar(&cluster, "cluster", 1, "cluster id (0..65535); The Waku Network is 1")
	cmd.Flags().IntVar(&shards, "shards", 8, "number of shards in the cluster (1..1024); The Waku Network has 8")
	return cmd
}
