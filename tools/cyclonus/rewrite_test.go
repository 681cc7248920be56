package main

import (
	"math/rand"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

var (
	keys   = []string{"a", "b"}
	values = []string{"x", "y", ""}
	ops    = []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn,
		metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}
)

// Every label set over keys × (absent | one of values).
func labelSets() []map[string]string {
	sets := []map[string]string{{}}
	for _, k := range keys {
		var next []map[string]string
		for _, s := range sets {
			next = append(next, s)
			for _, v := range values {
				n := map[string]string{k: v}
				for kk, vv := range s {
					n[kk] = vv
				}
				next = append(next, n)
			}
		}
		sets = next
	}
	return sets
}

func randomSelector(r *rand.Rand) *metav1.LabelSelector {
	sel := &metav1.LabelSelector{}
	if r.Intn(2) == 0 {
		sel.MatchLabels = map[string]string{keys[r.Intn(len(keys))]: values[r.Intn(len(values))]}
	}
	for i := r.Intn(3); i > 0; i-- {
		req := metav1.LabelSelectorRequirement{Key: keys[r.Intn(len(keys))], Operator: ops[r.Intn(len(ops))]}
		if req.Operator == metav1.LabelSelectorOpIn || req.Operator == metav1.LabelSelectorOpNotIn {
			req.Values = []string{values[r.Intn(len(values))]}
			if r.Intn(2) == 0 {
				req.Values = append(req.Values, values[r.Intn(len(values))])
			}
		}
		sel.MatchExpressions = append(sel.MatchExpressions, req)
	}
	return sel
}

// The union of the alternatives, matched as cyclonus matches, is what apimachinery matches.
func TestAlternativesMatchAsKubernetes(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	sets := labelSets()
	differsRaw := 0
	for i := 0; i < 3000; i++ {
		sel := randomSelector(r)
		want, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			t.Fatalf("selector %v: %v", sel, err)
		}
		alts := alternatives(sel)
		for _, set := range sets {
			got := false
			for _, alt := range alts {
				got = got || kube.IsLabelsMatchLabelSelector(set, *alt)
			}
			if expected := want.Matches(labels.Set(set)); got != expected {
				t.Fatalf("selector %+v on labels %v: rewritten cyclonus %t, apimachinery %t", sel, set, got, expected)
			}
			if kube.IsLabelsMatchLabelSelector(set, *sel) != want.Matches(labels.Set(set)) {
				differsRaw++
			}
		}
	}
	if differsRaw == 0 {
		t.Fatal("unrewritten cyclonus never differed from apimachinery: the test draws too little")
	}
}

func TestAlternativesKeepAnAbsentSelectorAbsent(t *testing.T) {
	if alts := alternatives(nil); len(alts) != 1 || alts[0] != nil {
		t.Fatalf("alternatives(nil) = %v, want [nil]", alts)
	}
}
