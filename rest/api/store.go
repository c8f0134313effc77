package api

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/rlnd/rlnd/wire"
)

// ErrBadStoreQuery wraps what is wrong with a store query's parameters.
var ErrBadStoreQuery = errors.New("bad store query")

// Store query parameter names (nwaku's GET /store/v3/messages).
const (
	ParamPeerAddr      = "peerAddr"
	ParamIncludeData   = "includeData"
	ParamPubsubTopic   = "pubsubTopic"
	ParamContentTopics = "contentTopics"
	ParamStartTime     = "startTime"
	ParamEndTime       = "endTime"
	ParamHashes        = "hashes"
	ParamCursor        = "cursor"
	ParamPageSize      = "pageSize"
	ParamAscending     = "ascending"
)

// Bounds of a store query, as nwaku applies them: a page size above
// MaxStorePageSize is clamped to it, none asks DefaultStorePageSize.
// MaxStoreHashes bounds the hashes one query may look up.
const (
	DefaultStorePageSize = 20
	MaxStorePageSize     = 100
	MaxStoreHashes       = 100
)

// StoreQuery is GET /store/v3/messages's parameters. The zero value asks
// the default: the hashes of the 20 oldest messages of every topic, from
// the node's store service.
type StoreQuery struct {
	// PeerAddr is the store node to ask (a multiaddr with /p2p/<id>);
	// empty: the node's configured store service node, else its own
	// archive, else a connected store peer.
	PeerAddr string
	// IncludeData asks the messages and their pubsub topics, not only
	// their hashes.
	IncludeData bool
	// PubsubTopic and ContentTopics filter the messages; content topics
	// need the pubsub topic.
	PubsubTopic   string
	ContentTopics []string
	// StartTime (inclusive) and EndTime (exclusive) bound the messages'
	// timestamps, in Unix nanoseconds (> 0); nil: unbounded.
	StartTime, EndTime *int64
	// Hashes looks messages up by hash.
	Hashes []wire.MessageHash
	// Cursor is a previous answer's PaginationCursor: the page after it.
	Cursor *wire.MessageHash
	// PageSize is the messages per page (0: 20; above 100: 100).
	PageSize uint64
	// Backward pages from the newest message towards the oldest (nwaku's
	// ascending=false); the default pages forward from the oldest.
	Backward bool
}

// Values encodes q as nwaku's query parameters; the default values are
// left out.
func (q StoreQuery) Values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set(ParamPeerAddr, q.PeerAddr)
	if q.IncludeData {
		v.Set(ParamIncludeData, "true")
	}
	set(ParamPubsubTopic, q.PubsubTopic)
	set(ParamContentTopics, strings.Join(q.ContentTopics, ","))
	if q.StartTime != nil {
		v.Set(ParamStartTime, strconv.FormatInt(*q.StartTime, 10))
	}
	if q.EndTime != nil {
		v.Set(ParamEndTime, strconv.FormatInt(*q.EndTime, 10))
	}
	hashes := make([]string, len(q.Hashes))
	for i, h := range q.Hashes {
		hashes[i] = HexHash(h[:])
	}
	set(ParamHashes, strings.Join(hashes, ","))
	if q.Cursor != nil {
		v.Set(ParamCursor, HexHash(q.Cursor[:]))
	}
	if q.PageSize != 0 {
		v.Set(ParamPageSize, strconv.FormatUint(q.PageSize, 10))
	}
	if q.Backward {
		v.Set(ParamAscending, "false")
	}
	return v
}

// ParseStoreQuery reads GET /store/v3/messages's parameters as nwaku
// (logos-delivery rest/kernel_api/store) reads them: an absent or empty
// parameter takes its default; includeData is a boolean (true/false,
// yes/no, on/off, 1/0, y/n); contentTopics and hashes are comma-separated;
// hashes and cursor are 32-byte message hashes in hex, with or without
// 0x; startTime and endTime are Unix nanoseconds > 0; pageSize is an
// unsigned integer, clamped to 100; ascending is true or false. A value
// still URL-encoded (nwaku decodes once more) is decoded. What is wrong
// is an error wrapping ErrBadStoreQuery that names the parameter.
func ParseStoreQuery(v url.Values) (StoreQuery, error) {
	var q StoreQuery
	get := func(k string) string { return strings.TrimSpace(decodeAgain(strings.TrimSpace(v.Get(k)))) }
	bad := func(k, format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadStoreQuery, k, fmt.Sprintf(format, a...))
	}
	q.PeerAddr = get(ParamPeerAddr)
	if s := get(ParamIncludeData); s != "" {
		b, ok := parseNimBool(s)
		if !ok {
			return StoreQuery{}, bad(ParamIncludeData, "%q is not a boolean; want true or false", s)
		}
		q.IncludeData = b
	}
	q.PubsubTopic = get(ParamPubsubTopic)
	if s := get(ParamContentTopics); s != "" {
		for ct := range strings.SplitSeq(s, ",") {
			ct = strings.TrimSpace(ct)
			if ct == "" {
				return StoreQuery{}, bad(ParamContentTopics, "%q has an empty topic; want comma-separated content topics", s)
			}
			q.ContentTopics = append(q.ContentTopics, ct)
		}
	}
	for _, p := range []struct {
		key string
		to  **int64
	}{{ParamStartTime, &q.StartTime}, {ParamEndTime, &q.EndTime}} {
		s := get(p.key)
		if s == "" {
			continue
		}
		t, err := strconv.ParseInt(s, 10, 64)
		if err != nil || t <= 0 {
			return StoreQuery{}, bad(p.key, "%q is not a time; want Unix nanoseconds > 0", s)
		}
		*p.to = &t
	}
	if q.StartTime != nil && q.EndTime != nil && *q.StartTime > *q.EndTime {
		return StoreQuery{}, bad(ParamStartTime, "%d is after endTime %d", *q.StartTime, *q.EndTime)
	}
	if s := get(ParamHashes); s != "" {
		parts := strings.Split(s, ",")
		if len(parts) > MaxStoreHashes {
			return StoreQuery{}, bad(ParamHashes, "%d hashes, at most %d", len(parts), MaxStoreHashes)
		}
		for _, part := range parts {
			h, err := ParseHash(strings.TrimSpace(part))
			if err != nil {
				return StoreQuery{}, bad(ParamHashes, "%v", err)
			}
			q.Hashes = append(q.Hashes, h)
		}
	}
	if s := get(ParamCursor); s != "" {
		h, err := ParseHash(s)
		if err != nil {
			return StoreQuery{}, bad(ParamCursor, "%v", err)
		}
		q.Cursor = &h
	}
	if s := get(ParamPageSize); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return StoreQuery{}, bad(ParamPageSize, "%q is not a page size; want an integer from 0 to %d (larger is clamped)", s, MaxStorePageSize)
		}
		q.PageSize = min(n, MaxStorePageSize)
	}
	switch s := get(ParamAscending); s {
	case "", "true":
	case "false":
		q.Backward = true
	default:
		return StoreQuery{}, bad(ParamAscending, "%q; want true or false", s)
	}
	return q, nil
}

// decodeAgain decodes a parameter value that is still URL-encoded, as
// nwaku decodes each value once more after the query string's decoding;
// a value that does not decode is kept as it is.
func decodeAgain(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// parseNimBool reads a boolean as nwaku (Nim's parseBool) does, without
// regard to case or underscores.
func parseNimBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "")) {
	case "y", "yes", "true", "1", "on":
		return true, true
	case "n", "no", "false", "0", "off":
		return false, true
	}
	return false, false
}

// HexHash is a message hash as nwaku's REST API writes it: 0x and
// lowercase hex.
func HexHash(h []byte) string { return "0x" + hex.EncodeToString(h) }

// ParseHash reads a message hash in hex (32 bytes), with or without 0x.
func ParseHash(s string) (wire.MessageHash, error) {
	var h wire.MessageHash
	raw := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	b, err := hex.DecodeString(raw)
	if err != nil {
		return h, fmt.Errorf("%q is not hex; want a 32-byte message hash in hex (0x and 64 digits)", s)
	}
	if len(b) != len(h) {
		return h, fmt.Errorf("%q is %d bytes; want a 32-byte message hash in hex (0x and 64 digits)", s, len(b))
	}
	copy(h[:], b)
	return h, nil
}

// StoreQueryResponse is GET /store/v3/messages's answer (nwaku's
// StoreQueryResponseHex): the store node's status, the messages and the
// cursor of the next page (absent on the last).
type StoreQueryResponse struct {
	RequestID  string `json:"requestId"`
	StatusCode uint32 `json:"statusCode"`
	StatusDesc string `json:"statusDesc"`
	// Messages is never null.
	Messages         []StoreMessage `json:"messages"`
	PaginationCursor string         `json:"paginationCursor,omitempty"`
}

// Cursor is the answer's pagination cursor, for the next query (nil on
// the last page).
func (r StoreQueryResponse) Cursor() (*wire.MessageHash, error) {
	if r.PaginationCursor == "" {
		return nil, nil
	}
	h, err := ParseHash(r.PaginationCursor)
	if err != nil {
		return nil, fmt.Errorf("paginationCursor: %w", err)
	}
	return &h, nil
}

// StoreMessage is one message of a store answer (nwaku's
// WakuMessageKeyValueHex): its hash in hex, and the message and its
// pubsub topic when the query included data.
type StoreMessage struct {
	MessageHash string   `json:"messageHash"`
	Message     *Message `json:"message,omitempty"`
	PubsubTopic string   `json:"pubsubTopic,omitempty"`
}
