package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigShowSecrets: secrets given by file, RLND_* variables and flags
// are redacted by default and shown in full with --show-secrets.
func TestConfigShowSecrets(t *testing.T) {
	t.Parallel()
	const (
		rpcKey  = "9aa3d95b3bc440fa88ea12eaa4456161"
		rpc     = "https://op:rpc-Pa55@mainnet.infura.io/v3/" + rpcKey + "?apikey=QueryS3cret"
		ksPW    = "keystore-Hunter22"
		dbURL   = "postgres://rlnd:pg-Pa55word@db.internal:5432/rlnd?sslmode=verify-full"
		filePW  = "file-Pa55word"
		nodeKey = "7c3a9e1f5b2d8c4a6e0f1b3d5c7a9e2f4b6d8c0a1e3f5b7d9c2a4e6f8b0d1c3a"
	)
	dir := t.TempDir()
	file := filepath.Join(dir, "rlnd.yaml")
	if err := os.WriteFile(file, []byte("lightpush:\n  keystore-password: "+filePW+"\np2p:\n  nodekey: \""+nodeKey+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     []string
		args    []string
		secrets []string // must not be printed without --show-secrets
		shown   []string // printed instead
	}{
		{
			name: "environment",
			env: []string{"RLND_CHAIN_RPC_URL=" + rpc, "RLND_LIGHTPUSH_KEYSTORE_PASSWORD=" + ksPW, "RLND_STORE_DB_URL=" + dbURL,
				"RLND_P2P_NODEKEY=" + nodeKey},
			secrets: []string{rpcKey, "rpc-Pa55", "QueryS3cret", ksPW, "pg-Pa55word", "verify-full", nodeKey},
			shown: []string{"rpc-url: https://redacted@mainnet.infura.io/v3/redacted?redacted",
				"keystore-password: redacted", "db-url: postgres://redacted@db.internal:5432/rlnd?redacted", "nodekey: redacted"},
		},
		{
			name:    "flags",
			args:    []string{"--chain-rpc-url", rpc, "--lightpush-keystore-password", ksPW, "--store-db-url", dbURL, "--p2p-nodekey", nodeKey},
			secrets: []string{rpcKey, "rpc-Pa55", "QueryS3cret", ksPW, "pg-Pa55word", "verify-full", nodeKey},
			shown: []string{"rpc-url: https://redacted@mainnet.infura.io/v3/redacted?redacted",
				"keystore-password: redacted", "db-url: postgres://redacted@db.internal:5432/rlnd?redacted", "nodekey: redacted"},
		},
		{
			name:    "nwaku's flag",
			args:    []string{"--nodekey", "0x" + nodeKey},
			secrets: []string{nodeKey},
			shown:   []string{"nodekey: redacted"},
		},
		{
			name:    "file",
			args:    []string{"--config", file},
			secrets: []string{filePW, nodeKey},
			shown:   []string{"keystore-password: redacted", "nodekey: redacted"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, tc.env, append([]string{"config", "show"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, s := range tc.secrets {
				if strings.Contains(stdout, s) {
					t.Errorf("config show prints %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.shown {
				if !strings.Contains(stdout, s) {
					t.Errorf("config show lacks %q:\n%s", s, stdout)
				}
			}
			code, stdout, stderr = runCLI(t, tc.env, append([]string{"config", "show", "--show-secrets"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("--show-secrets: exit %d: %s", code, stderr)
			}
			for _, s := range tc.secrets {
				if !strings.Contains(stdout, s) {
					t.Errorf("config show --show-secrets lacks %q:\n%s", s, stdout)
				}
			}
			if strings.Contains(stdout, "redacted") {
				t.Errorf("config show --show-secrets redacts:\n%s", stdout)
			}
		})
	}
}

// Unset secrets show as empty, not as "redacted".
func TestConfigShowUnsetSecrets(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, nil, "config", "show", "--preset", "devnet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `keystore-password: ""`) || !strings.Contains(stdout, `db-url: ""`) {
		t.Errorf("unset secrets not shown empty:\n%s", stdout)
	}
	if !strings.Contains(stdout, "rpc-url: http://127.0.0.1:8545") {
		t.Errorf("a URL with nothing secret is not shown whole:\n%s", stdout)
	}
}

// A secret value of the wrong type is not quoted in the error.
func TestConfigShowSecretValueError(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "rlnd.yaml")
	if err := os.WriteFile(file, []byte("lightpush:\n  keystore-password: 98765432\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, nil, "config", "show", "--config", file)
	if code != 2 || !strings.Contains(stderr, "lightpush.keystore-password") || strings.Contains(stderr, "98765432") {
		t.Fatalf("exit %d, stderr %q; want exit 2 naming the key without its value", code, stderr)
	}
}

// An invalid node key is named in the error without its value.
func TestConfigShowInvalidNodeKey(t *testing.T) {
	t.Parallel()
	const bad = "7c3a9e1f5b2d8c4a6e0f1b3d5c7a9e2f4b6d8c0a1e3f5b7d9c2a4e6f8b0d1c"
	for _, args := range [][]string{{"--nodekey", bad}, {"--p2p-nodekey", bad + "zz"}} {
		code, _, stderr := runCLI(t, nil, append([]string{"config", "show"}, args...)...)
		if code != 2 || !strings.Contains(stderr, "p2p.nodekey") || strings.Contains(stderr, bad[:16]) {
			t.Fatalf("%v: exit %d, stderr %q; want exit 2 naming p2p.nodekey without its value", args, code, stderr)
		}
	}
}

// An invalid RPC URL is named in the error without its secrets.
func TestConfigShowInvalidRPCURLRedacted(t *testing.T) {
	t.Parallel()
	for _, rpc := range []string{
		"ftp://op:rpc-Pa55@rpc.example.org/v3/9aa3d95b3bc440fa88ea12eaa4456161?apikey=QueryS3cret",
		"http://op:rpc-Pa55@rpc.example.org:port/v3/9aa3d95b3bc440fa88ea12eaa4456161?apikey=QueryS3cret",
	} {
		code, _, stderr := runCLI(t, []string{"RLND_CHAIN_RPC_URL=" + rpc}, "config", "show")
		if code != 2 || !strings.Contains(stderr, "chain.rpc-url") {
			t.Fatalf("exit %d, stderr %q; want exit 2 naming chain.rpc-url", code, stderr)
		}
		for _, s := range []string{"rpc-Pa55", "9aa3d95b3bc440fa88ea12eaa4456161", "QueryS3cret"} {
			if strings.Contains(stderr, s) {
				t.Errorf("error %q holds %q", stderr, s)
			}
		}
	}
}

// config show --sources follows every value with the layer that set it,
// and its output still loads as a config file.
func TestConfigShowSources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "rlnd.toml")
	if err := os.WriteFile(file, []byte("# a node\n[network]\ncluster-id = 5\n\n[rln]\nepoch-period = \"60s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"RLND_LOG_LEVEL=debug", "RLND_LIGHTPUSH_KEYSTORE_PASSWORD=s3cret"}
	code, stdout, stderr := runCLI(t, env, "config", "show", "--sources", "--preset", "devnet", "--config", file,
		"--num-shards", "16", "--tcp-port", "61000", "--data-dir", dir)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"\n    level: debug # env RLND_LOG_LEVEL\n",
		"\n    format: text # default\n",
		"\n    data-dir: " + dir + " # flag --data-dir\n",
		"\n    cluster-id: 5 # file " + file + " line 3\n",
		"\n    num-shards: 16 # flag --num-shards\n",
		"\n    listen: [/ip4/127.0.0.1/tcp/61000, /ip4/127.0.0.1/tcp/8000/ws] # flag --tcp-port\n",
		"\n    epoch-period: 1m0s # file " + file + " line 6\n",
		"\n    user-message-limit: 10 # preset devnet\n",
		"\n    max-connections: 150 # default\n",
		"\n    keystore-password: redacted # env RLND_LIGHTPUSH_KEYSTORE_PASSWORD\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in\n%s", want, stdout)
		}
	}
	// Every key has its comment.
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if strings.HasPrefix(line, "    ") && !strings.Contains(line, " # ") {
			t.Errorf("line %q names no layer", line)
		}
	}
	// What it prints is a config file: loaded with --show-secrets, the same
	// configuration.
	code, full, _ := runCLI(t, env, "config", "show", "--sources", "--show-secrets", "--preset", "devnet", "--config", file,
		"--num-shards", "16", "--tcp-port", "61000", "--data-dir", dir)
	again := filepath.Join(dir, "again.yaml")
	if err := os.WriteFile(again, []byte(full), 0o600); err != nil || code != 0 {
		t.Fatal(err, code)
	}
	code, plain, _ := runCLI(t, nil, "config", "show", "--config", again, "--show-secrets")
	_, want, _ := runCLI(t, env, "config", "show", "--show-secrets", "--preset", "devnet", "--config", file,
		"--num-shards", "16", "--tcp-port", "61000", "--data-dir", dir)
	if code != 0 || plain != want {
		t.Errorf("reloaded:\n%s\nwant\n%s", plain, want)
	}
	// With no preset named, the default's values are "default"; the
	// default preset named is "preset twn".
	_, stdout, _ = runCLI(t, nil, "config", "show", "--sources", "--data-dir", dir)
	if !strings.Contains(stdout, "cluster-id: 1 # default\n") {
		t.Errorf("no preset:\n%s", stdout)
	}
	_, stdout, _ = runCLI(t, nil, "config", "show", "--sources", "--preset", "TWN", "--data-dir", dir)
	if !strings.Contains(stdout, "cluster-id: 1 # preset twn\n") {
		t.Errorf("--preset TWN:\n%s", stdout)
	}
}
