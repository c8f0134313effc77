package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire"
)

const (
	testPubsub  = "/waku/2/rs/1/0"
	testPubsub2 = "/waku/2/rs/1/1"
)

// msg builds a stored message; n makes the payload unique.
func msg(pubsub, contentTopic string, ts int64, n int) Stored {
	m := wire.NewMessage(contentTopic, fmt.Appendf(nil, "payload %d", n), ts)
	return NewStored(pubsub, m)
}

// less orders stored messages as the archive does: (timestamp, hash).
func less(a, b Stored) int {
	return cmp.Or(cmp.Compare(a.Message.GetTimestamp(), b.Message.GetTimestamp()), bytes.Compare(a.Hash[:], b.Hash[:]))
}

func hashesOf(ms []Stored) []wire.MessageHash {
	out := make([]wire.MessageHash, len(ms))
	for i, m := range ms {
		out[i] = m.Hash
	}
	return out
}

func mustPut(t *testing.T, a Archive, ms []Stored) int {
	t.Helper()
	n, err := a.Put(context.Background(), ms)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return n
}

func mustQuery(t *testing.T, a Archive, q Query) Page {
	t.Helper()
	p, err := a.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	return p
}

// queryAll pages through q to the end and returns every message in
// ascending order (backward pages are prepended).
func queryAll(t *testing.T, a Archive, q Query) []Stored {
	t.Helper()
	var all []Stored
	for range 10000 {
		p := mustQuery(t, a, q)
		if q.Forward {
			all = append(all, p.Messages...)
		} else {
			all = append(slices.Clone(p.Messages), all...)
		}
		if p.Next == nil {
			return all
		}
		q.Cursor = p.Next
	}
	t.Fatal("paging did not end")
	return nil
}

func checkHashes(t *testing.T, what string, got []Stored, want []Stored) {
	t.Helper()
	g, w := hashesOf(got), hashesOf(want)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: got %d messages, want %d\ngot  %v\nwant %v", what, len(g), len(w), g, w)
	}
}

func ptr[T any](v T) *T { return &v }

// testArchive runs the backend-independent archive tests; open returns a
// new, empty archive (closed by the test's cleanup).
func testArchive(t *testing.T, open func(t *testing.T) Archive) {
	ctx := context.Background()

	t.Run("Dedupe", func(t *testing.T) {
		t.Parallel()
		a := open(t)
		m1, m2 := msg(testPubsub, "/app/1/a/proto", 100, 1), msg(testPubsub, "/app/1/a/proto", 100, 2)
		if n := mustPut(t, a, []Stored{m1, m2, m1}); n != 2 {
			t.Fatalf("first Put inserted %d, want 2", n)
		}
		if n := mustPut(t, a, []Stored{m2, m1}); n != 0 {
			t.Fatalf("second Put inserted %d, want 0", n)
		}
		// Same message on another pubsub topic is another hash.
		if n := mustPut(t, a, []Stored{NewStored(testPubsub2, m1.Message)}); n != 1 {
			t.Fatalf("Put on another pubsub topic inserted %d, want 1", n)
		}
		if n, err := a.Count(ctx); err != nil || n != 3 {
			t.Fatalf("Count = %d, %v; want 3", n, err)
		}
		got := mustQuery(t, a, Query{Hashes: []wire.MessageHash{m1.Hash}, Forward: true})
		if len(got.Messages) != 1 || !proto.Equal(got.Messages[0].Message, m1.Message) || got.Messages[0].PubsubTopic != testPubsub {
			t.Fatalf("stored message does not round-trip: %+v", got.Messages)
		}
	})

	t.Run("PutRejectsBadMessages", func(t *testing.T) {
		t.Parallel()
		a := open(t)
		good := msg(testPubsub, "/app/1/a/proto", 1, 1)
		wrongHash := msg(testPubsub, "/app/1/a/proto", 1, 2)
		wrongHash.Hash[0] ^= 1
		noTopic := NewStored(testPubsub, wire.NewMessage("", nil, 1))
		for _, bad := range []Stored{wrongHash, noTopic} {
			if _, err := a.Put(ctx, []Stored{good, bad}); !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("Put(bad) error = %v, want ErrInvalidMessage", err)
			}
		}
		if n, _ := a.Count(ctx); n != 0 {
			t.Fatalf("a rejected batch stored %d messages", n)
		}
	})

	// A fixed data set for the filter tests.
	var set []Stored
	for i := range 60 {
		pubsub := []string{testPubsub, testPubsub2}[i%2]
		ct := []string{"/app/1/a/proto", "/app/1/b/proto", "/app/1/c/proto"}[i%3]
		set = append(set, msg(pubsub, ct, int64(1000+i/2*10), i)) // pairs share a timestamp
	}
	sorted := slices.SortedFunc(slices.Values(set), less)
	filter := func(keep func(Stored) bool) []Stored {
		var out []Stored
		for _, m := range sorted {
			if keep(m) {
				out = append(out, m)
			}
		}
		return out
	}

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		a := open(t)
		mustPut(t, a, set)
		ct := func(m Stored) string { return m.Message.GetContentTopic() }
		ts := func(m Stored) int64 { return m.Message.GetTimestamp() }
		tests := []struct {
			name string
			q    Query
			want []Stored
		}{
			{"all", Query{}, sorted},
			{"pubsub", Query{PubsubTopic: testPubsub}, filter(func(m Stored) bool { return m.PubsubTopic == testPubsub })},
			{"unknown pubsub", Query{PubsubTopic: "/waku/2/rs/9/9"}, nil},
			{"empty content topic", Query{PubsubTopic: testPubsub, ContentTopics: []string{""}}, nil},
			{"empty and real content topic", Query{PubsubTopic: testPubsub, ContentTopics: []string{"", "/app/1/a/proto", "/app/1/a/proto"}},
				filter(func(m Stored) bool { return m.PubsubTopic == testPubsub && ct(m) == "/app/1/a/proto" })},
			{"one content topic", Query{PubsubTopic: testPubsub, ContentTopics: []string{"/app/1/a/proto"}},
				filter(func(m Stored) bool { return m.PubsubTopic == testPubsub && ct(m) == "/app/1/a/proto" })},
			{"two content topics", Query{PubsubTopic: testPubsub2, ContentTopics: []string{"/app/1/b/proto", "/app/1/c/proto"}},
				filter(func(m Stored) bool { return m.PubsubTopic == testPubsub2 && ct(m) != "/app/1/a/proto" })},
			{"start inclusive", Query{StartTime: ptr[int64](1100)}, filter(func(m Stored) bool { return ts(m) >= 1100 })},
			{"end exclusive", Query{EndTime: ptr[int64](1100)}, filter(func(m Stored) bool { return ts(m) < 1100 })},
			{"range", Query{StartTime: ptr[int64](1050), EndTime: ptr[int64](1150)},
				filter(func(m Stored) bool { return ts(m) >= 1050 && ts(m) < 1150 })},
			{"empty range", Query{StartTime: ptr[int64](1100), EndTime: ptr[int64](1100)}, nil},
			{"range and topic", Query{PubsubTopic: testPubsub, ContentTopics: []string{"/app/1/b/proto"}, StartTime: ptr[int64](1030), EndTime: ptr[int64](1200)},
				filter(func(m Stored) bool {
					return m.PubsubTopic == testPubsub && ct(m) == "/app/1/b/proto" && ts(m) >= 1030 && ts(m) < 1200
				})},
			{"hashes", Query{Hashes: []wire.MessageHash{set[7].Hash, set[3].Hash, set[42].Hash, msg(testPubsub, "/x/1/y/z", 1, 999).Hash}},
				filter(func(m Stored) bool { return m.Hash == set[7].Hash || m.Hash == set[3].Hash || m.Hash == set[42].Hash })},
			// The filters given with hashes narrow the lookup.
			{"hashes and their pubsub topic", Query{PubsubTopic: set[7].PubsubTopic, Hashes: []wire.MessageHash{set[7].Hash, set[3].Hash, set[42].Hash}},
				filter(func(m Stored) bool {
					return m.PubsubTopic == set[7].PubsubTopic && (m.Hash == set[7].Hash || m.Hash == set[3].Hash || m.Hash == set[42].Hash)
				})},
			{"hashes and a time range", Query{Hashes: []wire.MessageHash{set[7].Hash, set[3].Hash}, StartTime: ptr(ts(set[7]))},
				filter(func(m Stored) bool { return (m.Hash == set[7].Hash || m.Hash == set[3].Hash) && ts(m) >= ts(set[7]) })},
		}
		for _, tc := range tests {
			for _, forward := range []bool{true, false} {
				for _, limit := range []int{1, 7, 100} {
					q := tc.q
					q.Forward, q.Limit = forward, limit
					checkHashes(t, fmt.Sprintf("%s forward=%v limit=%d", tc.name, forward, limit), queryAll(t, a, q), tc.want)
				}
			}
		}
	})

	t.Run("PageSemantics", func(t *testing.T) {
		t.Parallel()
		a := open(t)
		mustPut(t, a, set)
		// Forward: the first 20, Next = the 20th.
		p := mustQuery(t, a, Query{Forward: true})
		checkHashes(t, "first forward page", p.Messages, sorted[:20])
		if p.Next == nil || *p.Next != sorted[19].Hash {
			t.Fatalf("forward Next = %v, want %s", p.Next, sorted[19].Hash)
		}
		// Backward: the last 20 in ascending order, Next = the oldest of them.
		p = mustQuery(t, a, Query{})
		checkHashes(t, "first backward page", p.Messages, sorted[40:])
		if p.Next == nil || *p.Next != sorted[40].Hash {
			t.Fatalf("backward Next = %v, want %s", p.Next, sorted[40].Hash)
		}
		p = mustQuery(t, a, Query{Cursor: p.Next, Limit: 15})
		checkHashes(t, "second backward page", p.Messages, sorted[25:40])
		// Cursor excluded, both ways, and a cursor on the last page ends paging.
		p = mustQuery(t, a, Query{Cursor: &sorted[10].Hash, Forward: true, Limit: 5})
		checkHashes(t, "after cursor", p.Messages, sorted[11:16])
		p = mustQuery(t, a, Query{Cursor: &sorted[10].Hash, Limit: 100})
		checkHashes(t, "before cursor", p.Messages, sorted[:10])
		if p.Next != nil {
			t.Fatalf("Next = %s on the last backward page", p.Next)
		}
		// Exactly limit messages left: no Next.
		p = mustQuery(t, a, Query{Cursor: &sorted[39].Hash, Forward: true, Limit: 20})
		checkHashes(t, "exact last page", p.Messages, sorted[40:])
		if p.Next != nil {
			t.Fatalf("Next = %s on an exactly full last page", p.Next)
		}
		// A cursor outside the filter is fine: it only positions the page.
		p = mustQuery(t, a, Query{PubsubTopic: testPubsub2, Cursor: &sorted[0].Hash, Forward: true, Limit: 100})
		checkHashes(t, "cursor outside filter", p.Messages, filter(func(m Stored) bool {
			return m.PubsubTopic == testPubsub2 && less(m, sorted[0]) > 0
		}))
	})

	t.Run("Limits", func(t *testing.T) {
		t.Parallel()
		a := open(t)
		var many []Stored
		for i := range 250 {
			many = append(many, msg(testPubsub, "/app/1/a/proto", int64(i+1), i))
		}
		mustPut(t, a, many)
		for _, tc := range []struct{ limit, want int }{{0, 20}, {-5, 20}, {1, 1}, {20, 20}, {100, 100}, {101, 100}, {1 << 30, 100}} {
			p := mustQuery(t, a, Query{Forward: true, Limit: tc.limit})
			if len(p.Messages) != tc.want {
				t.Errorf("Limit %d: page of %d, want %d", tc.limit, len(p.Messages), tc.want)
			}
		}
	})

	t.Run("InvalidQueries", func(t *testing.T) {
		t.Parallel()
		a := open(t)
		m := msg(testPubsub, "/app/1/a/proto", 1, 1)
		mustPut(t, a, []Stored{m})
		unknown := msg(testPubsub, "/app/1/a/proto", 1, 2).Hash
		if _, err := a.Query(ctx, Query{Cursor: &unknown}); !errors.Is(err, ErrUnknownCursor) {
			t.Errorf("unknown cursor: error %v, want ErrUnknownCursor", err)
		}
		if _, err := a.Query(ctx, Query{Cursor: &unknown, Forward: true, PubsubTopic: testPubsub}); !errors.Is(err, ErrUnknownCursor) {
			t.Errorf("unknown cursor forward: error %v, want ErrUnknownCursor", err)
		}
		eleven := make([]string, MaxContentTopics+1)
		for i := range eleven {
			eleven[i] = fmt.Sprintf("/app/1/t%d/proto", i)
		}
		for name, q := range map[string]Query{
			"content topics without pubsub": {ContentTopics: []string{"/app/1/a/proto"}},
			"too many content topics":       {PubsubTopic: testPubsub, ContentTopics: eleven},
			"zero cursor":                   {Cursor: &wire.MessageHash{}},
		} {
			if _, err := a.Query(ctx, q); !errors.Is(err, ErrInvalidQuery) {
				t.Errorf("%s: error %v, want ErrInvalidQuery", name, err)
			}
		}
	})

	t.Run("PagingWithConcurrentInserts", func(t *testing.T) {
		t.Parallel()
		for _, forward := range []bool{true, false} {
			t.Run(fmt.Sprintf("forward=%v", forward), func(t *testing.T) {
				t.Parallel()
				a := open(t)
				const initial = 500
				var base []Stored
				for i := range initial {
					base = append(base, msg(testPubsub, "/app/1/a/proto", int64(1000+i/3), i)) // ties on timestamp
				}
				mustPut(t, a, base)
				want := slices.SortedFunc(slices.Values(base), less)

				// A writer adds messages at later timestamps while we page,
				// and the pager itself inserts one after every page, so
				// inserts certainly interleave with paging.
				// Backward, the writer starts after the first page: what it
				// adds is newer than where paging began and must not
				// appear (before the first page it legitimately would).
				stop := make(chan struct{})
				done := make(chan error, 1)
				writer := func() {
					defer close(done)
					for i := range 300 {
						select {
						case <-stop:
							return
						default:
						}
						batch := []Stored{
							msg(testPubsub, "/app/1/a/proto", int64(1_000_000+i), 10_000+2*i),
							msg(testPubsub, "/app/1/a/proto", int64(1_000_000+i), 10_001+2*i),
						}
						if _, err := a.Put(ctx, batch); err != nil {
							done <- err
							return
						}
					}
				}
				if forward {
					go writer()
				}
				q := Query{PubsubTopic: testPubsub, ContentTopics: []string{"/app/1/a/proto"}, Forward: forward, Limit: 17}
				var got, interleaved []Stored
				for pages := 0; ; pages++ {
					if pages > 1000 {
						t.Fatal("paging did not end")
					}
					p := mustQuery(t, a, q)
					if !forward && pages == 0 {
						go writer()
					}
					if forward {
						got = append(got, p.Messages...)
					} else {
						got = append(slices.Clone(p.Messages), got...)
					}
					if p.Next == nil {
						break
					}
					q.Cursor = p.Next
					m := msg(testPubsub, "/app/1/a/proto", int64(2_000_000+pages), 50_000+pages)
					mustPut(t, a, []Stored{m})
					interleaved = append(interleaved, m)
				}
				close(stop)
				if err := <-done; err != nil {
					t.Fatalf("concurrent Put: %v", err)
				}
				if len(interleaved) == 0 {
					t.Fatal("no insert interleaved with paging")
				}
				if forward {
					// Inserted ahead of the cursor: paging forward meets them.
					want = append(want, interleaved...)
				}
				// Ascending without duplicates, every initial message present.
				for i := 1; i < len(got); i++ {
					if less(got[i-1], got[i]) >= 0 {
						t.Fatalf("results out of order or duplicated at %d", i)
					}
				}
				seen := map[wire.MessageHash]bool{}
				for _, m := range got {
					seen[m.Hash] = true
				}
				for _, m := range want {
					if !seen[m.Hash] {
						t.Fatalf("message %s missing after paging", m.Hash)
					}
				}
				if !forward {
					// Backward paging starts from the newest at the first
					// query; later inserts are newer and never enter it.
					checkHashes(t, "backward", got, want)
				}
			})
		}
	})

	t.Run("Retention", func(t *testing.T) {
		t.Parallel()
		now := time.Now().UnixNano()
		old := func(n int) []Stored {
			var out []Stored
			for i := range n {
				out = append(out, msg(testPubsub, "/app/1/a/proto", now-int64(2*time.Hour)+int64(i), i))
			}
			return out
		}
		t.Run("Age", func(t *testing.T) {
			t.Parallel()
			a := open(t)
			mustPut(t, a, old(300))
			recent := []Stored{msg(testPubsub, "/app/1/a/proto", now, -1), msg(testPubsub, "/app/1/a/proto", now+1, -2)}
			mustPut(t, a, recent)
			n, err := a.Retain(ctx, Retention{MaxAge: time.Hour})
			if err != nil || n != 300 {
				t.Fatalf("Retain = %d, %v; want 300", n, err)
			}
			checkHashes(t, "after age retention", queryAll(t, a, Query{Forward: true}), recent)
		})
		t.Run("Count", func(t *testing.T) {
			t.Parallel()
			a := open(t)
			all := old(300)
			mustPut(t, a, all)
			n, err := a.Retain(ctx, Retention{MaxCount: 120})
			if err != nil || n != 180 {
				t.Fatalf("Retain = %d, %v; want 180", n, err)
			}
			checkHashes(t, "after count retention", queryAll(t, a, Query{Forward: true}), all[180:])
		})
		t.Run("Bytes", func(t *testing.T) {
			t.Parallel()
			a := open(t)
			all := old(300)
			mustPut(t, a, all)
			size := func(ms []Stored) int64 {
				var s int64
				for _, m := range ms {
					s += int64(proto.Size(m.Message))
				}
				return s
			}
			limit := size(all[200:]) + 1 // the newest 100 fit, 101 do not
			n, err := a.Retain(ctx, Retention{MaxBytes: limit})
			if err != nil || n != 200 {
				t.Fatalf("Retain = %d, %v; want 200", n, err)
			}
			checkHashes(t, "after size retention", queryAll(t, a, Query{Forward: true}), all[200:])
		})
		t.Run("WhileInserting", func(t *testing.T) {
			t.Parallel()
			a := open(t)
			mustPut(t, a, old(2000))
			// New messages go in while retention runs; retention keeps
			// the newest 1000 by count and drops everything older than an
			// hour. Nothing recent is lost, the archive ends in bounds.
			var wg sync.WaitGroup
			var recent []Stored
			for i := range 1000 {
				recent = append(recent, msg(testPubsub, "/app/1/b/proto", now+int64(i), 100_000+i))
			}
			errs := make(chan error, 2)
			wg.Go(func() {
				for b := range slices.Chunk(recent, 10) {
					if _, err := a.Put(ctx, b); err != nil {
						errs <- err
						return
					}
				}
			})
			wg.Go(func() {
				for range 5 {
					if _, err := a.Retain(ctx, Retention{MaxAge: time.Hour, MaxCount: 1000}); err != nil {
						errs <- err
						return
					}
				}
			})
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if _, err := a.Retain(ctx, Retention{MaxAge: time.Hour, MaxCount: 1000}); err != nil {
				t.Fatal(err)
			}
			checkHashes(t, "after concurrent retention", queryAll(t, a, Query{Forward: true, Limit: 100}), recent)
			if n, err := a.Count(ctx); err != nil || n != len(recent) {
				t.Fatalf("Count = %d, %v; want %d", n, err, len(recent))
			}
		})
	})
}

func TestParseCursor(t *testing.T) {
	t.Parallel()
	h := msg(testPubsub, "/app/1/a/proto", 1, 1).Hash
	for _, tc := range []struct {
		name string
		in   []byte
		want *wire.MessageHash
		err  error
	}{
		{"absent", nil, nil, nil},
		{"empty", []byte{}, nil, nil},
		{"hash", h[:], &h, nil},
		{"short", h[:31], nil, ErrInvalidQuery},
		{"long", append(h[:], 0), nil, ErrInvalidQuery},
		{"zero", make([]byte, 32), nil, ErrInvalidQuery},
	} {
		got, err := ParseCursor(tc.in)
		if !errors.Is(err, tc.err) || (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("%s: ParseCursor = %v, %v; want %v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{1}, 32))
	f.Add(bytes.Repeat([]byte{1}, 33))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseCursor(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidQuery) || h != nil {
				t.Fatalf("error %v with cursor %v", err, h)
			}
			return
		}
		if len(b) == 0 {
			if h != nil {
				t.Fatal("cursor from no bytes")
			}
			return
		}
		if h == nil || !bytes.Equal(h[:], b) || *h == (wire.MessageHash{}) {
			t.Fatalf("ParseCursor(%x) = %v", b, h)
		}
	})
}
