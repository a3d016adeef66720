package localarm

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// ClientSecret is a service principal the token endpoint knows: an
// application (client) ID in a tenant, with its client secret.
type ClientSecret struct {
	TenantID string
	ClientID string
	Secret   string
}

// serveToken is a minimal Microsoft Entra ID (AAD) v2.0 endpoint, enough
// for azidentity.NewClientSecretCredential with its cloud's
// ActiveDirectoryAuthorityHost set to this server (over HTTPS, which MSAL
// requires) and DisableInstanceDiscovery set (instance discovery goes to
// login.microsoftonline.com): the tenant's OpenID configuration and the
// client-credentials grant. Error bodies and AADSTS codes are Entra ID's.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, rt route) {
	tenant := rt.sub
	known := false
	for _, c := range s.opt.Clients {
		known = known || strings.EqualFold(c.TenantID, tenant)
	}
	if !known {
		s.writeAADError(w, http.StatusBadRequest, "invalid_tenant", 90002,
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host + "/" + tenant
	if rt.op == opTokenConf {
		writeJSON(w, http.StatusOK, map[string]any{
			"token_endpoint":                        base + "/oauth2/v2.0/token",
			"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
			"issuer":                                base + "/v2.0",
			"jwks_uri":                              base + "/discovery/v2.0/keys",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
			"response_types_supported":              []string{"code", "id_token", "token"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"tenant_region_scope":                   nil,
			"cloud_instance_name":                   r.Host,
		})
		return
	}
	if err := r.ParseForm(); err != nil {
		s.writeAADError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain a form: %v", err)
		return
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if id, pw, ok := r.BasicAuth(); ok { // client_secret_basic
		clientID, secret = id, pw
	}
	var client *ClientSecret
	for i, c := range s.opt.Clients {
		if strings.EqualFold(c.TenantID, tenant) && strings.EqualFold(c.ClientID, clientID) {
			client = &s.opt.Clients[i]
		}
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		s.writeAADError(w, http.StatusBadRequest, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '%s'; only client_credentials is served here.", r.PostForm.Get("grant_type"))
	case client == nil:
		s.writeAADError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '%s' was not found in the directory '%s'.", clientID, tenant)
	case secret != client.Secret:
		s.writeAADError(w, http.StatusUnauthorized, "invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)
	case !defaultScope(r.PostForm.Get("scope")):
		s.writeAADError(w, http.StatusBadRequest, "invalid_scope", 1002012,
			"The provided value for scope '%s' is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.", r.PostForm.Get("scope"))
	default:
		var b [32]byte
		_, _ = rand.Read(b[:])
		tok := base64.RawURLEncoding.EncodeToString(b[:])
		s.mu.Lock()
		s.issued[tok] = true
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok,
		})
	}
}

// writeAADError writes Entra ID's OAuth 2.0 error body.
func (s *Server) writeAADError(w http.ResponseWriter, status int, code string, aadsts int, format string, args ...any) {
	id := newUUID()
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: ", aadsts) + fmt.Sprintf(format, args...) + " Trace ID: " + id,
		"error_codes":       []int{aadsts},
		"timestamp":         s.clock.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          id,
		"correlation_id":    newUUID(),
		"error_uri":         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", aadsts),
	})
}

// authorize checks an ARM request's bearer token when Options ask for one.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) *apiError {
	if s.opt.RequireToken == "" && len(s.opt.Clients) == 0 {
		return nil
	}
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	s.mu.Lock()
	ok := tok != "" && (tok == s.opt.RequireToken || s.issued[tok])
	s.mu.Unlock()
	var err *apiError
	switch {
	case h == "":
		err = errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
	case !strings.EqualFold(scheme, "Bearer") || tok == "":
		err = errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.")
	case !ok:
		err = errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
	default:
		return nil
	}
	// Not a CAE challenge (no claims), so azcore returns the 401 as is.
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="%s"`, err.message))
	return err
}

// defaultScope reports whether scope names one resource's /.default, as
// client credential flows must; MSAL adds the OpenID scopes, which Entra ID
// ignores here.
func defaultScope(scope string) bool {
	n := 0
	for _, sc := range strings.Fields(scope) {
		switch {
		case sc == "openid" || sc == "offline_access" || sc == "profile":
		case strings.HasSuffix(sc, "/.default"):
			n++
		default:
			return false
		}
	}
	return n == 1
}
