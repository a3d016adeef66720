package localarm_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestThrottleRetried checks that azcore's retry policy rides out a 429:
// the call succeeds after the server answered 429 once.
func TestThrottleRetried(t *testing.T) {
	e := newEnv(t, options(nil))
	disk := e.createDisk(t, rgEast, "data-1", "eastus", 1)
	e.srv.Throttle(1)
	got, err := e.disks.Get(t.Context(), rgEast, "data-1", nil)
	if err != nil {
		t.Fatalf("get after a 429: %v", err)
	}
	if *got.ID != *disk.ID {
		t.Errorf("got %s, want %s", *got.ID, *disk.ID)
	}
	if n := e.srv.Throttled(); n != 1 {
		t.Errorf("Throttled = %d, want 1", n)
	}
}

// TestWrongTokenRejected sends the SDK's azfake token to a server that
// wants another one.
func TestWrongTokenRejected(t *testing.T) {
	opt := options(nil)
	opt.RequireToken = "the-right-token"
	e := newEnv(t, opt)
	_, err := e.snaps.Get(t.Context(), rgEast, "snap-1", nil)
	if status, code := errorCode(t, err); status != http.StatusUnauthorized || code != "InvalidAuthenticationToken" {
		t.Errorf("got %d %s, want 401 InvalidAuthenticationToken", status, code)
	}

	opt.RequireToken = "fake_token" // what azfake.TokenCredential gives
	e = newEnv(t, opt)
	_, err = e.snaps.Get(t.Context(), rgEast, "snap-1", nil)
	if status, code := errorCode(t, err); status != http.StatusNotFound || code != "ResourceNotFound" {
		t.Errorf("with the right token: %v, want 404 ResourceNotFound (authenticated)", err)
	}
}

// rawARM sends a request without the SDK and decodes the JSON answer.
func rawARM(t *testing.T, method, u, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, u, b, err)
		}
	}
	return resp, m
}

// TestAPIVersionRejected checks the api-version rule on the wire.
func TestAPIVersionRejected(t *testing.T) {
	e := newEnv(t, options(nil))
	path := e.url + groupID(rgEast) + "/providers/Microsoft.Compute/snapshots/snap-1"
	for _, tc := range []struct{ query, wantCode string }{
		{"?api-version=2099-01-01", "NoRegisteredProviderFound"},
		{"?api-version=2023-04-02", "NoRegisteredProviderFound"},
		{"", "MissingApiVersionParameter"},
	} {
		resp, body := rawARM(t, http.MethodGet, path+tc.query, "")
		got := []any{resp.StatusCode, resp.Header.Get("x-ms-error-code"), body["error"].(map[string]any)["code"]}
		if diff := cmp.Diff(got, []any{http.StatusBadRequest, tc.wantCode, tc.wantCode}); diff != "" {
			t.Errorf("GET %s (-got +want):\n%s", tc.query, diff)
		}
	}
}

// TestLROWireProtocol checks the LRO protocol without the SDK: a PUT
// answers 202 (never 201) with absolute polling URLs, the status URL says
// InProgress then Succeeded, and beginGetAccess's Location URL answers 202
// and then {"accessSAS": ...}.
func TestLROWireProtocol(t *testing.T) {
	e := newEnv(t, options(nil))
	base := e.url + groupID(rgEast) + "/providers/Microsoft.Compute/"
	q := "?api-version=2024-03-02"
	resp, body := rawARM(t, http.MethodPut, base+"disks/data-1"+q,
		`{"location":"eastus","properties":{"diskSizeGB":1,"creationData":{"createOption":"Empty"}}}`)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PUT answered %d, want 202", resp.StatusCode)
	}
	if got := body["properties"].(map[string]any)["provisioningState"]; got != "Updating" {
		t.Errorf("PUT body provisioningState %v, want Updating", got)
	}
	async, loc := resp.Header.Get("Azure-AsyncOperation"), resp.Header.Get("Location")
	for _, u := range []string{async, loc} {
		if pu, err := url.Parse(u); err != nil || !pu.IsAbs() {
			t.Fatalf("polling URL %q is not absolute", u)
		}
	}
	var states []any
	for range 2 {
		_, st := rawARM(t, http.MethodGet, async, "")
		states = append(states, st["status"])
	}
	if diff := cmp.Diff(states, []any{"InProgress", "Succeeded"}); diff != "" {
		t.Errorf("status (-got +want):\n%s", diff)
	}
	_, disk := rawARM(t, http.MethodGet, base+"disks/data-1"+q, "")
	if got := disk["properties"].(map[string]any)["provisioningState"]; got != "Succeeded" {
		t.Errorf("after the LRO provisioningState %v, want Succeeded", got)
	}

	resp, _ = rawARM(t, http.MethodPut, base+"snapshots/snap-1"+q,
		`{"location":"eastus","properties":{"creationData":{"createOption":"Copy","sourceResourceId":"`+disk["id"].(string)+`"}}}`)
	for range 2 {
		rawARM(t, http.MethodGet, resp.Header.Get("Azure-AsyncOperation"), "")
	}
	resp, _ = rawARM(t, http.MethodPost, base+"snapshots/snap-1/beginGetAccess"+q, `{"access":"Read","durationInSeconds":60}`)
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") == "" {
		t.Fatalf("beginGetAccess answered %d with Location %q, want 202 with one", resp.StatusCode, resp.Header.Get("Location"))
	}
	loc = resp.Header.Get("Location")
	first, _ := rawARM(t, http.MethodGet, loc, "")
	second, result := rawARM(t, http.MethodGet, loc, "")
	if first.StatusCode != http.StatusAccepted || second.StatusCode != http.StatusOK {
		t.Errorf("Location answered %d then %d, want 202 then 200", first.StatusCode, second.StatusCode)
	}
	if sas, _ := result["accessSAS"].(string); sas == "" {
		t.Errorf("Location's result %v has no accessSAS", result)
	}
}
