package rest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/rest/api"
)

// Relay paths (nwaku's waku_api/rest/relay).
const (
	PathRelaySubscriptions     = "/relay/v1/subscriptions"
	PathRelayMessages          = "/relay/v1/messages/{pubsubTopic}"
	PathRelayAutoSubscriptions = "/relay/v1/auto/subscriptions"
	PathRelayAutoMessages      = "/relay/v1/auto/messages/{contentTopic}"
	PathRelayAutoPublish       = "/relay/v1/auto/messages"
)

// maxTopicsPerRequest bounds the topics of one subscription request.
const maxTopicsPerRequest = 100

func (s *Server) routeRelay(r chi.Router) {
	r.Post(PathRelaySubscriptions, func(w http.ResponseWriter, r *http.Request) { s.relaySubscribe(w, r, false) })
	r.Delete(PathRelaySubscriptions, func(w http.ResponseWriter, r *http.Request) { s.relayUnsubscribe(w, r, false) })
	r.Post(PathRelayAutoSubscriptions, func(w http.ResponseWriter, r *http.Request) { s.relaySubscribe(w, r, true) })
	r.Delete(PathRelayAutoSubscriptions, func(w http.ResponseWriter, r *http.Request) { s.relayUnsubscribe(w, r, true) })
	r.Get(PathRelayMessages, func(w http.ResponseWriter, r *http.Request) { s.relayMessages(w, r, false) })
	r.Get(PathRelayAutoMessages, func(w http.ResponseWriter, r *http.Request) { s.relayMessages(w, r, true) })
	r.Post(PathRelayMessages, func(w http.ResponseWriter, r *http.Request) { s.relayPublish(w, r, false) })
	r.Post(PathRelayAutoPublish, func(w http.ResponseWriter, r *http.Request) { s.relayPublish(w, r, true) })
}

// pathTopic is the URL-encoded topic in a path parameter, decoded once.
// chi routes on the escaped path when it differs from the decoded one
// (a topic with %2F), else on the decoded path, whose parameters are
// decoded already.
func pathTopic(r *http.Request, name string) (string, error) {
	raw := chi.URLParam(r, name)
	t := raw
	if r.URL.RawPath != "" {
		var err error
		if t, err = url.PathUnescape(raw); err != nil {
			return "", fmt.Errorf("%s %q is not URL-encoded: %w", name, raw, err)
		}
	}
	if strings.TrimSpace(t) == "" {
		return "", fmt.Errorf("%s is empty", name)
	}
	return t, nil
}

// relayedTopic checks that the node relays a pubsub topic (auto false)
// or the shard of a content topic (auto true).
func (s *Server) relayedTopic(auto bool, topic string) error {
	pubsubTopic := topic
	if auto {
		if _, err := autoshard.ParseContentTopic(topic); err != nil {
			return err
		}
		t, err := s.cfg.Relay.TopicFor(topic)
		if err != nil {
			return err
		}
		pubsubTopic = t
	} else if _, err := autoshard.ParsePubsubTopic(topic); err != nil {
		return err
	}
	if topics := s.cfg.Relay.Topics(); !slices.Contains(topics, pubsubTopic) {
		if auto {
			return fmt.Errorf("content topic %s is on %s, which this node does not relay (it relays %s; start it with that shard in --shard)",
				topic, pubsubTopic, strings.Join(topics, ", "))
		}
		return fmt.Errorf("this node does not relay %s (it relays %s; start it with that shard in --shard)", topic, strings.Join(topics, ", "))
	}
	return nil
}

// readTopics reads a subscription request's JSON list of topics.
func readTopics(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	var topics []string
	if !readJSON(w, r, &topics) {
		return nil, false
	}
	if len(topics) > maxTopicsPerRequest {
		writeText(w, http.StatusBadRequest, fmt.Sprintf("%d topics in one request, at most %d", len(topics), maxTopicsPerRequest))
		return nil, false
	}
	return topics, true
}

// relaySubscribe keeps the relayed messages of the listed pubsub topics
// (auto: content topics) for GET. The node relays its configured shards
// from the start: a topic outside them is refused.
func (s *Server) relaySubscribe(w http.ResponseWriter, r *http.Request, auto bool) {
	topics, okay := readTopics(w, r)
	if !okay {
		return
	}
	for _, t := range topics {
		if err := s.relayedTopic(auto, t); err != nil {
			writeText(w, http.StatusBadRequest, "Failed to subscribe: "+err.Error())
			return
		}
	}
	if err := s.cache.subscribe(auto, topics); err != nil {
		writeText(w, http.StatusBadRequest, "Failed to subscribe: "+err.Error())
		return
	}
	ok(w)
}

// relayUnsubscribe forgets the listed topics and their kept messages.
func (s *Server) relayUnsubscribe(w http.ResponseWriter, r *http.Request, auto bool) {
	topics, okay := readTopics(w, r)
	if !okay {
		return
	}
	s.cache.unsubscribe(auto, topics)
	ok(w)
}

// relayMessages answers the messages kept for a topic since the last
// call, and forgets them; 404 when the topic is not subscribed.
func (s *Server) relayMessages(w http.ResponseWriter, r *http.Request, auto bool) {
	name := "pubsubTopic"
	if auto {
		name = "contentTopic"
	}
	topic, err := pathTopic(r, name)
	if err != nil {
		writeText(w, http.StatusBadRequest, err.Error())
		return
	}
	envs, found := s.cache.take(auto, topic)
	if !found {
		writeText(w, http.StatusNotFound, "Not subscribed to topic: "+topic)
		return
	}
	out := make([]api.Message, len(envs))
	for i, env := range envs {
		out[i] = api.FromWaku(env.Message)
	}
	writeJSON(w, http.StatusOK, out)
}

// relayPublish publishes a message on the path's pubsub topic, or (auto)
// on its content topic's shard, with a proof from the node's membership.
func (s *Server) relayPublish(w http.ResponseWriter, r *http.Request, auto bool) {
	var pubsubTopic string
	if !auto {
		t, err := pathTopic(r, "pubsubTopic")
		if err != nil {
			writeText(w, http.StatusBadRequest, err.Error())
			return
		}
		if !slices.Contains(s.cfg.Relay.Topics(), t) {
			writeText(w, http.StatusBadRequest, "Failed to publish: Node not subscribed to topic: "+t)
			return
		}
		pubsubTopic = t
	}
	var req api.Message
	if !readJSON(w, r, &req) {
		return
	}
	msg, err := req.ToWaku(time.Now().UnixNano())
	if err != nil {
		writeText(w, http.StatusBadRequest, "Failed to publish: "+err.Error())
		return
	}
	if auto {
		t, err := s.cfg.Relay.TopicFor(msg.GetContentTopic())
		if err != nil {
			writeText(w, http.StatusBadRequest, "Failed to publish. Autosharding error: "+err.Error())
			return
		}
		if !slices.Contains(s.cfg.Relay.Topics(), t) {
			writeText(w, http.StatusBadRequest, "Failed to publish: Node not subscribed to topic: "+t)
			return
		}
		pubsubTopic = t
	}
	res := s.cfg.Publish(r.Context(), pubsubTopic, msg)
	if res.Status == lightpush.StatusOK {
		ok(w)
		return
	}
	writeText(w, publishHTTPStatus(res.Status), "Failed to publish: "+res.Description)
}

// publishHTTPStatus is the HTTP status of a failed publish: 400 for what
// is wrong with the message or over its member's rate (as nwaku answers
// a message over the limit), 503 for what may pass later (no peers, a busy
// prover), 500 for the node's own failures.
func publishHTTPStatus(c lightpush.StatusCode) int {
	switch c {
	case lightpush.StatusBadRequest, lightpush.StatusTooLarge, lightpush.StatusInvalidMessage, lightpush.StatusUnsupportedTopic,
		lightpush.StatusTooManyRequests, lightpush.StatusOutOfProofs:
		return http.StatusBadRequest
	case lightpush.StatusNoPeers, lightpush.StatusUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
