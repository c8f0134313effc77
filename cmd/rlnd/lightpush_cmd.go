package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/wire"
)

func newLightpushCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "lightpush", Short: "Send messages through a lightpush service node"}
	cmd.AddCommand(newLightpushSendCmd())
	return cmd
}

func newLightpushSendCmd() *cobra.Command {
	var (
		peerAddr, contentTopic, pubsubTopic, payload, file string
		cluster                                            uint16
		numShards                                          int
		v2                                                 bool
		timeout                                            time.Duration
	)
	cmd := &cobra.Command{
		Use:   "send --peer MULTIADDR --content-topic T (--payload TEXT | --file F)",
		Short: "Push one message to a lightpush service and print its answer",
		Long: "Send one message with lightpush v3 (or v2-beta1 with --v2) to a service node, which\n" +
			"attaches an RLN proof if it offers proof as a service, and relays it. Prints the status\n" +
			"code, its description, the number of relay peers and the message hash. Exits 1 unless\n" +
			"the status is 200.",
		Example: "  rlnd lightpush send --peer /ip4/127.0.0.1/tcp/60000/p2p/16Uiu2HAm... --content-topic /my-app/1/chat/proto --payload hello\n" +
			"  rlnd lightpush send --peer ... --content-topic /my-app/1/chat/proto --file msg.bin --cluster 66",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if peerAddr == "" || contentTopic == "" || (payload == "") == (file == "") {
				return usageError{fmt.Errorf("--peer, --content-topic and one of --payload or --file are required")}
			}
			ai, err := peer.AddrInfoFromString(peerAddr)
			if err != nil {
				return usageError{fmt.Errorf("--peer %q: %w", peerAddr, err)}
			}
			body := []byte(payload)
			if file != "" {
				if body, err = os.ReadFile(file); err != nil {
					return usageError{err}
				}
			}
			topic := pubsubTopic
			if topic == "" {
				t, err := autoshard.ShardFor(contentTopic, cluster, numShards)
				if err != nil {
					return usageError{fmt.Errorf("--content-topic: %w", err)}
				}
				topic = t.String()
			} else if _, err := autoshard.ParsePubsubTopic(topic); err != nil {
				return usageError{fmt.Errorf("--pubsub-topic: %w", err)}
			}
			msg := wire.NewMessage(contentTopic, body, time.Now().UnixNano())
			if err := wire.CheckMessage(msg); err != nil {
				return usageError{err}
			}
			h, err := p2p.NewHost(p2p.HostConfig{ClusterID: cluster, TolerateNoMetadata: true})
			if err != nil {
				return err
			}
			defer h.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if _, err := h.Connect(ctx, *ai); err != nil {
				return fmt.Errorf("connect to %s: %w", ai.ID, err)
			}
			push := lightpush.Push
			if v2 {
				push = lightpush.PushV2
			}
			r, err := push(ctx, h.Libp2p(), ai.ID, topic, msg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "status %d", r.Status)
			if r.Description != "" {
				fmt.Fprintf(out, " (%s)", r.Description)
			}
			fmt.Fprintln(out)
			if r.Status != lightpush.StatusOK {
				return fmt.Errorf("lightpush refused: %d", r.Status)
			}
			if !v2 {
				fmt.Fprintf(out, "relay peers %d\n", r.RelayPeers)
			}
			fmt.Fprintf(out, "message hash %s\n", wire.Hash(topic, msg))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&peerAddr, "peer", "", "service node multiaddr with /p2p/<id>")
	f.StringVar(&contentTopic, "content-topic", "", "content topic of the message")
	f.StringVar(&pubsubTopic, "pubsub-topic", "", "pubsub topic (default: the content topic's shard)")
	f.StringVar(&payload, "payload", "", "payload text")
	f.StringVar(&file, "file", "", "file whose bytes are the payload")
	f.Uint16Var(&cluster, "cluster", 1, "cluster of the service node")
	f.IntVar(&numShards, "num-shards", 8, "shards of the cluster, for autosharding")
	f.BoolVar(&v2, "v2", false, "use lightpush v2-beta1 (go-waku's)")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}
