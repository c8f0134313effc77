// Package k8s renders a simulation scenario as Kubernetes manifests for real
// rlnd nodes (`rlnd simulate --emit k8s DIR`), so that a run the simulator
// made can be made again on a cluster and the two compared.
//
// What is rendered, in the order `kubectl apply -f DIR` applies it:
//
//   - the Namespace;
//   - a ConfigMap with the scenario (YAML), the traffic plan and what the
//     cluster run does differently from the simulator (notes.txt), and one
//     with the two shell scripts the pods run (prepare.sh, traffic.sh);
//   - a Secret with the bootstrap pods' node keys and, for RLN, the
//     keystore password;
//   - for RLN scenarios, a dev chain (`rlnd devchain` behind a TCP
//     forwarder, since the dev chain serves loopback only) and its Service;
//   - the bootstrap nodes: a headless Service and a StatefulSet;
//   - the other nodes: a headless Service and a StatefulSet;
//   - the traffic: an Indexed Job whose workers publish through the nodes'
//     REST API with `rlnd relay publish`.
//
// How nodes find each other: each bootstrap pod runs with a fixed node key
// (derived from the scenario's seed, in the Secret), so its peer id and its
// address /dns4/<pod>.<service>.<namespace>.svc.<domain>/tcp/60000/p2p/<id>
// are known when the manifests are written; every node has them as
// discovery.entry-nodes and dials them at start. discv5 then spreads the
// nodes over each other: an init step reads the ENR of each bootstrap pod
// from its REST API (/debug/v1/info) and gives them to the node as
// discovery.discv5-bootstrap-nodes (an ENR carries the pod IP, which only
// exists once the pod runs; every node announces its pod IP with
// p2p.nat=extip:<pod IP>).
package k8s

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/rlnd/rlnd/simulation"
)

// Sentinel errors.
var (
	// ErrOptions wraps what is wrong with Options.
	ErrOptions = errors.New("k8s: bad options")
	// ErrUnsupported wraps what a scenario asks that real nodes on a
	// cluster cannot be made to do (attacks, churn, flooding), and what
	// the rendered run cannot carry (too fast a rate, too many bootstrap
	// nodes, RLN beyond what the dev chain's accounts and registry take).
	ErrUnsupported = errors.New("k8s: not possible on real nodes")
)

// Defaults of Options.
const (
	// DefaultImage is the image when Options.Image is empty: a local
	// build (load it into the cluster's nodes, or push it and pass its
	// name).
	DefaultImage = "rlnd:dev"
	// DefaultNamespace is the namespace when Options.Namespace is empty.
	DefaultNamespace = "rlnd-sim"
	// DefaultClusterID is the Waku cluster when Options.ClusterID is 0:
	// the devnet preset's test cluster.
	DefaultClusterID = 66
	// DefaultClusterDomain is the cluster's DNS domain.
	DefaultClusterDomain = "cluster.local"
	// DefaultProxyImage forwards TCP to the dev chain: any image with
	// socat on its PATH does.
	DefaultProxyImage = "docker.io/alpine/socat:latest"
)

// Options says how to render a scenario.
type Options struct {
	// Image is the image of every rlnd container (DefaultImage when
	// empty). It must hold rlnd on the PATH and a POSIX shell with cat,
	// sed, head, wc, date, mktemp, mv, sleep that takes fractions of a
	// second (busybox or GNU coreutils) and curl or wget: the init step
	// and the traffic workers are shell scripts.
	Image string
	// ImagePullPolicy of every container (IfNotPresent when empty).
	ImagePullPolicy corev1.PullPolicy
	// Namespace the run lives in (DefaultNamespace when empty); a DNS
	// label.
	Namespace string
	// ClusterID is the Waku cluster the nodes form (DefaultClusterID when
	// 0).
	ClusterID uint16
	// ClusterDomain is the cluster's DNS domain (DefaultClusterDomain
	// when empty).
	ClusterDomain string
	// RLNArtefactsDir is where the image holds the RLN artefacts
	// (rln.artefacts-dir); empty leaves rlnd's default (the
	// shared/rln/tree_depth_20 folder found beside the binary). RLN
	// scenarios only.
	RLNArtefactsDir string
	// ProxyImage runs socat in front of the dev chain (DefaultProxyImage
	// when empty). RLN scenarios only.
	ProxyImage string
	// NodeResources replaces each node's resource requests and limits
	// (nil: defaults sized for one relay node).
	NodeResources *corev1.ResourceRequirements
	// Partial leaves out what real nodes cannot be made to do (attacks,
	// churn, the flooding mode) and says so in the notes, instead of
	// failing with ErrUnsupported.
	Partial bool
}

// Manifest is one rendered object.
type Manifest struct {
	// Name is the file the manifest is written to ("NN-what.yaml"), in
	// the order kubectl applies a directory: the namespace first.
	Name string
	// Object is the typed object: *corev1.Namespace, *corev1.ConfigMap,
	// *corev1.Secret, *corev1.Service, *appsv1.StatefulSet,
	// *appsv1.Deployment or *batchv1.Job.
	Object runtime.Object
	// YAML is Object as written: a comment line, then the object
	// serialised with sigs.k8s.io/yaml.
	YAML []byte
}

// Render turns a scenario into the manifests of a cluster run. The scenario
// is validated (and its defaults filled in) first; the same scenario and
// options give the same bytes.
func Render(s simulation.Scenario, o Options) ([]Manifest, error) {
	p, err := newPlan(s, o)
	if err != nil {
		return nil, err
	}
	objs, err := p.objects()
	if err != nil {
		return nil, err
	}
	out := make([]Manifest, 0, len(objs))
	for _, obj := range objs {
		body, err := yaml.Marshal(obj.obj)
		if err != nil {
			return nil, fmt.Errorf("k8s: serialising %s: %w", obj.file, err)
		}
		header := fmt.Sprintf("# Rendered by rlnd simulate --emit k8s from scenario %q (seed %d).\n", p.s.Name, p.s.Seed)
		out = append(out, Manifest{Name: obj.file, Object: obj.obj, YAML: append([]byte(header), body...)})
	}
	return out, nil
}

// Notes says what a cluster run of s does differently from the simulator:
// what Render writes to the scenario ConfigMap's notes.txt.
func Notes(s simulation.Scenario, o Options) ([]string, error) {
	p, err := newPlan(s, o)
	if err != nil {
		return nil, err
	}
	return slices.Clone(p.notes), nil
}

// withDefaults fills in the options' defaults and checks them.
func (o Options) withDefaults() (Options, error) {
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.ImagePullPolicy == "" {
		o.ImagePullPolicy = corev1.PullIfNotPresent
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.ClusterID == 0 {
		o.ClusterID = DefaultClusterID
	}
	if o.ClusterDomain == "" {
		o.ClusterDomain = DefaultClusterDomain
	}
	if o.ProxyImage == "" {
		o.ProxyImage = DefaultProxyImage
	}
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrOptions, field, fmt.Sprintf(format, a...)))
	}
	switch o.ImagePullPolicy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		bad("image pull policy", "%q, want Always, IfNotPresent or Never", o.ImagePullPolicy)
	}
	// Namespaces are DNS labels; longer ones would not fit the names
	// built from them either.
	if msgs := validation.IsDNS1123Label(o.Namespace); len(msgs) > 0 {
		bad("namespace", "%q is not a DNS label (%s)", o.Namespace, msgs[0])
	}
	if msgs := validation.IsDNS1123Subdomain(o.ClusterDomain); len(msgs) > 0 {
		bad("cluster domain", "%q is not a DNS name (%s)", o.ClusterDomain, msgs[0])
	}
	for _, img := range [][2]string{{"image", o.Image}, {"proxy image", o.ProxyImage}} {
		if strings.ContainsAny(img[1], " \t\r\n") {
			bad(img[0], "%q holds white space, want an image reference such as registry.example/rlnd:v1", img[1])
		}
	}
	return o, errors.Join(errs...)
}
