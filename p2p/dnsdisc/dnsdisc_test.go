package dnsdisc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/internal/dnstest"
)

const twnURL = "enrtree://AOGYWMBYOUIMOENHXCHILPKY3ZRFEULMFI4DOM442QSZ73TT2A7VI@test.waku.nodes.status.im"

// callBound bounds every Resolve of these tests (a loaded machine, -race);
// on an idle one they take milliseconds.
const callBound = 10 * time.Second

func testClient(t *testing.T, nameServer string, urls []string, edit func(*Config)) *Client {
	t.Helper()
	cfg := Config{URLs: urls, NameServer: nameServer, Timeout: 2 * time.Second, RateLimit: 1000}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func resolve(t *testing.T, c *Client) ([]*enode.Node, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callBound)
	defer cancel()
	return c.Resolve(ctx)
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	keyText := b32.EncodeToString(crypto.CompressPubkey(&key.PublicKey))
	t.Run("twn", func(t *testing.T) {
		t.Parallel()
		u, err := ParseURL(twnURL)
		if err != nil {
			t.Fatal(err)
		}
		if u.Domain != "test.waku.nodes.status.im" || u.String() != twnURL {
			t.Fatalf("got domain %q, string %q", u.Domain, u.String())
		}
		c, err := New(Config{URLs: []string{twnURL}})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.URLs(); len(got) != 1 || got[0].String() != twnURL {
			t.Fatalf("URLs() = %v", got)
		}
	})
	t.Run("canonical", func(t *testing.T) {
		t.Parallel()
		u, err := ParseURL(Scheme + keyText + "@Nodes.Example.ORG.")
		if err != nil {
			t.Fatal(err)
		}
		if want := Scheme + keyText + "@nodes.example.org"; u.String() != want || !u.PublicKey.Equal(&key.PublicKey) {
			t.Fatalf("got %s, want %s", u, want)
		}
	})
	bad := []struct{ name, url, want string }{
		{"empty", "", `does not start with "enrtree://"`},
		{"https", "https://" + keyText + "@example.org", `does not start with "enrtree://"`},
		{"no at", Scheme + keyText, "has no '@'"},
		{"no key", Scheme + "@example.org", "no public key"},
		{"key not base32", Scheme + "aogywmbyouimoenhxchilpky3zrfeulmfi4dom442qsz73tt2a7vi@example.org", "is not base32"},
		{"key too short", Scheme + keyText[:40] + "@example.org", "expected a 33-byte compressed secp256k1 key"},
		{"key not on curve", Scheme + b32.EncodeToString(append([]byte{2}, make([]byte, 32)...)) + "@example.org", "not a compressed secp256k1 point"},
		{"no domain", Scheme + keyText + "@", "no domain after '@'"},
		{"dot domain", Scheme + keyText + "@.", "no domain after '@'"},
		{"empty label", Scheme + keyText + "@a..b", "empty label"},
		{"bad char", Scheme + keyText + "@ex ample.org", "has the character ' '"},
		{"dash", Scheme + keyText + "@-a.org", "starts or ends with '-'"},
		{"long label", Scheme + keyText + "@" + strings.Repeat("a", 64) + ".org", "label of 64 characters"},
		{"long domain", Scheme + keyText + "@" + strings.Repeat("abcdefgh.", 26) + "org", "leaves room"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseURL(tc.url)
			if !errors.Is(err, ErrInvalidURL) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseURL(%q) = %v, want ErrInvalidURL saying %q", tc.url, err, tc.want)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		is   error
		want string
	}{
		{"no url", Config{}, ErrInvalidConfig, "no URL"},
		{"bad url", Config{URLs: []string{twnURL, "enrtree://x"}}, ErrInvalidURL, "URL 2"},
		{"timeout", Config{URLs: []string{twnURL}, Timeout: -time.Second}, ErrInvalidConfig, "Timeout -1s"},
		{"recheck", Config{URLs: []string{twnURL}, RecheckInterval: -1}, ErrInvalidConfig, "RecheckInterval"},
		{"max nodes", Config{URLs: []string{twnURL}, MaxNodesPerTree: -1}, ErrInvalidConfig, "MaxNodesPerTree"},
		{"max trees", Config{URLs: []string{twnURL, twnURL}, MaxTrees: 1}, ErrInvalidConfig, "below the 2 URLs"},
		{"rate", Config{URLs: []string{twnURL}, RateLimit: -1}, ErrInvalidConfig, "RateLimit"},
		{"ns host", Config{URLs: []string{twnURL}, NameServer: "dns.example.org:53"}, ErrInvalidConfig, "not an IP address"},
		{"ns port", Config{URLs: []string{twnURL}, NameServer: "127.0.0.1:dns"}, ErrInvalidConfig, "port"},
		{"ns port 0", Config{URLs: []string{twnURL}, NameServer: "127.0.0.1:0"}, ErrInvalidConfig, "port 0"},
		{"ns garbage", Config{URLs: []string{twnURL}, NameServer: "nonsense"}, ErrInvalidConfig, "expected ip:port"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.cfg)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want %v saying %q", err, tc.is, tc.want)
			}
		})
	}
	for in, want := range map[string]string{"127.0.0.1": "127.0.0.1:53", "::1": "[::1]:53", "[::1]:5353": "[::1]:5353"} {
		cfg, err := Config{URLs: []string{twnURL}, NameServer: in}.withDefaults()
		if err != nil || cfg.NameServer != want {
			t.Errorf("NameServer %q: got %q, %v; want %q", in, cfg.NameServer, err, want)
		}
	}
}

// A tree of 20 Waku node records is read whole: every record as signed,
// with its waku2 and rs entries, in exactly the queries the tree needs.
func TestResolveTree(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	nodes := wakuNodes(t, 0, 20)
	tr := dnstest.MakeTree(t, newKey(t), "nodes.example.org", 1, nodes)
	srv.SetTree("nodes.example.org", tr.Records)
	reg := prometheus.NewRegistry()
	c := testClient(t, srv.Addr(), []string{tr.URL}, func(cfg *Config) { cfg.Registerer = reg })

	got, err := resolve(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if diff := sameNodes(got, nodes); diff != "" {
		t.Fatal(diff)
	}
	for _, n := range got {
		var waku2, rs []byte
		if err := n.Load(enr.WithEntry("waku2", &waku2)); err != nil || len(waku2) != 1 || waku2[0] != 0x0f {
			t.Fatalf("node %s: waku2 %x, %v", n.ID().TerminalString(), waku2, err)
		}
		if err := n.Load(enr.WithEntry("rs", &rs)); err != nil || len(rs) != 19 {
			t.Fatalf("node %s: rs %x, %v", n.ID().TerminalString(), rs, err)
		}
	}
	// The root, then the tree's 24 entries (20 leaves, 3 branches, the
	// empty link root), each once.
	if q := srv.Queries(); q != int64(len(tr.Records)) || len(tr.Records) != 25 {
		t.Fatalf("%d queries for a tree of %d records, want one each", q, len(tr.Records))
	}
	long := 0
	for _, txt := range tr.Records {
		if len(txt) > 255 {
			long++
		}
	}
	if long == 0 {
		t.Fatal("no record past 255 characters: the test no longer covers TXT records of several strings")
	}
	if v := testutil.ToFloat64(c.metrics.discovered); v != 20 {
		t.Fatalf("waku_dnsdisc_discovered = %v, want 20", v)
	}
}

// Links are followed, breadth first, each tree once (a cycle ends), at
// most MaxTrees trees.
func TestResolveFollowsLinks(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	keyA, keyB, keyC := newKey(t), newKey(t), newKey(t)
	nodesA, nodesB, nodesC := wakuNodes(t, 0, 3), wakuNodes(t, 10, 4), wakuNodes(t, 20, 2)
	urlA, urlB, urlC := urlOf(keyA, "a.example.org"), urlOf(keyB, "b.example.org"), urlOf(keyC, "c.example.org")
	srv.SetTree("a.example.org", dnstest.MakeTree(t, keyA, "a.example.org", 1, nodesA, urlB).Records)
	srv.SetTree("b.example.org", dnstest.MakeTree(t, keyB, "b.example.org", 1, nodesB, urlA, urlC).Records)
	srv.SetTree("c.example.org", dnstest.MakeTree(t, keyC, "c.example.org", 1, nodesC, urlB).Records)

	all := append(append(append([]*enode.Node{}, nodesA...), nodesB...), nodesC...)
	cases := []struct {
		name     string
		maxTrees int
		want     []*enode.Node
	}{
		{"all", 0, all},
		{"two trees", 2, all[:7]},
		{"one tree", 1, nodesA},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testClient(t, srv.Addr(), []string{urlA}, func(cfg *Config) { cfg.MaxTrees = tc.maxTrees })
			got, err := resolve(t, c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := sameNodes(got, tc.want); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}

// A tree larger than MaxNodesPerTree gives at most that many of its nodes,
// in a bounded number of queries.
func TestResolveBoundsTree(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		nodes    int
		maxNodes int
	}{
		{"read whole, truncated", 8, 5},     // 8 leaves + 2 entries fit the budget of 2*(5+1)+2
		{"read up to the budget", 60, 5},    // the budget runs out in the leaves
		{"budget ends in branches", 200, 1}, // 4 entries: the branches only
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := dnstest.Start(t)
			nodes := wakuNodes(t, 0, tc.nodes)
			tr := dnstest.MakeTree(t, newKey(t), "big.example.org", 1, nodes)
			srv.SetTree("big.example.org", tr.Records)
			reg := prometheus.NewRegistry()
			c := testClient(t, srv.Addr(), []string{tr.URL}, func(cfg *Config) {
				cfg.MaxNodesPerTree, cfg.MaxTrees, cfg.Registerer = tc.maxNodes, 1, reg
			})
			got, err := resolve(t, c)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > tc.maxNodes {
				t.Fatalf("got %d nodes, bound %d", len(got), tc.maxNodes)
			}
			in := make(map[string]bool)
			for _, n := range nodes {
				in[n.String()] = true
			}
			for _, n := range got {
				if !in[n.String()] {
					t.Fatalf("node %s is not in the tree", n.ID().TerminalString())
				}
			}
			budget := int64(2*(tc.maxNodes+1) + 2)
			if q := srv.Queries(); q > 1+budget {
				t.Fatalf("%d queries, bound 1 + %d", q, budget)
			}
			if v := testutil.ToFloat64(c.metrics.errors.WithLabelValues(errTypeTooLarge)); v < 1 {
				t.Fatalf("waku_dnsdisc_errors{type=tree_too_large} = %v, want at least 1", v)
			}
		})
	}
}

// A tree whose root another key signed is refused before any entry is
// asked for.
func TestResolveRefusesOtherKey(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	tr := dnstest.MakeTree(t, newKey(t), "nodes.example.org", 3, wakuNodes(t, 0, 2))
	srv.SetTree("nodes.example.org", tr.Records)
	url := urlOf(newKey(t), "nodes.example.org")
	c := testClient(t, srv.Addr(), []string{url}, nil)
	got, err := resolve(t, c)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "not signed by the key of the URL") {
		t.Fatalf("Resolve = %d nodes, %v; want ErrBadSignature naming %s", len(got), err, url)
	}
	if len(got) != 0 || srv.Queries() != 1 {
		t.Fatalf("%d nodes, %d queries; want none past the root", len(got), srv.Queries())
	}
}

// A server that never answers gives ErrTimeout after Config.Timeout.
func TestResolveTimeout(t *testing.T) {
	t.Parallel()
	addr, _ := dnstest.Silent(t)
	url := urlOf(newKey(t), "nodes.example.org")
	const timeout = 300 * time.Millisecond
	const bound = timeout + 2*time.Second
	c := testClient(t, addr, []string{url}, func(cfg *Config) { cfg.Timeout = timeout })
	start := time.Now()
	_, err := resolve(t, c)
	if el := time.Since(start); el > bound {
		t.Fatalf("Resolve took %v, bound %v", el, bound)
	}
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("Resolve: %v, want ErrTimeout naming %s", err, url)
	}
}

// Resolve gives up when its context ends, whatever Config.Timeout.
func TestResolveContext(t *testing.T) {
	t.Parallel()
	addr, got := dnstest.Silent(t)
	c := testClient(t, addr, []string{urlOf(newKey(t), "nodes.example.org")}, func(cfg *Config) { cfg.Timeout = time.Minute })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Resolve(ctx); errc <- err }()
	select {
	case <-got:
	case <-time.After(callBound):
		t.Fatalf("no query within %v", callBound)
	}
	cancel()
	const bound = 2 * time.Second
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Resolve: %v, want context.Canceled", err)
		}
	case <-time.After(bound):
		t.Fatalf("Resolve still running %v after its context ended", bound)
	}
}

// Malformed records give errors that say what is wrong, where.
func TestResolveMalformed(t *testing.T) {
	t.Parallel()
	const domain = "bad.example.org"
	key := newKey(t)
	url := urlOf(key, domain)
	good := wakuNode(t, 1, 1).String()
	emptyBranch := branchPrefix
	// entries puts the entries under their hash labels and a root over e
	// and l.
	type records map[string][]string
	tree := func(e, l string, entries ...string) records {
		r := records{domain: {signRoot(t, key, e, l, 1)}}
		for _, txt := range entries {
			r[label(txt)+"."+domain] = []string{txt}
		}
		return r
	}
	tampered := func() string {
		// Another base64 character inside the record's signature.
		b := []byte(good)
		if b[20] = 'A'; good[20] == 'A' {
			b[20] = 'B'
		}
		return string(b)
	}()
	// Past a datagram: the server truncates, the client asks again over TCP.
	huge := enrPrefix + strings.Repeat("A", MaxEntrySize+400)
	cases := []struct {
		name    string
		records records
		is      error
		want    string
	}{
		{"no root record", records{domain: {"v=spf1 -all"}}, ErrNoRoot, `starts with "enrtree-root:v1"`},
		{"no such domain", records{}, ErrLookup, "TXT " + domain},
		{"root fields", records{domain: {"enrtree-root:v1 e=ABC"}}, ErrInvalidTree, "has 2 fields"},
		{"root seq", records{domain: {"enrtree-root:v1 e=" + label("x") + " l=" + label("y") + " seq=-1 sig=AA"}}, ErrInvalidTree, `seq="-1" is not a decimal number`},
		{"root hash", records{domain: {"enrtree-root:v1 e=abc l=" + label("y") + " seq=1 sig=AA"}}, ErrInvalidTree, "e=\"abc\""},
		{"root sig length", records{domain: {"enrtree-root:v1 e=" + label("x") + " l=" + label("y") + " seq=1 sig=AAAA"}}, ErrInvalidTree, "sig is 3 bytes, expected 65"},
		{"root sig zero", records{domain: {"enrtree-root:v1 e=" + label("x") + " l=" + label("y") + " seq=1 sig=" + b64(make([]byte, 65))}}, ErrBadSignature, "not signed by the key"},
		{"root too large", records{domain: {rootPrefix + strings.Repeat(" ", MaxEntrySize)}}, ErrInvalidTree, "at most 1024 allowed"},
		{"entry missing", tree(label(good), label(emptyBranch), emptyBranch), ErrLookup, label(good) + "." + domain},
		{"hash mismatch", func() records {
			r := tree(label(good), label(emptyBranch), emptyBranch)
			r[label(good)+"."+domain] = []string{wakuNode(t, 2, 1).String()}
			return r
		}(), ErrInvalidTree, "does not hash to its name"},
		{"entry too large", tree(label(huge), label(emptyBranch), huge, emptyBranch), ErrInvalidTree, "entry is 1428 bytes, at most 1024 allowed"},
		{"too many records", func() records {
			r := tree(label(good), label(emptyBranch), emptyBranch)
			r[label(good)+"."+domain] = []string{good, "a", "b", "c", "d", "e", "f", "g", "h"}
			return r
		}(), ErrInvalidTree, "9 TXT records, at most 8"},
		{"not an entry", tree(label("hello"), label(emptyBranch), "hello", emptyBranch), ErrInvalidTree, "none of the 1 TXT records starts with"},
		{"branch syntax", tree(label(branchPrefix+"!!!"), label(emptyBranch), branchPrefix+"!!!", emptyBranch), ErrInvalidTree, "invalid branch entry"},
		{"enr encoding", tree(label("enr:!!!"), label(emptyBranch), "enr:!!!", emptyBranch), ErrInvalidTree, "invalid enr entry"},
		{"enr signature", tree(label(tampered), label(emptyBranch), tampered, emptyBranch), ErrInvalidTree, "invalid enr entry"},
		{"enr in link tree", tree(label(emptyBranch), label(good), emptyBranch, good), ErrInvalidTree, "enr entry in link tree"},
		{"link in enr tree", tree(label(url), label(emptyBranch), url, emptyBranch), ErrInvalidTree, "link entry in ENR tree"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := dnstest.Start(t)
			for name, txts := range tc.records {
				srv.Set(name, txts...)
			}
			c := testClient(t, srv.Addr(), []string{url}, nil)
			_, err := resolve(t, c)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), url) {
				t.Fatalf("Resolve: %v\nwant %v saying %q and naming %s", err, tc.is, tc.want, url)
			}
		})
	}
}

// A tree read again after its root changed asks only for the entries
// that changed; an unchanged root costs one query.
func TestSyncTreeReadsOnlyChanges(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	key := newKey(t)
	nodes := wakuNodes(t, 0, 5)
	tr := dnstest.MakeTree(t, key, "nodes.example.org", 1, nodes)
	srv.SetTree("nodes.example.org", tr.Records)
	c := testClient(t, srv.Addr(), []string{tr.URL}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), callBound)
	defer cancel()
	st := &treeState{url: c.urls[0]}

	steps := []struct {
		name    string
		nodes   []*enode.Node
		seq     uint
		took    bool
		queries int64
	}{
		{"first read", nodes, 1, true, 8},                               // root, eroot branch, 5 leaves, empty link root
		{"unchanged", nodes, 1, false, 1},                               // the root alone
		{"one node more", append(nodes, wakuNode(t, 9, 1)), 2, true, 3}, // root, new eroot branch, new leaf
	}
	for _, step := range steps {
		srv.SetTree("nodes.example.org", dnstest.MakeTree(t, key, "nodes.example.org", step.seq, step.nodes).Records)
		before := srv.Queries()
		took, err := c.syncTree(ctx, st)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if q := srv.Queries() - before; took != step.took || q != step.queries {
			t.Fatalf("%s: took %v in %d queries, want %v in %d", step.name, took, q, step.took, step.queries)
		}
		if diff := sameNodes(st.nodes, step.nodes); diff != "" {
			t.Fatalf("%s: %s", step.name, diff)
		}
	}
}

// next waits for the feed's next node, within bound (the feed is closed
// past it, which ends Next).
func next(t *testing.T, f *Feed, bound time.Duration) *enode.Node {
	t.Helper()
	timer := time.AfterFunc(bound, f.Close)
	defer timer.Stop()
	if !f.Next() {
		t.Fatalf("no node from the feed within %v", bound)
	}
	return f.Node()
}

// A Feed yields the trees' nodes, picks up a tree update (new seq, one
// node added, one removed), yields a node again when it comes back or its
// record changes, and never yields an unchanged node twice.
func TestFeedFollowsUpdates(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	key := newKey(t)
	const domain = "nodes.example.org"
	const recheck = 50 * time.Millisecond
	// The bound of each step: a recheck, then the reads (a few queries
	// each) on a loaded machine.
	const bound = recheck + 5*time.Second
	nodes := wakuNodes(t, 0, 5)
	tr := dnstest.MakeTree(t, key, domain, 1, nodes)
	srv.SetTree(domain, tr.Records)
	c := testClient(t, srv.Addr(), []string{tr.URL}, func(cfg *Config) { cfg.RecheckInterval = recheck })
	f := c.Follow()
	defer f.Close()

	var first []*enode.Node
	for range nodes {
		first = append(first, next(t, f, bound))
	}
	if diff := sameNodes(first, nodes); diff != "" {
		t.Fatal(diff)
	}

	type step struct {
		name  string
		nodes []*enode.Node
		want  *enode.Node // the one node yielded next
	}
	added := wakuNode(t, 7, 1)
	update := append(append([]*enode.Node{}, nodes[1:]...), added)
	back := append(append([]*enode.Node{}, update...), nodes[0])
	changedKey := newKey(t)
	oldRec, newRec := wakuNodeKey(t, changedKey, 3, 1), wakuNodeKey(t, changedKey, 3, 2)
	steps := []step{
		{"node 0 removed, one added", update, added},
		{"node 0 back", back, nodes[0]},
		{"node with record 1 added", append(append([]*enode.Node{}, back...), oldRec), oldRec},
		{"its record 2", append(append([]*enode.Node{}, back...), newRec), newRec},
	}
	for i, step := range steps {
		srv.SetTree(domain, dnstest.MakeTree(t, key, domain, uint(2+i), step.nodes).Records)
		got := next(t, f, bound)
		if got.String() != step.want.String() {
			t.Fatalf("%s: feed yielded %s (seq %d), want %s (seq %d)", step.name, got.ID().TerminalString(), got.Seq(), step.want.ID().TerminalString(), step.want.Seq())
		}
		if diff := sameNodes(f.Nodes(), step.nodes); diff != "" {
			t.Fatalf("%s: Nodes(): %s", step.name, diff)
		}
	}
}

// A Feed refuses a root older than the one it follows (a replay) and
// keeps its nodes.
func TestFeedRefusesStaleRoot(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	key := newKey(t)
	const domain = "nodes.example.org"
	const recheck = 20 * time.Millisecond
	const bound = recheck + 5*time.Second
	nodes := wakuNodes(t, 0, 3)
	old := dnstest.MakeTree(t, key, domain, 4, wakuNodes(t, 10, 2))
	srv.SetTree(domain, dnstest.MakeTree(t, key, domain, 5, nodes).Records)
	reg := prometheus.NewRegistry()
	c := testClient(t, srv.Addr(), []string{old.URL}, func(cfg *Config) { cfg.RecheckInterval, cfg.Registerer = recheck, reg })
	f := c.Follow()
	defer f.Close()
	for range nodes {
		next(t, f, bound)
	}
	srv.DrainAsked()
	srv.SetTree(domain, old.Records)
	// Three root queries after the drain: the second is of a round after
	// the replay, and that round is over once the third is asked.
	for range 3 {
		srv.WaitAsked(t, domain, bound)
	}
	if diff := sameNodes(f.Nodes(), nodes); diff != "" {
		t.Fatalf("after a replayed root: %s", diff)
	}
	if v := testutil.ToFloat64(c.metrics.errors.WithLabelValues(errTypeStaleRoot)); v < 1 {
		t.Fatalf("waku_dnsdisc_errors{type=stale_root} = %v, want at least 1", v)
	}
}

// A tree no longer linked is dropped with its nodes.
func TestFeedDropsUnlinkedTree(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	keyA, keyB := newKey(t), newKey(t)
	const recheck = 20 * time.Millisecond
	const bound = recheck + 5*time.Second
	nodesA, nodesB := wakuNodes(t, 0, 2), wakuNodes(t, 10, 2)
	urlB := urlOf(keyB, "b.example.org")
	a1 := dnstest.MakeTree(t, keyA, "a.example.org", 1, nodesA, urlB)
	srv.SetTree("a.example.org", a1.Records)
	srv.SetTree("b.example.org", dnstest.MakeTree(t, keyB, "b.example.org", 1, nodesB).Records)
	c := testClient(t, srv.Addr(), []string{a1.URL}, func(cfg *Config) { cfg.RecheckInterval = recheck })
	f := c.Follow()
	defer f.Close()
	for range 4 {
		next(t, f, bound)
	}
	if diff := sameNodes(f.Nodes(), append(append([]*enode.Node{}, nodesA...), nodesB...)); diff != "" {
		t.Fatal(diff)
	}
	added := wakuNode(t, 5, 1)
	srv.SetTree("a.example.org", dnstest.MakeTree(t, keyA, "a.example.org", 2, append(append([]*enode.Node{}, nodesA...), added)).Records)
	if got := next(t, f, bound); got.ID() != added.ID() {
		t.Fatalf("feed yielded %s, want the added node", got.ID().TerminalString())
	}
	if diff := sameNodes(f.Nodes(), append(append([]*enode.Node{}, nodesA...), added)); diff != "" {
		t.Fatalf("after the link went: %s", diff)
	}
}

// Close ends a Feed promptly, a DNS query under way included, and Next
// then reports false.
func TestFeedCloseCutsQuery(t *testing.T) {
	t.Parallel()
	addr, got := dnstest.Silent(t)
	c := testClient(t, addr, []string{urlOf(newKey(t), "nodes.example.org")}, func(cfg *Config) { cfg.Timeout = time.Minute })
	f := c.Follow()
	select {
	case <-got:
	case <-time.After(callBound):
		t.Fatalf("no query within %v", callBound)
	}
	const bound = 2 * time.Second
	closed := make(chan struct{})
	go func() { f.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(bound):
		t.Fatalf("Close still waiting after %v", bound)
	}
	if f.Next() {
		t.Fatal("Next after Close reported a node")
	}
	f.Close()
}

// A Feed whose tree cannot be read yet tries again (after
// min(5 s, RecheckInterval)) and yields the nodes once it can.
func TestFeedRetriesAfterFailure(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	key := newKey(t)
	const domain = "nodes.example.org"
	const recheck = 20 * time.Millisecond
	const bound = recheck + 5*time.Second
	reg := prometheus.NewRegistry()
	c := testClient(t, srv.Addr(), []string{urlOf(key, domain)}, func(cfg *Config) { cfg.RecheckInterval, cfg.Registerer = recheck, reg })
	f := c.Follow()
	defer f.Close()
	srv.WaitAsked(t, domain, bound) // answered: no such name
	srv.WaitAsked(t, domain, bound) // the round after has begun: the failure is counted
	if v := testutil.ToFloat64(c.metrics.errors.WithLabelValues(errTypeTreeSync)); v < 1 {
		t.Fatalf("waku_dnsdisc_errors{type=tree_sync_failure} = %v, want at least 1", v)
	}
	nodes := wakuNodes(t, 0, 2)
	srv.SetTree(domain, dnstest.MakeTree(t, key, domain, 1, nodes).Records)
	got := []*enode.Node{next(t, f, bound), next(t, f, bound)}
	if diff := sameNodes(got, nodes); diff != "" {
		t.Fatal(diff)
	}
}
