package node

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// getHealth fetches /health: the status code and the decoded body.
func getHealth(t *testing.T, n *Node) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get("http://" + n.MetricsAddr().String() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("/health body %q: %v", body, err)
	}
	return resp.StatusCode, out
}

// unknownRootMessage is a message with a well-formed proof for the current
// epoch against a root no group holds.
func unknownRootMessage(cfg *config.Config) *messagepb.WakuMessage {
	now := time.Now()
	p := rln.RateLimitProof{Epoch: rln.Epoch(now, cfg.RLN.EpochPeriod)}
	p.MerkleRoot.SetUint64(1)
	p.ShareX, p.ShareY, p.Nullifier = fr.NewElement(2), fr.NewElement(3), fr.NewElement(4)
	m := wire.NewMessage("/rlnd/1/health/proto", []byte("frozen window"), now.UnixNano())
	m.RateLimitProof = p.Marshal()
	return m
}

// A synced node is ready (/health 200); once its sync stops on a
// malformed log it is unhealthy (/health 503 with the reason,
// rlnd_membership_sync_healthy 0) and the validator ignores RLN messages
// instead of judging them against the frozen window.
func TestNodeHealthAfterSyncFailure(t *testing.T) {
	t.Parallel()
	f := newChainFixture(t, 0)
	f.register(t, 1)
	cfg := f.config(t, t.TempDir())
	src := &recordingSource{}
	n := startNode(t, cfg, src)

	if h := n.Health(); !h.Ready || h.Status != StatusReady {
		t.Fatalf("Health after the first sync = %+v, want ready", h)
	}
	code, body := getHealth(t, n)
	if code != http.StatusOK || body["nodeHealth"] != StatusReady {
		t.Fatalf("/health = %d %v, want 200 Ready", code, body)
	}
	topic, err := n.Relay().TopicFor("/rlnd/1/health/proto")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.Relay().Publish(topic, unknownRootMessage(cfg)); !errors.Is(err, relay.ErrRejected) || !strings.Contains(err.Error(), relay.ReasonRoot) {
		t.Fatalf("publish with an unknown root while healthy: %v, want rejected for its root", err)
	}

	src.poisoned.Store(true)
	f.chain.Commit() // a new block for the loop to read
	testnet.WaitFor(t, 30*time.Second, "the node to turn unhealthy", func() bool { return n.Health().Status == StatusUnhealthy })
	h := n.Health()
	if h.Ready || !strings.Contains(h.Reason, "malformed") || !strings.Contains(h.Reason, ComponentRLNRelay) {
		t.Fatalf("Health = %+v, want not ready naming the malformed log", h)
	}
	code, body = getHealth(t, n)
	if code != http.StatusServiceUnavailable || body["nodeHealth"] != StatusUnhealthy || !strings.Contains(body["reason"].(string), "malformed") {
		t.Fatalf("/health = %d %v, want 503 Unhealthy with the reason", code, body)
	}
	protocols, _ := body["protocolsHealth"].([]any)
	if len(protocols) != 2 || protocols[1].(map[string]any)[ComponentRLNRelay] != StatusNotReady {
		t.Fatalf("/health protocolsHealth = %v, want Relay and Rln Relay Not Ready", body["protocolsHealth"])
	}
	if v := gauge(t, n, "rlnd_membership_sync_healthy"); v != 0 {
		t.Fatalf("rlnd_membership_sync_healthy = %v, want 0", v)
	}
	_, _, err = n.Relay().Publish(topic, unknownRootMessage(cfg))
	if !errors.Is(err, relay.ErrRejected) || !strings.Contains(err.Error(), relay.ReasonMembershipUnhealthy) {
		t.Fatalf("publish while unhealthy: %v, want not accepted with reason %s", err, relay.ReasonMembershipUnhealthy)
	}
}

// gauge reads an unlabelled gauge of n's registry.
func gauge(t *testing.T, n *Node, name string) float64 {
	t.Helper()
	mfs, err := n.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// repairedGroup is a group that reports a repair of its tree.
type repairedGroup struct {
	membership.Group
	r membership.Repair
}

func (g repairedGroup) LastRepair() (membership.Repair, bool) { return g.r, true }

// A repair of the membership tree within the last hour is noted in the
// health (the component stays ready); an older one is not.
func TestHealthNotesRecentRepair(t *testing.T) {
	recent := repairedGroup{r: membership.Repair{At: time.Now().Add(-time.Minute), Block: 77, Leaves: 3}}
	if got := recentRepair(recent); !strings.Contains(got, "block 77") || !strings.Contains(got, "3 leaves") {
		t.Fatalf("recent repair noted as %q", got)
	}
	old := repairedGroup{r: membership.Repair{At: time.Now().Add(-2 * repairWindow), Block: 77, Leaves: 3}}
	if got := recentRepair(old); got != "" {
		t.Fatalf("old repair still noted: %q", got)
	}
}
