package api

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/rlnd/rlnd/wire"
)

func hashOf(b byte) wire.MessageHash {
	var h wire.MessageHash
	for i := range h {
		h[i] = b
	}
	return h
}

// The parameters as nwaku's REST clients write them parse to the query
// meant, and a query's Values parse back to it.
func TestParseStoreQuery(t *testing.T) {
	t.Parallel()
	start, end := int64(1_700_000_000_000_000_000), int64(1_700_000_100_000_000_000)
	h1, h2 := hashOf(0xab), hashOf(0x01)
	tests := []struct {
		name, query string
		want        StoreQuery
	}{
		{"nothing", "", StoreQuery{}},
		{"empty values are the defaults", "peerAddr=&includeData=&pageSize=&ascending=&hashes=&cursor=", StoreQuery{}},
		{"every parameter", "peerAddr=%2Fip4%2F127.0.0.1%2Ftcp%2F60001%2Fp2p%2F16Uiu2HAmVFXtAfSj4EiR7mL2KvL4EE2wztuQgUSBoj2Jx2KeXFLN" +
			"&includeData=true&pubsubTopic=%2Fwaku%2F2%2Frs%2F1%2F0&contentTopics=%2Fa%2F1%2Fb%2Fproto%2C%2Fc%2F1%2Fd%2Fproto" +
			"&startTime=1700000000000000000&endTime=1700000100000000000&hashes=" + h1.String() + "," + strings.TrimPrefix(h2.String(), "0x") +
			"&cursor=" + strings.ToUpper(strings.TrimPrefix(h2.String(), "0x")) + "&pageSize=55&ascending=false",
			StoreQuery{
				PeerAddr: "/ip4/127.0.0.1/tcp/60001/p2p/16Uiu2HAmVFXtAfSj4EiR7mL2KvL4EE2wztuQgUSBoj2Jx2KeXFLN", IncludeData: true,
				PubsubTopic: "/waku/2/rs/1/0", ContentTopics: []string{"/a/1/b/proto", "/c/1/d/proto"}, StartTime: &start, EndTime: &end,
				Hashes: []wire.MessageHash{h1, h2}, Cursor: &h2, PageSize: 55, Backward: true,
			}},
		{"double-encoded topic, as nwaku decodes it", "pubsubTopic=%252Fwaku%252F2%252Frs%252F1%252F0", StoreQuery{PubsubTopic: "/waku/2/rs/1/0"}},
		{"Nim booleans", "includeData=On&ascending=true", StoreQuery{IncludeData: true}},
		{"page size clamped", "pageSize=100000", StoreQuery{PageSize: MaxStorePageSize}},
		{"spaces around content topics", "pubsubTopic=p&contentTopics=+a+,b", StoreQuery{PubsubTopic: "p", ContentTopics: []string{"a", "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseStoreQuery(v)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parsed %+v, want %+v", got, tt.want)
			}
			again, err := ParseStoreQuery(got.Values())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("Values %v parse back to %+v (%v), want %+v", got.Values(), again, err, got)
			}
		})
	}
}

// Each bad value is an ErrBadStoreQuery naming its parameter.
func TestParseStoreQueryErrors(t *testing.T) {
	t.Parallel()
	for _, q := range []string{
		"includeData=2", "startTime=x", "startTime=0", "endTime=-1", "endTime=1.5", "startTime=9&endTime=8",
		"hashes=0x12", "hashes=" + hashOf(1).String() + ",,", "cursor=0xzz" + strings.Repeat("0", 62), "cursor=" + strings.Repeat("0", 66),
		"pageSize=-3", "pageSize=1e3", "ascending=False", "contentTopics=a,%20,b",
	} {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		param, _, _ := strings.Cut(q, "=")
		if _, err := ParseStoreQuery(v); !errors.Is(err, ErrBadStoreQuery) || !strings.Contains(err.Error(), param) {
			t.Errorf("%s: %v, want an ErrBadStoreQuery naming %s", q, err, param)
		}
	}
}

// FuzzParseStoreQuery: any query string parses or is refused with
// ErrBadStoreQuery; a parsed query is within the bounds and (its values
// free of %, which nwaku decodes twice) parses back from its Values.
func FuzzParseStoreQuery(f *testing.F) {
	f.Add("pubsubTopic=%2Fwaku%2F2%2Frs%2F1%2F0&contentTopics=a,b&pageSize=5&ascending=false")
	f.Add("hashes=" + hashOf(7).String() + "&includeData=yes&startTime=1&endTime=2")
	f.Add("cursor=" + hashOf(9).String() + "&peerAddr=%2Fip4%2F1.2.3.4%2Ftcp%2F1")
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw)
		q, err := ParseStoreQuery(v)
		if err != nil {
			if !errors.Is(err, ErrBadStoreQuery) {
				t.Fatalf("%q: error %v is not an ErrBadStoreQuery", raw, err)
			}
			return
		}
		if q.PageSize > MaxStorePageSize || len(q.Hashes) > MaxStoreHashes ||
			q.StartTime != nil && *q.StartTime <= 0 || q.EndTime != nil && *q.EndTime <= 0 {
			t.Fatalf("%q parsed out of bounds: %+v", raw, q)
		}
		if strings.Contains(q.PeerAddr+q.PubsubTopic+strings.Join(q.ContentTopics, ","), "%") {
			return
		}
		again, err := ParseStoreQuery(q.Values())
		if err != nil || !reflect.DeepEqual(again, q) {
			t.Fatalf("%q: %+v does not parse back from its values (%+v, %v)", raw, q, again, err)
		}
	})
}

func TestParseHash(t *testing.T) {
	t.Parallel()
	h := hashOf(0x5c)
	for _, s := range []string{h.String(), strings.TrimPrefix(h.String(), "0x"), "0X" + strings.ToUpper(strings.TrimPrefix(h.String(), "0x"))} {
		if got, err := ParseHash(s); err != nil || got != h {
			t.Errorf("%s: %v, %v", s, got, err)
		}
	}
	if HexHash(h[:]) != h.String() {
		t.Errorf("HexHash %s, want %s", HexHash(h[:]), h)
	}
	for _, s := range []string{"", "0x", "0x1", h.String() + "00", "0xg" + strings.Repeat("0", 63)} {
		if _, err := ParseHash(s); err == nil {
			t.Errorf("%q parsed as a hash", s)
		}
	}
	r := StoreQueryResponse{PaginationCursor: h.String()}
	if c, err := r.Cursor(); err != nil || *c != h {
		t.Errorf("cursor %v, %v", c, err)
	}
	if c, err := (StoreQueryResponse{}).Cursor(); c != nil || err != nil {
		t.Errorf("no cursor: %v, %v", c, err)
	}
}
