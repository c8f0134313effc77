package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/devnet"
)

// errDevnetFailed makes the command exit 1 after printing its report.
var errDevnetFailed = errors.New("devnet: not every valid message reached every node, or hostile traffic got through")

func newDevnetCmd() *cobra.Command {
	var (
		dc     devnet.Config
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Run a local network end to end and report what happened",
		Long: "Start the embedded dev chain, register members, run relay nodes on loopback that sync\n" +
			"the registry, publish messages with RLN proofs from several members, run a spammer that\n" +
			"exceeds its rate and a sender of invalid proofs through a hostile node, has light clients\n" +
			"without memberships publish through a lightpush service that attaches proofs, then report\n" +
			"deliveries, latency and what was stopped. Exits 0 only if every valid message reached\n" +
			"every node and no spam or invalid message got past its first hop.",
		Example: "  rlnd devnet\n  rlnd devnet --nodes 10 --duration 30s --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkDevnetFlags(dc); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !asJSON {
				dc.Progress = out
			}
			rep, err := devnet.Run(cmd.Context(), dc)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printDevnet(out, rep)
			}
			if !rep.OK() {
				return errDevnetFailed
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&dc.Nodes, "nodes", 6, fmt.Sprintf("relay nodes to run, 2 to %d", maxDevnetNodes))
	cmd.Flags().DurationVar(&dc.Duration, "duration", 10*time.Second, "how long members publish (> 0)")
	cmd.Flags().IntVar(&dc.Members, "members", 4, fmt.Sprintf("honest publishing members, 1 to %d", maxDevnetMembers))
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object instead of the readable summary")
	return cmd
}

// Bounds of rlnd devnet's flags: one machine runs every node (each a full
// node validating every proof) and registers every member (the honest
// ones and four more) in batches of 16 from one dev account.
const (
	maxDevnetNodes   = 50
	maxDevnetMembers = 100
)

// checkDevnetFlags refuses values the devnet package would replace with
// its defaults (0 nodes or members) or cannot run, naming the range.
func checkDevnetFlags(dc devnet.Config) error {
	if err := flagRange("nodes", dc.Nodes, 2, maxDevnetNodes); err != nil {
		return err
	}
	if err := flagRange("members", dc.Members, 1, maxDevnetMembers); err != nil {
		return err
	}
	if dc.Duration <= 0 {
		return usageError{fmt.Errorf("--duration %s: want a duration > 0", dc.Duration)}
	}
	return nil
}

func printDevnet(w io.Writer, r *devnet.Report) {
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n== devnet: %s ==\n", verdict)
	fmt.Fprintf(w, "nodes                    %d (chain %d, registry %s)\n", r.Nodes, r.ChainID, r.Contract)
	fmt.Fprintf(w, "discovery                every node connected to at least %d of the other %d via discv5 from node 0's ENR (no static peers), in %.1f s\n",
		r.DiscoveryPeersMin, r.Nodes-1, r.DiscoverySeconds)
	fmt.Fprintf(w, "valid messages           %d published by %d members + the spammer's one within its rate\n", r.Published, r.Members)
	fmt.Fprintf(w, "deliveries               %d of %d expected (ratio %.3f)\n", r.Delivered, r.Expected, r.DeliveredRatio)
	fmt.Fprintf(w, "latency                  p50 %.1f ms, p99 %.1f ms (publish to delivery)\n", r.P50LatencyMs, r.P99LatencyMs)
	fmt.Fprintf(w, "duplicates per message   %.2f\n", r.DuplicatesPerMessage)
	fmt.Fprintf(w, "spam (over the rate)     %d sent, %d delivered\n", r.SpamPublished, r.SpamDelivered)
	fmt.Fprintf(w, "invalid proofs           %d sent, %d delivered\n", r.InvalidPublished, r.InvalidDelivered)
	fmt.Fprintf(w, "double signals detected  %d (spammer's secret recovered: %v)\n", r.DoubleSignalsDetected, r.SecretsRecovered)
	fmt.Fprintf(w, "rejected past first hop  %d\n", r.RejectedBeyondFirstHop)
	fmt.Fprintf(w, "lightpush                %d sent by 3 light clients, %d accepted with a proof attached (%d proofs), %d delivered to every node, %d refused over quota (429)\n",
		r.LightpushSent, r.LightpushAccepted, r.ProofsAttached, r.LightpushDelivered, r.LightpushRejected429)
	fmt.Fprintf(w, "store                    %d of %d valid messages retrieved by a client that was offline\n", r.StoreRetrieved, r.StoreOfflinePublished)
	fmt.Fprintf(w, "filter                   %d of %d valid messages streamed to a filter client\n", r.FilterReceived, r.StoreOfflinePublished)
	fmt.Fprintf(w, "run time                 %.1f s\n", r.Seconds)
}
