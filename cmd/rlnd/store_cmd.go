package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

func newStoreCmd(env []string) *cobra.Command {
	cmd := &cobra.Command{Use: "store", Short: "Query store nodes"}
	cmd.AddCommand(newStoreQueryCmd(env))
	return cmd
}

// storedJSON is one message of `rlnd store query --json`.
type storedJSON struct {
	Hash         string `json:"hash"`
	PubsubTopic  string `json:"pubsubTopic,omitempty"`
	ContentTopic string `json:"contentTopic,omitempty"`
	Timestamp    int64  `json:"timestamp,omitempty"`
	Payload      string `json:"payload,omitempty"` // base64
}

// storeQueryFlags holds the flags of store query.
type storeQueryFlags struct {
	peerAddr, contentTopic, pubsubTopic, start, end string
	hashes                                          []string
	pageSize                                        int
	network                                         networkFlags
	backward, asJSON, all                           bool
	timeout                                         time.Duration
}

func newStoreQueryCmd(env []string) *cobra.Command {
	var fl storeQueryFlags
	cmd := &cobra.Command{
		Use:   "query --peer MULTIADDR [--content-topic T] [--start T --end T] [--hash H] [--page-size N] [--preset NAME | --config FILE]",
		Short: "Query a store node (store v3) and print the messages",
		Long: "Query a store node for messages by content topic (its pubsub topic by autosharding in the\n" +
			"cluster of --preset, --config or the RLND_* environment, as rlnd node reads them, The Waku\n" +
			"Network's when nothing says otherwise, --cluster and --num-shards winning; or --pubsub-topic),\n" +
			"time range (RFC 3339 or Unix nanoseconds; start inclusive, end exclusive, start before end)\n" +
			"or message hashes, one page (--page-size, 1 to 100, default 20) or --all pages.",
		Example: "  rlnd store query --peer /ip4/127.0.0.1/tcp/60000/p2p/16Uiu2HAm... --content-topic /my-app/1/chat/proto\n" +
			"  rlnd store query --preset devnet --peer ... --content-topic /my-app/1/chat/proto --start 2026-06-01T12:00:00Z --end 2026-06-01T13:00:00Z\n" +
			"  rlnd store query --peer ... --hash 0x5f1d... --json",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStoreQuery(cmd, fl, env)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.peerAddr, "peer", "", "store node multiaddr with /p2p/<id> (required)")
	f.StringVar(&fl.contentTopic, "content-topic", "", "content topic")
	f.StringVar(&fl.pubsubTopic, "pubsub-topic", "", "pubsub topic (default: the content topic's shard)")
	f.StringVar(&fl.start, "start", "", "start time, inclusive (RFC 3339 or Unix ns)")
	f.StringVar(&fl.end, "end", "", "end time, exclusive (RFC 3339 or Unix ns)")
	f.StringSliceVar(&fl.hashes, "hash", nil, "message hash (0x + 64 hex digits); repeatable")
	f.IntVar(&fl.pageSize, "page-size", store.DefaultPageSize, fmt.Sprintf("messages per page, 1 to %d", store.MaxPageSize))
	f.BoolVar(&fl.all, "all", false, "follow the cursor through every page")
	f.BoolVar(&fl.backward, "backward", false, "page from the newest message back")
	addNetworkFlags(cmd, &fl.network)
	f.BoolVar(&fl.asJSON, "json", false, "print a JSON array")
	f.DurationVar(&fl.timeout, "timeout", 30*time.Second, "give up after this long")
	_ = cmd.MarkFlagRequired("peer")
	return cmd
}

// runStoreQuery is the body of store query: it checks the flags, connects
// to the store node, fetches one page or all of them and prints the
// messages.
func runStoreQuery(cmd *cobra.Command, fl storeQueryFlags, env []string) error {
	ai, err := peer.AddrInfoFromString(fl.peerAddr)
	if err != nil {
		return usageError{fmt.Errorf("--peer %q: %w", fl.peerAddr, err)}
	}
	if fl.timeout <= 0 {
		return usageError{fmt.Errorf("--timeout %s: want a duration > 0", fl.timeout)}
	}
	nw, err := fl.network.resolve(cmd, env)
	if err != nil {
		return err
	}
	req, err := storeQueryRequest(fl, nw)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), fl.timeout)
	defer cancel()
	h, err := connectClient(ctx, nw, *ai)
	if err != nil {
		return err
	}
	defer h.Close()
	out, err := queryStored(ctx, h.Libp2p(), ai.ID, req, fl.all)
	if err != nil {
		return err
	}
	return printStored(cmd.OutOrStdout(), out, fl.asJSON)
}

// storeQueryRequest builds the first page's request from the flags: the
// content topic and its pubsub topic (by autosharding in nw unless given),
// the time range and the message hashes. Its errors are usage errors.
func storeQueryRequest(fl storeQueryFlags, nw clientNetwork) (*storepb.StoreQueryRequest, error) {
	if err := flagRange("page-size", fl.pageSize, 1, store.MaxPageSize); err != nil {
		return nil, err
	}
	req := &storepb.StoreQueryRequest{IncludeData: true, PaginationForward: !fl.backward, PaginationLimit: proto.Uint64(uint64(fl.pageSize))}
	pubsubTopic := fl.pubsubTopic
	if fl.contentTopic != "" {
		req.ContentTopics = []string{fl.contentTopic}
		if pubsubTopic == "" {
			t, err := autoshard.ShardFor(fl.contentTopic, nw.cluster, nw.numShards)
			if err != nil {
				return nil, usageError{fmt.Errorf("--content-topic: %w", err)}
			}
			pubsubTopic = t.String()
		}
	}
	if pubsubTopic != "" {
		req.PubsubTopic = &pubsubTopic
	}
	for _, flag := range []struct {
		name, v string
		dst     **int64
	}{{"start", fl.start, &req.TimeStart}, {"end", fl.end, &req.TimeEnd}} {
		if flag.v == "" {
			continue
		}
		ns, err := parseTime(flag.v)
		if err != nil {
			return nil, usageError{fmt.Errorf("--%s: %w", flag.name, err)}
		}
		*flag.dst = &ns
	}
	if req.TimeStart != nil && req.TimeEnd != nil && *req.TimeStart >= *req.TimeEnd {
		return nil, usageError{fmt.Errorf("--start %s is not before --end %s: the range is start inclusive, end exclusive, so it would hold nothing; want a start before the end",
			fl.start, fl.end)}
	}
	for _, h := range fl.hashes {
		mh, err := wire.ParseMessageHash(h)
		if err != nil {
			return nil, usageError{fmt.Errorf("--hash %s: %w", h, err)}
		}
		req.MessageHashes = append(req.MessageHashes, mh[:])
	}
	return req, nil
}

// queryStored sends req to the store node p and collects the messages of
// the first page, or with all of every page, following the cursor.
func queryStored(ctx context.Context, h host.Host, p peer.ID, req *storepb.StoreQueryRequest, all bool) ([]storedJSON, error) {
	var out []storedJSON
	for {
		resp, err := store.QueryPeer(ctx, h, p, req)
		if err != nil {
			return nil, storeService.explain(p, err)
		}
		if store.StatusCode(resp.GetStatusCode()) != store.StatusOK {
			return nil, fmt.Errorf("store answered %d: %s", resp.GetStatusCode(), resp.GetStatusDesc())
		}
		for _, kv := range resp.Messages {
			m := kv.GetMessage()
			out = append(out, storedJSON{Hash: "0x" + hex.EncodeToString(kv.MessageHash), PubsubTopic: kv.GetPubsubTopic(),
				ContentTopic: m.GetContentTopic(), Timestamp: m.GetTimestamp(), Payload: base64.StdEncoding.EncodeToString(m.GetPayload())})
		}
		if !all || resp.PaginationCursor == nil {
			return out, nil
		}
		req.PaginationCursor, req.RequestId = resp.PaginationCursor, ""
	}
}

// printStored writes the messages as an indented JSON array (empty, not
// null, when there are none), or as one line each and a count.
func printStored(w io.Writer, out []storedJSON, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if out == nil {
			out = []storedJSON{}
		}
		return enc.Encode(out)
	}
	for _, m := range out {
		payload, _ := base64.StdEncoding.DecodeString(m.Payload)
		fmt.Fprintf(w, "%s %s %s %q\n", m.Hash, time.Unix(0, m.Timestamp).UTC().Format(time.RFC3339Nano), m.ContentTopic, payload)
	}
	fmt.Fprintf(w, "%d messages\n", len(out))
	return nil
}

// parseTime reads RFC 3339 (2006-01-02T15:04:05Z, with a zone) or Unix
// nanoseconds: digits alone, nothing before or after them.
func parseTime(s string) (int64, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), nil
	}
	if s != "" && strings.Trim(s, "0123456789") == "" {
		if ns, err := strconv.ParseInt(s, 10, 64); err == nil {
			return ns, nil
		}
		return 0, fmt.Errorf("%q is past the largest Unix time in nanoseconds, %d", s, int64(math.MaxInt64))
	}
	return 0, fmt.Errorf("%q is not a time: want RFC 3339 (2006-01-02T15:04:05Z) or Unix nanoseconds (digits only)", s)
}
