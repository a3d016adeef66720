package processnode

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

const (
	leaseNamespace       = "kube-node-lease"
	leaseDurationSeconds = 40
	leaseRenewInterval   = 10 * time.Second
	statusUpdateInterval = time.Minute
)

// register creates or updates the Node (labels, no taints) and sets its
// status Ready, retrying until it works or ctx ends.
func (n *Node) register(ctx context.Context) error {
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		if err := n.ensureNode(ctx); err != nil {
			klog.FromContext(ctx).Error(err, "register node")
			return false, nil
		}
		if err := n.updateStatus(ctx, true); err != nil {
			klog.FromContext(ctx).Error(err, "set node status")
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("register node %s: %w", n.cfg.NodeName, err)
	}
	return nil
}

func (n *Node) ensureNode(ctx context.Context) error {
	nodes := n.client.CoreV1().Nodes()
	labels := map[string]string{
		"kubernetes.io/hostname":    n.cfg.NodeName,
		"kubernetes.io/os":          runtime.GOOS,
		"kubernetes.io/arch":        runtime.GOARCH,
		"snapflow.dev/process-node": "true",
	}
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		node, err := nodes.Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.cfg.NodeName, Labels: labels}}, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("create node: %w", err)
			}
			node, err = nodes.Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		}
		if err != nil {
			return fmt.Errorf("get node: %w", err)
		}
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		for k, v := range labels {
			node.Labels[k] = v
		}
		// The apiserver taints new nodes not-ready; without a node
		// lifecycle controller nobody would lift it, so the node does.
		var taints []corev1.Taint
		for _, t := range node.Spec.Taints {
			if t.Key != corev1.TaintNodeNotReady && t.Key != corev1.TaintNodeUnreachable {
				taints = append(taints, t)
			}
		}
		node.Spec.Taints = taints
		node.Spec.Unschedulable = false
		_, err = nodes.Update(ctx, node, metav1.UpdateOptions{})
		if apierrors.IsForbidden(err) {
			// NodeRestriction lets node credentials change neither taints
			// nor some labels: leave that to kube-controller-manager.
			klog.FromContext(ctx).Info("node may not update its own spec", "reason", err.Error())
			return nil
		}
		return err
	})
}

// updateStatus writes the node's status: Ready (or not), addresses,
// daemon endpoint, capacity and info.
func (n *Node) updateStatus(ctx context.Context, ready bool) error {
	nodes := n.client.CoreV1().Nodes()
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		node, err := nodes.Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get node: %w", err)
		}
		now := metav1.Now()
		hostname, _ := os.Hostname()
		st := &node.Status
		st.Capacity, st.Allocatable = nodeCapacity(), nodeCapacity()
		st.Phase = corev1.NodeRunning
		st.Addresses = []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: nodeIP},
			{Type: corev1.NodeHostName, Address: n.cfg.NodeName},
		}
		st.DaemonEndpoints.KubeletEndpoint.Port = n.Port()
		st.NodeInfo = corev1.NodeSystemInfo{
			MachineID: hostname, OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH,
			KernelVersion: kernelVersion(), OSImage: "snapflow process node",
			ContainerRuntimeVersion: "processnode://1", KubeletVersion: "v1.37.2",
		}
		readyStatus, reason, msg := corev1.ConditionTrue, "KubeletReady", "process node is posting ready status"
		if !ready {
			readyStatus, reason, msg = corev1.ConditionFalse, "KubeletStopped", "process node stopped"
		}
		setNodeCondition(st, corev1.NodeReady, readyStatus, reason, msg, now)
		setNodeCondition(st, corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "", now)
		setNodeCondition(st, corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "", now)
		setNodeCondition(st, corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "", now)
		_, err = nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
}

func setNodeCondition(st *corev1.NodeStatus, t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string, now metav1.Time) {
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type == t {
			if c.Status != s {
				c.LastTransitionTime = now
			}
			c.Status, c.Reason, c.Message, c.LastHeartbeatTime = s, reason, msg, now
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.NodeCondition{
		Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now,
	})
}

func kernelVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return string(b[:max(len(b)-1, 0)])
}

// heartbeat renews the node Lease every 10s and the node status every
// minute until ctx ends.
func (n *Node) heartbeat(ctx context.Context) {
	log := klog.FromContext(ctx)
	lastStatus := time.Now()
	for {
		if err := n.renewLease(ctx); err != nil && ctx.Err() == nil {
			log.Error(err, "renew node lease")
		}
		if time.Since(lastStatus) >= statusUpdateInterval {
			if err := n.updateStatus(ctx, true); err != nil && ctx.Err() == nil {
				log.Error(err, "update node status")
			} else {
				lastStatus = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(leaseRenewInterval):
		}
	}
}

func (n *Node) renewLease(ctx context.Context) error {
	leases := n.client.CoordinationV1().Leases(leaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	holder, duration := n.cfg.NodeName, int32(leaseDurationSeconds)
	lease, err := leases.Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, gerr := n.client.CoreV1().Nodes().Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("get node: %w", gerr)
		}
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: n.cfg.NodeName, Namespace: leaseNamespace,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &duration, RenewTime: &now},
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create lease: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get lease: %w", err)
	}
	lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = &holder, &duration, &now
	if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update lease: %w", err)
	}
	return nil
}

// setNotReady marks the node NotReady when it stops (best effort).
func (n *Node) setNotReady(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.updateStatus(ctx, false); err != nil {
		klog.FromContext(ctx).Error(err, "mark node not ready")
	}
}
