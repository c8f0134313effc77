package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rlnd/rlnd/membership"
)

// Health values. The node's are nwaku's /health nodeHealth values where it
// has them ("Ready", "Initializing") and "Unhealthy"; a component's are
// nwaku's protocol health values ("Ready", "Initializing", "Not Ready").
const (
	StatusReady        = "Ready"
	StatusInitializing = "Initializing"
	StatusNotReady     = "Not Ready"
	StatusUnhealthy    = "Unhealthy"
)

// Component names, as nwaku's /health lists protocols.
const (
	ComponentRelay    = "Relay"
	ComponentRLNRelay = "Rln Relay"
)

// Timing of the health watch's log lines.
const (
	// healthCheckEvery is how often the node looks at its health to log
	// changes.
	healthCheckEvery = time.Second
	// unhealthyRepeat is how often a node that stays unhealthy says so
	// again.
	unhealthyRepeat = time.Minute
)

// ComponentHealth is one component's part of the node's health.
type ComponentHealth struct {
	// Name is ComponentRelay or ComponentRLNRelay.
	Name string
	// Status is StatusReady, StatusInitializing or StatusNotReady.
	Status string
	// Reason says why the component is not ready ("" when it is).
	Reason string
}

// Health is the node's readiness: Ready only when every component is.
// Status is StatusReady, StatusInitializing (a component is still starting:
// the membership sync has not caught up) or StatusUnhealthy (a component
// failed: the membership sync stopped on an error or stalled, so the
// relay ignores RLN messages).
type Health struct {
	Ready      bool
	Status     string
	Reason     string // why not ready, naming the components; "" when ready
	Components []ComponentHealth
}

// Health reports the node's health: the relay, and with RLN on the
// membership group that judges proofs' roots (a group that does not report
// its health, such as a static one, is always ready).
func (n *Node) Health() Health {
	comps := []ComponentHealth{{Name: ComponentRelay, Status: StatusReady}}
	if n.cfg.RLN.Enabled {
		comps = append(comps, n.rlnHealth())
	}
	h := Health{Ready: true, Status: StatusReady, Components: comps}
	var reasons []string
	for _, c := range comps {
		switch c.Status {
		case StatusReady:
			continue
		case StatusInitializing:
			if h.Status == StatusReady {
				h.Status = StatusInitializing
			}
		default:
			h.Status = StatusUnhealthy
		}
		h.Ready = false
		reasons = append(reasons, c.Name+": "+c.Reason)
	}
	h.Reason = strings.Join(reasons, "; ")
	return h
}

// rlnHealth is the membership group's health.
func (n *Node) rlnHealth() ComponentHealth {
	c := ComponentHealth{Name: ComponentRLNRelay, Status: StatusReady}
	hr, ok := n.group.(membership.HealthReporter)
	if !ok {
		return c
	}
	err := hr.Healthy()
	switch {
	case err == nil:
		c.Reason = joinNotes(syncProgress(n.group), recentRepair(n.group))
		return c
	case errors.Is(err, membership.ErrCatchingUp):
		c.Status = StatusInitializing
	default:
		c.Status = StatusNotReady
	}
	c.Reason = err.Error()
	return c
}

// syncProgress says how far a chain-synced group is: "synced to block N,
// chain head M" ("" for a group that does not report it).
func syncProgress(g membership.Group) string {
	pr, ok := g.(membership.ProgressReporter)
	if !ok {
		return ""
	}
	synced, head := pr.Progress()
	return fmt.Sprintf("synced to block %d, chain head %d", synced, head)
}

// joinNotes joins the non-empty notes with "; ".
func joinNotes(notes ...string) string {
	var out []string
	for _, s := range notes {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, "; ")
}

// repairWindow is how long /health mentions a repair of the membership
// tree after it was made.
const repairWindow = time.Hour

// recentRepair says, for a group repaired within repairWindow, that its
// tree had diverged from the registry and was repaired (a ready component
// with a note); "" otherwise.
func recentRepair(g membership.Group) string {
	rr, ok := g.(membership.RepairReporter)
	if !ok {
		return ""
	}
	r, ok := rr.LastRepair()
	if !ok || time.Since(r.At) > repairWindow {
		return ""
	}
	return fmt.Sprintf("the membership tree differed from the registry's at block %d and was repaired from it (%d leaves) at %s",
		r.Block, r.Leaves, r.At.UTC().Format(time.RFC3339))
}

// MarshalJSON writes the health in the shape of nwaku's /health answer:
// {"nodeHealth":"Ready","protocolsHealth":[{"Relay":"Ready"},{"Rln Relay":"Not Ready","desc":"..."}]},
// with "reason" added when the node is not ready.
func (h Health) MarshalJSON() ([]byte, error) {
	type body struct {
		NodeHealth      string              `json:"nodeHealth"`
		Reason          string              `json:"reason,omitempty"`
		ProtocolsHealth []map[string]string `json:"protocolsHealth"`
	}
	b := body{NodeHealth: h.Status, Reason: h.Reason, ProtocolsHealth: make([]map[string]string, 0, len(h.Components))}
	for _, c := range h.Components {
		entry := map[string]string{c.Name: c.Status}
		if c.Reason != "" {
			entry["desc"] = c.Reason
		}
		b.ProtocolsHealth = append(b.ProtocolsHealth, entry)
	}
	return json.Marshal(b)
}

// serveHealth answers GET /health: 200 and the health as JSON when the node
// is ready, 503 with the same body (saying why) when not.
func (n *Node) serveHealth(w http.ResponseWriter, _ *http.Request) {
	h := n.Health()
	body, err := json.Marshal(h)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !h.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	if _, err := w.Write(append(body, '\n')); err != nil {
		n.log.Debug("writing the /health answer", "err", err)
	}
}

// watchHealth logs the node's health changes until ctx ends: an error once
// it becomes unhealthy, a warning every unhealthyRepeat while it stays so,
// and a line when it is ready again.
func (n *Node) watchHealth(ctx context.Context) {
	defer n.wg.Done()
	t := time.NewTicker(healthCheckEvery)
	defer t.Stop()
	var since, said time.Time // when it became unhealthy, when that was last said
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h := n.Health()
		now := time.Now()
		switch {
		case h.Ready && !since.IsZero():
			n.log.Info("node ready again", "was_unhealthy_for", now.Sub(since).Round(time.Second))
			since = time.Time{}
		case h.Ready || h.Status == StatusInitializing:
		case since.IsZero():
			n.nm.nodeError(errMembershipSync)
			n.log.Error("node unhealthy: RLN messages are ignored, not relayed, until the membership sync recovers", "reason", h.Reason)
			since, said = now, now
		case now.Sub(said) >= unhealthyRepeat:
			n.log.Warn("node still unhealthy", "for", now.Sub(since).Round(time.Second), "reason", h.Reason)
			said = now
		}
	}
}
