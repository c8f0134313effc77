package rest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/internal/promutil"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rest/api"
)

// Filter paths: nwaku's waku_api/rest/filter, and go-waku's messages
// path by pubsub and content topic.
const (
	PathFilterSubscriptions    = "/filter/v2/subscriptions"
	PathFilterSubscriptionsAll = "/filter/v2/subscriptions/all"
	PathFilterPing             = "/filter/v2/subscriptions/{requestId}"
	PathFilterMessages         = "/filter/v2/messages/{contentTopic}"
	PathFilterTopicMessages    = "/filter/v2/messages/{pubsubTopic}/{contentTopic}"
)

const (
	// filterOpTimeout bounds one subscription call to the service peer,
	// dial included (nwaku's futTimeoutForSubscriptionProcessing).
	filterOpTimeout = 5 * time.Second
	// filterKeepAlive is how often the service peers holding the API's
	// subscriptions are pinged; a failed ping makes the API subscribe
	// again. nwaku's REST API leaves this to its caller (GET
	// /filter/v2/subscriptions/{requestId}); its filter clients
	// (filter_subscriber, chat2) ping every 60 s and subscribe again when
	// the ping fails, well within the service's 5 min expiry.
	filterKeepAlive = time.Minute
	// filterCloseTimeout bounds the unsubscriptions sent on Close.
	filterCloseTimeout = 3 * time.Second
	// maxFilterTopicLength bounds a topic of a filter request, as the
	// filter service bounds content topics.
	maxFilterTopicLength = filter.DefaultMaxContentTopicLength
)

// nwaku's descriptions of the answers it makes itself (kind: cause).
const (
	filterNoPeer        = "SERVICE_UNAVAILABLE: No suitable service peer & no discovery method"
	filterDecodeFailure = "BAD_REQUEST: Failed to decode request: "
)

// filterKey is one (pubsub topic, content topic) subscribed through the
// API; the pubsub topic is the autosharded shard when the request named
// none.
type filterKey struct{ pubsub, content string }

// filterSub is one subscription: the service peer holding it and the
// messages it pushed that were not fetched yet, oldest first.
type filterSub struct {
	peer peer.ID
	msgs []*relay.Envelope
}

// filterGroup is the content topics of a request on one pubsub topic.
type filterGroup struct {
	pubsub   string
	contents []string
}

// filterState is the API's filter client: its subscriptions at service
// peers and the messages pushed for them.
type filterState struct {
	s       *Server
	client  *filter.Client // nil without a host: no service peer
	op      chan struct{}  // held by one subscription change at a time
	dropped prometheus.Counter

	mu   sync.Mutex
	subs map[filterKey]*filterSub
}

func (s *Server) routeFilter(r chi.Router) {
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "rlnd_rest_filter_cache_dropped_total",
		Help: "Messages pushed to the REST API's filter subscriptions dropped from a full cache before they were fetched (the oldest go)."})
	if s.cfg.Registerer != nil {
		c, err := promutil.Register(s.cfg.Registerer, dropped)
		if err != nil {
			s.log.Warn("rest: filter metrics", "err", err)
		} else {
			dropped = c
		}
	}
	f := &filterState{s: s, op: make(chan struct{}, 1), dropped: dropped, subs: map[filterKey]*filterSub{}}
	s.filter = f
	if s.cfg.Host != nil {
		f.client = filter.NewClient(s.cfg.Host)
		s.wg.Add(2)
		go f.drain()
		go f.keepAlive()
	}
	r.Post(PathFilterSubscriptions, f.subscribe)
	r.Put(PathFilterSubscriptions, f.subscribe)
	r.Delete(PathFilterSubscriptions, f.unsubscribe)
	r.Delete(PathFilterSubscriptionsAll, f.unsubscribeAll)
	r.Get(PathFilterPing, f.ping)
	r.Get(PathFilterMessages, f.messages)
	r.Get(PathFilterTopicMessages, f.messages)
}

// closeFilter ends the API's subscriptions at their service peers (for at
// most filterCloseTimeout) and stops receiving pushes. The server's
// context has ended: a change in progress ends shortly, and none starts
// after.
func (s *Server) closeFilter() {
	f := s.filter
	if f == nil || f.client == nil {
		return
	}
	f.op <- struct{}{} // kept: no change after Close
	ctx, cancel := context.WithTimeout(context.Background(), filterCloseTimeout)
	defer cancel()
	for _, p := range f.heldPeers() {
		if err := f.client.UnsubscribeAll(ctx, p); err != nil {
			s.log.Debug("rest: filter: unsubscribing on close", "peer", p, "err", err)
		}
	}
	f.mu.Lock()
	clear(f.subs)
	f.mu.Unlock()
	f.client.Close()
}

// drain keeps the messages the service peers push until the server
// closes.
func (f *filterState) drain() {
	defer f.s.wg.Done()
	for {
		select {
		case <-f.s.ctx.Done():
			return
		case env, open := <-f.client.C():
			if !open {
				return
			}
			f.keep(env)
		}
	}
}

// keep caches a pushed message under its subscription, if it came from
// the peer holding that subscription; a full cache drops its oldest.
func (f *filterState) keep(env *relay.Envelope) {
	k := filterKey{pubsub: env.PubsubTopic, content: env.Message.GetContentTopic()}
	f.mu.Lock()
	defer f.mu.Unlock()
	sub := f.subs[k]
	if sub == nil || sub.peer != env.From {
		return
	}
	if len(sub.msgs) >= f.s.cfg.CacheCapacity {
		n := len(sub.msgs) - f.s.cfg.CacheCapacity + 1
		sub.msgs = slices.Delete(sub.msgs, 0, n)
		f.dropped.Add(float64(n))
	}
	sub.msgs = append(sub.msgs, env)
}

// keepAlive pings the service peers every filterKeepAlive until the
// server closes.
func (f *filterState) keepAlive() {
	defer f.s.wg.Done()
	t := time.NewTicker(filterKeepAlive)
	defer t.Stop()
	for {
		select {
		case <-f.s.ctx.Done():
			return
		case <-t.C:
			f.maintain(f.s.ctx)
		}
	}
}

// maintain pings each service peer holding subscriptions; where the ping
// fails (the peer expired or lost them, or is gone) it subscribes to all
// of them again, at the service peer a request would use now (the same
// one unless it changed), and when they moved, ends them at the old one.
func (f *filterState) maintain(ctx context.Context) {
	if !f.acquire(ctx) {
		return
	}
	defer f.release()
	held := f.held()
	for _, p := range slices.Sorted(maps.Keys(held)) {
		pctx, cancel := context.WithTimeout(ctx, filterOpTimeout)
		err := f.call(pctx, p, func(ctx context.Context) error { return f.client.Ping(ctx, p) })
		cancel()
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		target := p
		if q, ok := f.servicePeer(); ok {
			target = q
		}
		f.s.log.Info("rest: filter: service peer lost the subscriptions; subscribing again", "peer", p, "to", target,
			"subscriptions", len(held[p]), "ping", err)
		if f.resubscribe(ctx, target, held[p]) && target != p {
			uctx, cancel := context.WithTimeout(ctx, filterOpTimeout)
			_ = f.client.UnsubscribeAll(uctx, p)
			cancel()
		}
	}
}

// resubscribe subscribes keys at p, at most the service's content topics
// per request; it reports whether all were.
func (f *filterState) resubscribe(ctx context.Context, p peer.ID, keys []filterKey) bool {
	all := true
	for _, g := range groupKeys(keys) {
		for chunk := range slices.Chunk(g.contents, filter.DefaultMaxContentTopicsPerRequest) {
			cctx, cancel := context.WithTimeout(ctx, filterOpTimeout)
			err := f.call(cctx, p, func(ctx context.Context) error { return f.client.Subscribe(ctx, p, g.pubsub, chunk) })
			cancel()
			if err != nil {
				f.s.log.Warn("rest: filter: subscribing again failed; retrying at the next keep-alive", "peer", p,
					"pubsub_topic", g.pubsub, "content_topics", len(chunk), "err", err)
				all = false
				continue
			}
			f.hold(p, filterGroup{pubsub: g.pubsub, contents: chunk})
		}
	}
	return all
}

// acquire takes the right to change subscriptions; false when ctx ended
// first.
func (f *filterState) acquire(ctx context.Context) bool {
	select {
	case f.op <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (f *filterState) release() { <-f.op }

// servicePeer is the filter service peer of a request: the configured
// service node, else a connected peer that serves filter. The node's own
// filter service is not a peer of itself.
func (f *filterState) servicePeer() (peer.ID, bool) {
	if f.client == nil {
		return "", false
	}
	self := f.s.cfg.Host.ID()
	for _, pick := range []func(protocol.ID) (peer.ID, bool){f.s.cfg.ServiceNode, f.s.cfg.ConnectedService} {
		if pick == nil {
			continue
		}
		if p, ok := pick(filter.ProtocolSubscribe); ok && p != "" && p != self {
			return p, true
		}
	}
	return "", false
}

// dialError is a service peer that could not be reached, or that does
// not serve filter (nwaku's PEER_DIAL_FAILURE).
type dialError struct {
	p   peer.ID
	err error
}

func (e *dialError) Error() string { return fmt.Sprintf("%s: %v", e.p, e.err) }
func (e *dialError) Unwrap() error { return e.err }

// call connects to p and makes one filter request there.
func (f *filterState) call(ctx context.Context, p peer.ID, req func(context.Context) error) error {
	if err := f.s.cfg.Host.Connect(ctx, peer.AddrInfo{ID: p}); err != nil {
		return &dialError{p: p, err: err}
	}
	err := req(ctx)
	if errors.Is(err, msmux.ErrNotSupported[protocol.ID]{}) {
		return &dialError{p: p, err: err}
	}
	return err
}

// filterFailure is nwaku's answer to a failed filter call: the service's
// status and description when it refused, else what went wrong.
// timedOut is nwaku's description of the call's timeout.
func filterFailure(err error, timedOut string) (int, string) {
	var se *filter.StatusError
	var de *dialError
	switch {
	case errors.As(err, &se):
		desc := se.Description
		if desc == "" {
			desc = "filter subscribe error"
		}
		switch se.Code {
		case filter.StatusBadRequest:
			return http.StatusBadRequest, desc
		case filter.StatusNotFound:
			return http.StatusNotFound, desc
		case filter.StatusTooManyRequests:
			return http.StatusTooManyRequests, desc
		case filter.StatusUnavailable:
			return http.StatusServiceUnavailable, desc
		}
		return http.StatusInternalServerError, fmt.Sprintf("the service peer answered status %d, which filter does not define: %s", se.Code, desc)
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE: " + timedOut
	case errors.As(err, &de):
		return http.StatusGatewayTimeout, de.Error()
	}
	return http.StatusInternalServerError, err.Error()
}

// filterAnswer answers with nwaku's FilterSubscriptionResponse.
func filterAnswer(w http.ResponseWriter, status int, requestID, desc string) {
	writeJSON(w, status, api.FilterSubscriptionResponse{RequestID: requestID, StatusDesc: desc})
}

// readFilterBody reads a subscription request's body with decode. On an
// error it has answered (400 with what was wrong, 413 over the body
// bound), with request id "unknown" as nwaku does, and returns false.
func readFilterBody[T any](w http.ResponseWriter, r *http.Request, decode func([]byte) (T, error)) (T, bool) {
	var zero T
	fail := func(status int, why string) (T, bool) {
		filterAnswer(w, status, "unknown", filterDecodeFailure+why)
		return zero, false
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return fail(http.StatusBadRequest, fmt.Sprintf("Wrong Content-Type %q, expected application/json", ct))
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", tooBig.Limit))
		}
		return fail(http.StatusBadRequest, "reading the request body: "+err.Error())
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return fail(http.StatusBadRequest, "Missing content body")
	}
	v, err := decode(body)
	if err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	return v, true
}

// groups checks a request's topics and groups its content topics by
// pubsub topic: the one given, else each content topic's autosharded
// shard (nwaku's client shards them itself too). status is 0 when they
// are fine, else the answer.
func (f *filterState) groups(pubsub string, contents []string) (gs []filterGroup, status int, desc string) {
	bad := func(format string, a ...any) ([]filterGroup, int, string) {
		return nil, http.StatusBadRequest, "BAD_REQUEST: " + fmt.Sprintf(format, a...)
	}
	if n := filter.DefaultMaxContentTopicsPerRequest; len(contents) > n {
		return bad("exceeds maximum content topics: %d (the request has %d)", n, len(contents))
	}
	if len(pubsub) > maxFilterTopicLength {
		return bad("pubsubTopic of %d bytes, at most %d allowed", len(pubsub), maxFilterTopicLength)
	}
	byTopic := map[string][]string{}
	for i, ct := range contents {
		if ct == "" {
			return bad("contentFilters[%d] is empty; want a content topic such as /app/1/chat/proto", i)
		}
		if len(ct) > maxFilterTopicLength {
			return bad("contentFilters[%d] is a content topic of %d bytes, at most %d allowed", i, len(ct), maxFilterTopicLength)
		}
		t := pubsub
		if t == "" {
			var err error
			if t, err = f.s.cfg.Relay.TopicFor(ct); err != nil {
				return bad("no pubsubTopic given and content topic %q cannot be autosharded (%v); give a pubsubTopic or a content topic /app/version/name/encoding", ct, err)
			}
		}
		if !slices.Contains(byTopic[t], ct) {
			byTopic[t] = append(byTopic[t], ct)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(byTopic)) {
		gs = append(gs, filterGroup{pubsub: t, contents: byTopic[t]})
	}
	return gs, 0, ""
}

// keysOf lists the keys of groups.
func keysOf(gs []filterGroup) []filterKey {
	var out []filterKey
	for _, g := range gs {
		for _, ct := range g.contents {
			out = append(out, filterKey{pubsub: g.pubsub, content: ct})
		}
	}
	return out
}

// groupKeys groups keys by pubsub topic, sorted.
func groupKeys(keys []filterKey) []filterGroup {
	by := map[string][]string{}
	for _, k := range keys {
		by[k.pubsub] = append(by[k.pubsub], k.content)
	}
	gs := make([]filterGroup, 0, len(by))
	for _, t := range slices.Sorted(maps.Keys(by)) {
		gs = append(gs, filterGroup{pubsub: t, contents: by[t]})
	}
	return gs
}

// held returns the subscriptions by the peer holding them.
func (f *filterState) held() map[peer.ID][]filterKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[peer.ID][]filterKey{}
	for k, sub := range f.subs {
		out[sub.peer] = append(out[sub.peer], k)
	}
	for _, keys := range out {
		slices.SortFunc(keys, compareKeys)
	}
	return out
}

func compareKeys(a, b filterKey) int {
	return cmp.Or(cmp.Compare(a.pubsub, b.pubsub), cmp.Compare(a.content, b.content))
}

// heldPeers lists the peers holding subscriptions, sorted.
func (f *filterState) heldPeers() []peer.ID {
	return slices.Sorted(maps.Keys(f.held()))
}

// room checks that the groups' new subscriptions fit in MaxSubscriptions.
func (f *filterState) room(gs []filterGroup) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	added := 0
	for _, k := range keysOf(gs) {
		if f.subs[k] == nil {
			added++
		}
	}
	if limit := f.s.cfg.MaxSubscriptions; len(f.subs)+added > limit {
		return fmt.Errorf("the REST API holds %d filter subscriptions, the request adds %d, at most %d allowed; unsubscribe from some first",
			len(f.subs), added, limit)
	}
	return nil
}

// hold records that p holds the group's subscriptions. It returns those
// another peer held before, by that peer: they moved to p.
func (f *filterState) hold(p peer.ID, g filterGroup) map[peer.ID][]filterKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	moved := map[peer.ID][]filterKey{}
	for _, ct := range g.contents {
		k := filterKey{pubsub: g.pubsub, content: ct}
		sub := f.subs[k]
		if sub == nil {
			f.subs[k] = &filterSub{peer: p}
			continue
		}
		if sub.peer != p {
			moved[sub.peer] = append(moved[sub.peer], k)
			sub.peer = p
		}
	}
	return moved
}

// forget drops subscriptions and their messages.
func (f *filterState) forget(keys []filterKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		delete(f.subs, k)
	}
}

// subscribe is POST and PUT /filter/v2/subscriptions: nwaku serves both
// with one handler, which adds content topics to the subscription.
func (f *filterState) subscribe(w http.ResponseWriter, r *http.Request) {
	req, ok := readFilterBody(w, r, api.DecodeFilterSubscribe)
	if !ok {
		return
	}
	gs, status, desc := f.groups(req.PubsubTopic, req.ContentFilters)
	if status != 0 {
		filterAnswer(w, status, req.RequestID, desc)
		return
	}
	p, ok := f.servicePeer()
	if !ok {
		filterAnswer(w, http.StatusServiceUnavailable, req.RequestID, filterNoPeer)
		return
	}
	const timedOut = "Subscription request timed out"
	if !f.acquire(r.Context()) {
		filterAnswer(w, http.StatusServiceUnavailable, req.RequestID, "SERVICE_UNAVAILABLE: "+timedOut)
		return
	}
	defer f.release()
	if err := f.room(gs); err != nil {
		filterAnswer(w, http.StatusServiceUnavailable, req.RequestID, "SERVICE_UNAVAILABLE: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), filterOpTimeout)
	defer cancel()
	// One request per pubsub topic, as nwaku's client sends them; the
	// answer is the last failure, or OK.
	var last error
	moved := map[peer.ID][]filterKey{}
	for _, g := range gs {
		err := f.call(ctx, p, func(ctx context.Context) error { return f.client.Subscribe(ctx, p, g.pubsub, g.contents) })
		if err != nil {
			last = err
			continue
		}
		for old, keys := range f.hold(p, g) {
			moved[old] = append(moved[old], keys...)
		}
	}
	// Subscriptions another service peer held moved here: end them there
	// (best effort: pushes from it are ignored from now on anyway).
	for old, keys := range moved {
		for _, g := range groupKeys(keys) {
			_ = f.call(ctx, old, func(ctx context.Context) error { return f.client.Unsubscribe(ctx, old, g.pubsub, g.contents) })
		}
	}
	answerOutcome(w, req.RequestID, last, timedOut)
}

// unsubscribe is DELETE /filter/v2/subscriptions: the content topics are
// unsubscribed at the peer holding them (those held nowhere: at the
// request's service peer, which answers whether it knew them), and
// forgotten here, with their messages, whatever the answer (as nwaku
// forgets them).
func (f *filterState) unsubscribe(w http.ResponseWriter, r *http.Request) {
	req, ok := readFilterBody(w, r, api.DecodeFilterUnsubscribe)
	if !ok {
		return
	}
	gs, status, desc := f.groups(req.PubsubTopic, req.ContentFilters)
	if status != 0 {
		filterAnswer(w, status, req.RequestID, desc)
		return
	}
	const timedOut = "Failed to unsubscribe from contentFilters due to timeout!"
	if !f.acquire(r.Context()) {
		filterAnswer(w, http.StatusServiceUnavailable, req.RequestID, "SERVICE_UNAVAILABLE: "+timedOut)
		return
	}
	defer f.release()
	keys := keysOf(gs)
	plan := map[peer.ID][]filterKey{}
	var loose []filterKey
	f.mu.Lock()
	for _, k := range keys {
		if sub := f.subs[k]; sub != nil {
			plan[sub.peer] = append(plan[sub.peer], k)
		} else {
			loose = append(loose, k)
		}
	}
	f.mu.Unlock()
	if len(plan) == 0 {
		p, ok := f.servicePeer()
		if !ok {
			filterAnswer(w, http.StatusServiceUnavailable, req.RequestID, filterNoPeer)
			return
		}
		plan[p] = loose
	} else if len(loose) > 0 {
		first := slices.Sorted(maps.Keys(plan))[0]
		plan[first] = append(plan[first], loose...)
	}
	ctx, cancel := context.WithTimeout(r.Context(), filterOpTimeout)
	defer cancel()
	var last error
	for _, p := range slices.Sorted(maps.Keys(plan)) {
		for _, g := range groupKeys(plan[p]) {
			if err := f.call(ctx, p, func(ctx context.Context) error { return f.client.Unsubscribe(ctx, p, g.pubsub, g.contents) }); err != nil {
				last = err
			}
		}
	}
	f.forget(keys)
	answerOutcome(w, req.RequestID, last, timedOut)
}

// unsubscribeAll is DELETE /filter/v2/subscriptions/all: every service
// peer holding subscriptions ends them (with none held: the request's
// service peer is asked, and answers), and all are forgotten here.
func (f *filterState) unsubscribeAll(w http.ResponseWriter, r *http.Request) {
	req, ok := readFilterBody(w, r, api.DecodeFilterUnsubscribeAll)
	if !ok {
		return
	}
	const timedOut = "Failed to unsubscribe from all contentFilters due to timeout!"
	if !f.acquire(r.Context()) {
		filterAnswer(w, http.StatusServiceUnavailable, req.RequestID, "SERVICE_UNAVAILABLE: "+timedOut)
		return
	}
	defer f.release()
	peers := f.heldPeers()
	if len(peers) == 0 {
		p, ok := f.servicePeer()
		if !ok {
			filterAnswer(w, http.StatusServiceUnavailable, req.RequestID, filterNoPeer)
			return
		}
		peers = []peer.ID{p}
	}
	ctx, cancel := context.WithTimeout(r.Context(), filterOpTimeout)
	defer cancel()
	var last error
	for _, p := range peers {
		if err := f.call(ctx, p, func(ctx context.Context) error { return f.client.UnsubscribeAll(ctx, p) }); err != nil {
			last = err
		}
	}
	f.mu.Lock()
	clear(f.subs)
	f.mu.Unlock()
	answerOutcome(w, req.RequestID, last, timedOut)
}

// ping is GET /filter/v2/subscriptions/{requestId}: a filter ping to the
// service peers holding subscriptions (none held: the request's service
// peer); 200 when they hold them, 404 (the service's "peer has no
// subscriptions") when not. The request id is only echoed, as nwaku does.
func (f *filterState) ping(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "requestId")
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	peers := f.heldPeers()
	if len(peers) == 0 {
		p, ok := f.servicePeer()
		if !ok {
			filterAnswer(w, http.StatusServiceUnavailable, id, filterNoPeer)
			return
		}
		peers = []peer.ID{p}
	}
	ctx, cancel := context.WithTimeout(r.Context(), filterOpTimeout)
	defer cancel()
	var last error
	for _, p := range peers {
		if err := f.call(ctx, p, func(ctx context.Context) error { return f.client.Ping(ctx, p) }); err != nil {
			last = err
		}
	}
	if last != nil {
		status, desc := filterFailure(last, "Ping timed out")
		filterAnswer(w, status, id, desc)
		return
	}
	filterAnswer(w, http.StatusOK, id, "OK")
}

// messages is GET /filter/v2/messages/{contentTopic} (the messages of
// every subscription to the content topic) and
// /filter/v2/messages/{pubsubTopic}/{contentTopic}: the messages pushed
// since the last call, oldest first, then forgotten; 404 when not
// subscribed.
func (f *filterState) messages(w http.ResponseWriter, r *http.Request) {
	ct, err := pathTopic(r, "contentTopic")
	if err != nil {
		writeText(w, http.StatusBadRequest, err.Error())
		return
	}
	pubsub := ""
	if chi.URLParam(r, "pubsubTopic") != "" {
		if pubsub, err = pathTopic(r, "pubsubTopic"); err != nil {
			writeText(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	var envs []*relay.Envelope
	found := false
	f.mu.Lock()
	for k, sub := range f.subs {
		if k.content != ct || pubsub != "" && k.pubsub != pubsub {
			continue
		}
		found = true
		envs = append(envs, sub.msgs...)
		sub.msgs = nil
	}
	f.mu.Unlock()
	if !found {
		topic := ct
		if pubsub != "" {
			topic = pubsub + " " + ct
		}
		writeText(w, http.StatusNotFound, "Not subscribed to topic: "+topic)
		return
	}
	slices.SortStableFunc(envs, func(a, b *relay.Envelope) int { return a.Received.Compare(b.Received) })
	out := make([]api.Message, len(envs))
	for i, env := range envs {
		out[i] = api.FromWaku(env.Message)
	}
	writeJSON(w, http.StatusOK, out)
}

// answerOutcome ends a subscription request: OK, or the last failure
// (timedOut is the request's nwaku text for a timeout).
func answerOutcome(w http.ResponseWriter, requestID string, last error, timedOut string) {
	if last != nil {
		status, desc := filterFailure(last, timedOut)
		filterAnswer(w, status, requestID, desc)
		return
	}
	filterAnswer(w, http.StatusOK, requestID, "OK")
}
