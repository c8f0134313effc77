package k8s

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/rlnd/rlnd/simulation"
)

var itoa = strconv.Itoa

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// small is the golden test's scenario: 6 nodes (2 bootstrap), 2 shards of
// which each node relays 1, RLN, 2 msg/s of 1 KB through 3 publishers.
func small() simulation.Scenario {
	return simulation.Scenario{
		Name: "k8s-small", Seed: 7, Nodes: 6, Duration: time.Minute, Warmup: 30 * time.Second, Drain: 10 * time.Second,
		Mode: simulation.ModeIDontWant, Shards: 2, ShardsPerNode: 1,
		Topology: simulation.Topology{Bootstrap: 2, Outbound: 4, MaxConnections: 20},
		Network:  simulation.Network{Latency: simulation.Latency{Kind: "fixed", Fixed: 50 * time.Millisecond}},
		Traffic:  simulation.Traffic{Rate: 2, MessageSize: 1024, Publishers: 3},
		RLN:      simulation.RLN{Enabled: true, UserMessageLimit: 20, EpochPeriod: 10 * time.Second},
	}
}

func with(s simulation.Scenario, f func(*simulation.Scenario)) simulation.Scenario {
	f(&s)
	return s
}

func find[T runtime.Object](t *testing.T, ms []Manifest, name string) T {
	t.Helper()
	for _, m := range ms {
		obj, ok := m.Object.(T)
		if mo, isMeta := m.Object.(metav1.Object); ok && isMeta && mo.GetName() == name {
			return obj
		}
	}
	t.Fatalf("no %T named %s rendered", *new(T), name)
	return *new(T)
}

// Every render passes the checks (round trip, names, selectors, ports,
// probes, replicas, services, entry nodes, ...), and the parts that depend
// on the scenario say what it says.
func TestRenderValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    simulation.Scenario
		o    Options
		// what the render must show
		boot, nodes, publishers, workers int
		shardsEnv                        string
		devchainAccounts                 string
	}{
		{name: "small RLN", s: small(), boot: 2, nodes: 4, publishers: 3, workers: 1, devchainAccounts: "4"},
		{name: "no RLN, every node publishes, every shard", s: with(small(), func(s *simulation.Scenario) {
			s.RLN = simulation.RLN{}
			s.Traffic.Publishers = 0
			s.Shards, s.ShardsPerNode = 8, 8
		}), boot: 2, nodes: 4, publishers: 6, workers: 1},
		{name: "bootstrap 0 gives 1 bootstrap pod", s: with(small(), func(s *simulation.Scenario) { s.Topology.Bootstrap = 0 }),
			boot: 1, nodes: 5, publishers: 3, workers: 1, devchainAccounts: "4"},
		{name: "every node a bootstrap node", s: with(small(), func(s *simulation.Scenario) {
			s.Nodes, s.Topology.Bootstrap, s.Traffic.Publishers = 3, 3, 0
		}), boot: 3, nodes: 0, publishers: 3, workers: 1, devchainAccounts: "4"},
		{name: "10000 nodes at 1 msg/s with RLN", s: with(small(), func(s *simulation.Scenario) {
			s.Nodes, s.Topology.Bootstrap, s.Traffic.Publishers, s.Traffic.Rate = 10000, 4, 0, 1
			s.Shards, s.ShardsPerNode = 8, 2
			s.RLN.EpochPeriod, s.RLN.UserMessageLimit = 10*time.Minute, 100
			s.Duration = 10 * time.Minute
		}), boot: 4, nodes: 9996, publishers: 999, workers: 1, devchainAccounts: "1000"},
		{name: "no traffic", s: with(small(), func(s *simulation.Scenario) { s.Traffic.Rate = 0 }),
			boot: 2, nodes: 4, publishers: 3, workers: 0, devchainAccounts: "4"},
		{name: "1000 msg/s", s: with(small(), func(s *simulation.Scenario) {
			s.RLN = simulation.RLN{}
			s.Nodes, s.Traffic.Publishers, s.Traffic.Rate = 300, 0, 1000
		}), boot: 2, nodes: 298, publishers: 300, workers: 200},
		{name: "options", s: small(), o: Options{
			Image: "registry.example/rlnd:v1", ImagePullPolicy: corev1.PullAlways, Namespace: "waku-test", ClusterID: 1,
			ClusterDomain: "k8s.example", RLNArtefactsDir: "/usr/share/rlnd/rln/tree_depth_20", ProxyImage: "registry.example/socat:1",
			NodeResources: &corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")},
			},
		}, boot: 2, nodes: 4, publishers: 3, workers: 1, devchainAccounts: "4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ms, err := Render(tt.s, tt.o)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if errs := checkManifests(tt.s, tt.o, ms); len(errs) > 0 {
				t.Fatalf("the manifests fail %d checks:%s", len(errs), joinErrs(errs))
			}
			boot := find[*appsv1.StatefulSet](t, ms, bootName)
			nodes := find[*appsv1.StatefulSet](t, ms, nodeName)
			if *boot.Spec.Replicas != int32(tt.boot) || *nodes.Spec.Replicas != int32(tt.nodes) {
				t.Errorf("replicas: bootstrap %d, nodes %d; want %d and %d", *boot.Spec.Replicas, *nodes.Spec.Replicas, tt.boot, tt.nodes)
			}
			if boot.Spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement || nodes.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
				t.Errorf("pod management: bootstrap %s, nodes %s; want OrderedReady (each reads the ENRs before it) and Parallel",
					boot.Spec.PodManagementPolicy, nodes.Spec.PodManagementPolicy)
			}
			o, _ := tt.o.withDefaults()
			rlnd := nodes.Spec.Template.Spec.Containers[0]
			if rlnd.Image != o.Image || rlnd.ImagePullPolicy != o.ImagePullPolicy {
				t.Errorf("image %s %s, want %s %s", rlnd.Image, rlnd.ImagePullPolicy, o.Image, o.ImagePullPolicy)
			}
			for key, want := range map[string]string{
				"RLND_NETWORK_CLUSTER_ID":  itoa(int(o.ClusterID)),
				"RLND_NETWORK_NUM_SHARDS":  itoa(tt.s.Shards),
				"RLND_RLN_ENABLED":         map[bool]string{true: "true", false: "false"}[tt.s.RLN.Enabled],
				"RLND_P2P_MAX_CONNECTIONS": itoa(2 * tt.s.Topology.MaxConnections),
				"RLND_RLN_ARTEFACTS_DIR":   o.RLNArtefactsDir,
			} {
				if got := envValue(rlnd.Env, key); got != want {
					t.Errorf("%s = %q, want %q", key, got, want)
				}
			}
			if tt.o.NodeResources != nil && !rlnd.Resources.Requests.Cpu().Equal(resource.MustParse("2")) {
				t.Errorf("node resources %v, want the options'", rlnd.Resources)
			}
			jobs := 0
			for _, m := range ms {
				if j, ok := m.Object.(*batchv1.Job); ok {
					jobs++
					env := j.Spec.Template.Spec.Containers[0].Env
					if *j.Spec.Parallelism != int32(tt.workers) || envValue(env, "PUBLISHERS") != itoa(tt.publishers) {
						t.Errorf("job: %d workers, PUBLISHERS %s; want %d and %d", *j.Spec.Parallelism, envValue(env, "PUBLISHERS"), tt.workers, tt.publishers)
					}
				}
			}
			if jobs != min(tt.workers, 1) {
				t.Errorf("%d traffic jobs, want %d", jobs, min(tt.workers, 1))
			}
			hasChain := false
			for _, m := range ms {
				if d, ok := m.Object.(*appsv1.Deployment); ok && d.Name == chainName {
					hasChain = true
					args := d.Spec.Template.Spec.Containers[0].Args
					if i := slices.Index(args, "--accounts"); i < 0 || args[i+1] != tt.devchainAccounts {
						t.Errorf("devchain args %v, want --accounts %s (the publishers and the deployer)", args, tt.devchainAccounts)
					}
					if d.Spec.Template.Spec.Containers[1].Image != o.ProxyImage {
						t.Errorf("proxy image %s, want %s", d.Spec.Template.Spec.Containers[1].Image, o.ProxyImage)
					}
				}
			}
			if hasChain != tt.s.RLN.Enabled {
				t.Errorf("dev chain rendered: %v, RLN: %v", hasChain, tt.s.RLN.Enabled)
			}
		})
	}
}

// What real nodes cannot do fails with ErrUnsupported naming it, or is
// left out and noted with Options.Partial; bad options and scenarios fail
// with errors naming the field.
func TestRenderRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		s       simulation.Scenario
		o       Options
		want    error
		mention []string
		// partialNote: rendered with Partial, the notes say this.
		partialNote string
	}{
		{name: "flooding", s: with(small(), func(s *simulation.Scenario) { s.Mode = simulation.ModeFlooding }),
			want: ErrUnsupported, mention: []string{"mode flooding", "Options.Partial"}, partialNote: "Left out: mode flooding"},
		{name: "attack", s: with(small(), func(s *simulation.Scenario) {
			s.Attacks = []simulation.Attack{{Kind: simulation.AttackOverRate, Nodes: 1, Rate: 5}}
		}), want: ErrUnsupported, mention: []string{"attacks[0]", "over-rate"}, partialNote: "Left out: attacks[0] (over-rate"},
		{name: "churn", s: with(small(), func(s *simulation.Scenario) { s.Churn.LeavePerMinute = 1 }),
			want: ErrUnsupported, mention: []string{"churn"}, partialNote: "Left out: churn"},
		{name: "RLN publishers beyond the dev accounts", s: with(small(), func(s *simulation.Scenario) {
			s.Nodes, s.Traffic.Publishers, s.Traffic.Rate = 1200, 1000, 1
		}), want: ErrUnsupported, mention: []string{"traffic.publishers 1000", "at most 999"}},
		{name: "RLN limit beyond the registry's", s: with(small(), func(s *simulation.Scenario) { s.RLN.UserMessageLimit = 601 }),
			want: ErrUnsupported, mention: []string{"rln.user_message_limit 601", "1 to 600"}},
		{name: "RLN rate beyond the limit", s: with(small(), func(s *simulation.Scenario) {
			s.Traffic.Rate, s.Traffic.Publishers = 10, 1
		}), want: ErrUnsupported, mention: []string{"traffic.rate 10", "101 messages per publisher", "rln.user_message_limit 20"}},
		{name: "too many bootstrap nodes", s: with(small(), func(s *simulation.Scenario) { s.Nodes, s.Topology.Bootstrap = 100, 65 }),
			want: ErrUnsupported, mention: []string{"topology.bootstrap 65", "at most 64"}},
		{name: "rate beyond the job", s: with(small(), func(s *simulation.Scenario) { s.RLN, s.Traffic.Rate = simulation.RLN{}, 3000 }),
			want: ErrUnsupported, mention: []string{"traffic.rate 3000", "2000 msg/s"}},
		{name: "bad namespace", s: small(), o: Options{Namespace: "Bad_NS"}, want: ErrOptions, mention: []string{"namespace", "Bad_NS"}},
		{name: "bad pull policy", s: small(), o: Options{ImagePullPolicy: "Sometimes"}, want: ErrOptions, mention: []string{"Sometimes", "IfNotPresent"}},
		{name: "bad image", s: small(), o: Options{Image: "rlnd dev"}, want: ErrOptions, mention: []string{"image", "white space"}},
		{name: "bad cluster domain", s: small(), o: Options{ClusterDomain: "-x"}, want: ErrOptions, mention: []string{"cluster domain"}},
		{name: "bad scenario", s: with(small(), func(s *simulation.Scenario) { s.Nodes = 1 }), want: simulation.ErrScenario, mention: []string{"nodes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ms, err := Render(tt.s, tt.o)
			if !errors.Is(err, tt.want) || ms != nil {
				t.Fatalf("Render: %d manifests, err %v; want none and %v", len(ms), err, tt.want)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if tt.partialNote == "" {
				return
			}
			o := tt.o
			o.Partial = true
			ms, err = Render(tt.s, o)
			if err != nil {
				t.Fatalf("Render with Partial: %v", err)
			}
			if errs := checkManifests(tt.s, o, ms); len(errs) > 0 {
				t.Fatalf("with Partial, the manifests fail checks:%s", joinErrs(errs))
			}
			notes := find[*corev1.ConfigMap](t, ms, scenarioName).Data["notes.txt"]
			if !strings.Contains(notes, tt.partialNote) {
				t.Errorf("notes.txt does not say %q:\n%s", tt.partialNote, notes)
			}
			got, err := Notes(tt.s, o)
			if err != nil || !strings.Contains(strings.Join(got, "\n"), tt.partialNote) {
				t.Errorf("Notes: %v, %v; want them to say %q", got, err, tt.partialNote)
			}
		})
	}
}

// The same scenario and options give the same bytes; another seed gives
// other bootstrap keys (so other peer ids).
func TestRenderDeterministic(t *testing.T) {
	t.Parallel()
	a, err := Render(small(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(small(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d and %d manifests", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].YAML, b[i].YAML) {
			t.Errorf("%s differs between two renders", a[i].Name)
		}
	}
	c, err := Render(with(small(), func(s *simulation.Scenario) { s.Seed = 8 }), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ka, kc := find[*corev1.Secret](t, a, keysName).StringData, find[*corev1.Secret](t, c, keysName).StringData
	for k, v := range ka {
		if kc[k] == v {
			t.Errorf("secret key %s is the same for seeds 7 and 8", k)
		}
	}
}

// The plan's shard assignment: relayers counts, for every shard, the pods
// prepare.sh makes relay it; every message goes to a publisher relaying its
// shard; expected deliveries add up.
func TestPlanShards(t *testing.T) {
	t.Parallel()
	tests := []struct{ nodes, boot, shards, spn, publishers int }{
		{6, 2, 2, 1, 3}, {10, 1, 8, 3, 0}, {7, 7, 4, 2, 0}, {25, 3, 8, 8, 11}, {100, 5, 16, 5, 100},
	}
	for _, tt := range tests {
		s := with(small(), func(s *simulation.Scenario) {
			s.RLN = simulation.RLN{}
			s.Nodes, s.Topology.Bootstrap, s.Shards, s.ShardsPerNode, s.Traffic.Publishers = tt.nodes, tt.boot, tt.shards, tt.spn, tt.publishers
			s.Traffic.Rate = 3
		})
		p, err := newPlan(s, Options{})
		if err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		// What each pod relays, pod by pod as prepare.sh decides.
		relays := func(g int) []int { // publisher index g: node pods, then bootstrap pods
			if g >= p.nodes {
				var all []int
				for sh := range tt.shards {
					all = append(all, sh)
				}
				return all
			}
			var out []int
			for j := range tt.spn {
				out = append(out, (g*tt.spn+j)%tt.shards)
			}
			return out
		}
		want := make([]int, tt.shards)
		for g := range tt.nodes {
			for _, sh := range relays(g) {
				want[sh]++
			}
		}
		if got := p.relayers(); !slices.Equal(got, want) {
			t.Errorf("%+v: relayers %v, want %v", tt, got, want)
		}
		pf := p.planFile()
		var sum int
		var deliveries int64
		for i := range p.messages {
			sh := p.shardOf(i)
			if !slices.Contains(relays(i%p.publishers), sh) {
				t.Errorf("%+v: message %d on shard %d through publisher %d, which relays %v", tt, i, sh, i%p.publishers, relays(i%p.publishers))
			}
			deliveries += int64(want[sh] - 1)
		}
		for _, n := range pf.MessagesPerShard {
			sum += n
		}
		if sum != p.messages || pf.ExpectedDeliveries != deliveries || p.messages != int(3*s.Duration.Seconds()) {
			t.Errorf("%+v: %d messages over the shards, %d in all (want %v), expected deliveries %d, want %d",
				tt, sum, p.messages, 3*s.Duration.Seconds(), pf.ExpectedDeliveries, deliveries)
		}
	}
}

// The golden test: one small scenario's manifests, byte for byte
// (regenerate with go test ./simulation/k8s -update).
func TestGolden(t *testing.T) {
	t.Parallel()
	ms, err := Render(small(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "golden")
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := Write(dir, ms); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for _, m := range ms {
		want = append(want, m.Name)
		golden, err := os.ReadFile(filepath.Join(dir, m.Name))
		if err != nil {
			t.Errorf("%s: %v (run go test ./simulation/k8s -update)", m.Name, err)
			continue
		}
		if !bytes.Equal(golden, m.YAML) {
			t.Errorf("%s differs from %s (run go test ./simulation/k8s -update and review the diff)", m.Name, filepath.Join(dir, m.Name))
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(want, e.Name()) {
			t.Errorf("%s is in %s but no longer rendered", e.Name(), dir)
		}
	}
}

// Write writes every manifest, replaces files of the same names, and
// refuses a directory with other manifests in it and bad names, before
// writing anything.
func TestWrite(t *testing.T) {
	t.Parallel()
	ms, err := Render(small(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := Write(dir, ms); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, ms); err != nil {
		t.Fatalf("writing again over the same files: %v", err)
	}
	for _, m := range ms {
		b, err := os.ReadFile(filepath.Join(dir, m.Name))
		if err != nil || !bytes.Equal(b, m.YAML) {
			t.Errorf("%s: %v, or not the manifest", m.Name, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(ms) {
		t.Errorf("%d files in %s, want %d (no temporary files left)", len(entries), dir, len(ms))
	}

	stale := t.TempDir()
	if err := os.WriteFile(filepath.Join(stale, "99-old.yml"), []byte("kind: Pod\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(stale, ms); err == nil || !strings.Contains(err.Error(), "99-old.yml") {
		t.Errorf("Write into a directory with another manifest: %v, want an error naming 99-old.yml", err)
	}
	if _, err := os.Stat(filepath.Join(stale, ms[0].Name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Write refused the directory but wrote %s", ms[0].Name)
	}

	for _, name := range []string{"", "../x.yaml", "a/b.yaml", "x.json", ".hidden.yaml"} {
		bad := append(slices.Clone(ms), Manifest{Name: name, YAML: []byte("x: 1\n")})
		if err := Write(t.TempDir(), bad); err == nil {
			t.Errorf("Write accepted a manifest named %q", name)
		}
	}
	if err := Write(t.TempDir(), append(slices.Clone(ms), ms[0])); err == nil {
		t.Error("Write accepted two manifests of the same name")
	}
	if err := Write("", ms); err == nil {
		t.Error("Write accepted no directory")
	}
}

// FuzzRender: for any scenario that validates, Render either refuses it
// with ErrUnsupported or gives manifests that pass every check.
func FuzzRender(f *testing.F) {
	f.Add(uint64(7), 6, 2, 2, 1, 2.0, 1024, 3, true, 60)
	f.Add(uint64(1), 2, 0, 1, 1, 0.5, 1, 0, false, 1)
	f.Add(uint64(9), 500, 500, 8, 8, 40.0, 150*1024, 0, false, 30)
	f.Add(uint64(3), 1200, 3, 16, 3, 1.0, 10240, 0, true, 600)
	f.Fuzz(func(t *testing.T, seed uint64, nodes, boot, shards, spn int, rate float64, size, publishers int, rln bool, seconds int) {
		if nodes > 20000 || seconds > 3600 || seconds < 1 {
			t.Skip("beyond what the fuzz test renders quickly")
		}
		s := simulation.Scenario{
			Name: "fuzz", Seed: seed, Nodes: nodes, Duration: time.Duration(seconds) * time.Second,
			Shards: shards, ShardsPerNode: spn, Topology: simulation.Topology{Bootstrap: boot},
			Traffic: simulation.Traffic{Rate: rate, MessageSize: size, Publishers: publishers},
			RLN:     simulation.RLN{Enabled: rln},
		}
		if s.Validate() != nil {
			t.Skip()
		}
		ms, err := Render(s, Options{})
		if err != nil {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Render: %v, want nil or ErrUnsupported", err)
			}
			return
		}
		if errs := checkManifests(s, Options{}, ms); len(errs) > 0 {
			t.Fatalf("the manifests fail %d checks:%s", len(errs), joinErrs(errs))
		}
	})
}

// The checks catch what they are for: each broken render fails with the
// problem named.
func TestChecksCatch(t *testing.T) {
	t.Parallel()
	sts := func(ms []Manifest, name string) *appsv1.StatefulSet {
		for _, m := range ms {
			if st, ok := m.Object.(*appsv1.StatefulSet); ok && st.Name == name {
				return st
			}
		}
		return nil
	}
	tests := []struct {
		name    string
		breakIt func(ms []Manifest)
		want    string
	}{
		{"pod labels", func(ms []Manifest) { sts(ms, nodeName).Spec.Template.Labels["app.kubernetes.io/component"] = "other" },
			"does not match the pod labels"},
		{"service port", func(ms []Manifest) {
			for _, m := range ms {
				if svc, ok := m.Object.(*corev1.Service); ok && svc.Name == bootName {
					svc.Spec.Ports[2].TargetPort.StrVal = "http"
				}
			}
		}, `has no TCP port "http"`},
		{"replicas", func(ms []Manifest) { *sts(ms, nodeName).Spec.Replicas++ }, "want the scenario's 6 nodes"},
		{"service links", func(ms []Manifest) { *sts(ms, bootName).Spec.Template.Spec.EnableServiceLinks = true }, "service links on"},
		{"probe port", func(ms []Manifest) {
			sts(ms, nodeName).Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Port.StrVal = "http"
		}, "readiness probe on a port"},
		{"bootstrap keys swapped", func(ms []Manifest) {
			for _, m := range ms {
				if sec, ok := m.Object.(*corev1.Secret); ok {
					d := sec.StringData
					d["rlnd-boot-0"], d["rlnd-boot-1"] = d["rlnd-boot-1"], d["rlnd-boot-0"]
				}
			}
		}, "entry node 0 names peer"},
		{"prometheus port", func(ms []Manifest) { sts(ms, bootName).Spec.Template.Annotations["prometheus.io/port"] = "9090" },
			"prometheus.io/port 9090"},
		{"job target", func(ms []Manifest) {
			for _, m := range ms {
				if j, ok := m.Object.(*batchv1.Job); ok {
					j.Spec.Template.Spec.Containers[0].Env[7].Value = "rlnd-nodes"
				}
			}
		}, `NODE_NAME "rlnd-nodes" is no headless service`},
		{"env order", func(ms []Manifest) {
			c := &sts(ms, nodeName).Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env[1:], c.Env[0])
		}, "refers to $(POD_IP), not set before it"},
		{"secret volume", func(ms []Manifest) {
			sts(ms, nodeName).Spec.Template.Spec.Volumes[3].Secret.SecretName = "keys"
		}, "secret keys is not rendered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ms, err := Render(small(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			tt.breakIt(ms)
			for i := range ms {
				b, err := yaml.Marshal(ms[i].Object)
				if err != nil {
					t.Fatal(err)
				}
				ms[i].YAML = b
			}
			errs := checkManifests(small(), Options{}, ms)
			if !strings.Contains(joinErrs(errs), tt.want) {
				t.Errorf("checks found:%s\nwant a problem saying %q", joinErrs(errs), tt.want)
			}
		})
	}

	// A YAML that does not give back its object.
	ms, _ := Render(small(), Options{})
	ms[1].YAML = append(slices.Clone(ms[1].YAML), []byte("bogus: 1\n")...)
	if errs := checkManifests(small(), Options{}, ms); !strings.Contains(joinErrs(errs), "strict unmarshal") {
		t.Errorf("an unknown field: checks found:%s", joinErrs(errs))
	}
	ms, _ = Render(small(), Options{})
	ms[2].YAML = bytes.Replace(ms[2].YAML, []byte("set -eu"), []byte("set -u"), 1)
	if errs := checkManifests(small(), Options{}, ms); !strings.Contains(joinErrs(errs), "does not give back the object") {
		t.Errorf("an edited script: checks found:%s", joinErrs(errs))
	}
}
