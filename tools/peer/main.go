// spaces-peer: the bench's controller-runtime peer (`npm run bench -- --peer`). The reconcile
// of spaces-operator for the same CRDs, written as a Go team would with controller-runtime:
//
//	Space   → its Namespace (labels; an owner reference unless the namespace existed before)
//	          + the default-deny NetworkPolicy; status: namespace, CIDR, state, Ready.
//	Peering → status: phase active (its Space exists) or pending, routes, Ready.
//	App     → Service (ClusterIP, or LoadBalancer with the Space's trusted ranges) + NetworkPolicy
//	          (the Space's namespace; active peering CIDRs or trusted ranges on the web port);
//	          status: serviceName, clusterIP, Ready.
//
// Every write is a server-side apply (field manager spaces-peer, forced), children carry a
// controller owner reference, and every reconcile applies children and status whether or not
// they changed (the controller-runtime idiom). Objects are unstructured (no generated types),
// read from the informer cache as typed objects would be.
//
// Flags: --workers (MaxConcurrentReconciles, default 1 as controller-runtime's), --qps and
// --burst (0: controller-runtime's default, client-side limit off), --strip-managed-fields
// (cache transform). It serves, on 127.0.0.1 (port printed as "PEER_READY <port>" once the
// caches are synced): /metrics in the operator's metric names (API requests by verb and
// resource, counted at the transport; reconciles; applies; status patches; queue depth),
// POST /resync (enqueue every Space, Peering and App; answers {"keys":N}) and POST /gc.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr/funcr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

const (
	group        = "privatespaces.dev"
	apiVersion   = group + "/v1alpha1"
	fieldManager = "spaces-peer"
	appLabel     = "privatespaces.dev/app"
	spaceLabel   = "privatespaces.dev/space"
	managedBy    = "app.kubernetes.io/managed-by"
	nsNameLabel  = "kubernetes.io/metadata.name"
	defaultDeny  = "space-default-deny"
)

var (
	spaceGVK   = schema.GroupVersionKind{Group: group, Version: "v1alpha1", Kind: "Space"}
	peeringGVK = schema.GroupVersionKind{Group: group, Version: "v1alpha1", Kind: "Peering"}
	appGVK     = schema.GroupVersionKind{Group: group, Version: "v1alpha1", Kind: "App"}
	svcGVK     = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	npGVK      = schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}
	nsGVK      = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
)

func newObj(gvk schema.GroupVersionKind) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u
}

func newList(gvk schema.GroupVersionKind) *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	return l
}

// ---- counters, exported in the operator's metric names ----

type counters struct {
	mu sync.Mutex
	m  map[string]float64
}

func (c *counters) add(series string, v float64) {
	c.mu.Lock()
	c.m[series] += v
	c.mu.Unlock()
}

var stats = &counters{m: map[string]float64{}}

// countingTransport counts every request by verb and resource, as the operator's KubeClient does.
type countingTransport struct{ next http.RoundTripper }

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resource, named := resourceOf(r.URL.Path)
	verb := map[string]string{"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[r.Method]
	if r.Method == http.MethodGet {
		switch {
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	}
	stats.add(fmt.Sprintf(`spaces_api_requests_total{verb=%q,resource=%q}`, verb, resource), 1)
	return t.next.RoundTrip(r)
}

// resourceOf: /api/v1/namespaces/x/services/y → services, named; /apis/g/v/apps → apps, not named.
func resourceOf(path string) (string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(segs) >= 2 && segs[0] == "api":
		segs = segs[2:]
	case len(segs) >= 3 && segs[0] == "apis":
		segs = segs[3:]
	default:
		return path, false
	}
	if len(segs) >= 3 && segs[0] == "namespaces" {
		segs = segs[2:]
	}
	if len(segs) == 0 {
		return "", false
	}
	return segs[0], len(segs) >= 2
}

func serveMetrics(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	stats.mu.Lock()
	keys := make([]string, 0, len(stats.m))
	for k := range stats.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %g\n", k, stats.m[k])
	}
	stats.mu.Unlock()
	depth := 0.0
	if families, err := ctrlmetrics.Registry.Gather(); err == nil {
		for _, f := range families {
			if f.GetName() != "workqueue_depth" {
				continue
			}
			for _, m := range f.GetMetric() {
				depth += m.GetGauge().GetValue()
			}
		}
	}
	fmt.Fprintf(&b, "spaces_workqueue_depth %g\n", depth)
	_, _ = w.Write([]byte(b.String()))
}

// ---- reconcilers ----

type peer struct {
	c client.Client
}

// timed counts a reconcile and its duration under the operator's metric names.
func timed(name string, f reconcile.Func) reconcile.Func {
	return func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		t0 := time.Now()
		res, err := f(ctx, req)
		result := "success"
		if err != nil {
			result = "error"
		}
		stats.add(fmt.Sprintf(`spaces_reconcile_total{controller=%q,result=%q}`, name, result), 1)
		stats.add(fmt.Sprintf(`spaces_reconcile_duration_seconds_sum{controller=%q}`, name), time.Since(t0).Seconds())
		return res, err
	}
}

func (p *peer) apply(ctx context.Context, u *unstructured.Unstructured) error {
	stats.add(`spaces_apply_total{result="written"}`, 1)
	return p.c.Patch(ctx, u, client.Apply, client.FieldOwner(fieldManager), client.ForceOwnership)
}

func (p *peer) applyStatus(ctx context.Context, owner *unstructured.Unstructured, status map[string]any) error {
	stats.add(`spaces_status_patch_total{result="written"}`, 1)
	u := newObj(owner.GroupVersionKind())
	u.SetName(owner.GetName())
	u.SetNamespace(owner.GetNamespace())
	u.Object["status"] = status
	return p.c.Status().Patch(ctx, u, client.Apply, client.FieldOwner(fieldManager), client.ForceOwnership)
}

func ownerRef(o *unstructured.Unstructured) []any {
	return []any{map[string]any{
		"apiVersion": apiVersion, "kind": o.GetKind(), "name": o.GetName(), "uid": string(o.GetUID()),
		"controller": true, "blockOwnerDeletion": true,
	}}
}

func labels(space string, app string) map[string]any {
	l := map[string]any{managedBy: "spaces-operator", spaceLabel: space}
	if app != "" {
		l[appLabel] = app
	}
	return l
}

// readyCondition keeps lastTransitionTime while the status stays the same.
func readyCondition(o *unstructured.Unstructured, status, reason, message string) []any {
	since := time.Now().UTC().Format(time.RFC3339)
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" && m["status"] == status {
			if t, ok := m["lastTransitionTime"].(string); ok {
				since = t
			}
		}
	}
	return []any{map[string]any{
		"type": "Ready", "status": status, "reason": reason, "message": message,
		"lastTransitionTime": since, "observedGeneration": o.GetGeneration(),
	}}
}

func (p *peer) get(ctx context.Context, gvk schema.GroupVersionKind, key types.NamespacedName) (*unstructured.Unstructured, error) {
	u := newObj(gvk)
	if err := p.c.Get(ctx, key, u); err != nil {
		return nil, err
	}
	return u, nil
}

func (p *peer) reconcileSpace(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	s, err := p.get(ctx, spaceGVK, req.NamespacedName)
	if err != nil || s.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	name := s.GetName()
	cidr, _, _ := unstructured.NestedString(s.Object, "spec", "cidr")
	ns := newObj(nsGVK)
	ns.SetName(name)
	nsLabels := labels(name, "")
	for _, k := range []string{"enforce", "warn", "audit"} {
		nsLabels["pod-security.kubernetes.io/"+k] = "baseline"
	}
	nsLabels["pod-security.kubernetes.io/enforce-version"] = "latest"
	ns.Object["metadata"].(map[string]any)["labels"] = nsLabels
	// A namespace that existed before the Space (made by someone else) is adopted, not owned.
	existing, err := p.get(ctx, nsGVK, types.NamespacedName{Name: name})
	adopted := err == nil && !ownedBy(existing, s)
	if err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	if !adopted {
		ns.Object["metadata"].(map[string]any)["ownerReferences"] = ownerRef(s)
	}
	if err := p.apply(ctx, ns); err != nil {
		return reconcile.Result{}, fmt.Errorf("namespace %s: %w", name, err)
	}
	np := newObj(npGVK)
	np.Object["metadata"] = map[string]any{
		"name": defaultDeny, "namespace": name, "labels": labels(name, ""), "ownerReferences": ownerRef(s),
	}
	np.Object["spec"] = map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"}}
	if err := p.apply(ctx, np); err != nil {
		return reconcile.Result{}, fmt.Errorf("default-deny policy of %s: %w", name, err)
	}
	return reconcile.Result{}, p.applyStatus(ctx, s, map[string]any{
		"namespace": name, "namespaceAdopted": adopted, "state": "allocated", "internalRoutingCIDR": cidr,
		"observedGeneration": s.GetGeneration(), "conditions": readyCondition(s, "True", "Reconciled", "namespace and default-deny policy applied"),
	})
}

func ownedBy(o, owner *unstructured.Unstructured) bool {
	for _, r := range o.GetOwnerReferences() {
		if r.UID == owner.GetUID() {
			return true
		}
	}
	return false
}

func (p *peer) reconcilePeering(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pe, err := p.get(ctx, peeringGVK, req.NamespacedName)
	if err != nil || pe.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	s, err := p.get(ctx, spaceGVK, types.NamespacedName{Name: pe.GetNamespace()})
	if apierrors.IsNotFound(err) {
		return reconcile.Result{}, p.applyStatus(ctx, pe, map[string]any{
			"phase": "pending", "message": "no Space " + pe.GetNamespace(), "observedGeneration": pe.GetGeneration(),
			"conditions": readyCondition(pe, "False", "SpaceNotFound", "no Space "+pe.GetNamespace()),
		})
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	cidr, _, _ := unstructured.NestedString(s.Object, "spec", "cidr")
	return reconcile.Result{}, p.applyStatus(ctx, pe, map[string]any{
		"phase": "active", "routes": []any{cidr}, "message": "admitted", "observedGeneration": pe.GetGeneration(),
		"conditions": readyCondition(pe, "True", "Active", "admitted to the internal apps"),
	})
}

func (p *peer) activePeeringCidrs(ctx context.Context, ns string) ([]string, error) {
	l := newList(peeringGVK)
	if err := p.c.List(ctx, l, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, pe := range l.Items {
		if phase, _, _ := unstructured.NestedString(pe.Object, "status", "phase"); phase != "active" {
			continue
		}
		cidrs, _, _ := unstructured.NestedStringSlice(pe.Object, "spec", "cidrs")
		for _, c := range cidrs {
			set[c] = true
		}
	}
	return sortedKeys(set), nil
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (p *peer) reconcileApp(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	a, err := p.get(ctx, appGVK, req.NamespacedName)
	if err != nil || a.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	ns, name := a.GetNamespace(), a.GetName()
	s, err := p.get(ctx, spaceGVK, types.NamespacedName{Name: ns})
	if apierrors.IsNotFound(err) {
		return reconcile.Result{}, p.applyStatus(ctx, a, map[string]any{
			"observedGeneration": a.GetGeneration(), "conditions": readyCondition(a, "False", "SpaceNotFound", "no Space "+ns),
		})
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	port, _, _ := unstructured.NestedInt64(a.Object, "spec", "port")
	internal, _, _ := unstructured.NestedBool(a.Object, "spec", "internalRouting")
	selector := map[string]any{appLabel: name}
	if given, ok, _ := unstructured.NestedStringMap(a.Object, "spec", "selector", "matchLabels"); ok && len(given) > 0 {
		selector = map[string]any{}
		for k, v := range given {
			selector[k] = v
		}
	}
	trusted, _, _ := unstructured.NestedStringSlice(s.Object, "spec", "trustedIPRanges")
	sort.Strings(trusted)
	svcSpec := map[string]any{
		"selector": selector,
		"ports":    []any{map[string]any{"name": "web", "protocol": "TCP", "port": port, "targetPort": port}},
		"type":     "ClusterIP",
	}
	admitted := trusted
	if internal {
		if admitted, err = p.activePeeringCidrs(ctx, ns); err != nil {
			return reconcile.Result{}, err
		}
	} else {
		svcSpec["type"] = "LoadBalancer"
		svcSpec["externalTrafficPolicy"] = "Local"
		if len(trusted) > 0 {
			svcSpec["loadBalancerSourceRanges"] = anys(trusted)
		}
	}
	svc := newObj(svcGVK)
	svc.Object["metadata"] = map[string]any{"name": name, "namespace": ns, "labels": labels(ns, name), "ownerReferences": ownerRef(a)}
	svc.Object["spec"] = svcSpec
	if err := p.apply(ctx, svc); err != nil {
		return reconcile.Result{}, fmt.Errorf("service %s/%s: %w", ns, name, err)
	}
	rules := []any{map[string]any{"from": []any{map[string]any{
		"namespaceSelector": map[string]any{"matchLabels": map[string]any{nsNameLabel: ns}},
	}}}}
	if len(admitted) > 0 {
		from := make([]any, len(admitted))
		for i, c := range admitted {
			from[i] = map[string]any{"ipBlock": map[string]any{"cidr": c}}
		}
		rules = append(rules, map[string]any{"from": from, "ports": []any{map[string]any{"protocol": "TCP", "port": port}}})
	}
	np := newObj(npGVK)
	np.Object["metadata"] = map[string]any{"name": "app-" + name, "namespace": ns, "labels": labels(ns, name), "ownerReferences": ownerRef(a)}
	np.Object["spec"] = map[string]any{
		"podSelector": map[string]any{"matchLabels": selector}, "policyTypes": []any{"Ingress"}, "ingress": rules,
	}
	if err := p.apply(ctx, np); err != nil {
		return reconcile.Result{}, fmt.Errorf("network policy %s/app-%s: %w", ns, name, err)
	}
	clusterIP, _, _ := unstructured.NestedString(svc.Object, "spec", "clusterIP")
	return reconcile.Result{}, p.applyStatus(ctx, a, map[string]any{
		"serviceName": name, "clusterIP": clusterIP, "observedGeneration": a.GetGeneration(),
		"conditions": readyCondition(a, "True", "Reconciled", "service and network policy applied"),
	})
}

// inNamespace maps an event on a Space (its name is the namespace) or a Peering to every object
// of `gvk` in that namespace.
func (p *peer) inNamespace(gvk schema.GroupVersionKind, spaceIsNamespace bool) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		ns := o.GetNamespace()
		if spaceIsNamespace {
			ns = o.GetName()
		}
		l := newList(gvk)
		if err := p.c.List(ctx, l, client.InNamespace(ns)); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(l.Items))
		for _, i := range l.Items {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: i.GetNamespace(), Name: i.GetName()}})
		}
		return out
	})
}

// ---- main ----

func main() {
	workers := flag.Int("workers", 1, "reconciles in flight per controller (controller-runtime's default: 1)")
	qps := flag.Float64("qps", 0, "client QPS (0: controller-runtime's default, client-side limit off)")
	burst := flag.Int("burst", 0, "client burst (0: 2 x qps)")
	strip := flag.Bool("strip-managed-fields", false, "drop managedFields from cached objects")
	// --kubeconfig is controller-runtime's own flag (pkg/client/config), read by ctrl.GetConfig.
	flag.Parse()
	ctrl.SetLogger(funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{}))
	cfg, err := ctrl.GetConfig()
	if err != nil {
		fail("kubeconfig", err)
	}
	if *qps > 0 {
		cfg.QPS = float32(*qps)
		cfg.Burst = *burst
		if cfg.Burst == 0 {
			cfg.Burst = int(2 * *qps)
		}
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt} })
	if err := run(cfg, *workers, *strip); err != nil {
		fail("run", err)
	}
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "spaces-peer: %s: %v\n", what, err)
	os.Exit(1)
}

func run(cfg *rest.Config, workers int, strip bool) error {
	// Reads come from the informer cache, as they would with generated types: controller-runtime
	// reads unstructured objects straight from the API server unless told to cache them.
	opts := ctrl.Options{
		Metrics: metricsserver.Options{BindAddress: "0"},
		Client:  client.Options{Cache: &client.CacheOptions{Unstructured: true}},
	}
	if strip {
		opts.Cache = cache.Options{DefaultTransform: cache.TransformStripManagedFields()}
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return err
	}
	p := &peer{c: mgr.GetClient()}
	resync := map[string]chan event.GenericEvent{}
	build := func(name string, gvk schema.GroupVersionKind, f reconcile.Func, extra func(*builder.Builder) *builder.Builder) error {
		ch := make(chan event.GenericEvent, 1024)
		resync[name] = ch
		b := ctrl.NewControllerManagedBy(mgr).Named(name).For(newObj(gvk)).
			WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
			WatchesRawSource(source.Channel(ch, &handler.EnqueueRequestForObject{}))
		return extra(b).Complete(timed(name, f))
	}
	if err := build("space", spaceGVK, p.reconcileSpace, func(b *builder.Builder) *builder.Builder {
		return b.Owns(newObj(nsGVK)).Owns(newObj(npGVK))
	}); err != nil {
		return err
	}
	if err := build("peering", peeringGVK, p.reconcilePeering, func(b *builder.Builder) *builder.Builder {
		return b.Watches(newObj(spaceGVK), p.inNamespace(peeringGVK, true))
	}); err != nil {
		return err
	}
	if err := build("app", appGVK, p.reconcileApp, func(b *builder.Builder) *builder.Builder {
		return b.Owns(newObj(svcGVK)).Owns(newObj(npGVK)).
			Watches(newObj(spaceGVK), p.inNamespace(appGVK, true)).
			Watches(newObj(peeringGVK), p.inNamespace(appGVK, false))
	}); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", serveMetrics)
	mux.HandleFunc("/gc", func(w http.ResponseWriter, _ *http.Request) {
		debug.FreeOSMemory()
		_, _ = w.Write([]byte("{}"))
	})
	mux.HandleFunc("/resync", func(w http.ResponseWriter, r *http.Request) {
		keys, err := p.resyncAll(r.Context(), resync)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]int{"keys": keys})
	})
	go func() { _ = http.Serve(ln, mux) }()
	ctx := ctrl.SetupSignalHandler()
	go func() {
		if mgr.GetCache().WaitForCacheSync(ctx) {
			fmt.Printf("PEER_READY %d\n", ln.Addr().(*net.TCPAddr).Port)
		}
	}()
	return mgr.Start(ctx)
}

// resyncAll enqueues every Space, Peering and App from the cache (a forced full resync).
func (p *peer) resyncAll(ctx context.Context, chans map[string]chan event.GenericEvent) (int, error) {
	keys := 0
	for name, gvk := range map[string]schema.GroupVersionKind{"space": spaceGVK, "peering": peeringGVK, "app": appGVK} {
		l := newList(gvk)
		if err := p.c.List(ctx, l); err != nil {
			return 0, err
		}
		keys += len(l.Items)
		items := l.Items
		ch := chans[name]
		go func() {
			for i := range items {
				ch <- event.GenericEvent{Object: &items[i]}
			}
		}()
	}
	return keys, nil
}
