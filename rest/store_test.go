package rest_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/rest/client"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire"
)

// Store test topics: the archive is filled directly, so any shard will do.
const (
	storeTopic  = "/waku/2/rs/66/1"
	storeTopic2 = "/waku/2/rs/66/2"
	storeTopic3 = "/waku/2/rs/66/3"
	storeCTA    = "/rest-store/1/a/proto"
	storeCTB    = "/rest-store/1/b/proto"
)

// storeNode starts a node with a store archive (SQLite in its data dir).
func storeNode(t *testing.T, edit func(*config.Config)) (*node.Node, string) {
	t.Helper()
	return startNode(t, func(c *config.Config) {
		c.Store.Enabled = true
		if edit != nil {
			edit(c)
		}
	})
}

// fill puts n messages on topic into n's archive, content topics taken in
// turn from cts, timestamps one second apart from base, payloads
// prefix-i; it returns them in the archive's order (by timestamp).
func fill(t *testing.T, n *node.Node, topic string, cts []string, base int64, count int, prefix string) []store.Stored {
	t.Helper()
	msgs := make([]store.Stored, count)
	for i := range msgs {
		m := wire.NewMessage(cts[i%len(cts)], fmt.Appendf(nil, "%s-%d", prefix, i), base+int64(i)*int64(time.Second))
		if i%3 == 0 {
			m.Meta = []byte{byte(i)}
		}
		msgs[i] = store.NewStored(topic, m)
	}
	if got, err := n.Archive().Put(context.Background(), msgs); err != nil || got != count {
		t.Fatalf("put %d messages: %d stored, %v", count, got, err)
	}
	return msgs
}

// hexes are the messages' hashes as the API writes them.
func hexes(msgs []store.Stored) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = api.HexHash(m.Hash[:])
	}
	return out
}

// answerHashes are the hashes of an answer's messages.
func answerHashes(r api.StoreQueryResponse) []string {
	out := make([]string, len(r.Messages))
	for i, m := range r.Messages {
		out[i] = m.MessageHash
	}
	return out
}

// only are the messages of msgs that keep says to keep.
func only(msgs []store.Stored, keep func(i int, m store.Stored) bool) []store.Stored {
	var out []store.Stored
	for i, m := range msgs {
		if keep(i, m) {
			out = append(out, m)
		}
	}
	return out
}

// storeGet queries GET /store/v3/messages with the raw query string; a
// 200 answer is decoded.
func storeGet(t *testing.T, baseURL, query string) (int, string, api.StoreQueryResponse) {
	t.Helper()
	return storeQuery(t, baseURL, query, false)
}

// storeQuery is storeGet; bad marks a query wrong on purpose (sent with
// callBad).
func storeQuery(t *testing.T, baseURL, query string, bad bool) (int, string, api.StoreQueryResponse) {
	t.Helper()
	code, body := callJSON(t, http.MethodGet, baseURL+"/store/v3/messages?"+query, nil, bad)
	var r api.StoreQueryResponse
	if code == http.StatusOK {
		decode(t, body, &r)
	}
	return code, body, r
}

// A store node's REST API answers from its own archive (no peerAddr, no
// store service node): every parameter of nwaku's GET /store/v3/messages
// filters as nwaku's does, in nwaku's JSON (hashes in 0x hex, messages
// only with includeData, messages never null, no cursor on the last page).
func TestStoreOwnArchive(t *testing.T) {
	t.Parallel()
	n, base := storeNode(t, nil)
	t0 := time.Now().Add(-time.Hour).UnixNano()
	main := fill(t, n, storeTopic, []string{storeCTA, storeCTB}, t0, 10, "main")
	other := fill(t, n, storeTopic2, []string{storeCTA}, t0+int64(20*time.Second), 2, "other")
	all := append(slices.Clone(main), other...)
	ctA := only(main, func(_ int, m store.Stored) bool { return m.Message.GetContentTopic() == storeCTA })
	esc := url.QueryEscape

	tests := []struct {
		name, query string
		want        []store.Stored
		more        bool // a cursor: more messages after the page
	}{
		{"no parameters: every topic, oldest first", "", all, false},
		{"pubsub topic", "pubsubTopic=" + esc(storeTopic), main, false},
		{"pubsub topic, double URL-encoded as nwaku decodes it", "pubsubTopic=" + esc(esc(storeTopic2)), other, false},
		{"one content topic", "pubsubTopic=" + esc(storeTopic) + "&contentTopics=" + esc(storeCTA), ctA, false},
		{"two content topics", "pubsubTopic=" + esc(storeTopic) + "&contentTopics=" + esc(storeCTA+","+storeCTB), main, false},
		{"start inclusive, end exclusive", fmt.Sprintf("startTime=%d&endTime=%d", t0+2*int64(time.Second), t0+5*int64(time.Second)), main[2:5], false},
		{"start only", fmt.Sprintf("pubsubTopic=%s&startTime=%d", esc(storeTopic), t0+8*int64(time.Second)), main[8:], false},
		{"end only", fmt.Sprintf("endTime=%d", t0+2*int64(time.Second)), main[:2], false},
		{"hashes, 0x and bare hex", "hashes=" + hexes(main[3:4])[0] + "," + strings.TrimPrefix(hexes(other[1:])[0], "0x"), []store.Stored{main[3], other[1]}, false},
		{"hashes with a topic that excludes one", "pubsubTopic=" + esc(storeTopic) + "&hashes=" + hexes(main[3:4])[0] + "," + hexes(other[1:])[0], main[3:4], false},
		{"backward: the newest, oldest first", "ascending=false&pageSize=3", all[len(all)-3:], true},
		{"forward, one page of two", "ascending=true&pageSize=2", all[:2], true},
		{"empty page size: the default", "pageSize=", all, false},
		{"page size 0: the default", "pageSize=0", all, false},
		{"nothing in range", fmt.Sprintf("startTime=%d", t0+int64(time.Hour)), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, body, r := storeGet(t, base, tt.query)
			if code != http.StatusOK || r.StatusCode != 200 || r.StatusDesc != "OK" || r.RequestID == "" {
				t.Fatalf("%d %s, want 200 with status 200 OK", code, body)
			}
			if got, want := answerHashes(r), hexes(tt.want); !slices.Equal(got, want) {
				t.Fatalf("hashes %v, want %v", got, want)
			}
			if !strings.Contains(body, `"messages":[`) {
				t.Fatalf("answer %s: messages must be a list, even empty", body)
			}
			for _, m := range r.Messages {
				if m.Message != nil || m.PubsubTopic != "" {
					t.Fatalf("message %+v has data without includeData", m)
				}
			}
			if (r.PaginationCursor != "") != tt.more {
				t.Fatalf("cursor %q, want one: %v", r.PaginationCursor, tt.more)
			}
			if tt.more && r.PaginationCursor != answerHashes(r)[len(r.Messages)-1] && r.PaginationCursor != answerHashes(r)[0] {
				t.Fatalf("cursor %q is not an end of the page", r.PaginationCursor)
			}
		})
	}

	t.Run("includeData", func(t *testing.T) {
		t.Parallel()
		for _, v := range []string{"true", "1", "yes", "TRUE"} {
			code, body, r := storeGet(t, base, "includeData="+v+"&pubsubTopic="+esc(storeTopic))
			if code != http.StatusOK || len(r.Messages) != len(main) {
				t.Fatalf("includeData=%s: %d %s", v, code, body)
			}
			for i, m := range r.Messages {
				want := main[i].Message
				if m.Message == nil || m.PubsubTopic != storeTopic || m.MessageHash != api.HexHash(main[i].Hash[:]) {
					t.Fatalf("includeData=%s: message %d is %+v, want its data and topic", v, i, m)
				}
				got, err := m.Message.ToWaku(0)
				if err != nil || got.GetTimestamp() != want.GetTimestamp() || string(got.Payload) != string(want.Payload) ||
					got.GetContentTopic() != want.GetContentTopic() || string(got.Meta) != string(want.Meta) || wire.Hash(storeTopic, got) != main[i].Hash {
					t.Fatalf("message %d comes back as %+v (%v), want %+v", i, got, err, want)
				}
			}
			// nwaku writes version, timestamp and ephemeral always.
			if !strings.Contains(body, `"ephemeral":false`) || !strings.Contains(body, `"version":0`) {
				t.Fatalf("answer %s lacks the fields nwaku always writes", body)
			}
		}
		code, _, r := storeGet(t, base, "includeData=false")
		if code != http.StatusOK || len(r.Messages) != len(all) || r.Messages[0].Message != nil {
			t.Fatalf("includeData=false: %d %+v", code, r)
		}
	})

	t.Run("unknown cursor: the store's 400 in a 200", func(t *testing.T) {
		t.Parallel()
		code, body, r := storeGet(t, base, "cursor="+api.HexHash(make([]byte, 31))+"01")
		if code != http.StatusOK || r.StatusCode != 400 || !strings.Contains(r.StatusDesc, "cursor") || len(r.Messages) != 0 {
			t.Fatalf("%d %s, want 200 with status 400 naming the cursor", code, body)
		}
	})
}

// Paging through the Go client: forward and backward with the cursor, each
// message once, in order; the page size is clamped to 100, and the
// default is 20.
func TestStorePagination(t *testing.T) {
	t.Parallel()
	n, base := storeNode(t, nil)
	t0 := time.Now().Add(-time.Hour).UnixNano()
	msgs := fill(t, n, storeTopic3, []string{storeCTA}, t0, 130, "page")
	c, err := client.New(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	walk := func(t *testing.T, q api.StoreQuery) (pages [][]string) {
		t.Helper()
		for range 200 {
			r, err := c.StoreMessages(t.Context(), q)
			if err != nil || r.StatusCode != 200 {
				t.Fatalf("page %d: %+v, %v", len(pages), r, err)
			}
			pages = append(pages, answerHashes(r))
			if q.Cursor, err = r.Cursor(); err != nil {
				t.Fatal(err)
			}
			if q.Cursor == nil {
				return pages
			}
		}
		t.Fatal("no last page after 200 pages")
		return nil
	}
	all := hexes(msgs)
	t.Run("forward", func(t *testing.T) {
		t.Parallel()
		pages := walk(t, api.StoreQuery{PubsubTopic: storeTopic3, PageSize: 40})
		if len(pages) != 4 || len(pages[0]) != 40 || len(pages[3]) != 10 {
			t.Fatalf("pages of %v, want 40, 40, 40, 10", lens(pages))
		}
		if got := slices.Concat(pages...); !slices.Equal(got, all) {
			t.Fatalf("forward paging gave %d hashes out of order or repeated", len(got))
		}
	})
	t.Run("backward", func(t *testing.T) {
		t.Parallel()
		pages := walk(t, api.StoreQuery{PubsubTopic: storeTopic3, PageSize: 50, Backward: true})
		if len(pages) != 3 || !slices.Equal(pages[0], all[80:]) || !slices.Equal(pages[2], all[:30]) {
			t.Fatalf("backward pages of %v, want the newest 50 first, each page oldest first", lens(pages))
		}
		slices.Reverse(pages)
		if got := slices.Concat(pages...); !slices.Equal(got, all) {
			t.Fatal("backward paging missed or repeated messages")
		}
	})
	for _, tt := range []struct {
		query string
		want  int
	}{{"", 20}, {"pageSize=1000", 100}, {"pageSize=100", 100}, {"pageSize=7", 7}} {
		t.Run("page size "+tt.query, func(t *testing.T) {
			t.Parallel()
			code, body, r := storeGet(t, base, tt.query)
			if code != http.StatusOK || len(r.Messages) != tt.want || r.PaginationCursor != api.HexHash(msgs[tt.want-1].Hash[:]) {
				t.Fatalf("%d: %d messages, cursor %q; want %d and the last one's hash (%.200s)", code, len(r.Messages), r.PaginationCursor, tt.want, body)
			}
		})
	}
}

func lens(pages [][]string) []int {
	out := make([]int, len(pages))
	for i, p := range pages {
		out[i] = len(p)
	}
	return out
}

// Each bad parameter is a 400 whose text names it.
func TestStoreBadParameters(t *testing.T) {
	t.Parallel()
	n, base := storeNode(t, nil)
	zero := strings.Repeat("0", 64)
	many := make([]string, 11)
	for i := range many {
		many[i] = fmt.Sprintf("/rest-store/1/t%d/proto", i)
	}
	hashes := make([]string, api.MaxStoreHashes+1)
	for i := range hashes {
		hashes[i] = fmt.Sprintf("%064x", i+1)
	}
	tests := []struct{ query, want string }{
		{"includeData=maybe", "includeData"},
		{"startTime=abc", "startTime"},
		{"startTime=-5", "startTime"},
		{"endTime=0", "endTime"},
		{"startTime=20&endTime=10", "startTime"},
		{"hashes=zz", "hashes"},
		{"hashes=0x1234", "hashes"},
		{"hashes=" + zero + ",", "hashes"},
		{"hashes=" + strings.Join(hashes, ","), "hashes"},
		{"cursor=nothex", "cursor"},
		{"cursor=0x" + zero[:62], "cursor"},
		{"cursor=0x" + zero, "cursor"},
		{"pageSize=-1", "pageSize"},
		{"pageSize=ten", "pageSize"},
		{"ascending=sideways", "ascending"},
		{"contentTopics=" + url.QueryEscape(storeCTA), "pubsub topic"},
		{"pubsubTopic=" + url.QueryEscape(storeTopic) + "&contentTopics=a,,b", "contentTopics"},
		{"pubsubTopic=" + url.QueryEscape(storeTopic) + "&contentTopics=" + url.QueryEscape(strings.Join(many, ",")), "content topics"},
		{"peerAddr=not-a-multiaddr", "peerAddr"},
		{"peerAddr=" + url.QueryEscape("/ip4/127.0.0.1/tcp/1"), "peerAddr"},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", i, tt.want), func(t *testing.T) {
			t.Parallel()
			code, body, _ := storeQuery(t, base, tt.query, true)
			if code != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Fatalf("%d %q, want 400 naming %s", code, body, tt.want)
			}
		})
	}
	// peerAddr naming the node itself is its own archive.
	fill(t, n, storeTopic, []string{storeCTA}, time.Now().Add(-time.Minute).UnixNano(), 1, "self")
	if code, body, r := storeGet(t, base, "peerAddr="+url.QueryEscape(addrOf(t, n))); code != http.StatusOK || len(r.Messages) != 1 {
		t.Fatalf("peerAddr of the node itself: %d %s", code, body)
	}
}

// A node without an archive reaches a store node: by peerAddr, through its
// configured store service node (before its own archive and before a
// connected store peer), through a connected store peer; with none, 412 as
// nwaku answers; an unreachable peerAddr is 500.
func TestStoreRemote(t *testing.T) {
	t.Parallel()
	s1, _ := storeNode(t, nil)
	s2, _ := storeNode(t, nil)
	t0 := time.Now().Add(-time.Hour).UnixNano()
	one := hexes(fill(t, s1, storeTopic, []string{storeCTA}, t0, 5, "s1"))
	two := hexes(fill(t, s2, storeTopic, []string{storeCTB}, t0, 3, "s2"))
	_, plainURL := startNode(t, nil)
	configured, configuredURL := startNode(t, func(c *config.Config) { c.Store.ServiceNode = addrOf(t, s1) })
	_, ownAndConfiguredURL := storeNode(t, func(c *config.Config) { c.Store.ServiceNode = addrOf(t, s1) })
	connected, connectedURL := startNode(t, nil)

	check := func(t *testing.T, what, baseURL, query string, want []string) {
		t.Helper()
		code, body, r := storeGet(t, baseURL, query)
		if code != http.StatusOK || r.StatusCode != 200 || !slices.Equal(answerHashes(r), want) {
			t.Fatalf("%s: %d %s, want the hashes %v", what, code, body, want)
		}
	}
	t.Run("no peer: 412", func(t *testing.T) {
		t.Parallel()
		code, body, _ := storeGet(t, plainURL, "")
		if code != http.StatusPreconditionFailed || !strings.Contains(body, "No suitable service peer") {
			t.Fatalf("%d %q, want 412 as nwaku answers", code, body)
		}
	})
	t.Run("peerAddr", func(t *testing.T) {
		t.Parallel()
		check(t, "peerAddr s1", configuredURL, "peerAddr="+url.QueryEscape(addrOf(t, s1)), one)
		check(t, "peerAddr s2 over the service node", configuredURL, "peerAddr="+url.QueryEscape(addrOf(t, s2)), two)
	})
	t.Run("service node before the own archive", func(t *testing.T) {
		t.Parallel()
		check(t, "configured", ownAndConfiguredURL, "", one)
	})
	t.Run("service node before a connected peer", func(t *testing.T) {
		t.Parallel()
		testnet.Connect(t, configured.Host(), s2.Host())
		check(t, "configured and connected", configuredURL, "includeData=true", one)
	})
	t.Run("connected store peer", func(t *testing.T) {
		t.Parallel()
		testnet.Connect(t, connected.Host(), s2.Host())
		testnet.WaitFor(t, 10*time.Second, "s2's store protocol to be known", func() bool {
			p, err := connected.Host().Libp2p().Peerstore().SupportsProtocols(s2.Host().ID(), store.Protocol)
			return err == nil && len(p) == 1
		})
		check(t, "connected", connectedURL, "pageSize=2", two[:2])
	})
	t.Run("own archive before a connected peer", func(t *testing.T) {
		t.Parallel()
		testnet.Connect(t, s2.Host(), s1.Host())
		// s2 has no service node: its own archive answers.
		code, body, r := storeGet(t, "http://"+s2.RESTAddr(), "")
		if code != http.StatusOK || !slices.Equal(answerHashes(r), two) {
			t.Fatalf("%d %s, want s2's own messages", code, body)
		}
	})
	t.Run("unreachable peerAddr: 500", func(t *testing.T) {
		t.Parallel()
		gone, err := peer.Decode("16Uiu2HAmVFXtAfSj4EiR7mL2KvL4EE2wztuQgUSBoj2Jx2KeXFLN")
		if err != nil {
			t.Fatal(err)
		}
		addr := "/ip4/127.0.0.1/tcp/1/p2p/" + gone.String()
		code, body, _ := storeGet(t, plainURL, "peerAddr="+url.QueryEscape(addr))
		if code != http.StatusInternalServerError || !strings.Contains(body, gone.String()) {
			t.Fatalf("%d %q, want 500 naming the peer", code, body)
		}
	})
	t.Run("client error carries the status", func(t *testing.T) {
		t.Parallel()
		c, err := client.New(plainURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.StoreMessages(t.Context(), api.StoreQuery{PubsubTopic: storeTopic})
		if client.StatusOf(err) != http.StatusPreconditionFailed {
			t.Fatalf("client error %v, want a 412 *Error", err)
		}
	})
}

// A stored message's payload comes back base64 as the relay API writes it.
func TestStoreMessageJSON(t *testing.T) {
	t.Parallel()
	n, base := storeNode(t, nil)
	ts := time.Now().Add(-time.Minute).UnixNano()
	m := wire.NewMessage(storeCTA, []byte("stored payload"), ts)
	m.RateLimitProof = []byte("proof bytes")
	st := store.NewStored(storeTopic, m)
	if _, err := n.Archive().Put(context.Background(), []store.Stored{st}); err != nil {
		t.Fatal(err)
	}
	_, body, _ := storeGet(t, base, "includeData=true")
	want := `{"messageHash":"` + api.HexHash(st.Hash[:]) + `","message":{"payload":"` + base64.StdEncoding.EncodeToString([]byte("stored payload")) +
		`","contentTopic":"` + storeCTA + `","version":0,"timestamp":` + strconv.FormatInt(ts, 10) + `,"ephemeral":false,"proof":"` +
		base64.StdEncoding.EncodeToString([]byte("proof bytes")) + `"},"pubsubTopic":"` + storeTopic + `"}`
	if !strings.Contains(body, want) {
		t.Fatalf("answer %s\nwant the message as %s", body, want)
	}
}
