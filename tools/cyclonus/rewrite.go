package main

import (
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// alternatives returns selectors whose union (as cyclonus v0.5.6 matches labels) is what `sel`
// selects as Kubernetes matches labels. nil in, nil out (an absent selector stays absent).
func alternatives(sel *metav1.LabelSelector) []*metav1.LabelSelector {
	if sel == nil {
		return []*metav1.LabelSelector{nil}
	}
	base := metav1.LabelSelector{MatchLabels: sel.MatchLabels}
	for k, v := range sel.MatchLabels {
		if v == "" { // cyclonus: labels[k] != "" is false for a missing key
			base.MatchExpressions = append(base.MatchExpressions,
				metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpExists})
		}
	}
	out := []*metav1.LabelSelector{&base}
	for _, req := range sel.MatchExpressions {
		choices := []metav1.LabelSelectorRequirement{req}
		if req.Operator == metav1.LabelSelectorOpNotIn { // Kubernetes: key absent, or value not in values
			choices = append(choices, metav1.LabelSelectorRequirement{Key: req.Key, Operator: metav1.LabelSelectorOpDoesNotExist})
		}
		var next []*metav1.LabelSelector
		for _, s := range out {
			for _, c := range choices {
				n := s.DeepCopy()
				n.MatchExpressions = append(n.MatchExpressions, c)
				next = append(next, n)
			}
		}
		out = next
	}
	return out
}

func rewritePolicies(policies []*networkingv1.NetworkPolicy) []*networkingv1.NetworkPolicy {
	var out []*networkingv1.NetworkPolicy
	for _, p := range policies {
		for _, sel := range alternatives(&p.Spec.PodSelector) {
			n := p.DeepCopy()
			n.Spec.PodSelector = *sel
			for i := range n.Spec.Ingress {
				n.Spec.Ingress[i].From = rewritePeers(n.Spec.Ingress[i].From)
			}
			for i := range n.Spec.Egress {
				n.Spec.Egress[i].To = rewritePeers(n.Spec.Egress[i].To)
			}
			out = append(out, n)
		}
	}
	return out
}

// rewritePeers keeps an empty list empty (every peer) and splits each peer into the product of its
// selectors' alternatives; peers of one rule are ORed, so the rule admits the same sources.
func rewritePeers(peers []networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer {
	if len(peers) == 0 {
		return peers
	}
	var out []networkingv1.NetworkPolicyPeer
	for _, peer := range peers {
		if peer.IPBlock != nil {
			out = append(out, peer)
			continue
		}
		for _, ns := range alternatives(peer.NamespaceSelector) {
			for _, pod := range alternatives(peer.PodSelector) {
				out = append(out, networkingv1.NetworkPolicyPeer{NamespaceSelector: ns, PodSelector: pod})
			}
		}
	}
	return out
}
