package config

import (
	"strings"
	"testing"
)

// Keys that hold secrets by their name are marked in the key table, so a
// new *-password, private key or URL key cannot be shown by mistake.
func TestSecretKeysMarked(t *testing.T) {
	t.Parallel()
	var c Config
	for _, k := range keys() {
		leaf := k.leaf()
		text := strings.Contains(leaf, "password") || strings.Contains(leaf, "private-key") ||
			strings.Contains(leaf, "secret") || strings.Contains(leaf, "token") || strings.HasSuffix(leaf, "key")
		switch {
		case text && k.secret != secretText:
			t.Errorf("%s looks like a password or key but is not marked secretText", k.name)
		case strings.HasSuffix(leaf, "-url") && k.secret != secretURL:
			t.Errorf("%s is a URL but is not marked secretURL", k.name)
		}
		if k.secret != notSecret {
			switch k.field(&c).(type) {
			case *string, *[]string:
			default:
				t.Errorf("secret key %s has a %T field; Redacted handles strings only", k.name, k.field(&c))
			}
		}
	}
	want := []string{"chain.rpc-url", "p2p.nodekey", "lightpush.keystore-password", "store.db-url"}
	got := SecretKeys()
	for _, w := range want {
		if !strings.Contains(strings.Join(got, " "), w) {
			t.Errorf("SecretKeys() = %v, missing %s", got, w)
		}
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	d := devnetPreset()
	c := &d
	c.Chain.RPCURL = "https://u:pw@mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161?x=1"
	c.Lightpush.KeystorePassword = "hunter22"
	c.Store.DBURL = "postgres://rlnd:pg-pass@db:5432/rlnd?sslmode=disable"
	c.P2P.NodeKey = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988"
	orig := *c
	r := c.Redacted()
	if r.Chain.RPCURL != "https://redacted@mainnet.infura.io/v3/redacted?redacted" {
		t.Errorf("rpc-url = %q", r.Chain.RPCURL)
	}
	if r.Lightpush.KeystorePassword != "redacted" {
		t.Errorf("keystore-password = %q", r.Lightpush.KeystorePassword)
	}
	if r.Store.DBURL != "postgres://redacted@db:5432/rlnd?redacted" {
		t.Errorf("db-url = %q", r.Store.DBURL)
	}
	if r.P2P.NodeKey != "redacted" || c.P2P.NodeKey != orig.P2P.NodeKey {
		t.Errorf("nodekey = %q (original now %q)", r.P2P.NodeKey, c.P2P.NodeKey)
	}
	if c.Chain.RPCURL != orig.Chain.RPCURL || c.Lightpush.KeystorePassword != orig.Lightpush.KeystorePassword || c.Store.DBURL != orig.Store.DBURL {
		t.Error("Redacted changed the original")
	}
	if r.Network.ClusterID != c.Network.ClusterID || r.Store.DBPath != c.Store.DBPath {
		t.Error("Redacted changed a key that is not secret")
	}
	// Unset secrets stay visibly unset.
	c.Lightpush.KeystorePassword, c.Store.DBURL = "", ""
	if r := c.Redacted(); r.Lightpush.KeystorePassword != "" || r.Store.DBURL != "" {
		t.Errorf("empty secrets shown as %q, %q", r.Lightpush.KeystorePassword, r.Store.DBURL)
	}
}
