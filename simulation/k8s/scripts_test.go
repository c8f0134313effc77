package k8s

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/p2p/wakuenr"
	"github.com/rlnd/rlnd/simulation"
)

// scriptBound bounds one run of a script under test: they run with stubs
// for rlnd and the HTTP client, and sleep for milliseconds at most.
const scriptBound = 20 * time.Second

// The tools the scripts may use besides the shell's builtins: what the
// image must hold (Options.Image says so). A script that used another
// would fail here.
var scriptTools = []string{"cat", "sed", "date", "sleep", "mv", "head", "wc", "mktemp"}

// Stubs: an HTTP client answering as the pods would, and rlnd.
const (
	stubHTTP = `#!/bin/sh
for a; do url=$a; done
echo "$url" >>"$STUB_STATE/fetches"
hostport=${url#http://}
hostport=${hostport%%/*}
host=${hostport%%:*}
[ -e "$STUB_STATE/down-$host" ] && exit 22
case $url in
*/debug/v1/info)
	[ -e "$STUB_STATE/enr-$host" ] || exit 22
	printf '{"listenAddresses":["/ip4/10.0.0.9/tcp/60000/p2p/16Uiu2HAm"],"enrUri":"%s"}' "$(cat "$STUB_STATE/enr-$host")"
	;;
*/health) printf '{"nodeHealth":"Ready"}' ;;
esac
`
	stubRLND = `#!/bin/sh
case "$1 $2" in
"relay publish")
	size=$(($(wc -c)))
	if [ -e "$STUB_STATE/fail-publish" ]; then
		echo "rlnd: publish: the node answered 503: no relay peers took the message" >&2
		exit 1
	fi
	shift 2
	echo "$size $*" >>"$STUB_STATE/publishes"
	;;
"membership register")
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		--keystore) ks=$2; shift ;;
		--dev-key) key=$2; shift ;;
		--password-file) pw=$(cat "$2"); shift ;;
		esac
		shift
	done
	[ -n "$pw" ] || exit 3
	echo "$key" >>"$STUB_STATE/registers"
	printf '{"devKey":%s}' "$key" >"$ks"
	;;
*)
	echo "stub rlnd: unexpected $*" >&2
	exit 2
	;;
esac
`
)

// sandbox runs the rendered scripts with a PATH of the stubs and the
// tools only.
type sandbox struct {
	dir, bin, state string
	scripts         map[string]string
	secret          map[string]string
}

func newSandbox(t *testing.T, ms []Manifest, client string) *sandbox {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	_ = sh
	dir := t.TempDir()
	sb := &sandbox{dir: dir, bin: filepath.Join(dir, "bin"), state: filepath.Join(dir, "state"),
		scripts: find[*corev1.ConfigMap](t, ms, scriptsName).Data, secret: find[*corev1.Secret](t, ms, keysName).StringData}
	for _, d := range []string{sb.bin, sb.state, filepath.Join(dir, "keys"), filepath.Join(dir, "run"), filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range scriptTools {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("no %s on this machine", tool)
		}
		if err := os.Symlink(path, filepath.Join(sb.bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{client: stubHTTP, "rlnd": stubRLND} {
		if err := os.WriteFile(filepath.Join(sb.bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range sb.secret {
		if err := os.WriteFile(filepath.Join(dir, "keys", k), []byte(v), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	return sb
}

// touch creates a state file (down-<host>, enr-<host>, fail-publish).
func (sb *sandbox) touch(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(sb.state, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (sb *sandbox) lines(name string) []string {
	b, err := os.ReadFile(filepath.Join(sb.state, name))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// run runs a script with a container's environment (values as rendered,
// the pod's own given in pod) and the sandbox's paths.
func (sb *sandbox) run(t *testing.T, script string, env []corev1.EnvVar, pod map[string]string) (string, error) {
	t.Helper()
	vars := []string{"PATH=" + sb.bin, "STUB_STATE=" + sb.state, "TMPDIR=" + sb.dir}
	for _, e := range env {
		v, ok := pod[e.Name]
		if !ok {
			if e.ValueFrom != nil {
				t.Fatalf("env %s comes from the pod: give it", e.Name)
			}
			v = e.Value
		}
		switch e.Name {
		case "CONFIG_FILE":
			v = filepath.Join(sb.dir, "run", "node.yaml")
		case "KEYS_DIR":
			v = filepath.Join(sb.dir, "keys")
		case "KEYSTORE":
			v = filepath.Join(sb.dir, "data", "rln-keystore.json")
		}
		vars = append(vars, e.Name+"="+v)
	}
	for k, v := range pod {
		if !slices.ContainsFunc(env, func(e corev1.EnvVar) bool { return e.Name == k }) {
			vars = append(vars, k+"="+v)
		}
	}
	sh, _ := exec.LookPath("sh")
	ctx, cancel := context.WithTimeout(context.Background(), scriptBound)
	defer cancel()
	path := filepath.Join(sb.dir, script)
	if err := os.WriteFile(path, []byte(sb.scripts[script]), 0o555); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, sh, path)
	cmd.Env = vars
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// testENR is a Waku ENR as a bootstrap pod's /debug/v1/info gives it.
func testENR(t *testing.T, i int) string {
	t.Helper()
	key, err := crypto.ToECDSA(bootstrapKey(99, i))
	if err != nil {
		t.Fatal(err)
	}
	return buildENR(t, key, net.IPv4(10, 0, 0, byte(10+i)))
}

func buildENR(t *testing.T, key *ecdsa.PrivateKey, ip net.IP) string {
	t.Helper()
	shards, err := wakuenr.NewShards(66, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	n, err := wakuenr.Build(key, 1, wakuenr.LocalRecord{IP: ip, TCP: p2pPort, UDP: discv5Port, Capabilities: wakuenr.Relay, Shards: &shards})
	if err != nil {
		t.Fatal(err)
	}
	return wakuenr.Text(n)
}

// loadNodeConfig loads the configuration rlnd node would run with in pod:
// the rlnd container's environment (POD_IP and secrets filled in) and the
// file prepare.sh wrote.
func loadNodeConfig(t *testing.T, st *appsv1.StatefulSet, secret map[string]string, file string) (*config.Config, error) {
	t.Helper()
	var env []string
	for _, e := range st.Spec.Template.Spec.Containers[0].Env {
		v := e.Value
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			v = "10.0.0.7"
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			v = secret[e.ValueFrom.SecretKeyRef.Key]
		}
		env = append(env, e.Name+"="+strings.ReplaceAll(v, "$(POD_IP)", "10.0.0.7"))
	}
	return config.Load(config.Source{File: file, Env: env})
}

// prepare.sh writes what differs from pod to pod, and rlnd's configuration
// loader accepts it with the container's environment: the bootstrap pods'
// keys (their peer ids the entry nodes name), the bootstrap ENRs read from
// REST, node pods' shards, RLN memberships registered once.
func TestPrepareScript(t *testing.T) {
	t.Parallel()
	s := with(small(), func(s *simulation.Scenario) { s.Seed = 99 })
	ms, err := Render(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	boot, nodes := find[*appsv1.StatefulSet](t, ms, bootName), find[*appsv1.StatefulSet](t, ms, nodeName)
	entries := strings.Split(envValue(boot.Spec.Template.Spec.Containers[0].Env, "RLND_DISCOVERY_ENTRY_NODES"), ",")
	enrs := []string{testENR(t, 0), testENR(t, 1)}
	tests := []struct {
		name, client string
		st           *appsv1.StatefulSet
		pod          string
		up           []int // bootstrap pods answering /debug/v1/info
		wantENRs     []string
		wantShards   []int
		wantKeystore bool
		wantDevKey   string
	}{
		{name: "bootstrap 0", client: "curl", st: boot, pod: "rlnd-boot-0", up: []int{0, 1}, wantShards: []int{0, 1}},
		{name: "bootstrap 1 reads bootstrap 0", client: "wget", st: boot, pod: "rlnd-boot-1", up: []int{0, 1}, wantENRs: enrs[:1], wantShards: []int{0, 1}},
		{name: "node 0 publishes", client: "curl", st: nodes, pod: "rlnd-node-0", up: []int{0, 1}, wantENRs: enrs,
			wantShards: []int{0}, wantKeystore: true, wantDevKey: "1"},
		{name: "node 1 publishes", client: "wget", st: nodes, pod: "rlnd-node-1", up: []int{0, 1}, wantENRs: enrs,
			wantShards: []int{1}, wantKeystore: true, wantDevKey: "2"},
		{name: "node 3 does not publish", client: "curl", st: nodes, pod: "rlnd-node-3", up: []int{0, 1}, wantENRs: enrs,
			wantShards: []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb := newSandbox(t, ms, tt.client)
			for _, i := range tt.up {
				sb.touch(t, fmt.Sprintf("enr-%s-%d.%s", bootName, i, p.domain(bootName)), enrs[i])
			}
			prepare := tt.st.Spec.Template.Spec.InitContainers[0]
			out, err := sb.run(t, "prepare.sh", prepare.Env, map[string]string{"POD_NAME": tt.pod})
			if err != nil {
				t.Fatalf("prepare.sh: %v\n%s", err, out)
			}
			file := filepath.Join(sb.dir, "run", "node.yaml")
			if st, err := os.Stat(file); err != nil || st.Mode().Perm()&0o077 != 0 {
				t.Fatalf("config file: %v, mode %v; want it readable by its owner only (it may hold the node key)", err, st.Mode())
			}
			cfg, err := loadNodeConfig(t, tt.st, sb.secret, file)
			if err != nil {
				b, _ := os.ReadFile(file)
				t.Fatalf("rlnd's configuration does not load: %v\nfile:\n%s", err, b)
			}
			if !slices.Equal(cfg.Discovery.Discv5Bootstrap, tt.wantENRs) {
				t.Errorf("discv5 bootstrap nodes %v, want %v", cfg.Discovery.Discv5Bootstrap, tt.wantENRs)
			}
			if got := cfg.ShardList(); !slices.Equal(got, tt.wantShards) {
				t.Errorf("shards %v, want %v", got, tt.wantShards)
			}
			if cfg.Network.ClusterID != 66 || cfg.Network.NumShards != 2 || !cfg.RLN.Enabled || cfg.Chain.ChainID != devChainID ||
				cfg.P2P.NAT != "extip:10.0.0.7" || !cfg.REST.Enabled || !cfg.Metrics.Enabled || cfg.Discovery.DNS ||
				!slices.Equal(cfg.Discovery.EntryNodes, entries) {
				t.Errorf("configuration: %+v", cfg)
			}
			// A bootstrap pod runs with its key: the peer id the entry
			// nodes name.
			if tt.st == boot {
				key, err := config.DecodeNodeKey(cfg.P2P.NodeKey)
				if err != nil {
					t.Fatalf("node key: %v", err)
				}
				k, _ := crypto.ToECDSA(key)
				id, _ := wakuenr.PeerID(&k.PublicKey)
				ordinal, _ := strconv.Atoi(strings.TrimPrefix(tt.pod, bootName+"-"))
				if !strings.HasSuffix(entries[ordinal], "/p2p/"+id.String()) {
					t.Errorf("%s runs as %s, its entry node is %s", tt.pod, id, entries[ordinal])
				}
			} else if cfg.P2P.NodeKey != "" {
				t.Error("a node pod got a fixed node key")
			}
			if got := cfg.RLN.Keystore != ""; got != tt.wantKeystore {
				t.Errorf("rln.keystore %q, want one: %v", cfg.RLN.Keystore, tt.wantKeystore)
			}
			if regs := sb.lines("registers"); tt.wantDevKey != "" && !slices.Equal(regs, []string{tt.wantDevKey}) || tt.wantDevKey == "" && regs != nil {
				t.Errorf("registrations with dev keys %v, want [%s]", regs, tt.wantDevKey)
			}
			if fetches := sb.lines("fetches"); len(fetches) == 0 || fetches[0] != p.chainURL() {
				t.Errorf("first fetch %v, want the dev chain %s", fetches, p.chainURL())
			}
			// Run again (a restarted pod): the membership is not
			// registered twice.
			if out, err := sb.run(t, "prepare.sh", prepare.Env, map[string]string{"POD_NAME": tt.pod}); err != nil {
				t.Fatalf("prepare.sh again: %v\n%s", err, out)
			}
			if regs := sb.lines("registers"); len(regs) > 1 {
				t.Errorf("registered %d times", len(regs))
			}
		})
	}
}

// prepare.sh goes on with the bootstrap nodes that answered by its
// deadline, and fails, saying so, when none did or the chain is silent.
func TestPrepareScriptTimeouts(t *testing.T) {
	t.Parallel()
	s := with(small(), func(s *simulation.Scenario) { s.Seed = 99 })
	ms, err := Render(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := newPlan(s, Options{})
	nodes := find[*appsv1.StatefulSet](t, ms, nodeName)
	env := nodes.Spec.Template.Spec.InitContainers[0].Env
	pod := map[string]string{"POD_NAME": "rlnd-node-3", "FETCH_TIMEOUT": "0"}

	sb := newSandbox(t, ms, "curl")
	sb.touch(t, fmt.Sprintf("enr-%s-0.%s", bootName, p.domain(bootName)), testENR(t, 0))
	out, err := sb.run(t, "prepare.sh", env, pod)
	if err != nil || !strings.Contains(out, "bootstrap nodes 1 did not answer") {
		t.Errorf("one bootstrap node of two answering: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(filepath.Join(sb.dir, "run", "node.yaml"))
	if !strings.Contains(string(b), testENR(t, 0)) {
		t.Errorf("config file without the ENR that answered:\n%s", b)
	}

	sb = newSandbox(t, ms, "curl")
	out, err = sb.run(t, "prepare.sh", env, pod)
	if err == nil || !strings.Contains(out, "no bootstrap node answered") {
		t.Errorf("no bootstrap node answering: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(sb.dir, "run", "node.yaml")); err == nil {
		t.Error("a failed prepare.sh left a config file")
	}

	sb = newSandbox(t, ms, "curl")
	sb.touch(t, "down-"+strings.Split(strings.TrimPrefix(p.chainURL(), "http://"), ":")[0], "")
	out, err = sb.run(t, "prepare.sh", env, pod)
	if err == nil || !strings.Contains(out, "the dev chain") {
		t.Errorf("the chain silent: %v\n%s", err, out)
	}

	sb = newSandbox(t, ms, "curl")
	out, err = sb.run(t, "prepare.sh", env, map[string]string{"POD_NAME": "rlnd-node", "FETCH_TIMEOUT": "0"})
	if err == nil || !strings.Contains(out, "does not end in -<ordinal>") {
		t.Errorf("a pod name without an ordinal: %v\n%s", err, out)
	}
}

// The traffic Job's workers together publish every message of the plan
// once, through the publisher and on the shard the plan says, with
// payloads of the scenario's size; a worker whose publishes fail says so
// and fails.
func TestTrafficScript(t *testing.T) {
	t.Parallel()
	// 6 nodes (2 bootstrap), 5 publishers (the last a bootstrap pod),
	// 4 shards of which node pods relay 2, 12 msg/s for 1 s: 3 workers.
	s := with(small(), func(s *simulation.Scenario) {
		s.RLN = simulation.RLN{}
		s.Shards, s.ShardsPerNode = 4, 2
		s.Traffic.Rate, s.Traffic.Publishers, s.Traffic.MessageSize = 12, 5, 300
		s.Duration = time.Second
	})
	ms, err := Render(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	job := find[*batchv1.Job](t, ms, trafficName)
	env := job.Spec.Template.Spec.Containers[0].Env
	workers := int(*job.Spec.Completions)
	if workers != 3 {
		t.Fatalf("%d workers, want 3", workers)
	}
	fast := map[string]string{"WARMUP": "0", "INTERVAL_US": "1000", "STEP_US": "100"}

	sb := newSandbox(t, ms, "curl")
	for w := range workers {
		pod := map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(w)}
		for k, v := range fast {
			pod[k] = v
		}
		out, err := sb.run(t, "traffic.sh", env, pod)
		if err != nil {
			t.Fatalf("worker %d: %v\n%s", w, err, out)
		}
		if !strings.Contains(out, fmt.Sprintf("traffic worker %d: published", w)) || !strings.Contains(out, " 0 failed") {
			t.Errorf("worker %d's summary:\n%s", w, out)
		}
	}
	var want []string
	for i := range p.messages {
		g := i % p.publishers
		host := fmt.Sprintf("%s-%d.%s", nodeName, g, p.domain(nodeName))
		if g >= p.nodes {
			host = fmt.Sprintf("%s-%d.%s", bootName, g-p.nodes, p.domain(bootName))
		}
		want = append(want, fmt.Sprintf("%d --rest http://%s:%d --pubsub-topic /waku/2/rs/66/%d --content-topic %s --timeout %s",
			s.Traffic.MessageSize, host, restPort, p.shardOf(i), contentTopic, publishTimeout))
	}
	got := sb.lines("publishes")
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("published %d messages, want %d; got\n%s\nwant\n%s", len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Each worker checked the health of the publishers it sends to.
	health := 0
	for _, f := range sb.lines("fetches") {
		if strings.HasSuffix(f, "/health") {
			health++
		}
	}
	// Worker w sends to the publishers congruent to w modulo the gcd of
	// the workers and the publishers.
	wantHealth := 0
	for w := range workers {
		for g := range p.publishers {
			if g%p.stride == w%p.stride {
				wantHealth++
			}
		}
	}
	if health != wantHealth {
		t.Errorf("%d health checks, want %d", health, wantHealth)
	}

	sb = newSandbox(t, ms, "wget")
	sb.touch(t, "fail-publish", "")
	pod := map[string]string{"JOB_COMPLETION_INDEX": "1"}
	for k, v := range fast {
		pod[k] = v
	}
	out, err := sb.run(t, "traffic.sh", env, pod)
	if err == nil || !strings.Contains(out, "published 0 of 4 messages") || !strings.Contains(out, "4 failed") || !strings.Contains(out, "503") {
		t.Errorf("a worker whose publishes fail: %v\n%s", err, out)
	}

	sb = newSandbox(t, ms, "curl")
	sb.touch(t, fmt.Sprintf("down-%s-1.%s", nodeName, p.domain(nodeName)), "")
	pod["HEALTH_TIMEOUT"] = "0"
	out, err = sb.run(t, "traffic.sh", env, pod)
	if err == nil || !strings.Contains(out, "rlnd-node-1.") || !strings.Contains(out, "did not answer 200") {
		t.Errorf("a publisher that never gets healthy: %v\n%s", err, out)
	}
	if sb.lines("publishes") != nil {
		t.Error("a worker published before its publishers were healthy")
	}
}
