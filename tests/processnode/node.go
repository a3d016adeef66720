package processnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// Node is a running process node. Create it with New and start it with
// (*Node).Run; the package-level Run does both from a kubeconfig.
type Node struct {
	cfg     Config
	client  kubernetes.Interface
	objects objectReader
	csi     *csiManager
	ready   chan struct{}

	mu      sync.Mutex
	port    int32
	workers map[types.UID]*podWorker
	wg      sync.WaitGroup
}

// Run registers the node and runs its pods until ctx ends; on exit it stops
// every container it started and unpublishes their volumes.
func Run(ctx context.Context, cfg Config) error {
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", cfg.Kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	n, err := New(cfg, client)
	if err != nil {
		return err
	}
	return n.Run(ctx)
}

// New returns a node that talks to the apiserver through client;
// cfg.Kubeconfig is not used.
func New(cfg Config, client kubernetes.Interface) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("process node config: %w", err)
	}
	return &Node{
		cfg: cfg, client: client, objects: clientObjects{client: client},
		csi: &csiManager{
			driver: cfg.CSIDriverName, endpoint: cfg.CSIEndpoint, client: client,
			root: filepath.Join(cfg.StateDir, "csi"), staged: map[string]*stagedVolume{},
		},
		ready: make(chan struct{}), workers: map[types.UID]*podWorker{},
	}, nil
}

// Ready is closed once the Node is registered Ready, the kubelet API
// serves and the pod informer has synced.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Port is the kubelet API port (known once Run listens).
func (n *Node) Port() int32 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.port
}

func (n *Node) podDir(uid types.UID) string {
	return filepath.Join(n.cfg.StateDir, "pods", string(uid))
}

// Run runs the node until ctx ends. It returns an error only if the node
// could not start.
func (n *Node) Run(ctx context.Context) error {
	log := klog.FromContext(ctx).WithValues("node", n.cfg.NodeName)
	ctx = klog.NewContext(ctx, log)
	for _, d := range []string{"pods", "csi"} {
		if err := os.MkdirAll(filepath.Join(n.cfg.StateDir, d), 0o755); err != nil {
			return fmt.Errorf("create state dir: %w", err)
		}
	}
	tlsConfig, err := n.tlsConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", n.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen for the kubelet API: %w", err)
	}
	port, err := listenPort(ln.Addr().String())
	if err != nil {
		_ = ln.Close()
		return err
	}
	n.mu.Lock()
	n.port = port
	n.mu.Unlock()
	srv := &http.Server{Handler: n.apiHandler(), TLSConfig: tlsConfig, ReadHeaderTimeout: 30 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tls.NewListener(ln, tlsConfig)) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	if err := n.register(ctx); err != nil {
		return err
	}
	go n.heartbeat(ctx)
	go n.registerCSINode(ctx)

	factory := informers.NewSharedInformerFactoryWithOptions(n.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", n.cfg.NodeName).String()
		}))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { n.dispatch(ctx, obj) },
		UpdateFunc: func(_, obj any) { n.dispatch(ctx, obj) },
		DeleteFunc: n.podGone,
	}); err != nil {
		return fmt.Errorf("watch pods: %w", err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		factory.Shutdown()
		n.wg.Wait()
		return ctx.Err()
	}
	log.Info("process node ready", "port", port)
	close(n.ready)

	select {
	case <-ctx.Done():
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error(err, "kubelet API stopped")
		}
	}
	factory.Shutdown()
	n.wg.Wait() // each worker stops its containers and volumes on ctx end
	n.csi.close()
	n.setNotReady(context.WithoutCancel(ctx))
	return nil
}

// dispatch hands a pod to its worker, starting one for a new UID.
func (n *Node) dispatch(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName != n.cfg.NodeName || ctx.Err() != nil {
		return
	}
	n.mu.Lock()
	w, ok := n.workers[pod.UID]
	if !ok {
		w = newPodWorker(ctx, n, pod)
		n.workers[pod.UID] = w
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			w.run()
		}()
	}
	n.mu.Unlock()
	if ok {
		w.update(pod)
	}
}

// podGone handles the deletion of a pod object.
func (n *Node) podGone(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	n.mu.Lock()
	w := n.workers[pod.UID]
	delete(n.workers, pod.UID)
	n.mu.Unlock()
	if w != nil {
		w.markGone()
	}
}

// findWorker returns the worker of namespace/name, preferring a pod that is
// not being deleted.
func (n *Node) findWorker(namespace, name string) *podWorker {
	n.mu.Lock()
	defer n.mu.Unlock()
	var found *podWorker
	for _, w := range n.workers {
		p := w.currentPod()
		if p.Namespace != namespace || p.Name != name {
			continue
		}
		if found == nil || p.DeletionTimestamp == nil {
			found = w
		}
	}
	return found
}

// listPods returns the pods this node runs, for GET /pods.
func (n *Node) listPods() *corev1.PodList {
	n.mu.Lock()
	defer n.mu.Unlock()
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	for _, w := range n.workers {
		list.Items = append(list.Items, *w.currentPod())
	}
	return list
}
