package k8s

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	yamlv3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	klabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/p2p/wakuenr"
	"github.com/rlnd/rlnd/simulation"
)

// rendered is a render's objects by kind, for the checks.
type rendered struct {
	namespaces   []*corev1.Namespace
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	services     map[string]*corev1.Service
	statefulSets map[string]*appsv1.StatefulSet
	deployments  map[string]*appsv1.Deployment
	jobs         map[string]*batchv1.Job
}

// workload is a pod template and where it came from.
type workload struct {
	what     string
	selector map[string]string
	template corev1.PodTemplateSpec
}

func (r rendered) workloads() []workload {
	var out []workload
	for _, name := range sortedKeys(r.statefulSets) {
		st := r.statefulSets[name]
		out = append(out, workload{"StatefulSet " + name, st.Spec.Selector.MatchLabels, st.Spec.Template})
	}
	for _, name := range sortedKeys(r.deployments) {
		d := r.deployments[name]
		out = append(out, workload{"Deployment " + name, d.Spec.Selector.MatchLabels, d.Spec.Template})
	}
	for _, name := range sortedKeys(r.jobs) {
		j := r.jobs[name]
		out = append(out, workload{"Job " + name, j.Spec.Template.Labels, j.Spec.Template})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkManifests checks a render of s with o; it returns every problem
// found (none: nil).
func checkManifests(s simulation.Scenario, o Options, ms []Manifest) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := s.Validate(); err != nil {
		return []error{err}
	}
	o, err := o.withDefaults()
	if err != nil {
		return []error{err}
	}

	r := rendered{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}, services: map[string]*corev1.Service{},
		statefulSets: map[string]*appsv1.StatefulSet{}, deployments: map[string]*appsv1.Deployment{}, jobs: map[string]*batchv1.Job{}}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
		if !strings.HasSuffix(m.Name, ".yaml") || m.Name != strings.ToLower(m.Name) {
			bad("manifest name %q: want lower case ending in .yaml", m.Name)
		}
		// The YAML gives back the object, read strictly (an unknown or
		// duplicate field fails).
		back := reflect.New(reflect.TypeOf(m.Object).Elem()).Interface()
		if err := yaml.UnmarshalStrict(m.YAML, back); err != nil {
			bad("%s: strict unmarshal: %v", m.Name, err)
			continue
		}
		if !equality.Semantic.DeepEqual(back, m.Object) {
			bad("%s: the YAML does not give back the object", m.Name)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(m.YAML, &head); err != nil || head.APIVersion == "" || head.Kind == "" {
			bad("%s: no apiVersion or kind", m.Name)
		}
		objName, objNS, objLabels := "", "", map[string]string(nil)
		switch obj := m.Object.(type) {
		case *corev1.Namespace:
			r.namespaces = append(r.namespaces, obj)
			objName, objNS, objLabels = obj.Name, o.Namespace, obj.Labels
			if obj.Namespace != "" {
				bad("namespace %s has a namespace", obj.Name)
			}
		case *corev1.ConfigMap:
			r.configMaps[obj.Name] = obj
			objName, objNS, objLabels = obj.Name, obj.Namespace, obj.Labels
			for k := range obj.Data {
				if msgs := validation.IsConfigMapKey(k); len(msgs) > 0 {
					bad("configmap %s key %q: %s", obj.Name, k, msgs[0])
				}
			}
		case *corev1.Secret:
			r.secrets[obj.Name] = obj
			objName, objNS, objLabels = obj.Name, obj.Namespace, obj.Labels
			for k := range obj.StringData {
				if msgs := validation.IsConfigMapKey(k); len(msgs) > 0 {
					bad("secret %s key %q: %s", obj.Name, k, msgs[0])
				}
			}
		case *corev1.Service:
			r.services[obj.Name] = obj
			objName, objNS, objLabels = obj.Name, obj.Namespace, obj.Labels
			if msgs := validation.IsDNS1035Label(obj.Name); len(msgs) > 0 {
				bad("service %s: %s", obj.Name, msgs[0])
			}
		case *appsv1.StatefulSet:
			r.statefulSets[obj.Name] = obj
			objName, objNS, objLabels = obj.Name, obj.Namespace, obj.Labels
		case *appsv1.Deployment:
			r.deployments[obj.Name] = obj
			objName, objNS, objLabels = obj.Name, obj.Namespace, obj.Labels
		case *batchv1.Job:
			r.jobs[obj.Name] = obj
			objName, objNS, objLabels = obj.Name, obj.Namespace, obj.Labels
		default:
			bad("%s: unexpected object %T", m.Name, m.Object)
			continue
		}
		if msgs := validation.IsDNS1123Subdomain(objName); len(msgs) > 0 {
			bad("%s: name %q: %s", m.Name, objName, msgs[0])
		}
		if objNS != o.Namespace {
			bad("%s: namespace %q, want %q", m.Name, objNS, o.Namespace)
		}
		errs = append(errs, checkLabels(m.Name, objLabels)...)
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		bad("manifest names %v: want distinct, in the order kubectl applies them", names)
	}
	if len(r.namespaces) != 1 || len(ms) == 0 || ms[0].Object != r.namespaces[0] || r.namespaces[0].Name != o.Namespace {
		bad("want the namespace %s first, once", o.Namespace)
	}

	// Workloads: selectors, pods, containers, ports, probes, volumes.
	for _, w := range r.workloads() {
		errs = append(errs, checkWorkload(w, r)...)
	}

	// Services select the pods of one workload, and name ports those
	// pods have.
	for _, name := range sortedKeys(r.services) {
		svc := r.services[name]
		var selected []workload
		for _, w := range r.workloads() {
			if len(svc.Spec.Selector) > 0 && klabels.SelectorFromSet(svc.Spec.Selector).Matches(klabels.Set(w.template.Labels)) {
				selected = append(selected, w)
			}
		}
		if len(selected) != 1 {
			bad("service %s selects %d workloads, want 1", name, len(selected))
			continue
		}
		for _, sp := range svc.Spec.Ports {
			if sp.TargetPort.Type != intstr.String {
				bad("service %s port %s: want a named target port", name, sp.Name)
				continue
			}
			if _, ok := containerPort(selected[0].template.Spec, sp.TargetPort.StrVal, sp.Protocol); !ok {
				bad("service %s port %s: %s has no %s port %q", name, sp.Name, selected[0].what, sp.Protocol, sp.TargetPort.StrVal)
			}
		}
	}

	// The StatefulSets: governed by their headless services, replicas
	// adding up to the scenario's nodes.
	replicas := 0
	for _, name := range sortedKeys(r.statefulSets) {
		st := r.statefulSets[name]
		svc := r.services[st.Spec.ServiceName]
		switch {
		case svc == nil:
			bad("statefulset %s: service %q is not rendered", name, st.Spec.ServiceName)
		case svc.Spec.ClusterIP != corev1.ClusterIPNone:
			bad("statefulset %s: service %s is not headless", name, svc.Name)
		case !klabels.SelectorFromSet(svc.Spec.Selector).Matches(klabels.Set(st.Spec.Template.Labels)):
			bad("statefulset %s: service %s does not select its pods", name, svc.Name)
		}
		if st.Spec.Replicas == nil {
			bad("statefulset %s: no replicas", name)
			continue
		}
		replicas += int(*st.Spec.Replicas)
		// Pod host names are <name>-<ordinal>: DNS labels.
		if msgs := validation.IsDNS1123Label(fmt.Sprintf("%s-%d", name, max(*st.Spec.Replicas-1, 0))); len(msgs) > 0 {
			bad("statefulset %s: pod names: %s", name, msgs[0])
		}
		a := st.Spec.Template.Annotations
		if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" {
			bad("statefulset %s: Prometheus annotations %v", name, a)
		}
		port, err := strconv.Atoi(a["prometheus.io/port"])
		if err != nil {
			bad("statefulset %s: prometheus.io/port %q", name, a["prometheus.io/port"])
		} else if p, ok := containerPort(st.Spec.Template.Spec, portMetrics, corev1.ProtocolTCP); !ok || int(p) != port {
			bad("statefulset %s: prometheus.io/port %d is not the containers' metrics port", name, port)
		}
	}
	if replicas != s.Nodes {
		bad("the StatefulSets run %d pods, want the scenario's %d nodes", replicas, s.Nodes)
	}
	boot, nodes := r.statefulSets[bootName], r.statefulSets[nodeName]
	if boot == nil || nodes == nil || boot.Spec.Replicas == nil || *boot.Spec.Replicas < 1 {
		bad("want a bootstrap StatefulSet of at least 1 pod and a node StatefulSet")
		return errs
	}

	// The bootstrap pods' addresses name the peer ids of their keys.
	errs = append(errs, checkEntryNodes(boot, nodes, r.secrets[keysName], o)...)

	// The dev chain is there exactly when RLN is, and the nodes point at
	// its service.
	if s.RLN.Enabled != (r.deployments[chainName] != nil && r.services[chainName] != nil) {
		bad("RLN %v, dev chain rendered: %v", s.RLN.Enabled, r.deployments[chainName] != nil)
	}
	if s.RLN.Enabled {
		want := fmt.Sprintf("http://%s.%s.svc.%s:%d", chainName, o.Namespace, o.ClusterDomain, r.services[chainName].Spec.Ports[0].Port)
		for _, st := range []*appsv1.StatefulSet{boot, nodes} {
			if got := envValue(st.Spec.Template.Spec.Containers[0].Env, "RLND_CHAIN_RPC_URL"); got != want {
				bad("statefulset %s: RLND_CHAIN_RPC_URL %q, want %q", st.Name, got, want)
			}
		}
	}

	// The traffic Job publishes through services that exist.
	job := r.jobs[trafficName]
	if (job != nil) != (s.Traffic.Rate*s.Duration.Seconds() >= 0.5) {
		bad("traffic job rendered %v for rate %v over %s", job != nil, s.Traffic.Rate, s.Duration)
	}
	if job != nil {
		env := job.Spec.Template.Spec.Containers[0].Env
		for _, pair := range [][2]string{{"NODE_NAME", "NODE_DOMAIN"}, {"BOOT_NAME", "BOOT_DOMAIN"}} {
			svc := r.services[envValue(env, pair[0])]
			if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
				bad("traffic job: %s %q is no headless service rendered", pair[0], envValue(env, pair[0]))
				continue
			}
			if got, want := envValue(env, pair[1]), fmt.Sprintf("%s.%s.svc.%s", svc.Name, o.Namespace, o.ClusterDomain); got != want {
				bad("traffic job: %s %q, want %q", pair[1], got, want)
			}
		}
		if got := envValue(env, "NODES"); got != strconv.Itoa(int(*nodes.Spec.Replicas)) {
			bad("traffic job: NODES %s, want the node pods, %d", got, *nodes.Spec.Replicas)
		}
		if rp, ok := containerPort(nodes.Spec.Template.Spec, portREST, corev1.ProtocolTCP); !ok || envValue(env, "REST_PORT") != strconv.Itoa(int(rp)) {
			bad("traffic job: REST_PORT %s is not the nodes' rest port", envValue(env, "REST_PORT"))
		}
		pubs, _ := strconv.Atoi(envValue(env, "PUBLISHERS"))
		if pubs < 1 || pubs > s.Nodes {
			bad("traffic job: PUBLISHERS %d, want 1 to %d", pubs, s.Nodes)
		}
		if job.Spec.Completions == nil || job.Spec.Parallelism == nil || *job.Spec.Completions != *job.Spec.Parallelism ||
			envValue(env, "WORKERS") != strconv.Itoa(int(*job.Spec.Completions)) ||
			job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion {
			bad("traffic job: want an Indexed Job of WORKERS pods at once")
		}
	}

	// The scenario ConfigMap holds the scenario as validated.
	if cm := r.configMaps[scenarioName]; cm == nil {
		bad("no scenario configmap")
	} else {
		back, err := parseScenario(cm.Data["scenario.yaml"])
		if err != nil {
			bad("scenario.yaml: %v", err)
		} else if !equality.Semantic.DeepEqual(back, s) { // nil and empty lists alike
			bad("scenario.yaml does not give back the scenario")
		}
		if cm.Data["notes.txt"] == "" || cm.Data["plan.yaml"] == "" {
			bad("scenario configmap: notes.txt or plan.yaml empty")
		}
	}
	return errs
}

func checkLabels(where string, l map[string]string) []error {
	var errs []error
	if len(l) == 0 {
		errs = append(errs, fmt.Errorf("%s: no labels", where))
	}
	for k, v := range l {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s: label key %q: %s", where, k, msgs[0]))
		}
		if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s: label %s=%q: %s", where, k, v, msgs[0]))
		}
	}
	return errs
}

// checkWorkload checks one pod template against the rest of the render.
func checkWorkload(w workload, r rendered) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(w.what+": "+format, a...)) }
	spec := w.template.Spec
	if len(w.selector) == 0 || !klabels.SelectorFromSet(w.selector).Matches(klabels.Set(w.template.Labels)) {
		bad("selector %v does not match the pod labels %v", w.selector, w.template.Labels)
	}
	errs = append(errs, checkLabels(w.what+" pods", w.template.Labels)...)
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		bad("service links on: Kubernetes would set RLND_* variables rlnd node refuses")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		bad("mounts a service account token it does not use")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		if _, dup := volumes[v.Name]; dup {
			bad("volume %s twice", v.Name)
		}
		volumes[v.Name] = v
		switch {
		case v.ConfigMap != nil && r.configMaps[v.ConfigMap.Name] == nil:
			bad("volume %s: configmap %s is not rendered", v.Name, v.ConfigMap.Name)
		case v.Secret != nil && r.secrets[v.Secret.SecretName] == nil:
			bad("volume %s: secret %s is not rendered", v.Name, v.Secret.SecretName)
		}
	}
	var names []string
	all := append(slices.Clone(spec.InitContainers), spec.Containers...)
	if len(spec.Containers) == 0 {
		bad("no containers")
	}
	for _, c := range all {
		names = append(names, c.Name)
		if msgs := validation.IsDNS1123Label(c.Name); len(msgs) > 0 {
			bad("container %q: %s", c.Name, msgs[0])
		}
		if c.Image == "" || len(c.Command) == 0 {
			bad("container %s: no image or command", c.Name)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().Cmp(*c.Resources.Requests.Memory()) < 0 {
			bad("container %s: want cpu and memory requests and a memory limit above the request", c.Name)
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			if msgs := validation.IsValidPortName(p.Name); len(msgs) > 0 {
				bad("container %s port %q: %s", c.Name, p.Name, msgs[0])
			}
			if ports[p.Name] || p.ContainerPort < 1 || p.ContainerPort > 65535 {
				bad("container %s port %s: duplicate or out of range", c.Name, p.Name)
			}
			ports[p.Name] = true
		}
		for what, pr := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
			if pr == nil {
				continue
			}
			if pr.HTTPGet == nil || pr.HTTPGet.Port.Type != intstr.String || !ports[pr.HTTPGet.Port.StrVal] {
				bad("container %s: %s probe on a port the container does not have", c.Name, what)
			}
		}
		envNames := map[string]bool{}
		for _, e := range c.Env {
			if msgs := validation.IsEnvVarName(e.Name); len(msgs) > 0 {
				bad("container %s env %q: %s", c.Name, e.Name, msgs[0])
			}
			if envNames[e.Name] {
				bad("container %s: env %s twice", c.Name, e.Name)
			}
			// $(VAR) refers to a variable set before.
			for _, ref := range refs(e.Value) {
				if !envNames[ref] {
					bad("container %s env %s refers to $(%s), not set before it", c.Name, e.Name, ref)
				}
			}
			envNames[e.Name] = true
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				if sec := r.secrets[ref.Name]; sec == nil || sec.StringData[ref.Key] == "" {
					bad("container %s env %s: secret %s has no key %s", c.Name, e.Name, ref.Name, ref.Key)
				}
			}
		}
		for _, vm := range c.VolumeMounts {
			if _, ok := volumes[vm.Name]; !ok {
				bad("container %s mounts volume %s, not in the pod", c.Name, vm.Name)
			}
		}
		if c.Name == "rlnd" && !slices.Equal(c.Command, []string{"rlnd", "node"}) {
			bad("container rlnd runs %v", c.Command)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		bad("container names %v are not distinct", names)
	}
	return errs
}

// refs are the $(VAR) references in an env value.
func refs(v string) []string {
	var out []string
	for {
		i := strings.Index(v, "$(")
		if i < 0 {
			return out
		}
		j := strings.Index(v[i:], ")")
		if j < 0 {
			return out
		}
		out = append(out, v[i+2:i+j])
		v = v[i+j:]
	}
}

func containerPort(spec corev1.PodSpec, name string, proto corev1.Protocol) (int32, bool) {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name && p.Protocol == proto {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// checkEntryNodes checks the nodes' discovery.entry-nodes: one address
// per bootstrap pod, by its DNS name, with the peer id of its key.
func checkEntryNodes(boot, nodes *appsv1.StatefulSet, keys *corev1.Secret, o Options) []error {
	var errs []error
	if keys == nil {
		return []error{fmt.Errorf("no %s secret", keysName)}
	}
	for _, st := range []*appsv1.StatefulSet{boot, nodes} {
		entries := strings.Split(envValue(st.Spec.Template.Spec.Containers[0].Env, "RLND_DISCOVERY_ENTRY_NODES"), ",")
		if len(entries) != int(*boot.Spec.Replicas) {
			errs = append(errs, fmt.Errorf("statefulset %s: %d entry nodes, want %d", st.Name, len(entries), *boot.Spec.Replicas))
			continue
		}
		for i, e := range entries {
			a, err := ma.NewMultiaddr(e)
			if err != nil {
				errs = append(errs, fmt.Errorf("entry node %q: %v", e, err))
				continue
			}
			ai, err := peer.AddrInfoFromP2pAddr(a)
			if err != nil {
				errs = append(errs, fmt.Errorf("entry node %q: %v", e, err))
				continue
			}
			host, err := ai.Addrs[0].ValueForProtocol(ma.P_DNS4)
			wantHost := fmt.Sprintf("%s-%d.%s.%s.svc.%s", boot.Name, i, boot.Spec.ServiceName, o.Namespace, o.ClusterDomain)
			if err != nil || host != wantHost {
				errs = append(errs, fmt.Errorf("entry node %d: host %q, want %q", i, host, wantHost))
			}
			keyText := keys.StringData[fmt.Sprintf("%s-%d", boot.Name, i)]
			key, err := config.DecodeNodeKey(keyText)
			if err != nil {
				errs = append(errs, fmt.Errorf("bootstrap key %d: %v", i, err))
				continue
			}
			k, err := crypto.ToECDSA(key)
			if err != nil {
				errs = append(errs, fmt.Errorf("bootstrap key %d: %v", i, err))
				continue
			}
			id, err := wakuenr.PeerID(&k.PublicKey)
			if err != nil || id != ai.ID {
				errs = append(errs, fmt.Errorf("entry node %d names peer %s, its key is peer %s", i, ai.ID, id))
			}
		}
	}
	return errs
}

// parseScenario reads scenario.yaml strictly.
func parseScenario(text string) (simulation.Scenario, error) {
	var s simulation.Scenario
	dec := yamlv3.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return s, err
	}
	return s, s.Validate()
}

// joinErrs is errs one a line, for a test failure.
func joinErrs(errs []error) string {
	var b bytes.Buffer
	for _, e := range errs {
		b.WriteString("\n  " + e.Error())
	}
	return b.String()
}
