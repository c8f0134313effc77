package node

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/wire"
)

// scrape is one read of a node's /metrics in the text format: each
// family's # TYPE and whether it has a # HELP line, and every sample by its
// series ("name" or `name{label="value",...}` as written).
type scrape struct {
	types   map[string]string
	help    map[string]bool
	samples map[string]float64
}

// scrapeMetrics reads n's /metrics over HTTP.
func scrapeMetrics(t *testing.T, n *Node) scrape {
	t.Helper()
	resp, err := http.Get("http://" + n.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return parseMetrics(t, resp.Body)
}

func parseMetrics(t *testing.T, r io.Reader) scrape {
	t.Helper()
	s := scrape{types: map[string]string{}, help: map[string]bool{}, samples: map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			s.types[f[2]] = f[3]
		case strings.HasPrefix(line, "# HELP "):
			f := strings.Fields(line)
			s.help[f[2]] = len(f) > 3
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			i := strings.LastIndexByte(line, ' ')
			v, err := strconv.ParseFloat(line[i+1:], 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			s.samples[line[:i]] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// value is a series' sample; the test fails without it.
func (s scrape) value(t *testing.T, series string) float64 {
	t.Helper()
	v, ok := s.samples[series]
	if !ok {
		t.Fatalf("no sample %s in /metrics", series)
	}
	return v
}

// sum adds the samples of every series whose text starts with prefix.
func (s scrape) sum(prefix string) float64 {
	total := 0.0
	for k, v := range s.samples {
		if strings.HasPrefix(k, prefix) {
			total += v
		}
	}
	return total
}

// checkTypes fails for each family missing from s, without a help text or
// of another type than want's.
func (s scrape) checkTypes(t *testing.T, want map[string]string) {
	t.Helper()
	for name, typ := range want {
		switch got, ok := s.types[name]; {
		case !ok:
			t.Errorf("/metrics has no # TYPE line for %s", name)
		case got != typ:
			t.Errorf("%s is a %s, want a %s", name, got, typ)
		case !s.help[name]:
			t.Errorf("%s has no # HELP text", name)
		}
	}
}

// rlnFixture is a static group of members with the Waku RLN keys.
type rlnFixture struct {
	prover   *rln.Prover
	verifier *rln.Verifier
	creds    []membership.IdentityCredential
	members  []relay.Member
	group    *membership.StaticGroup
}

var (
	keysOnce         sync.Once
	testProver       *rln.Prover
	testVerifier     *rln.Verifier
	errTestArtefacts error
)

func newRLNFixture(t *testing.T, n int, limit uint64) *rlnFixture {
	t.Helper()
	keysOnce.Do(func() {
		testProver, errTestArtefacts = rln.LoadProver(artefacts.DefaultDir(), rln.WakuRLNIdentifier)
		if errTestArtefacts == nil {
			testVerifier, errTestArtefacts = testProver.Verifier()
		}
	})
	if errTestArtefacts != nil {
		t.Fatal(errTestArtefacts)
	}
	f := &rlnFixture{prover: testProver, verifier: testVerifier}
	var leaves []fr.Element
	for i := range n {
		c, err := membership.NewIdentityCredential(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, err := c.Identity()
		if err != nil {
			t.Fatal(err)
		}
		f.creds = append(f.creds, c)
		f.members = append(f.members, relay.Member{Identity: id, Index: uint64(i), UserMessageLimit: limit})
		leaves = append(leaves, id.RateCommitment(limit))
	}
	g, err := membership.NewStaticGroup(leaves, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.group = g
	return f
}

// keystore writes a keystore holding member i, opened with "pw".
func (f *rlnFixture) keystore(t *testing.T, cfg *config.Config, i int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keystore.json")
	m := membership.Membership{
		Contract:  membership.Contract{ChainID: "0x" + strconv.FormatUint(cfg.Chain.ChainID, 16), Address: cfg.Chain.Contract},
		TreeIndex: uint64(i), Identity: f.creds[i], UserMessageLimit: f.members[i].UserMessageLimit,
	}
	if _, err := membership.AddToFile(path, m, "pw", 1000); err != nil {
		t.Fatal(err)
	}
	return path
}

// unreachablePeer is a peer address nothing listens on.
func unreachablePeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, id)
}

// The metrics nwaku's dashboards read are on a node's /metrics with their
// nwaku names and types, and move with what they count. Node A proves with
// its own membership (rln.keystore) and for light clients (one proof-as-a-
// service membership), asks a peer-exchange node nothing listens at, and
// publishes once with no relay peer (a publish failure) and once after node
// B connected (a proof made, B validates it).
func TestNodeDashboardMetrics(t *testing.T) {
	t.Parallel()
	const limit = 10
	f := newRLNFixture(t, 2, limit)
	cfg := quickConfig(t, t.TempDir())
	cfg.RLN.Enabled = true
	// Epochs of an hour: the proof slots counted below stay in one epoch
	// unless the test runs across an hour's turn, which is checked.
	cfg.RLN.EpochPeriod = time.Hour
	cfg.RLN.Keystore, cfg.RLN.KeystorePassword = f.keystore(t, &cfg, 1), "pw"
	cfg.Lightpush.Enabled = true
	cfg.Filter.Enabled = true
	cfg.Store.Enabled, cfg.Store.DBPath = true, filepath.Join(t.TempDir(), "store.db")
	cfg.Metrics.Enabled, cfg.Metrics.Address = true, "127.0.0.1:0"
	cfg.Discovery.PeerExchangeNode = unreachablePeer(t)
	a, err := New(t.Context(), Options{Config: &cfg, Group: f.group, Verifier: f.verifier, Prover: f.prover,
		LightpushMemberships: f.members[:1], Version: "v0.0.0-metrics"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })

	before := scrapeMetrics(t, a)
	before.checkTypes(t, map[string]string{
		"waku_version":                                            "gauge",
		"waku_node_errors":                                        "gauge",
		"waku_histogram_message_size":                             "histogram",
		"waku_node_messages_total":                                "counter",
		"waku_connected_peers":                                    "gauge",
		"waku_streams_peers":                                      "gauge",
		"waku_peer_store_size":                                    "gauge",
		"waku_px_peers_sent_total":                                "counter",
		"waku_filter_subscriptions":                               "gauge",
		"waku_store_queries":                                      "counter",
		"waku_archive_messages":                                   "gauge",
		"waku_archive_insert_duration_seconds":                    "histogram",
		"waku_archive_query_duration_seconds":                     "histogram",
		"waku_rln_proof_generation_duration_seconds":              "gauge",
		"waku_rln_total_generated_proofs":                         "gauge",
		"waku_rln_remaining_proofs_per_epoch":                     "gauge",
		"waku_rln_membership_credentials_import_duration_seconds": "gauge",
		"waku_rln_proof_verification_duration_seconds":            "gauge",
		"waku_rln_messages_total_total":                           "counter",
		"waku_rln_spam_messages_total_total":                      "counter",
		"waku_rln_invalid_messages_total_total":                   "counter",
		"waku_rln_proof_verification_total_total":                 "counter",
		"waku_rln_valid_messages_total":                           "histogram",
		"libp2p_peers":                                            "gauge",
		"libp2p_pubsub_peers":                                     "gauge",
		"libp2p_pubsub_topics":                                    "gauge",
		"libp2p_pubsub_validation_success_total":                  "counter",
		"libp2p_pubsub_validation_failure_total":                  "counter",
		"libp2p_pubsub_validation_ignore_total":                   "counter",
		"libp2p_gossipsub_peers_per_topic_mesh":                   "gauge",
		"process_start_time_seconds":                              "gauge",
		"process_open_fds":                                        "gauge",
		"process_resident_memory_bytes":                           "gauge",
		"process_virtual_memory_bytes":                            "gauge",
	})
	if v := before.value(t, `waku_version{version="v0.0.0-metrics"}`); v != 1 {
		t.Errorf("waku_version = %v, want 1", v)
	}
	if v := before.value(t, "libp2p_pubsub_topics"); v != float64(len(a.Relay().Topics())) {
		t.Errorf("libp2p_pubsub_topics = %v, want the %d shards relayed", v, len(a.Relay().Topics()))
	}
	if v := before.value(t, "waku_rln_membership_credentials_import_duration_seconds"); v <= 0 {
		t.Errorf("waku_rln_membership_credentials_import_duration_seconds = %v after importing rln.keystore, want > 0", v)
	}
	for series, want := range map[string]float64{
		`waku_node_errors{type="publish_failure"}`:         0,
		`waku_node_errors{type="membership_sync_failure"}`: 0,
		"waku_rln_proof_generation_duration_seconds":       0,
		"waku_rln_total_generated_proofs":                  0,
		"waku_rln_remaining_proofs_per_epoch":              2 * limit, // the own membership's and proof as a service's
		"libp2p_pubsub_peers":                              0,
	} {
		if got := before.value(t, series); got != want {
			t.Errorf("before: %s = %v, want %v", series, got, want)
		}
	}
	if got := before.sum("waku_streams_peers{"); got != 0 {
		t.Errorf("%v streams before any peer, want 0", got)
	}

	// The peer-exchange node is unreachable: each round fails.
	testnet.WaitFor(t, 30*time.Second, "a failed peer-exchange round in waku_node_errors", func() bool {
		return scrapeMetrics(t, a).value(t, `waku_node_errors{type="peer_exchange_failure"}`) >= 1
	})

	// No relay peer: the node's own message is not published, and no proof
	// is made for it.
	const contentTopic = "/rlnd/1/dashboard/proto"
	if r := a.Publish(t.Context(), "", wire.NewMessage(contentTopic, []byte("alone"), time.Now().UnixNano())); r.Status != lightpush.StatusNoPeers {
		t.Fatalf("publish without peers: %v %q, want %v", r.Status, r.Description, lightpush.StatusNoPeers)
	}
	failed := scrapeMetrics(t, a)
	if got := failed.value(t, `waku_node_errors{type="publish_failure"}`); got != 1 {
		t.Errorf(`waku_node_errors{type="publish_failure"} = %v after a publish with no relay peer, want 1`, got)
	}
	if got := failed.value(t, "waku_rln_total_generated_proofs"); got != 0 {
		t.Errorf("waku_rln_total_generated_proofs = %v after a publish refused before proving, want 0", got)
	}

	// Node B relays with A.
	var logB testnet.Buffer
	cfgB := quickConfig(t, t.TempDir())
	cfgB.RLN.Enabled, cfgB.RLN.EpochPeriod = true, time.Hour
	cfgB.P2P.StaticPeers = []string{a.Addrs()[0].String()}
	cfgB.Log.StatusInterval = time.Second
	b, err := New(t.Context(), Options{Config: &cfgB, Group: f.group, Verifier: f.verifier,
		Logger: slog.New(slog.NewTextHandler(&logB, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	topic, err := a.Relay().TopicFor(contentTopic)
	if err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, 30*time.Second, "B in A's relay topic", func() bool { return len(a.Relay().TopicPeers(topic)) > 0 })
	connected := scrapeMetrics(t, a)
	if got := connected.value(t, "libp2p_pubsub_peers"); got < 1 {
		t.Errorf("libp2p_pubsub_peers = %v with B connected, want >= 1", got)
	}
	// Two rlnd nodes relay on gossipsub v1.2's id; nwaku peers on Waku
	// relay's.
	if got := connected.value(t, `waku_streams_peers{direction="In",protocol="/meshsub/1.2.0"}`) +
		connected.value(t, `waku_streams_peers{direction="Out",protocol="/meshsub/1.2.0"}`); got < 1 {
		t.Errorf("relay streams %v with B connected, want >= 1", got)
	}

	// A publishes with a proof of its own membership; B validates it.
	r := a.Publish(t.Context(), "", wire.NewMessage(contentTopic, make([]byte, 2000), time.Now().UnixNano()))
	if r.Status != lightpush.StatusOK {
		t.Fatalf("publish with B connected: %v %q, want OK", r.Status, r.Description)
	}
	after := scrapeMetrics(t, a)
	if got := after.value(t, "waku_rln_total_generated_proofs"); got != 1 {
		t.Errorf("waku_rln_total_generated_proofs = %v, want 1", got)
	}
	if got := after.value(t, "waku_rln_proof_generation_duration_seconds"); got <= 0 {
		t.Errorf("waku_rln_proof_generation_duration_seconds = %v after a proof, want > 0", got)
	}
	proof, _ := a.own.LastProof()
	left := float64(2*limit - 1)
	if rln.Epoch(proof.At, cfg.RLN.EpochPeriod) != rln.Epoch(time.Now(), cfg.RLN.EpochPeriod) {
		left = 2 * limit // the hour turned: every slot is free again
	}
	if got := after.value(t, "waku_rln_remaining_proofs_per_epoch"); got != left {
		t.Errorf("waku_rln_remaining_proofs_per_epoch = %v after one proof, want %v", got, left)
	}
	if got := after.value(t, `waku_node_errors{type="publish_failure"}`); got != 1 {
		t.Errorf(`waku_node_errors{type="publish_failure"} = %v after a publish that went out, want still 1`, got)
	}
	// The relay counts its own message where it delivers it, in its
	// fan-in goroutine, after Publish returned: wait for it (10 s bound).
	was := before.value(t, "waku_histogram_message_size_count")
	testnet.WaitFor(t, 10*time.Second, "waku_histogram_message_size_count to count the published message", func() bool {
		return scrapeMetrics(t, a).value(t, "waku_histogram_message_size_count") > was
	})

	// B's validator judged A's message: nim-libp2p's and nwaku's counters.
	testnet.WaitFor(t, 30*time.Second, "B to validate A's message", func() bool {
		return counter(t, b, "libp2p_pubsub_validation_success_total") == 1
	})
	for _, name := range []string{"waku_rln_messages_total_total", "waku_rln_proof_verification_total_total", "waku_node_messages_total"} {
		if got := counter(t, b, name); got != 1 {
			t.Errorf("B's %s = %v after A's one message, want 1", name, got)
		}
	}
	// B's status line counts the message it relayed.
	testnet.WaitFor(t, 10*time.Second, "a status line of B with the message relayed", func() bool {
		for _, l := range statusLines(logB.String()) {
			if l["msgs"] == "1" && l["msgs_per_s"] != "0" && l["peers"] == "1" && l["relay_peers"] == "1" {
				return true
			}
		}
		return false
	})
}

// counter is the sum of the samples of a counter family of n's registry.
func counter(t *testing.T, n *Node, name string) float64 {
	t.Helper()
	mfs, err := n.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

// statusLines are the text handler's "status" lines in log, each as its
// key=value pairs.
func statusLines(log string) []map[string]string {
	var out []map[string]string
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, " msg=status ") {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(line) {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		out = append(out, kv)
	}
	return out
}
