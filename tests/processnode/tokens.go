package processnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// defaultTokenSeconds is the lifetime the ServiceAccount admission plugin
// gives kube-api-access tokens.
const defaultTokenSeconds = 3607

// tokenFile is a bound service-account token written into a volume and
// refreshed when 80% of its lifetime has passed, as the kubelet does.
type tokenFile struct {
	path              string
	audience          string
	expirationSeconds *int64
	mode              os.FileMode
	refreshAt         time.Time
}

// writeToken requests a token for the pod's ServiceAccount, bound to the
// pod, writes it and remembers it for refreshing.
func (w *podWorker) writeToken(t *tokenFile) error {
	if err := w.requestToken(w.ctx, t); err != nil {
		return err
	}
	w.vols.tokens = append(w.vols.tokens, t)
	return nil
}

func (w *podWorker) requestToken(ctx context.Context, t *tokenFile) error {
	pod := w.currentPod()
	exp := int64(defaultTokenSeconds)
	if t.expirationSeconds != nil {
		exp = *t.expirationSeconds
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}
	if pod.Spec.ServiceAccountName != "" {
		// Binding needs the pod to name its ServiceAccount; without the
		// ServiceAccount admission plugin it may not, and the token for
		// "default" is then only time-bound.
		req.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{
			Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID,
		}
	}
	if t.audience != "" {
		req.Spec.Audiences = []string{t.audience}
	}
	sa := serviceAccountName(pod)
	got, err := w.n.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("request token for service account %s: %w", sa, err)
	}
	if err := writeVolumeFile(filepath.Dir(t.path), filepath.Base(t.path), []byte(got.Status.Token), t.mode); err != nil {
		return err
	}
	issued := time.Now()
	life := got.Status.ExpirationTimestamp.Sub(issued)
	if life <= 0 {
		life = time.Duration(exp) * time.Second
	}
	t.refreshAt = issued.Add(life * 8 / 10)
	return nil
}

// refreshTokens renews the tokens that are due.
func (v *podVolumes) refreshTokens(ctx context.Context, w *podWorker) error {
	now := time.Now()
	for _, t := range v.tokens {
		if now.Before(t.refreshAt) {
			continue
		}
		if err := w.requestToken(ctx, t); err != nil {
			return err
		}
	}
	return nil
}
