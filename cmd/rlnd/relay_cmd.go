package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/rest/client"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// Defaults and bounds of the relay commands.
const (
	// defaultRESTURL is rest.address's default, as a URL.
	defaultRESTURL = "http://127.0.0.1:8645"
	// minPollInterval bounds subscribe's --interval from below: a node
	// polled faster than this gains nothing (it keeps the messages).
	minPollInterval = 100 * time.Millisecond
	// unsubscribeTimeout bounds the unsubscription subscribe makes on its
	// way out, after its own context may have ended.
	unsubscribeTimeout = 5 * time.Second
)

func newRelayCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "relay", Short: "Publish and receive relay messages through a node's REST API"}
	cmd.AddCommand(newRelayPublishCmd(), newRelaySubscribeCmd())
	return cmd
}

// relayPublishFlags holds the flags of relay publish.
type relayPublishFlags struct {
	rest, contentTopic, pubsubTopic, payload, payloadFile, meta, timestamp string
	ephemeral, asJSON                                                      bool
	timeout                                                                time.Duration
}

// publishedJSON is the line `rlnd relay publish --json` prints.
type publishedJSON struct {
	Published    bool   `json:"published"`
	PubsubTopic  string `json:"pubsubTopic,omitempty"` // empty: autosharding by the node
	ContentTopic string `json:"contentTopic"`
	PayloadBytes int    `json:"payloadBytes"`
	Timestamp    int64  `json:"timestamp,omitempty"` // 0: stamped by the node
	// Hash is the message hash (RFC 14), known when the pubsub topic and
	// the timestamp are given.
	Hash string `json:"hash,omitempty"`
}

func newRelayPublishCmd() *cobra.Command {
	var fl relayPublishFlags
	cmd := &cobra.Command{
		Use:   "publish --content-topic T [--pubsub-topic T] [--payload TEXT | --payload-file F] [--rest URL]",
		Short: "Publish one message through a node's REST API",
		Long: "Publish one message through a node's REST API (nwaku's /relay/v1): on --pubsub-topic, or on the\n" +
			"content topic's shard by autosharding. The payload is --payload, the bytes of --payload-file, or\n" +
			"stdin. The node stamps a message without --timestamp, and proves it with its own membership\n" +
			"(rln.keystore) when RLN is on. Prints what was published, or with --json one JSON line; an\n" +
			"answer other than 200 is printed with its HTTP status and text, and exits 1.",
		Example: "  rlnd relay publish --content-topic /my-app/1/chat/proto --payload hello\n" +
			"  rlnd relay publish --rest http://127.0.0.1:8646 --pubsub-topic /waku/2/rs/66/3 --content-topic /my-app/1/chat/proto --payload-file msg.bin --json\n" +
			"  printf hello | rlnd relay publish --content-topic /my-app/1/chat/proto --meta v1 --ephemeral",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRelayPublish(cmd, fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.rest, "rest", defaultRESTURL, "the node's REST API (rest.address)")
	f.StringVar(&fl.contentTopic, "content-topic", "", "content topic of the message (required)")
	f.StringVar(&fl.pubsubTopic, "pubsub-topic", "", "pubsub topic /waku/2/rs/<cluster>/<shard> (default: the content topic's shard, by the node's autosharding)")
	f.StringVar(&fl.payload, "payload", "", "payload text (default: --payload-file, else stdin)")
	f.StringVar(&fl.payloadFile, "payload-file", "", "file whose bytes are the payload")
	f.StringVar(&fl.meta, "meta", "", fmt.Sprintf("meta field, as text (at most %d bytes)", wire.MaxMetaSize))
	f.BoolVar(&fl.ephemeral, "ephemeral", false, "mark the message ephemeral (store nodes do not keep it)")
	f.StringVar(&fl.timestamp, "timestamp", "", "message timestamp, RFC 3339 or Unix nanoseconds (default: stamped by the node)")
	f.BoolVar(&fl.asJSON, "json", false, "print one JSON line")
	f.DurationVar(&fl.timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}

// runRelayPublish is the body of relay publish: it checks the flags,
// builds the message and publishes it through the node's API.
func runRelayPublish(cmd *cobra.Command, fl relayPublishFlags) error {
	if fl.timeout <= 0 {
		return usageError{fmt.Errorf("--timeout %s: want a duration > 0", fl.timeout)}
	}
	msg, wm, err := relayPublishMessage(cmd, fl)
	if err != nil {
		return err
	}
	c, err := client.New(fl.rest, nil)
	if err != nil {
		return usageError{fmt.Errorf("--rest: %w", err)}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), fl.timeout)
	defer cancel()
	if fl.pubsubTopic != "" {
		err = c.RelayPublish(ctx, fl.pubsubTopic, msg)
	} else {
		err = c.RelayAutoPublish(ctx, msg)
	}
	if err != nil {
		return nodeError("publish", fl.rest, err)
	}
	res := publishedJSON{Published: true, PubsubTopic: fl.pubsubTopic, ContentTopic: fl.contentTopic,
		PayloadBytes: len(wm.GetPayload()), Timestamp: wm.GetTimestamp()}
	if fl.pubsubTopic != "" && wm.Timestamp != nil {
		res.Hash = wire.Hash(fl.pubsubTopic, wm).String()
	}
	out := cmd.OutOrStdout()
	if fl.asJSON {
		return json.NewEncoder(out).Encode(res)
	}
	where := "on " + fl.pubsubTopic
	if fl.pubsubTopic == "" {
		where = "on the content topic's shard (the node's autosharding)"
	}
	fmt.Fprintf(out, "published %d bytes on content topic %s %s", res.PayloadBytes, res.ContentTopic, where)
	if res.Timestamp != 0 {
		fmt.Fprintf(out, ", timestamp %d", res.Timestamp)
	} else {
		fmt.Fprint(out, ", stamped by the node")
	}
	fmt.Fprintln(out)
	if res.Hash != "" {
		fmt.Fprintf(out, "message hash %s\n", res.Hash)
	}
	return nil
}

// relayPublishMessage builds the message from the flags, checked as the
// node checks it: the API's JSON form and the WakuMessage it stands for.
// Its errors are usage errors.
func relayPublishMessage(cmd *cobra.Command, fl relayPublishFlags) (api.Message, *messagepb.WakuMessage, error) {
	if fl.contentTopic == "" {
		return api.Message{}, nil, usageError{errors.New("--content-topic is required")}
	}
	if fl.pubsubTopic == "" {
		if _, err := autoshard.ParseContentTopic(fl.contentTopic); err != nil {
			return api.Message{}, nil, usageError{fmt.Errorf("--content-topic (placed by autosharding without --pubsub-topic): %w", err)}
		}
	} else if _, err := autoshard.ParsePubsubTopic(fl.pubsubTopic); err != nil {
		return api.Message{}, nil, usageError{fmt.Errorf("--pubsub-topic: %w", err)}
	}
	payload, err := relayPayload(cmd, fl)
	if err != nil {
		return api.Message{}, nil, err
	}
	msg := api.Message{Payload: base64.StdEncoding.EncodeToString(payload), ContentTopic: fl.contentTopic}
	if fl.meta != "" {
		if len(fl.meta) > wire.MaxMetaSize {
			return api.Message{}, nil, usageError{fmt.Errorf("--meta is %d bytes, at most %d", len(fl.meta), wire.MaxMetaSize)}
		}
		msg.Meta = base64.StdEncoding.EncodeToString([]byte(fl.meta))
	}
	if fl.ephemeral {
		msg.Ephemeral = &fl.ephemeral
	}
	if fl.timestamp != "" {
		ns, err := relayTimestamp(fl.timestamp)
		if err != nil {
			return api.Message{}, nil, usageError{err}
		}
		msg.Timestamp = &ns
	}
	wm, err := msg.ToWaku(0)
	if err != nil {
		return api.Message{}, nil, usageError{err}
	}
	return msg, wm, nil
}

// relayPayload reads the payload: --payload, --payload-file or stdin, at
// most wire.MaxMessageSize bytes and not empty (nwaku's API refuses an
// empty payload).
func relayPayload(cmd *cobra.Command, fl relayPublishFlags) ([]byte, error) {
	if fl.payload != "" && fl.payloadFile != "" {
		return nil, usageError{errors.New("--payload and --payload-file: give one (or neither, to read stdin)")}
	}
	var (
		payload []byte
		from    string
	)
	switch {
	case fl.payload != "":
		payload, from = []byte(fl.payload), "--payload"
	case fl.payloadFile != "":
		f, err := os.Open(fl.payloadFile)
		if err != nil {
			return nil, usageError{fmt.Errorf("--payload-file: %w", err)}
		}
		defer f.Close()
		if payload, err = readBounded(f); err != nil {
			return nil, usageError{fmt.Errorf("--payload-file %s: %w", fl.payloadFile, err)}
		}
		from = "--payload-file " + fl.payloadFile
	default:
		in := cmd.InOrStdin()
		if f, ok := in.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "reading the payload from the terminal (end with Ctrl-D; or give --payload / --payload-file)")
			}
		}
		var err error
		if payload, err = readBounded(in); err != nil {
			return nil, usageError{fmt.Errorf("payload from stdin: %w", err)}
		}
		from = "stdin (no --payload or --payload-file)"
	}
	if len(payload) == 0 {
		return nil, usageError{fmt.Errorf("the payload from %s is empty; the API wants a payload of 1 byte or more", from)}
	}
	return payload, nil
}

// readBounded reads r whole, refusing more than wire.MaxMessageSize bytes.
func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, wire.MaxMessageSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > wire.MaxMessageSize {
		return nil, fmt.Errorf("over %d bytes, the largest message", wire.MaxMessageSize)
	}
	return b, nil
}

// relayTimestamp reads --timestamp: RFC 3339, or Unix nanoseconds (all
// digits); it must be after the Unix epoch.
func relayTimestamp(s string) (int64, error) {
	var ns int64
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		ns = t.UnixNano()
	} else if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		ns = n
	} else {
		return 0, fmt.Errorf("--timestamp %q: want RFC 3339 (2006-01-02T15:04:05Z) or Unix nanoseconds", s)
	}
	if ns <= 0 {
		return 0, fmt.Errorf("--timestamp %q: want a time after 1970-01-01T00:00:00Z", s)
	}
	return ns, nil
}

// nodeError says what failed: the node's answer (an *client.Error: its
// HTTP status and text) or that the node did not answer.
func nodeError(what, restURL string, err error) error {
	if client.StatusOf(err) != 0 {
		return fmt.Errorf("%s: the node answered %w", what, err)
	}
	return fmt.Errorf("%s: no answer from the REST API at %s (is the node running with rest.enabled?): %w", what, restURL, err)
}

// relaySubscribeFlags holds the flags of relay subscribe.
type relaySubscribeFlags struct {
	rest, contentTopic, pubsubTopic string
	interval, timeout               time.Duration
	count                           int
	asJSON                          bool
}

// relayedJSON is one message `rlnd relay subscribe --json` prints: the
// API's message, with its pubsub topic and hash when subscribed by pubsub
// topic.
type relayedJSON struct {
	PubsubTopic string `json:"pubsubTopic,omitempty"`
	Hash        string `json:"hash,omitempty"`
	api.Message
}

func newRelaySubscribeCmd() *cobra.Command {
	var fl relaySubscribeFlags
	cmd := &cobra.Command{
		Use:   "subscribe (--content-topic T | --pubsub-topic T [--content-topic T]) [--count N] [--timeout D] [--rest URL]",
		Short: "Subscribe through a node's REST API and print the messages it relays",
		Long: "Subscribe to a content topic (its shard by the node's autosharding) or a pubsub topic (with\n" +
			"--content-topic too: only that content topic's messages are printed) through a node's REST API,\n" +
			"fetch the messages the node keeps every --interval, and print each: time, content topic and\n" +
			"payload (as text when it is printable UTF-8, else base64:...), or with --json one JSON object\n" +
			"per line (the API's message, payload in base64). Stops after --count messages, after --timeout\n" +
			"(exit 1 if --count was not reached) or on SIGINT, and unsubscribes. The node keeps its API's\n" +
			"subscriptions for every caller alike: unsubscribing ends another client's subscription to the\n" +
			"same topic too.",
		Example: "  rlnd relay subscribe --content-topic /my-app/1/chat/proto\n" +
			"  rlnd relay subscribe --rest http://127.0.0.1:8646 --pubsub-topic /waku/2/rs/66/3 --count 10 --timeout 1m --json\n" +
			"  rlnd relay subscribe --content-topic /my-app/1/chat/proto --interval 250ms",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRelaySubscribe(cmd, fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.rest, "rest", defaultRESTURL, "the node's REST API (rest.address)")
	f.StringVar(&fl.contentTopic, "content-topic", "", "content topic to subscribe to (with --pubsub-topic: to print only)")
	f.StringVar(&fl.pubsubTopic, "pubsub-topic", "", "pubsub topic /waku/2/rs/<cluster>/<shard> to subscribe to")
	f.DurationVar(&fl.interval, "interval", time.Second, "how often to fetch the messages (at least 100ms)")
	f.IntVar(&fl.count, "count", 0, "stop after this many messages (0: no limit)")
	f.DurationVar(&fl.timeout, "timeout", 0, "stop after this long (0: no limit)")
	f.BoolVar(&fl.asJSON, "json", false, "print one JSON object per message, one per line")
	return cmd
}

// checkSubscribeFlags validates relay subscribe's flags.
func checkSubscribeFlags(fl relaySubscribeFlags) error {
	switch {
	case fl.contentTopic == "" && fl.pubsubTopic == "":
		return errors.New("--content-topic or --pubsub-topic is required")
	case fl.pubsubTopic != "":
		if _, err := autoshard.ParsePubsubTopic(fl.pubsubTopic); err != nil {
			return fmt.Errorf("--pubsub-topic: %w", err)
		}
	default:
		if _, err := autoshard.ParseContentTopic(fl.contentTopic); err != nil {
			return fmt.Errorf("--content-topic (placed by autosharding without --pubsub-topic): %w", err)
		}
	}
	if fl.interval < minPollInterval {
		return fmt.Errorf("--interval %s: want at least %s", fl.interval, minPollInterval)
	}
	if fl.count < 0 {
		return fmt.Errorf("--count %d: want 0 (no limit) or more", fl.count)
	}
	if fl.timeout < 0 {
		return fmt.Errorf("--timeout %s: want 0 (no limit) or more", fl.timeout)
	}
	return nil
}

// relaySubscription is what relay subscribe needs of the API for its
// topic: pubsub or content topic.
type relaySubscription struct {
	c      *client.Client
	topic  string
	byAuto bool // a content topic (autosharding)
}

func (s relaySubscription) subscribe(ctx context.Context) error {
	if s.byAuto {
		return s.c.RelayAutoSubscribe(ctx, s.topic)
	}
	return s.c.RelaySubscribe(ctx, s.topic)
}

func (s relaySubscription) unsubscribe(ctx context.Context) error {
	if s.byAuto {
		return s.c.RelayAutoUnsubscribe(ctx, s.topic)
	}
	return s.c.RelayUnsubscribe(ctx, s.topic)
}

func (s relaySubscription) messages(ctx context.Context) ([]api.Message, error) {
	if s.byAuto {
		return s.c.RelayAutoMessages(ctx, s.topic)
	}
	return s.c.RelayMessages(ctx, s.topic)
}

// runRelaySubscribe is the body of relay subscribe: subscribe, poll and
// print until the count, the timeout or the command's context ends it,
// then unsubscribe.
func runRelaySubscribe(cmd *cobra.Command, fl relaySubscribeFlags) (err error) {
	if err := checkSubscribeFlags(fl); err != nil {
		return usageError{err}
	}
	c, err := client.New(fl.rest, nil)
	if err != nil {
		return usageError{fmt.Errorf("--rest: %w", err)}
	}
	sub := relaySubscription{c: c, topic: fl.pubsubTopic}
	if fl.pubsubTopic == "" {
		sub = relaySubscription{c: c, topic: fl.contentTopic, byAuto: true}
	}
	ctx := cmd.Context()
	if fl.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, fl.timeout)
		defer cancel()
	}
	// The subscription is made whole even if the command is stopped
	// meanwhile (the node would keep it, unsubscribed by nobody); the stop
	// is seen right after, and unsubscribes.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), client.DefaultTimeout)
	err = sub.subscribe(sctx)
	scancel()
	if err != nil {
		return nodeError("subscribe to "+sub.topic, fl.rest, err)
	}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "subscribed to %s at %s; fetching every %s\n", sub.topic, fl.rest, fl.interval)
	got := 0
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), unsubscribeTimeout)
		defer cancel()
		if uerr := sub.unsubscribe(uctx); uerr != nil {
			uerr = nodeError("unsubscribe from "+sub.topic, fl.rest, uerr)
			if err == nil {
				err = uerr
			} else {
				err = fmt.Errorf("%w; %v", err, uerr)
			}
			return
		}
		fmt.Fprintf(stderr, "%d messages; unsubscribed from %s\n", got, sub.topic)
	}()
	p := relayPrinter{w: cmd.OutOrStdout(), asJSON: fl.asJSON, pubsubTopic: fl.pubsubTopic}
	tick := time.NewTicker(fl.interval)
	defer tick.Stop()
	for fl.count == 0 || got < fl.count {
		select {
		case <-ctx.Done():
			return subscribeEnd(cmd.Context(), fl, got)
		case <-tick.C:
		}
		msgs, err := sub.messages(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return subscribeEnd(cmd.Context(), fl, got)
			}
			return nodeError("fetch the messages of "+sub.topic, fl.rest, err)
		}
		for _, m := range msgs {
			if fl.pubsubTopic != "" && fl.contentTopic != "" && m.ContentTopic != fl.contentTopic {
				continue
			}
			if err := p.print(m); err != nil {
				return err
			}
			got++
			if fl.count > 0 && got == fl.count {
				break
			}
		}
	}
	return nil
}

// subscribeEnd is the result of a subscription whose context ended: the
// command's own (SIGINT) is a normal end, as is --timeout without
// --count; --timeout before --count messages is an error.
func subscribeEnd(cmdCtx context.Context, fl relaySubscribeFlags, got int) error {
	if cmdCtx.Err() != nil || fl.count == 0 {
		return nil
	}
	return fmt.Errorf("subscribe: %d of %d messages within --timeout %s", got, fl.count, fl.timeout)
}

// relayPrinter prints subscribe's messages.
type relayPrinter struct {
	w           io.Writer
	asJSON      bool
	pubsubTopic string // "" when subscribed by content topic
}

func (p relayPrinter) print(m api.Message) error {
	if p.asJSON {
		out := relayedJSON{PubsubTopic: p.pubsubTopic, Message: m}
		if p.pubsubTopic != "" {
			if wm, err := m.ToWaku(0); err == nil {
				out.Hash = wire.Hash(p.pubsubTopic, wm).String()
			}
		}
		return json.NewEncoder(p.w).Encode(out)
	}
	when := "-"
	if m.Timestamp != nil && *m.Timestamp != 0 {
		when = time.Unix(0, *m.Timestamp).UTC().Format(time.RFC3339Nano)
	}
	_, err := fmt.Fprintf(p.w, "%s %s %s\n", when, m.ContentTopic, payloadText(m.Payload))
	return err
}

// payloadText is a base64 payload as text when it is printable UTF-8
// (spaces, no control characters), else "base64:" and the base64.
func payloadText(b64 string) string {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "base64:" + b64
	}
	if !utf8.Valid(b) {
		return "base64:" + b64
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) {
			return "base64:" + b64
		}
	}
	return string(b)
}
