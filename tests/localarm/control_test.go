package localarm_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/snapflow/snapflow/tests/localarm"
)

func TestControlEndpointLocalARM(t *testing.T) {
	srv := localarm.New(localarm.Options{RequireToken: "tok", Blobs: localarm.NewMemBlobs()})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	do := func(method, query, token string) *http.Response {
		req, _ := http.NewRequest(method, hs.URL+localarm.ControlPath+"?"+query, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := do(http.MethodPost, "throttle=2", ""); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token: %s, want 401", r.Status)
	}
	if r := do(http.MethodPost, "throttle=2", "tok"); r.StatusCode != http.StatusNoContent {
		t.Errorf("throttle: %s, want 204", r.Status)
	}
	if r := do(http.MethodGet, "copy=/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/snapshots/none", "tok"); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown copy: %s, want 404", r.Status)
	}
	arm := func() int {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+"/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/snapshots/x?api-version="+localarm.APIVersion, nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if got := []int{arm(), arm(), arm()}; got[0] != 429 || got[1] != 429 || got[2] == 429 {
		t.Errorf("ARM requests after throttle=2 answered %v, want 429, 429, then not 429", got)
	}
	r := do(http.MethodGet, "stats", "tok")
	var stats struct{ Throttled, ActiveSAS int }
	if err := json.NewDecoder(r.Body).Decode(&stats); err != nil || stats.Throttled != 2 || stats.ActiveSAS != 0 {
		t.Errorf("stats = %+v (%v), want 2 throttled, no SAS", stats, err)
	}
}
