package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/relay"
)

// Bounds of filter subscribe.
const (
	// filterRequestTimeout bounds connecting and each filter request
	// (subscribe, ping, unsubscribe).
	filterRequestTimeout = 30 * time.Second
	// minPingInterval and maxPingInterval bound --ping-interval: a
	// service forgets a subscriber it has not heard from for 5 minutes
	// (nwaku's and rlnd's filter.DefaultExpiry).
	minPingInterval = time.Second
	maxPingInterval = 4 * time.Minute
	// maxFilterContentTopics is the most content topics one subscription
	// may name (nwaku's and rlnd's per request).
	maxFilterContentTopics = filter.DefaultMaxContentTopicsPerRequest
)

func newFilterCmd(env []string) *cobra.Command {
	cmd := &cobra.Command{Use: "filter", Short: "Stream messages from a filter service node"}
	cmd.AddCommand(newFilterSubscribeCmd(env))
	return cmd
}

// filterSubscribeFlags holds the flags of filter subscribe.
type filterSubscribeFlags struct {
	peerAddr, pubsubTopic string
	contentTopics         []string
	network               networkFlags
	pingInterval, timeout time.Duration
	count                 int
	asJSON                bool
}

// filteredJSON is one message `rlnd filter subscribe --json` prints.
type filteredJSON struct {
	PubsubTopic  string `json:"pubsubTopic,omitempty"`
	Hash         string `json:"hash,omitempty"`
	ContentTopic string `json:"contentTopic"`
	Timestamp    int64  `json:"timestamp,omitempty"`
	Payload      string `json:"payload"` // base64
	Meta         string `json:"meta,omitempty"`
	Ephemeral    bool   `json:"ephemeral,omitempty"`
}

func newFilterSubscribeCmd(env []string) *cobra.Command {
	var fl filterSubscribeFlags
	cmd := &cobra.Command{
		Use:   "subscribe --peer MULTIADDR --content-topic T [--content-topic T ...] [--pubsub-topic P] [--preset NAME | --config FILE]",
		Short: "Subscribe at a filter service node and print its messages as they arrive",
		Long: "Subscribe as a filter v2 light client (/vac/waku/filter-subscribe/2.0.0-beta1) at a service\n" +
			"node to content topics, on --pubsub-topic or each on its shard by autosharding in the cluster\n" +
			"of --preset, --config or the RLND_* environment (as rlnd node reads them; The Waku Network,\n" +
			"cluster 1 with 8 shards, when nothing says otherwise; --cluster and --num-shards win), and\n" +
			"print each message the service pushes, one line each: time (RFC 3339, UTC), content topic,\n" +
			"payload (as text when it is printable UTF-8, else base64:...) and message hash; with --json\n" +
			"one JSON object per line. It pings the service every --ping-interval to keep the\n" +
			"subscription (subscribing again if the service lost it), and stops after --count messages,\n" +
			"after --timeout (exit 1 if --count was not reached) or on SIGINT/SIGTERM, then unsubscribes.\n" +
			"A service that refuses the subscription exits 1 with its status and reason.",
		Example: "  rlnd filter subscribe --preset devnet --peer /ip4/127.0.0.1/tcp/60000/p2p/16Uiu2HAm... --content-topic /my-app/1/chat/proto\n" +
			"  rlnd filter subscribe --peer ... --content-topic /my-app/1/chat/proto --content-topic /my-app/1/presence/proto --count 10 --json\n" +
			"  rlnd filter subscribe --peer ... --pubsub-topic /waku/2/rs/66/3 --content-topic /my-app/1/chat/proto --timeout 1m",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runFilterSubscribe(cmd, fl, env) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.peerAddr, "peer", "", "filter service node multiaddr with /p2p/<id> (required)")
	f.StringArrayVar(&fl.contentTopics, "content-topic", nil, fmt.Sprintf("content topic to subscribe to; repeatable, 1 to %d", maxFilterContentTopics))
	f.StringVar(&fl.pubsubTopic, "pubsub-topic", "", "pubsub topic /waku/2/rs/<cluster>/<shard> of every content topic (default: each content topic's shard)")
	addNetworkFlags(cmd, &fl.network)
	f.DurationVar(&fl.pingInterval, "ping-interval", time.Minute, fmt.Sprintf("how often to ping the service to keep the subscription, %s to %s", minPingInterval, maxPingInterval))
	f.IntVar(&fl.count, "count", 0, "stop after this many messages (0: no limit)")
	f.DurationVar(&fl.timeout, "timeout", 0, "stop after this long (0: no limit)")
	f.BoolVar(&fl.asJSON, "json", false, "print one JSON object per message, one per line")
	return cmd
}

// filterGroup is one subscription request: content topics on one pubsub
// topic.
type filterGroup struct {
	pubsubTopic   string
	contentTopics []string
}

// filterGroups checks filter subscribe's flags and places the content
// topics on their pubsub topics, in the order given. Its errors are usage
// errors.
func filterGroups(fl filterSubscribeFlags, nw clientNetwork) ([]filterGroup, error) {
	if fl.peerAddr == "" {
		return nil, usageError{errors.New("--peer is required (the filter service node's multiaddr with /p2p/<id>)")}
	}
	if len(fl.contentTopics) == 0 {
		return nil, usageError{errors.New("--content-topic is required (repeat it for several)")}
	}
	if n := len(fl.contentTopics); n > maxFilterContentTopics {
		return nil, usageError{fmt.Errorf("--content-topic given %d times: want 1 to %d content topics", n, maxFilterContentTopics)}
	}
	if fl.pingInterval < minPingInterval || fl.pingInterval > maxPingInterval {
		return nil, usageError{fmt.Errorf("--ping-interval %s: want %s to %s (the service forgets a subscriber after 5m without a ping)", fl.pingInterval, minPingInterval, maxPingInterval)}
	}
	if fl.count < 0 {
		return nil, usageError{fmt.Errorf("--count %d: want 0 (no limit) or more", fl.count)}
	}
	if fl.timeout < 0 {
		return nil, usageError{fmt.Errorf("--timeout %s: want 0 (no limit) or more", fl.timeout)}
	}
	if fl.pubsubTopic != "" {
		if _, err := autoshard.ParsePubsubTopic(fl.pubsubTopic); err != nil {
			return nil, usageError{fmt.Errorf("--pubsub-topic: %w", err)}
		}
		for _, ct := range fl.contentTopics {
			if ct == "" {
				return nil, usageError{errors.New("--content-topic is empty")}
			}
		}
		return []filterGroup{{pubsubTopic: fl.pubsubTopic, contentTopics: dedupe(fl.contentTopics)}}, nil
	}
	var groups []filterGroup
	for _, ct := range dedupe(fl.contentTopics) {
		t, err := autoshard.ShardFor(ct, nw.cluster, nw.numShards)
		if err != nil {
			return nil, usageError{fmt.Errorf("--content-topic (placed by autosharding without --pubsub-topic): %w", err)}
		}
		i := slices.IndexFunc(groups, func(g filterGroup) bool { return g.pubsubTopic == t.String() })
		if i < 0 {
			groups = append(groups, filterGroup{pubsubTopic: t.String()})
			i = len(groups) - 1
		}
		groups[i].contentTopics = append(groups[i].contentTopics, ct)
	}
	return groups, nil
}

// dedupe is ss without repeats, in order.
func dedupe(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// filterSession is one running filter subscribe: the client, the service
// peer and the subscriptions.
type filterSession struct {
	c      *filter.Client
	p      peer.ID
	groups []filterGroup
}

// subscribe makes every subscription, each request within
// filterRequestTimeout. A refusal is the service's status and reason.
func (s filterSession) subscribe(ctx context.Context) error {
	for _, g := range s.groups {
		rctx, cancel := context.WithTimeout(ctx, filterRequestTimeout)
		err := s.c.Subscribe(rctx, s.p, g.pubsubTopic, g.contentTopics)
		cancel()
		if err != nil {
			return filterError("subscribe to "+strings.Join(g.contentTopics, ", ")+" on "+g.pubsubTopic, s.p, err)
		}
	}
	return nil
}

// unsubscribe ends every subscription; the first failure is returned.
func (s filterSession) unsubscribe(ctx context.Context) error {
	var first error
	for _, g := range s.groups {
		rctx, cancel := context.WithTimeout(ctx, unsubscribeTimeout)
		err := s.c.Unsubscribe(rctx, s.p, g.pubsubTopic, g.contentTopics)
		cancel()
		if err != nil && first == nil {
			first = filterError("unsubscribe from "+g.pubsubTopic, s.p, err)
		}
	}
	return first
}

// ping refreshes the subscription; one the service lost (404: it expired
// or the service restarted) is made again, and said so on w.
func (s filterSession) ping(ctx context.Context, w io.Writer) error {
	rctx, cancel := context.WithTimeout(ctx, filterRequestTimeout)
	err := s.c.Ping(rctx, s.p)
	cancel()
	var se *filter.StatusError
	if errors.As(err, &se) && se.Code == filter.StatusNotFound {
		if err := s.subscribe(ctx); err != nil {
			return err
		}
		fmt.Fprintf(w, "the service had lost the subscription (ping: %d %s); subscribed again\n", se.Code, se.Code)
		return nil
	}
	if err != nil {
		return filterError("ping", s.p, err)
	}
	return nil
}

// filterError says what a filter request to p met: the service's refusal
// (its status, name and reason), a peer without filter, or the failure.
func filterError(what string, p peer.ID, err error) error {
	var se *filter.StatusError
	if errors.As(err, &se) {
		return fmt.Errorf("filter %s: the service refused: status %d %s (%s)", what, se.Code, se.Code, se.Description)
	}
	return fmt.Errorf("filter %s: %w", what, filterService.explain(p, err))
}

// runFilterSubscribe is the body of filter subscribe: subscribe, print
// what is pushed and ping, until the count, the timeout or the command's
// context ends it, then unsubscribe.
func runFilterSubscribe(cmd *cobra.Command, fl filterSubscribeFlags, env []string) (err error) {
	nw, err := fl.network.resolve(cmd, env)
	if err != nil {
		return err
	}
	groups, err := filterGroups(fl, nw)
	if err != nil {
		return err
	}
	ai, err := peer.AddrInfoFromString(fl.peerAddr)
	if err != nil {
		return usageError{fmt.Errorf("--peer %q: %w", fl.peerAddr, err)}
	}
	ctx := cmd.Context()
	if fl.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, fl.timeout)
		defer cancel()
	}
	cctx, cancel := context.WithTimeout(ctx, filterRequestTimeout)
	h, err := connectClient(cctx, nw, *ai, filter.StreamLimits())
	cancel()
	if err != nil {
		return err
	}
	defer h.Close()
	s := filterSession{c: filter.NewClient(h.Libp2p()), p: ai.ID, groups: groups}
	defer s.c.Close()
	// The subscription is made whole even if the command is stopped
	// meanwhile (the service would keep it until it expires); the stop
	// is seen right after, and unsubscribes.
	if err := s.subscribe(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	for _, g := range groups {
		fmt.Fprintf(stderr, "subscribed to %s on %s at %s; pinging every %s\n", strings.Join(g.contentTopics, ", "), g.pubsubTopic, ai.ID, fl.pingInterval)
	}
	got := 0
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), unsubscribeTimeout)
		defer cancel()
		if uerr := s.unsubscribe(uctx); uerr != nil {
			if err == nil {
				err = uerr
			} else {
				err = fmt.Errorf("%w; %v", err, uerr)
			}
			return
		}
		dropped := ""
		if n := s.c.Dropped(); n > 0 {
			dropped = fmt.Sprintf(" (%d more dropped: printing fell behind)", n)
		}
		fmt.Fprintf(stderr, "%d messages%s; unsubscribed\n", got, dropped)
	}()
	out := cmd.OutOrStdout()
	tick := time.NewTicker(fl.pingInterval)
	defer tick.Stop()
	for fl.count == 0 || got < fl.count {
		select {
		case <-ctx.Done():
			return filterEnd(cmd.Context(), fl, got)
		case <-tick.C:
			if err := s.ping(ctx, stderr); err != nil {
				if ctx.Err() != nil {
					return filterEnd(cmd.Context(), fl, got)
				}
				return err
			}
		case e, ok := <-s.c.C():
			if !ok {
				return errors.New("filter: the client stopped")
			}
			if err := printFiltered(out, e, fl.asJSON); err != nil {
				return err
			}
			got++
		}
	}
	return nil
}

// filterEnd is the result of a subscription whose context ended: the
// command's own (SIGINT) is a normal end, as is --timeout without
// --count; --timeout before --count messages is an error.
func filterEnd(cmdCtx context.Context, fl filterSubscribeFlags, got int) error {
	if cmdCtx.Err() != nil || fl.count == 0 {
		return nil
	}
	return fmt.Errorf("filter subscribe: %d of %d messages within --timeout %s", got, fl.count, fl.timeout)
}

// printFiltered prints one pushed message: a line of time, content topic,
// payload and hash, or a JSON object.
func printFiltered(w io.Writer, env *relay.Envelope, asJSON bool) error {
	m := env.Message
	hash := ""
	if env.PubsubTopic != "" {
		hash = env.Hash.String()
	}
	payload := base64.StdEncoding.EncodeToString(m.GetPayload())
	if asJSON {
		out := filteredJSON{PubsubTopic: env.PubsubTopic, Hash: hash, ContentTopic: m.GetContentTopic(), Timestamp: m.GetTimestamp(),
			Payload: payload, Ephemeral: m.GetEphemeral()}
		if len(m.GetMeta()) > 0 {
			out.Meta = base64.StdEncoding.EncodeToString(m.GetMeta())
		}
		return json.NewEncoder(w).Encode(out)
	}
	when := "-"
	if ts := m.GetTimestamp(); ts != 0 {
		when = time.Unix(0, ts).UTC().Format(time.RFC3339Nano)
	}
	if hash == "" {
		hash = "-"
	}
	_, err := fmt.Fprintf(w, "%s %s %s %s\n", when, m.GetContentTopic(), payloadText(payload), hash)
	return err
}
