package rest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/rest"
	"github.com/rlnd/rlnd/rest/api"
)

// /health, /debug/v1/info, /debug/v1/version and /openapi.yaml answer as
// nwaku's do: a ready node without RLN is 200 with nodeHealth Ready; the
// info lists the node's addresses with its peer id and its ENR.
func TestHealthDebugVersion(t *testing.T) {
	t.Parallel()
	n, base := startNode(t, nil)
	code, body := call(t, http.MethodGet, base+rest.PathHealth, nil)
	var h struct {
		NodeHealth      string              `json:"nodeHealth"`
		ProtocolsHealth []map[string]string `json:"protocolsHealth"`
	}
	decode(t, body, &h)
	if code != 200 || h.NodeHealth != "Ready" || len(h.ProtocolsHealth) == 0 || h.ProtocolsHealth[0]["Relay"] != "Ready" {
		t.Fatalf("health: %d %s", code, body)
	}
	code, body = call(t, http.MethodGet, base+rest.PathDebugInfo, nil)
	var info api.DebugInfo
	decode(t, body, &info)
	if code != 200 || len(info.ListenAddresses) == 0 || !strings.HasSuffix(info.ListenAddresses[0], "/p2p/"+n.Host().ID().String()) ||
		!strings.HasPrefix(info.ENRUri, "enr:") || info.ENRUri != n.ENR() {
		t.Fatalf("info: %d %s", code, body)
	}
	if code, body := call(t, http.MethodGet, base+rest.PathDebugVersion, nil); code != 200 || body != "v0.0.0-test" {
		t.Fatalf("version: %d %q", code, body)
	}
	if code, body := call(t, http.MethodGet, base+rest.PathOpenAPI, nil); code != 200 || body != string(rest.OpenAPI) {
		t.Fatalf("openapi: %d, %d bytes, want the embedded document", code, len(body))
	}
	if code, _ := callBad(t, http.MethodGet, base+"/no/such/path", "", nil); code != 404 {
		t.Fatalf("unknown path: %d, want 404", code)
	}
	if code, _ := callBad(t, http.MethodPut, base+rest.PathDebugInfo, "", nil); code != 405 {
		t.Fatalf("wrong method: %d, want 405", code)
	}
}

// /admin/v1/peers lists the peers with nwaku's fields and connects to
// the multiaddrs posted; bad input is 400 with a message; without
// rest.admin the routes are not served.
func TestAdminPeers(t *testing.T) {
	t.Parallel()
	a, base := startNode(t, nil)
	b, _ := startNode(t, func(c *config.Config) { c.REST.Enabled = false })
	gone, _ := startNode(t, func(c *config.Config) { c.REST.Enabled = false })
	gone.Close()
	addr := b.Addrs()[0].String()
	if code, body := call(t, http.MethodPost, base+rest.PathAdminPeers, []string{addr}); code != 200 || body != "OK" {
		t.Fatalf("add peer: %d %q", code, body)
	}
	var peers []api.Peer
	testnet.WaitFor(t, 10*time.Second, "b listed as connected", func() bool {
		code, body := call(t, http.MethodGet, base+rest.PathAdminPeers, nil)
		if code != 200 {
			t.Fatalf("list: %d %s", code, body)
		}
		decode(t, body, &peers)
		for _, p := range peers {
			if strings.HasSuffix(p.Multiaddr, b.Host().ID().String()) && p.Connected == api.Connected && len(p.Protocols) > 0 {
				return true
			}
		}
		return false
	})
	for _, p := range peers {
		if strings.HasSuffix(p.Multiaddr, b.Host().ID().String()) && p.Origin != api.OriginStatic {
			t.Errorf("a peer added through the API has origin %q, want %q", p.Origin, api.OriginStatic)
		}
	}
	for _, bad := range []struct {
		name string
		body any
		want string
	}{
		{"not a multiaddr", []string{"not-an-address"}, "not a multiaddr"},
		{"no peer id", []string{"/ip4/127.0.0.1/tcp/1"}, "/p2p/"},
		{"empty list", []string{}, "want 1 to"},
		{"malformed JSON", `["/ip4/`, "Failed to decode"},
		{"this node", a.Addrs()[0].String(), "Failed to decode"}, // a string, not a list
		{"self", []string{a.Addrs()[0].String()}, "this node"},
		{"nobody listening", []string{gone.Addrs()[0].String()}, "Failed to connect"},
	} {
		code, body := callBad(t, http.MethodPost, base+rest.PathAdminPeers, "application/json", bad.body)
		if code != 400 || !strings.Contains(body, bad.want) {
			t.Errorf("%s: %d %q, want 400 naming %q", bad.name, code, body, bad.want)
		}
	}
	_, off := startNode(t, func(c *config.Config) { c.REST.Admin = false })
	if code, _ := call(t, http.MethodGet, off+rest.PathAdminPeers, nil); code != 404 {
		t.Fatalf("admin off: %d, want 404", code)
	}
}

// CORS follows nwaku's --rest-allow-origin: a listed origin (wildcards
// allowed, scheme optional) is echoed with Vary, "*" allows any, another
// origin gets 403, two Origin headers 400; preflights are 200.
func TestCORS(t *testing.T) {
	t.Parallel()
	_, base := startNode(t, func(c *config.Config) { c.REST.AllowOrigin = []string{"https://app.example", "*.dev.example:3000"} })
	_, anyBase := startNode(t, func(c *config.Config) { c.REST.AllowOrigin = []string{"*"} })
	_, noneBase := startNode(t, nil)
	for _, tc := range []struct {
		name, base, method string
		origins            []string
		want               int
		allow              string
	}{
		{"listed", base, http.MethodGet, []string{"https://app.example"}, 200, "https://app.example"},
		{"wildcard, any scheme", base, http.MethodGet, []string{"http://x.dev.example:3000"}, 200, "http://x.dev.example:3000"},
		{"listed with the other scheme", base, http.MethodGet, []string{"http://app.example"}, 403, ""},
		{"not listed", base, http.MethodGet, []string{"https://evil.example"}, 403, ""},
		{"two origins", base, http.MethodGet, []string{"https://app.example", "https://evil.example"}, 400, ""},
		{"no origin", base, http.MethodGet, nil, 200, ""},
		{"preflight", base, http.MethodOptions, []string{"https://app.example"}, 200, "https://app.example"},
		{"any", anyBase, http.MethodGet, []string{"https://whoever.example"}, 200, "*"},
		{"no policy", noneBase, http.MethodGet, []string{"https://whoever.example"}, 200, ""},
	} {
		req, err := http.NewRequestWithContext(t.Context(), tc.method, tc.base+rest.PathDebugVersion, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range tc.origins {
			req.Header.Add("Origin", o)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want || resp.Header.Get("Access-Control-Allow-Origin") != tc.allow {
			t.Errorf("%s: %d, Access-Control-Allow-Origin %q; want %d, %q", tc.name, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), tc.want, tc.allow)
		}
	}
}
