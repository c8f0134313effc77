package client_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/rest/client"
	"github.com/rlnd/rlnd/wire"
)

// StoreMessages sends nwaku's parameters (hex hashes, ascending=false,
// defaults left out) and reads an answer as nwaku writes it.
func TestStoreMessages(t *testing.T) {
	t.Parallel()
	var h wire.MessageHash
	h[0], h[31] = 0xaa, 0x01
	start := int64(42)
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/store/v3/messages" || r.Method != http.MethodGet {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		got = r.URL.Query()
		w.Header().Set("Content-Type", "application/json")
		// nwaku's StoreQueryResponseHex, as its REST server writes it.
		_, _ = w.Write([]byte(`{"requestId":"r1","statusCode":200,"statusDesc":"OK","messages":[{"messageHash":"` + h.String() +
			`","message":{"payload":"aGk=","contentTopic":"/a/1/b/proto","version":0,"timestamp":7,"ephemeral":false},"pubsubTopic":"/waku/2/rs/1/0"}],"paginationCursor":"` + h.String() + `"}`))
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.StoreMessages(t.Context(), api.StoreQuery{
		IncludeData: true, PubsubTopic: "/waku/2/rs/1/0", ContentTopics: []string{"/a/1/b/proto", "/c/1/d/proto"},
		StartTime: &start, Hashes: []wire.MessageHash{h}, Cursor: &h, PageSize: 10, Backward: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"includeData": {"true"}, "pubsubTopic": {"/waku/2/rs/1/0"}, "contentTopics": {"/a/1/b/proto,/c/1/d/proto"},
		"startTime": {"42"}, "hashes": {h.String()}, "cursor": {h.String()}, "pageSize": {"10"}, "ascending": {"false"},
	}
	if got.Encode() != want.Encode() {
		t.Fatalf("sent %s, want %s", got.Encode(), want.Encode())
	}
	cur, err := r.Cursor()
	if err != nil || *cur != h || len(r.Messages) != 1 || r.Messages[0].Message == nil || r.Messages[0].Message.ContentTopic != "/a/1/b/proto" ||
		r.Messages[0].PubsubTopic != "/waku/2/rs/1/0" || r.StatusCode != 200 || r.RequestID != "r1" {
		t.Fatalf("answer read as %+v (cursor %v, %v)", r, cur, err)
	}
	if _, err := c.StoreMessages(t.Context(), api.StoreQuery{}); err != nil || len(got) != 0 {
		t.Fatalf("the zero query sent %v (%v), want no parameters", got, err)
	}
}
