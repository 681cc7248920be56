// cyclonus-judge: the independent NetworkPolicy evaluator of the property tests
// (test/property/evaluator.test.ts, test/dataplane/property.test.ts). It judges flows with the
// policy engine of cyclonus v0.5.6 (github.com/mattfenwick/cyclonus/pkg/matcher), the evaluator
// behind `cyclonus analyze --mode query-traffic`, without a cluster.
//
// Contract (see test/property/README.md): one JSON document on stdin,
//
//	{ "namespaces": [{"name": "a", "labels": {"k": "v"}}],
//	  "pods": [{"namespace": "a", "name": "p", "ip": "10.0.0.1", "labels": {...},
//	            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}]}],
//	  "policies": [<networking.k8s.io/v1 NetworkPolicy, metadata.namespace required>],
//	  "queries": [{"from": {"pod": "a/p"} | {"ip": "192.0.2.1"}, "to": "a/q", "port": 80, "protocol": "TCP"}] }
//
// and one on stdout, a verdict per query, in order:
//
//	{ "verdicts": [{"ingress": true, "egress": true, "ingressRaw": true, "egressRaw": true}] }
//
// The input is read as the apiserver would store it: policyTypes defaulted (Ingress, plus Egress
// when there are egress rules) and every namespace labelled kubernetes.io/metadata.name=<name>.
// A query's port is resolved to the name of the destination's container port with that number
// and protocol, as a named port in a policy refers to it.
//
// `ingressRaw`/`egressRaw` are cyclonus's verdicts on the policies as given. cyclonus v0.5.6 reads
// two label-selector forms unlike Kubernetes (k8s.io/apimachinery/pkg/labels): `NotIn` does not
// match a missing key, and `matchLabels: {k: ""}` matches a missing key. `ingress`/`egress` are
// cyclonus's verdicts on an equivalent rewrite that avoids both: each NotIn requirement becomes
// two alternatives (key absent | cyclonus's NotIn), a selector with alternatives becomes several
// policies (podSelector) or several peers (peer selectors), which select and admit exactly the
// same; and an empty matchLabels value gains an `Exists` requirement. Errors: exit 1, message on
// stderr.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	v1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

const namespaceNameLabel = "kubernetes.io/metadata.name"

type namespace struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

type pod struct {
	Namespace string             `json:"namespace"`
	Name      string             `json:"name"`
	IP        string             `json:"ip"`
	Labels    map[string]string  `json:"labels"`
	Ports     []v1.ContainerPort `json:"ports"`
}

type query struct {
	From struct {
		Pod string `json:"pod"`
		IP  string `json:"ip"`
	} `json:"from"`
	To       string      `json:"to"`
	Port     int         `json:"port"`
	Protocol v1.Protocol `json:"protocol"`
}

type input struct {
	Namespaces []namespace                   `json:"namespaces"`
	Pods       []pod                         `json:"pods"`
	Policies   []*networkingv1.NetworkPolicy `json:"policies"`
	Queries    []query                       `json:"queries"`
}

type verdict struct {
	Ingress    bool `json:"ingress"`
	Egress     bool `json:"egress"`
	IngressRaw bool `json:"ingressRaw"`
	EgressRaw  bool `json:"egressRaw"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cyclonus-judge:", err)
		os.Exit(1)
	}
}

func run() error {
	var in input
	dec := json.NewDecoder(os.Stdin)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("stdin is not the input document: %w", err)
	}
	for _, p := range in.Policies {
		if p.Namespace == "" {
			return fmt.Errorf("NetworkPolicy %q: metadata.namespace is required", p.Name)
		}
		defaultPolicyTypes(p)
	}
	raw := matcher.BuildNetworkPolicies(false, in.Policies)
	spec := matcher.BuildNetworkPolicies(false, rewritePolicies(in.Policies))
	verdicts := make([]verdict, 0, len(in.Queries))
	for i, q := range in.Queries {
		traffic, err := trafficOf(&in, q)
		if err != nil {
			return fmt.Errorf("queries[%d]: %w", i, err)
		}
		verdicts = append(verdicts, verdict{
			Ingress:    spec.IsIngressOrEgressAllowed(traffic, true).IsAllowed(),
			Egress:     spec.IsIngressOrEgressAllowed(traffic, false).IsAllowed(),
			IngressRaw: raw.IsIngressOrEgressAllowed(traffic, true).IsAllowed(),
			EgressRaw:  raw.IsIngressOrEgressAllowed(traffic, false).IsAllowed(),
		})
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"verdicts": verdicts})
}

// defaultPolicyTypes is the apiserver's SetDefaults_NetworkPolicySpec.
func defaultPolicyTypes(p *networkingv1.NetworkPolicy) {
	if len(p.Spec.PolicyTypes) > 0 {
		return
	}
	p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if len(p.Spec.Egress) > 0 {
		p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
}

func trafficOf(in *input, q query) (*matcher.Traffic, error) {
	dst, err := peerOf(in, q.To)
	if err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	var src *matcher.TrafficPeer
	switch {
	case q.From.Pod != "" && q.From.IP == "":
		if src, err = peerOf(in, q.From.Pod); err != nil {
			return nil, fmt.Errorf("from.pod: %w", err)
		}
	case q.From.IP != "" && q.From.Pod == "":
		src = &matcher.TrafficPeer{IP: q.From.IP}
	default:
		return nil, fmt.Errorf("from: set exactly one of pod and ip")
	}
	protocol := q.Protocol
	if protocol == "" {
		protocol = v1.ProtocolTCP
	}
	if q.Port < 1 || q.Port > 65535 {
		return nil, fmt.Errorf("port %d: must be 1-65535", q.Port)
	}
	return &matcher.Traffic{
		Source: src, Destination: dst,
		ResolvedPort: q.Port, ResolvedPortName: portName(findPod(in, q.To), q.Port, protocol),
		Protocol: protocol,
	}, nil
}

func findPod(in *input, ref string) *pod {
	for i := range in.Pods {
		if in.Pods[i].Namespace+"/"+in.Pods[i].Name == ref {
			return &in.Pods[i]
		}
	}
	return nil
}

func peerOf(in *input, ref string) (*matcher.TrafficPeer, error) {
	p := findPod(in, ref)
	if p == nil {
		return nil, fmt.Errorf("no pod %q among pods (give namespace/name)", ref)
	}
	nsLabels := map[string]string{}
	found := false
	for _, ns := range in.Namespaces {
		if ns.Name == p.Namespace {
			found = true
			for k, v := range ns.Labels {
				nsLabels[k] = v
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("pod %q: namespace %q is not among namespaces", ref, p.Namespace)
	}
	nsLabels[namespaceNameLabel] = p.Namespace
	labels := p.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return &matcher.TrafficPeer{
		IP:       p.IP,
		Internal: &matcher.InternalPeer{PodLabels: labels, NamespaceLabels: nsLabels, Namespace: p.Namespace},
	}, nil
}

func portName(p *pod, port int, protocol v1.Protocol) string {
	for _, c := range p.Ports {
		proto := c.Protocol
		if proto == "" {
			proto = v1.ProtocolTCP
		}
		if int(c.ContainerPort) == port && proto == protocol {
			return c.Name
		}
	}
	return ""
}
