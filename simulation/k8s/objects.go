package k8s

import (
	_ "embed" // the scripts
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The scripts the pods run, from the scripts ConfigMap.
var (
	//go:embed scripts/prepare.sh
	prepareScript string
	//go:embed scripts/traffic.sh
	trafficScript string
)

// Object names.
const (
	bootName     = "rlnd-boot"
	nodeName     = "rlnd-node"
	chainName    = "rlnd-devchain"
	trafficName  = "rlnd-traffic"
	scenarioName = "rlnd-scenario"
	scriptsName  = "rlnd-scripts"
	keysName     = "rlnd-keys"
)

// Components (the app.kubernetes.io/component label).
const (
	componentBoot    = "bootstrap"
	componentNode    = "node"
	componentChain   = "devchain"
	componentTraffic = "traffic"
)

// Ports: nwaku's (PROTOCOLS.md, operator conventions) and the dev chain's.
const (
	p2pPort     = 60000
	discv5Port  = 9000
	restPort    = 8645
	metricsPort = 8008
	chainPort   = 8545 // the dev chain, on loopback in its pod
	proxyPort   = 8546 // the forwarder in front of it
)

// Port names.
const (
	portP2P     = "p2p"
	portDiscv5  = "discv5"
	portREST    = "rest"
	portMetrics = "metrics"
	portRPC     = "rpc"
)

// Paths in the containers.
const (
	dataDir      = "/data"
	runDir       = "/run/rlnd"
	configFile   = runDir + "/node.yaml"
	scriptsDir   = "/etc/rlnd/scripts"
	keysDir      = "/etc/rlnd/keys"
	keystoreFile = dataDir + "/rln-keystore.json"
	// passwordKey is the keystore password's key in the Secret.
	passwordKey = "keystore-password"
)

// Volume names.
const (
	volData    = "data"
	volRun     = "run"
	volScripts = "scripts"
	volKeys    = "keys"
)

// fileObj is one object and the file it goes to.
type fileObj struct {
	file string
	obj  runtime.Object
}

func (p *plan) objects() ([]fileObj, error) {
	scenarioCM, err := p.scenarioConfigMap()
	if err != nil {
		return nil, err
	}
	out := []fileObj{
		{"00-namespace.yaml", p.namespace()},
		{"01-scenario-configmap.yaml", scenarioCM},
		{"02-scripts-configmap.yaml", p.scriptsConfigMap()},
		{"03-keys-secret.yaml", p.keysSecret()},
	}
	if p.rln {
		out = append(out,
			fileObj{"04-devchain-deployment.yaml", p.chainDeployment()},
			fileObj{"05-devchain-service.yaml", p.chainService()})
	}
	out = append(out,
		fileObj{"10-bootstrap-service.yaml", p.headless(bootName, componentBoot)},
		fileObj{"11-bootstrap-statefulset.yaml", p.statefulSet(bootName, componentBoot, p.boot)},
		fileObj{"20-node-service.yaml", p.headless(nodeName, componentNode)},
		fileObj{"21-node-statefulset.yaml", p.statefulSet(nodeName, componentNode, p.nodes)})
	if p.workers > 0 {
		out = append(out, fileObj{"30-traffic-job.yaml", p.trafficJob()})
	}
	return out, nil
}

// labels are a component's pods' labels, and its selector.
func labels(component string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":      "rlnd",
		"app.kubernetes.io/part-of":   "rlnd-simulate",
		"app.kubernetes.io/component": component,
	}
}

func (p *plan) meta(name, component string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Namespace: p.o.Namespace, Labels: labels(component)}
	if component == "" {
		m.Labels = map[string]string{"app.kubernetes.io/name": "rlnd", "app.kubernetes.io/part-of": "rlnd-simulate"}
	}
	return m
}

// domain is the DNS domain of a headless service's pods.
func (p *plan) domain(service string) string {
	return fmt.Sprintf("%s.%s.svc.%s", service, p.o.Namespace, p.o.ClusterDomain)
}

// entryNodes are the bootstrap pods' addresses with their peer ids.
func (p *plan) entryNodes() []string {
	out := make([]string, p.boot)
	for i := range out {
		out[i] = fmt.Sprintf("/dns4/%s-%d.%s/tcp/%d/p2p/%s", bootName, i, p.domain(bootName), p2pPort, p.bootPeerIDs[i])
	}
	return out
}

func (p *plan) namespace() *corev1.Namespace {
	m := p.meta(p.o.Namespace, "")
	m.Namespace = ""
	return &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: m}
}

// planFile is the scenario ConfigMap's plan.yaml: what the cluster run
// does, and what its metrics should add up to.
type planFile struct {
	ClusterID     uint16 `yaml:"cluster_id"`
	Shards        int    `yaml:"shards"`
	ShardsPerNode int    `yaml:"shards_per_node"`
	BootstrapPods int    `yaml:"bootstrap_pods"`
	NodePods      int    `yaml:"node_pods"`
	Publishers    int    `yaml:"publishers"`
	RLN           bool   `yaml:"rln"`
	Messages      int    `yaml:"messages"`
	// Rate is messages a second in all; MessageSize the payload in bytes.
	Rate        float64 `yaml:"rate"`
	MessageSize int     `yaml:"message_size"`
	Workers     int     `yaml:"workers"`
	Warmup      string  `yaml:"warmup"`
	// ContentTopic is every message's; each goes on a shard's pubsub
	// topic /waku/2/rs/<cluster>/<shard>.
	ContentTopic     string `yaml:"content_topic"`
	MessagesPerShard []int  `yaml:"messages_per_shard"`
	RelayersPerShard []int  `yaml:"relayers_per_shard"`
	// ExpectedDeliveries is the sum over messages of the pods relaying
	// its shard, less the publisher: what waku_node_messages_total
	// {type="relay"} grows by over all pods when every message reaches
	// every pod of its shard.
	ExpectedDeliveries int64 `yaml:"expected_deliveries"`
}

func (p *plan) planFile() planFile {
	f := planFile{
		ClusterID: p.o.ClusterID, Shards: p.s.Shards, ShardsPerNode: p.s.ShardsPerNode,
		BootstrapPods: p.boot, NodePods: p.nodes, Publishers: p.publishers, RLN: p.rln,
		Messages: p.messages, Rate: p.s.Traffic.Rate, MessageSize: p.s.Traffic.MessageSize, Workers: p.workers,
		Warmup: p.warmup.String(), ContentTopic: contentTopic,
		MessagesPerShard: make([]int, p.s.Shards), RelayersPerShard: p.relayers(),
	}
	for i := range p.messages {
		sh := p.shardOf(i)
		f.MessagesPerShard[sh]++
		f.ExpectedDeliveries += int64(f.RelayersPerShard[sh] - 1)
	}
	return f
}

func (p *plan) scenarioConfigMap() (*corev1.ConfigMap, error) {
	scen, err := yaml.Marshal(p.s)
	if err != nil {
		return nil, fmt.Errorf("k8s: the scenario as YAML: %w", err)
	}
	pf, err := yaml.Marshal(p.planFile())
	if err != nil {
		return nil, fmt.Errorf("k8s: the plan as YAML: %w", err)
	}
	var notes strings.Builder
	for _, n := range p.notes {
		notes.WriteString("- " + n + "\n")
	}
	m := p.meta(scenarioName, "")
	m.Annotations = map[string]string{"rlnd.dev/scenario": p.s.Name}
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: m,
		Data:       map[string]string{"scenario.yaml": string(scen), "plan.yaml": string(pf), "notes.txt": notes.String()},
	}, nil
}

func (p *plan) scriptsConfigMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: p.meta(scriptsName, ""),
		Data:       map[string]string{"prepare.sh": prepareScript, "traffic.sh": trafficScript},
	}
}

func (p *plan) keysSecret() *corev1.Secret {
	data := map[string]string{}
	for i, k := range p.bootKeys {
		data[fmt.Sprintf("%s-%d", bootName, i)] = fmt.Sprintf("%x", k)
	}
	if p.rln {
		data[passwordKey] = p.password
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: p.meta(keysName, ""),
		Type:       corev1.SecretTypeOpaque,
		StringData: data,
	}
}

// chainDeployment runs `rlnd devchain`, which serves loopback only, with
// socat forwarding the pod's port rpc to it.
func (p *plan) chainDeployment() *appsv1.Deployment {
	accounts := p.publishers + 1
	chain := corev1.Container{
		Name: "devchain", Image: p.o.Image, ImagePullPolicy: p.o.ImagePullPolicy,
		Command: []string{"rlnd", "devchain"},
		Args: []string{"--http", fmt.Sprintf("127.0.0.1:%d", chainPort), "--block-time", "1s",
			"--accounts", strconv.Itoa(accounts)},
		Resources:       resources("500m", "512Mi", "2Gi"),
		SecurityContext: containerSecurity(),
	}
	proxy := corev1.Container{
		Name: "proxy", Image: p.o.ProxyImage, ImagePullPolicy: p.o.ImagePullPolicy,
		Command: []string{"socat"},
		Args:    []string{fmt.Sprintf("TCP-LISTEN:%d,fork,reuseaddr", proxyPort), fmt.Sprintf("TCP:127.0.0.1:%d", chainPort)},
		Ports:   []corev1.ContainerPort{{Name: portRPC, ContainerPort: proxyPort, Protocol: corev1.ProtocolTCP}},
		// go-ethereum answers an empty GET with 200: the chain serves,
		// through the forwarder.
		ReadinessProbe:  httpProbe("/", portRPC, 5, 3),
		Resources:       resources("50m", "32Mi", "128Mi"),
		SecurityContext: containerSecurity(),
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: p.meta(chainName, componentChain),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels(componentChain)},
			// One chain: the old pod goes before a new one starts.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels(componentChain)},
				Spec:       podSpec([]corev1.Container{chain, proxy}, nil, nil),
			},
		},
	}
}

func (p *plan) chainService() *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: p.meta(chainName, componentChain),
		Spec: corev1.ServiceSpec{
			Selector: labels(componentChain),
			Ports: []corev1.ServicePort{{Name: portRPC, Port: chainPort, TargetPort: intstr.FromString(portRPC),
				Protocol: corev1.ProtocolTCP}},
		},
	}
}

// headless is a StatefulSet's governing service: it gives each pod the
// name <pod>.<service>.<namespace>.svc.<domain>, published before the pod
// is ready (discovery and the traffic's health checks need the names
// early).
func (p *plan) headless(name, component string) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: p.meta(name, component),
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			PublishNotReadyAddresses: true,
			Selector:                 labels(component),
			Ports: []corev1.ServicePort{
				{Name: portP2P, Port: p2pPort, TargetPort: intstr.FromString(portP2P), Protocol: corev1.ProtocolTCP},
				{Name: portDiscv5, Port: discv5Port, TargetPort: intstr.FromString(portDiscv5), Protocol: corev1.ProtocolUDP},
				{Name: portREST, Port: restPort, TargetPort: intstr.FromString(portREST), Protocol: corev1.ProtocolTCP},
				{Name: portMetrics, Port: metricsPort, TargetPort: intstr.FromString(portMetrics), Protocol: corev1.ProtocolTCP},
			},
		},
	}
}

// statefulSet runs the bootstrap pods (one after the other: each reads the
// ENRs of those before it) or the node pods (all at once).
func (p *plan) statefulSet(name, component string, replicas int) *appsv1.StatefulSet {
	role, policy := "node", appsv1.ParallelPodManagement
	if component == componentBoot {
		role, policy = "bootstrap", appsv1.OrderedReadyPodManagement
	}
	res := p.nodeResources()
	prepare := corev1.Container{
		Name: "prepare", Image: p.o.Image, ImagePullPolicy: p.o.ImagePullPolicy,
		Command: []string{"sh", scriptsDir + "/prepare.sh"},
		Env:     p.prepareEnv(role),
		VolumeMounts: []corev1.VolumeMount{
			{Name: volData, MountPath: dataDir},
			{Name: volRun, MountPath: runDir},
			{Name: volScripts, MountPath: scriptsDir, ReadOnly: true},
			{Name: volKeys, MountPath: keysDir, ReadOnly: true},
		},
		Resources:       res,
		SecurityContext: containerSecurity(),
	}
	node := corev1.Container{
		Name: "rlnd", Image: p.o.Image, ImagePullPolicy: p.o.ImagePullPolicy,
		Command: []string{"rlnd", "node"},
		Env:     p.nodeEnv(),
		Ports: []corev1.ContainerPort{
			{Name: portP2P, ContainerPort: p2pPort, Protocol: corev1.ProtocolTCP},
			{Name: portDiscv5, ContainerPort: discv5Port, Protocol: corev1.ProtocolUDP},
			{Name: portREST, ContainerPort: restPort, Protocol: corev1.ProtocolTCP},
			{Name: portMetrics, ContainerPort: metricsPort, Protocol: corev1.ProtocolTCP},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: volData, MountPath: dataDir},
			{Name: volRun, MountPath: runDir, ReadOnly: true},
		},
		// Loading the RLN artefacts and the first sync of the registry
		// come before /health answers: up to 15 minutes to start, then
		// 5 minutes unhealthy before a restart.
		StartupProbe:    httpProbe("/health", portREST, 5, 180),
		ReadinessProbe:  httpProbe("/health", portREST, 10, 3),
		LivenessProbe:   httpProbe("/health", portREST, 30, 10),
		Resources:       res,
		SecurityContext: containerSecurity(),
	}
	volumes := []corev1.Volume{
		{Name: volData, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: volRun, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
			Medium: corev1.StorageMediumMemory, SizeLimit: ptr(resource.MustParse("1Mi"))}}},
		{Name: volScripts, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: scriptsName}, DefaultMode: ptr(int32(0o555))}}},
		{Name: volKeys, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: keysName, DefaultMode: ptr(int32(0o444))}}},
	}
	spec := podSpec([]corev1.Container{node}, []corev1.Container{prepare}, volumes)
	// rlnd node stops within 15 s of SIGTERM.
	spec.TerminationGracePeriodSeconds = ptr(int64(20))
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: p.meta(name, component),
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr(int32(replicas)),
			ServiceName:         name,
			PodManagementPolicy: policy,
			Selector:            &metav1.LabelSelector{MatchLabels: labels(component)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: labels(component),
					Annotations: map[string]string{
						"prometheus.io/scrape": "true",
						"prometheus.io/port":   strconv.Itoa(metricsPort),
						"prometheus.io/path":   "/metrics",
					},
				},
				Spec: spec,
			},
		},
	}
}

// nodeEnv configures rlnd node: what every pod shares (the rest is in
// RLND_CONFIG, written by prepare.sh).
func (p *plan) nodeEnv() []corev1.EnvVar {
	env := []corev1.EnvVar{
		// Before RLND_P2P_NAT, which refers to it.
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "RLND_CONFIG", Value: configFile},
		{Name: "RLND_NODE_DATA_DIR", Value: dataDir},
		{Name: "RLND_LOG_STATUS_INTERVAL", Value: "1m0s"},
		{Name: "RLND_NETWORK_CLUSTER_ID", Value: strconv.Itoa(int(p.o.ClusterID))},
		{Name: "RLND_NETWORK_NUM_SHARDS", Value: strconv.Itoa(p.s.Shards)},
		{Name: "RLND_P2P_LISTEN", Value: fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", p2pPort)},
		// The ENR and identify announce the pod IP (a private address
		// is left out of the ENR unless announced this way).
		{Name: "RLND_P2P_NAT", Value: "extip:$(POD_IP)"},
		{Name: "RLND_P2P_MAX_CONNECTIONS", Value: strconv.Itoa(p.maxConnections())},
		{Name: "RLND_DISCOVERY_DISCV5", Value: "true"},
		{Name: "RLND_DISCOVERY_DISCV5_UDP_PORT", Value: strconv.Itoa(discv5Port)},
		{Name: "RLND_DISCOVERY_DNS", Value: "false"},
		{Name: "RLND_DISCOVERY_ENTRY_NODES", Value: strings.Join(p.entryNodes(), ",")},
		{Name: "RLND_DISCOVERY_PEER_EXCHANGE", Value: "true"},
		{Name: "RLND_REST_ENABLED", Value: "true"},
		{Name: "RLND_REST_ADDRESS", Value: fmt.Sprintf("0.0.0.0:%d", restPort)},
		{Name: "RLND_REST_ADMIN", Value: "true"},
		{Name: "RLND_METRICS_ENABLED", Value: "true"},
		{Name: "RLND_METRICS_ADDRESS", Value: fmt.Sprintf("0.0.0.0:%d", metricsPort)},
		{Name: "RLND_RLN_ENABLED", Value: strconv.FormatBool(p.rln)},
	}
	if !p.rln {
		return env
	}
	env = append(env,
		corev1.EnvVar{Name: "RLND_RLN_EPOCH_PERIOD", Value: p.s.RLN.EpochPeriod.String()},
		corev1.EnvVar{Name: "RLND_RLN_USER_MESSAGE_LIMIT", Value: strconv.Itoa(p.s.RLN.UserMessageLimit)},
		corev1.EnvVar{Name: "RLND_RLN_KEYSTORE_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: keysName}, Key: passwordKey}}},
		corev1.EnvVar{Name: "RLND_CHAIN_RPC_URL", Value: p.chainURL()},
		corev1.EnvVar{Name: "RLND_CHAIN_CHAIN_ID", Value: strconv.Itoa(devChainID)},
		corev1.EnvVar{Name: "RLND_CHAIN_CONTRACT", Value: devContract})
	if p.o.RLNArtefactsDir != "" {
		env = append(env, corev1.EnvVar{Name: "RLND_RLN_ARTEFACTS_DIR", Value: p.o.RLNArtefactsDir})
	}
	return env
}

// maxConnections is p2p.max-connections: twice the scenario's relay
// connections (rlnd keeps half of them for relay peers), within rlnd's
// bounds.
func (p *plan) maxConnections() int { return min(2*p.s.Topology.MaxConnections, 10000) }

func (p *plan) chainURL() string {
	return fmt.Sprintf("http://%s.%s.svc.%s:%d", chainName, p.o.Namespace, p.o.ClusterDomain, chainPort)
}

// prepareEnv is what prepare.sh reads.
func (p *plan) prepareEnv(role string) []corev1.EnvVar {
	rlnPublishers := 0
	if p.rln {
		rlnPublishers = p.publishers
	}
	env := []corev1.EnvVar{
		{Name: "ROLE", Value: role},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "CONFIG_FILE", Value: configFile},
		{Name: "KEYS_DIR", Value: keysDir},
		{Name: "BOOTSTRAPS", Value: strconv.Itoa(p.boot)},
		{Name: "BOOT_NAME", Value: bootName},
		{Name: "BOOT_DOMAIN", Value: p.domain(bootName)},
		{Name: "REST_PORT", Value: strconv.Itoa(restPort)},
		{Name: "FETCH_TIMEOUT", Value: strconv.Itoa(int(fetchTimeout.Seconds()))},
		{Name: "SHARDS", Value: strconv.Itoa(p.s.Shards)},
		{Name: "SHARDS_PER_NODE", Value: strconv.Itoa(p.s.ShardsPerNode)},
		{Name: "NODES", Value: strconv.Itoa(p.nodes)},
		{Name: "RLN_PUBLISHERS", Value: strconv.Itoa(rlnPublishers)},
	}
	if p.rln {
		env = append(env,
			corev1.EnvVar{Name: "CHAIN_RPC_URL", Value: p.chainURL()},
			corev1.EnvVar{Name: "CHAIN_CONTRACT", Value: devContract},
			corev1.EnvVar{Name: "RATE_LIMIT", Value: strconv.Itoa(p.s.RLN.UserMessageLimit)},
			corev1.EnvVar{Name: "KEYSTORE", Value: keystoreFile})
	}
	return env
}

func (p *plan) trafficJob() *batchv1.Job {
	n := int32(p.workers)
	env := []corev1.EnvVar{
		{Name: "WORKERS", Value: strconv.Itoa(p.workers)},
		{Name: "MESSAGES", Value: strconv.Itoa(p.messages)},
		{Name: "INTERVAL_US", Value: strconv.FormatInt(p.intervalUS, 10)},
		{Name: "STEP_US", Value: strconv.FormatInt(p.stepUS, 10)},
		{Name: "PUBLISHERS", Value: strconv.Itoa(p.publishers)},
		{Name: "TARGET_STRIDE", Value: strconv.Itoa(p.stride)},
		{Name: "NODES", Value: strconv.Itoa(p.nodes)},
		{Name: "NODE_NAME", Value: nodeName},
		{Name: "NODE_DOMAIN", Value: p.domain(nodeName)},
		{Name: "BOOT_NAME", Value: bootName},
		{Name: "BOOT_DOMAIN", Value: p.domain(bootName)},
		{Name: "REST_PORT", Value: strconv.Itoa(restPort)},
		{Name: "CLUSTER_ID", Value: strconv.Itoa(int(p.o.ClusterID))},
		{Name: "SHARDS", Value: strconv.Itoa(p.s.Shards)},
		{Name: "SHARDS_PER_NODE", Value: strconv.Itoa(p.s.ShardsPerNode)},
		{Name: "CONTENT_TOPIC", Value: contentTopic},
		{Name: "MESSAGE_SIZE", Value: strconv.Itoa(p.s.Traffic.MessageSize)},
		{Name: "WARMUP", Value: strconv.Itoa(int(p.warmup.Seconds()))},
		{Name: "HEALTH_TIMEOUT", Value: strconv.Itoa(int(healthTimeout.Seconds()))},
		{Name: "PUBLISH_TIMEOUT", Value: publishTimeout},
		{Name: "BATCH", Value: strconv.Itoa(inFlight)},
	}
	worker := corev1.Container{
		Name: "traffic", Image: p.o.Image, ImagePullPolicy: p.o.ImagePullPolicy,
		Command:         []string{"sh", scriptsDir + "/traffic.sh"},
		Env:             env,
		VolumeMounts:    []corev1.VolumeMount{{Name: volScripts, MountPath: scriptsDir, ReadOnly: true}},
		Resources:       resources("100m", "64Mi", "512Mi"),
		SecurityContext: containerSecurity(),
	}
	volumes := []corev1.Volume{{Name: volScripts, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: scriptsName}, DefaultMode: ptr(int32(0o555))}}}}
	spec := podSpec([]corev1.Container{worker}, nil, volumes)
	spec.RestartPolicy = corev1.RestartPolicyNever
	// The health wait, the warm-up, twice the duration (the rate drifts
	// down) and ten minutes.
	deadline := healthTimeout + p.warmup + 2*p.s.Duration + 10*time.Minute
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: p.meta(trafficName, componentTraffic),
		Spec: batchv1.JobSpec{
			Parallelism:    &n,
			Completions:    &n,
			CompletionMode: ptr(batchv1.IndexedCompletion),
			// A worker that failed is not run again: its messages would
			// be published twice.
			BackoffLimit:          ptr(int32(0)),
			ActiveDeadlineSeconds: ptr(int64(deadline.Seconds())),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels(componentTraffic)},
				Spec:       spec,
			},
		},
	}
}

// nodeResources are a node's requests and limits: a relay node's CPU and
// memory, more with RLN (the artefacts, the membership tree, proofs).
func (p *plan) nodeResources() corev1.ResourceRequirements {
	if p.o.NodeResources != nil {
		return *p.o.NodeResources.DeepCopy()
	}
	if p.rln {
		return resources("500m", "512Mi", "2Gi")
	}
	return resources("250m", "256Mi", "1Gi")
}

// resources requests cpu and memory and limits memory (a CPU limit would
// throttle the node and skew the latencies measured).
func resources(cpu, mem, memLimit string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(memLimit)},
	}
}

func containerSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

// podSpec is the pod spec every component shares: no service account
// token, and no service links (Kubernetes would set RLND_DEVCHAIN_* and
// other variables named after the services, and rlnd node refuses RLND_*
// variables that are no configuration key).
func podSpec(containers, inits []corev1.Container, volumes []corev1.Volume) corev1.PodSpec {
	return corev1.PodSpec{
		InitContainers:               inits,
		Containers:                   containers,
		Volumes:                      volumes,
		AutomountServiceAccountToken: ptr(false),
		EnableServiceLinks:           ptr(false),
	}
}

func httpProbe(path, port string, period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(port)}},
		TimeoutSeconds:   5,
		PeriodSeconds:    period,
		FailureThreshold: failures,
	}
}

func ptr[T any](v T) *T { return &v }
