package client_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/rest/client"
)

// Lightpush reads nwaku's v3 answers (no statusCode field): the relay peer
// count on success; on failure an *Error with the HTTP status and the
// answer's statusDesc. LightpushV1 reads nwaku's text answers.
func TestLightpush(t *testing.T) {
	t.Parallel()
	answers := map[string]struct {
		status int
		body   string
	}{
		"ok":   {200, `{"relayPeerCount":3}`},
		"fail": {505, `{"statusDesc":"No peers for topic, skipping publish"}`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req api.PushRequest
		if err := json.Unmarshal(b, &req); err != nil || req.Message == nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request body", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/lightpush/v3/message":
			a := answers[req.Message.ContentTopic]
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			_, _ = io.WriteString(w, a.body)
		case "/lightpush/v1/message":
			if req.Message.ContentTopic == "ok" {
				_, _ = io.WriteString(w, "OK")
				return
			}
			http.Error(w, "Failed to request a message push: dial_failure", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := func(ct string) api.PushRequest {
		return api.PushRequest{PubsubTopic: "/waku/2/rs/1/0", Message: &api.Message{Payload: "aGk=", ContentTopic: ct}}
	}
	if r, err := c.Lightpush(t.Context(), msg("ok")); err != nil || r.RelayPeerCount == nil || *r.RelayPeerCount != 3 {
		t.Fatalf("success read as %+v, %v", r, err)
	}
	r, err := c.Lightpush(t.Context(), msg("fail"))
	if client.StatusOf(err) != 505 || r.StatusDesc != "No peers for topic, skipping publish" || r.RelayPeerCount != nil {
		t.Fatalf("failure read as %+v, %v", r, err)
	}
	if err := c.LightpushV1(t.Context(), msg("ok")); err != nil {
		t.Fatalf("v1 success: %v", err)
	}
	if err := c.LightpushV1(t.Context(), msg("fail")); client.StatusOf(err) != 503 {
		t.Fatalf("v1 failure: %v, want a 503 *Error", err)
	}
}
