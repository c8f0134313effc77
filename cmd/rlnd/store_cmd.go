package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

func newStoreCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "store", Short: "Query store nodes"}
	cmd.AddCommand(newStoreQueryCmd())
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
	cluster                                         uint16
	numShards                                       int
	backward, asJSON, all                           bool
	timeout                                         time.Duration
}

func newStoreQueryCmd() *cobra.Command {
	var fl storeQueryFlags
	cmd := &cobra.Command{
		Use:   "query --peer MULTIADDR [--content-topic T] [--start T --end T] [--hash H] [--page-size N]",
		Short: "Query a store node (store v3) and print the messages",
		Long: "Query a store node for messages by content topic (its pubsub topic by autosharding, or\n" +
			"--pubsub-topic), time range (RFC 3339 or Unix nanoseconds; start inclusive, end exclusive)\n" +
			"or message hashes, one page (--page-size, default 20, at most 100) or --all pages.",
		Example: "  rlnd store query --peer /ip4/127.0.0.1/tcp/60000/p2p/16Uiu2HAm... --content-topic /my-app/1/chat/proto\n" +
			"  rlnd store query --peer ... --hash 0x5f1d... --json",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStoreQuery(cmd, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.peerAddr, "peer", "", "store node multiaddr with /p2p/<id> (required)")
	f.StringVar(&fl.contentTopic, "content-topic", "", "content topic")
	f.StringVar(&fl.pubsubTopic, "pubsub-topic", "", "pubsub topic (default: the content topic's shard)")
	f.StringVar(&fl.start, "start", "", "start time, inclusive (RFC 3339 or Unix ns)")
	f.StringVar(&fl.end, "end", "", "end time, exclusive (RFC 3339 or Unix ns)")
	f.StringSliceVar(&fl.hashes, "hash", nil, "message hash (0x + 64 hex digits); repeatable")
	f.IntVar(&fl.pageSize, "page-size", 20, "messages per page (at most 100)")
	f.BoolVar(&fl.all, "all", false, "follow the cursor through every page")
	f.BoolVar(&fl.backward, "backward", false, "page from the newest message back")
	f.Uint16Var(&fl.cluster, "cluster", 1, "cluster of the store node")
	f.IntVar(&fl.numShards, "num-shards", 8, "shards of the cluster, for autosharding")
	f.BoolVar(&fl.asJSON, "json", false, "print a JSON array")
	f.DurationVar(&fl.timeout, "timeout", 30*time.Second, "give up after this long")
	_ = cmd.MarkFlagRequired("peer")
	return cmd
}

// runStoreQuery is the body of store query: it checks the flags, connects
// to the store node, fetches one page or all of them and prints the
// messages.
func runStoreQuery(cmd *cobra.Command, fl storeQueryFlags) error {
	ai, err := peer.AddrInfoFromString(fl.peerAddr)
	if err != nil {
		return usageError{fmt.Errorf("--peer %q: %w", fl.peerAddr, err)}
	}
	req, err := storeQueryRequest(fl)
	if err != nil {
		return err
	}
	h, err := p2p.NewHost(p2p.HostConfig{ClusterID: fl.cluster, TolerateNoMetadata: true})
	if err != nil {
		return err
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), fl.timeout)
	defer cancel()
	if _, err := h.Connect(ctx, *ai); err != nil {
		return fmt.Errorf("connect to %s: %w", ai.ID, err)
	}
	out, err := queryStored(ctx, h.Libp2p(), ai.ID, req, fl.all)
	if err != nil {
		return err
	}
	return printStored(cmd.OutOrStdout(), out, fl.asJSON)
}

// storeQueryRequest builds the first page's request from the flags: the
// content topic and its pubsub topic (by autosharding unless given), the
// time range and the message hashes. Its errors are usage errors.
func storeQueryRequest(fl storeQueryFlags) (*storepb.StoreQueryRequest, error) {
	req := &storepb.StoreQueryRequest{IncludeData: true, PaginationForward: !fl.backward, PaginationLimit: proto.Uint64(uint64(fl.pageSize))}
	pubsubTopic := fl.pubsubTopic
	if fl.contentTopic != "" {
		req.ContentTopics = []string{fl.contentTopic}
		if pubsubTopic == "" {
			t, err := autoshard.ShardFor(fl.contentTopic, fl.cluster, fl.numShards)
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
		v   string
		dst **int64
	}{{fl.start, &req.TimeStart}, {fl.end, &req.TimeEnd}} {
		if flag.v == "" {
			continue
		}
		ns, err := parseTime(flag.v)
		if err != nil {
			return nil, usageError{err}
		}
		*flag.dst = &ns
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
			return nil, err
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

// parseTime reads RFC 3339 or Unix nanoseconds.
func parseTime(s string) (int64, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), nil
	}
	var ns int64
	if _, err := fmt.Sscanf(s, "%d", &ns); err != nil {
		return 0, fmt.Errorf("time %q: RFC 3339 or Unix nanoseconds expected", s)
	}
	return ns, nil
}
