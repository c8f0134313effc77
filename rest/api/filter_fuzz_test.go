package api

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// FuzzFilterRequest feeds arbitrary bodies to the filter request
// decoders: they never panic, refuse with ErrBadFilterRequest, and what
// they accept has a request id and content topics, and reads back the
// same once encoded.
func FuzzFilterRequest(f *testing.F) {
	for _, s := range []string{
		`{"requestId": "1", "contentFilters": ["/a/1/b/proto"]}`,
		`{"requestId": "", "contentFilters": ["/a/1/b/proto", "/a/1/c/proto"], "pubsubTopic": "/waku/2/rs/1/0"}`,
		`{"requestId": "1", "contentFilters": [], "pubsubTopic": null}`,
		`{"requestId": "1"}`,
		`{"contentFilters": ["x"]}`,
		`{"requestId": 1, "contentFilters": "x"}`,
		`["requestId"]`,
		`null`,
		`{"requestId": "1", "contentFilters": ["x"]} trailing`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sub, err := DecodeFilterSubscribe(b)
		if err != nil {
			if !errors.Is(err, ErrBadFilterRequest) {
				t.Fatalf("error %v does not wrap ErrBadFilterRequest", err)
			}
		} else {
			if len(sub.ContentFilters) == 0 {
				t.Fatalf("accepted %q without content topics", b)
			}
			enc, err := json.Marshal(sub)
			if err != nil {
				t.Fatal(err)
			}
			again, err := DecodeFilterSubscribe(enc)
			if err != nil || again.RequestID != sub.RequestID || again.PubsubTopic != sub.PubsubTopic || !slices.Equal(again.ContentFilters, sub.ContentFilters) {
				t.Fatalf("%q read back as %+v (%v), want %+v", enc, again, err, sub)
			}
		}
		unsub, err := DecodeFilterUnsubscribe(b)
		if (err == nil) != (sub.RequestID == unsub.RequestID && len(unsub.ContentFilters) > 0) {
			t.Fatalf("unsubscribe read %q as %+v (%v), subscribe as %+v", b, unsub, err, sub)
		}
		all, err := DecodeFilterUnsubscribeAll(b)
		if err != nil && !errors.Is(err, ErrBadFilterRequest) {
			t.Fatalf("error %v does not wrap ErrBadFilterRequest", err)
		}
		if err == nil {
			enc, _ := json.Marshal(all)
			if again, err := DecodeFilterUnsubscribeAll(enc); err != nil || again != all {
				t.Fatalf("%q read back as %+v (%v)", enc, again, err)
			}
		}
	})
}
