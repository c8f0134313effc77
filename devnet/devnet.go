// Package devnet is the local demo network behind `rlnd devnet` and
// `make demo`: the embedded dev chain with the registry and its members,
// relay nodes built by node.New and linked on loopback (network.go); the
// honest publishers, the hostile node, the light clients and the store and
// filter clients (actors.go); what reached whom (recorder.go); and the
// verdict (report.go).
package devnet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// ContentTopic is the content topic every devnet message is published on.
const ContentTopic = "/rlnd/1/devnet/proto"

// Config configures Run.
type Config struct {
	// Nodes is the number of relay nodes (default 6, at least 2).
	Nodes int
	// Duration is how long honest members publish (default 10 s).
	Duration time.Duration
	// Members is the number of honest publishing members (default 4).
	Members int
	// Interval is the time between honest publishes (default 200 ms).
	Interval time.Duration
	// Spam is how many over-rate messages the spammer sends, Invalid how
	// many messages with broken proofs the other hostile member sends
	// (default 3 each).
	Spam, Invalid int
	// ArtefactsDir holds the RLN ceremony artefacts ("" finds them).
	ArtefactsDir string
	// Progress receives a line per step; nil discards them.
	Progress io.Writer
	Logger   *slog.Logger
}

// withDefaults fills in what c leaves zero and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Nodes == 0 {
		c.Nodes = 6
	}
	if c.Nodes < 2 {
		return c, fmt.Errorf("devnet: at least 2 nodes, not %d", c.Nodes)
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Members <= 0 {
		c.Members = 4
	}
	if c.Interval <= 0 {
		c.Interval = 200 * time.Millisecond
	}
	if c.Spam == 0 {
		c.Spam = 3
	}
	if c.Invalid == 0 {
		c.Invalid = 3
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// say writes one progress line.
func (c *Config) say(format string, a ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", a...)
	}
}

// Run starts the network, registers members, publishes valid, over-rate
// and invalid messages, has light clients push through proof as a
// service, streams to a filter client, lets a store client that was
// offline page through the archive, and reports what reached whom.
func Run(ctx context.Context, c Config) (*Report, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	n, err := Start(ctx, c)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	rep, err := n.exercise(ctx)
	if err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// exercise runs the actors on a started network and tallies the report.
func (n *Network) exercise(ctx context.Context) (*Report, error) {
	c := &n.cfg
	lc, err := n.newLightClients(ctx, 3)
	if err != nil {
		return nil, err
	}
	c.say("a lightpush service on node %d attaches proofs for 3 light clients (quota %d per epoch)", n.lightpushAt, lightpushQuota)
	if err := n.subscribeFilter(ctx); err != nil {
		return nil, err
	}
	c.say("a filter client subscribed at node %d; node %d archives for a store client that is offline", n.filterAt, n.storeAt)

	c.say("publishing for %s: %d honest members, one every %s", c.Duration, c.Members, c.Interval)
	if err := n.publishPhase(ctx, lc); err != nil {
		return nil, err
	}
	rep := n.rec.settle(ctx, n)
	if err := n.retrieveFromStore(ctx, rep); err != nil {
		return nil, err
	}
	rep.ProofsAttached = n.nodes[n.lightpushAt].Lightpush().ProofsAttached()
	// A grace period, not a synchronisation: duplicates and any hostile
	// message that leaked would arrive after the last expected delivery,
	// so time passes before they are counted.
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(straggler):
	}
	n.rec.tally(rep, n)
	return rep, nil
}

// straggler is how long the run waits for late duplicates and leaks.
const straggler = time.Second
