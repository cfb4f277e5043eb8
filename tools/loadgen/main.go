// gitward-loadgen measures the API server's server-side-apply rate with client-go,
// the client Kubernetes' own controllers use, so that the figure gitward's benchmarks
// are compared with is the server's limit and not a slow client's.
//
// It reads a JSON array of objects (every one namespaced, without a namespace), and
// for each concurrency level applies all of them into a fresh namespace
// "<prefix>-<level>" with that many requests in flight (one HTTP/2 connection, no
// client-side rate limit, bodies serialised before the clock starts). It prints one
// JSON document: the seconds and applies per second of every level.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

type request struct {
	gvr  schema.GroupVersionResource
	name string
	body []byte
}

type level struct {
	Concurrency int     `json:"concurrency"`
	Objects     int     `json:"objects"`
	Seconds     float64 `json:"seconds"`
	AppliesPerS float64 `json:"applies_per_s"`
	Namespace   string  `json:"namespace"`
}

type report struct {
	Client string  `json:"client"`
	Levels []level `json:"levels"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gitward-loadgen: "+format+"\n", args...)
	os.Exit(2)
}

func parseLevels(text string) []int {
	var out []int
	for _, part := range strings.Split(text, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > 1024 {
			fail("--concurrency %q: expected comma-separated integers 1..1024", text)
		}
		out = append(out, n)
	}
	return out
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster to measure")
	objectsPath := flag.String("objects", "", "JSON array of namespaced objects to apply")
	concurrency := flag.String("concurrency", "1,2,4,8,16,32,64", "levels, comma-separated")
	prefix := flag.String("namespace-prefix", "loadgen", "namespaces are <prefix>-<level>")
	warmup := flag.Int("warmup", 16, "concurrency of an untimed first round (0: none)")
	manager := flag.String("field-manager", "gitward-loadgen", "server-side apply field manager")
	flag.Parse()
	if *kubeconfig == "" || *objectsPath == "" {
		fail("--kubeconfig and --objects are required")
	}
	levels := parseLevels(*concurrency)

	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail("kubeconfig: %v", err)
	}
	config.QPS = -1 // no client-side rate limit: the server is what is measured
	config.Burst = 0
	config.UserAgent = "gitward-loadgen"
	dyn, err := dynamic.NewForConfig(config)
	if err != nil {
		fail("client: %v", err)
	}
	core, err := kubernetes.NewForConfig(config)
	if err != nil {
		fail("client: %v", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		fail("discovery: %v", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))

	raw, err := os.ReadFile(*objectsPath)
	if err != nil {
		fail("--objects: %v", err)
	}
	var objects []map[string]any
	if err := json.Unmarshal(raw, &objects); err != nil {
		fail("--objects: not a JSON array of objects: %v", err)
	}
	ctx := context.Background()
	requestsFor := func(ns string) []request {
		out := make([]request, 0, len(objects))
		for i, obj := range objects {
			u := unstructured.Unstructured{Object: obj}
			gvk := u.GroupVersionKind()
			mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				fail("object %d (%s): %v", i, gvk, err)
			}
			copied := u.DeepCopy()
			copied.SetNamespace(ns)
			body, err := json.Marshal(copied.Object)
			if err != nil {
				fail("object %d: %v", i, err)
			}
			out = append(out, request{mapping.Resource, u.GetName(), body})
		}
		return out
	}
	createNamespace := func(ns string) {
		_, err := core.CoreV1().Namespaces().Create(
			ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			fail("namespace %s: %v", ns, err)
		}
	}
	force := true
	applyAll := func(ns string, reqs []request, workers int) time.Duration {
		var next atomic.Int64
		var failures atomic.Int64
		var first atomic.Value
		var wg sync.WaitGroup
		started := time.Now()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(reqs) {
						return
					}
					r := reqs[i]
					_, err := dyn.Resource(r.gvr).Namespace(ns).Patch(
						ctx, r.name, types.ApplyPatchType, r.body,
						metav1.PatchOptions{FieldManager: *manager, Force: &force})
					if err != nil {
						failures.Add(1)
						first.CompareAndSwap(nil, fmt.Sprintf("%s %s: %v", r.gvr.Resource, r.name, err))
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(started)
		if n := failures.Load(); n > 0 {
			fail("%d applies failed, e.g. %v", n, first.Load())
		}
		return elapsed
	}

	if *warmup > 0 {
		ns := *prefix + "-warm-up"
		createNamespace(ns)
		applyAll(ns, requestsFor(ns), *warmup)
	}
	out := report{Client: "client-go"}
	for _, c := range levels {
		ns := fmt.Sprintf("%s-%d", *prefix, c)
		createNamespace(ns)
		reqs := requestsFor(ns)
		elapsed := applyAll(ns, reqs, c)
		out.Levels = append(out.Levels, level{
			Concurrency: c,
			Objects:     len(reqs),
			Seconds:     elapsed.Seconds(),
			AppliesPerS: float64(len(reqs)) / elapsed.Seconds(),
			Namespace:   ns,
		})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail("output: %v", err)
	}
}
