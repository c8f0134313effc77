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
	"github.com/rlnd/rlnd/wire"
)

func newLightpushCmd(env []string) *cobra.Command {
	cmd := &cobra.Command{Use: "lightpush", Short: "Send messages through a lightpush service node"}
	cmd.AddCommand(newLightpushSendCmd(env))
	return cmd
}

// lightpushSendFlags holds the flags of lightpush send.
type lightpushSendFlags struct {
	peerAddr, contentTopic, pubsubTopic, payload, file string
	network                                            networkFlags
	v2                                                 bool
	timeout                                            time.Duration
}

func newLightpushSendCmd(env []string) *cobra.Command {
	var fl lightpushSendFlags
	cmd := &cobra.Command{
		Use:   "send --peer MULTIADDR --content-topic T (--payload TEXT | --file F) [--preset NAME | --config FILE]",
		Short: "Push one message to a lightpush service and print its answer",
		Long: "Send one message with lightpush v3 (or v2-beta1 with --v2) to a service node, which\n" +
			"attaches an RLN proof if it offers proof as a service, and relays it. The message goes on\n" +
			"--pubsub-topic, or on the content topic's shard in the cluster of --preset, --config or\n" +
			"the RLND_* environment (as rlnd node reads them; The Waku Network, cluster 1 with 8\n" +
			"shards, when nothing says otherwise); --cluster and --num-shards win. Prints the status\n" +
			"code with its name and the service's description, the number of relay peers and the\n" +
			"message hash. Exits 1 unless the status is 200.",
		Example: "  rlnd lightpush send --peer /ip4/127.0.0.1/tcp/60000/p2p/16Uiu2HAm... --content-topic /my-app/1/chat/proto --payload hello\n" +
			"  rlnd lightpush send --preset devnet --peer ... --content-topic /my-app/1/chat/proto --file msg.bin",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runLightpushSend(cmd, fl, env) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.peerAddr, "peer", "", "service node multiaddr with /p2p/<id>")
	f.StringVar(&fl.contentTopic, "content-topic", "", "content topic of the message")
	f.StringVar(&fl.pubsubTopic, "pubsub-topic", "", "pubsub topic (default: the content topic's shard)")
	f.StringVar(&fl.payload, "payload", "", "payload text")
	f.StringVar(&fl.file, "file", "", "file whose bytes are the payload")
	addNetworkFlags(cmd, &fl.network)
	f.BoolVar(&fl.v2, "v2", false, "use lightpush v2-beta1 (go-waku's)")
	f.DurationVar(&fl.timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}

// runLightpushSend is the body of lightpush send: it checks the flags,
// builds the message, pushes it and prints the answer.
func runLightpushSend(cmd *cobra.Command, fl lightpushSendFlags, env []string) error {
	if fl.peerAddr == "" || fl.contentTopic == "" || (fl.payload == "") == (fl.file == "") {
		return usageError{fmt.Errorf("--peer, --content-topic and one of --payload or --file are required")}
	}
	if fl.timeout <= 0 {
		return usageError{fmt.Errorf("--timeout %s: want a duration > 0", fl.timeout)}
	}
	ai, err := peer.AddrInfoFromString(fl.peerAddr)
	if err != nil {
		return usageError{fmt.Errorf("--peer %q: %w", fl.peerAddr, err)}
	}
	body := []byte(fl.payload)
	if fl.file != "" {
		f, err := os.Open(fl.file)
		if err != nil {
			return usageError{fmt.Errorf("--file: %w", err)}
		}
		body, err = readBounded(f)
		f.Close()
		if err != nil {
			return usageError{fmt.Errorf("--file %s: %w", fl.file, err)}
		}
	}
	nw, err := fl.network.resolve(cmd, env)
	if err != nil {
		return err
	}
	topic := fl.pubsubTopic
	if topic == "" {
		t, err := autoshard.ShardFor(fl.contentTopic, nw.cluster, nw.numShards)
		if err != nil {
			return usageError{fmt.Errorf("--content-topic: %w", err)}
		}
		topic = t.String()
	} else if _, err := autoshard.ParsePubsubTopic(topic); err != nil {
		return usageError{fmt.Errorf("--pubsub-topic: %w", err)}
	}
	msg := wire.NewMessage(fl.contentTopic, body, time.Now().UnixNano())
	if err := wire.CheckMessage(msg); err != nil {
		return usageError{err}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), fl.timeout)
	defer cancel()
	h, err := connectClient(ctx, nw, *ai)
	if err != nil {
		return err
	}
	defer h.Close()
	push := lightpush.Push
	if fl.v2 {
		push = lightpush.PushV2
	}
	r, err := push(ctx, h.Libp2p(), ai.ID, topic, msg)
	if err != nil {
		return lightpushService.explain(ai.ID, err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "status %s\n", lightpushStatus(r))
	if r.Status != lightpush.StatusOK {
		return fmt.Errorf("lightpush refused: status %s", lightpushStatus(r))
	}
	if !fl.v2 {
		fmt.Fprintf(out, "relay peers %d\n", r.RelayPeers)
	}
	fmt.Fprintf(out, "message hash %s\n", wire.Hash(topic, msg))
	return nil
}

// lightpushStatus is an answer's status: its code, nwaku's name of the
// code, and the service's description when it gave one ("429
// TOO_MANY_REQUESTS (quota...)").
func lightpushStatus(r *lightpush.Response) string {
	s := fmt.Sprintf("%d", r.Status)
	if name := r.Status.String(); name != s {
		s += " " + name
	}
	if r.Description != "" {
		s += " (" + r.Description + ")"
	}
	return s
}
