package localarm_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/snapflow/snapflow/tests/localarm"
)

const (
	tenant   = "5c1f0b7e-0000-4000-8000-00000000000a"
	clientID = "7a3c2e11-0000-4000-8000-00000000000b"
)

// TestClientSecretCredential drives the server with azidentity's client
// secret credential: the right secret gets a token ARM accepts, a wrong one
// fails at the token endpoint with AADSTS7000215. MSAL needs HTTPS, so the
// server runs on httptest's TLS server and both clients trust its cert.
func TestClientSecretCredential(t *testing.T) {
	opt := options(nil)
	opt.Blobs = localarm.NewMemBlobs()
	opt.Clients = []localarm.ClientSecret{{TenantID: tenant, ClientID: clientID, Secret: "s3cret"}}
	srv := localarm.New(opt)
	hs := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(hs.Close)

	credential := func(secret string) azcore.TokenCredential {
		cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: hs.URL + "/"},
				Transport: hs.Client(),
			},
			DisableInstanceDiscovery: true, // instance discovery asks login.microsoftonline.com
		})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}

	snaps, _ := clients(t, hs.URL, credential("s3cret"), hs.Client())
	_, err := snaps.Get(t.Context(), rgEast, "snap-1", nil)
	if status, code := errorCode(t, err); status != http.StatusNotFound || code != "ResourceNotFound" {
		t.Errorf("with the right secret: %d %s, want 404 ResourceNotFound (authenticated)", status, code)
	}

	snaps, _ = clients(t, hs.URL, credential("wrong"), hs.Client())
	_, err = snaps.Get(t.Context(), rgEast, "snap-1", nil)
	var authErr *azidentity.AuthenticationFailedError
	if !errors.As(err, &authErr) {
		t.Fatalf("with a wrong secret: %v (%T), want an *azidentity.AuthenticationFailedError", err, err)
	}
	if authErr.RawResponse == nil || authErr.RawResponse.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(err.Error(), "AADSTS7000215") || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("with a wrong secret: %v, want 401 invalid_client AADSTS7000215", err)
	}
}

// TestMissingTokenRejected sends no Authorization header at all.
func TestMissingTokenRejected(t *testing.T) {
	opt := options(nil)
	opt.RequireToken = "the-right-token"
	e := newEnv(t, opt)
	resp, body := rawARM(t, http.MethodGet, e.url+groupID(rgEast)+"/providers/Microsoft.Compute/snapshots/s?api-version=2024-03-02", "")
	code := body["error"].(map[string]any)["code"]
	if resp.StatusCode != http.StatusUnauthorized || code != "AuthenticationFailed" || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("got %d %v (WWW-Authenticate %q), want 401 AuthenticationFailed with a challenge", resp.StatusCode, code, resp.Header.Get("WWW-Authenticate"))
	}
}
