package config

import (
	"testing"
)

// Every key's origin is the last layer that set it.
func TestLoadWithOrigins(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "rlnd.yaml", "log:\n  format: json\n\nrln:\n  root-window: 20\n  epoch-period: 30s\n")
	_, origins, err := LoadWithOrigins(Source{
		Preset: "devnet", File: file, DefaultDataDir: "/var/lib/rlnd",
		Env: []string{"RLND_RLN_ROOT_WINDOW=30", "RLND_PRESET=twn", "RLND_KEYSTORE_PASSWORD=x"},
		Flags: parsedFlags(t, "--cluster-id=7", "--rln-epoch-period=40s", "--tcp-port=61000",
			"--dns-discovery-url=enrtree://AOGYWMBYOUIMOENHXCHILPKY3ZRFEULMFI4DOM442QSZ73TT2A7VI@test.waku.nodes.status.im"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"log.level":                 "default",
		"log.format":                "file " + file + " line 2",
		"node.data-dir":             "default (the user's state directory)",
		"network.cluster-id":        "flag --cluster-id",
		"network.num-shards":        "default",
		"rln.root-window":           "env RLND_RLN_ROOT_WINDOW",
		"rln.epoch-period":          "flag --rln-epoch-period",
		"rln.user-message-limit":    "preset devnet",
		"chain.rpc-url":             "preset devnet",
		"p2p.listen":                "flag --tcp-port",
		"discovery.dns-urls":        "flag --dns-discovery-url",
		"discovery.dns":             "flag --dns-discovery-url",
		"discovery.discv5-udp-port": "preset devnet",
	}
	for key, w := range want {
		if got := origins.Of(key).String(); got != w {
			t.Errorf("%s: %q, want %q", key, got, w)
		}
	}
	if len(keys()) < len(want) {
		t.Fatal("the key table shrank")
	}
	// Without a preset named, everything not set is a default.
	_, origins, err = LoadWithOrigins(Source{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys() {
		if o := origins.Of(k.name); o.Layer != LayerDefault {
			t.Errorf("%s: %v", k.name, o)
		}
	}
}
