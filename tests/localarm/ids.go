package localarm

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
)

// kind is a Microsoft.Compute resource type this server models.
type kind string

const (
	kindSnapshot kind = "snapshots"
	kindDisk     kind = "disks"
)

// armType is the resource's "type", e.g. Microsoft.Compute/snapshots.
func (k kind) armType() string { return "Microsoft.Compute/" + string(k) }

// singular names the kind in messages.
func (k kind) singular() string { return strings.TrimSuffix(string(k), "s") }

// route is what a request addresses.
type route struct {
	op     string // one of the op* constants
	kind   kind
	sub    string // as in the path; the tenant for the token routes
	rg     string
	name   string
	region string // opOperation
	opID   string // opOperation
}

const (
	opList       = "list"       // GET .../resourceGroups/{rg}/providers/Microsoft.Compute/{kind}
	opListSub    = "listSub"    // GET /subscriptions/{s}/providers/Microsoft.Compute/{kind}
	opResource   = "resource"   // PUT, GET, DELETE .../{kind}/{name}
	opGrant      = "grant"      // POST .../{kind}/{name}/beginGetAccess
	opRevoke     = "revoke"     // POST .../{kind}/{name}/endGetAccess
	opOperation  = "operation"  // GET /subscriptions/{s}/providers/Microsoft.Compute/locations/{region}/DiskOperations/{id}
	opTokenConf  = "openidConf" // GET /{tenant}/v2.0/.well-known/openid-configuration
	opTokenIssue = "token"      // POST /{tenant}/oauth2/v2.0/token
)

// parseRoute matches a path, case-insensitively as ARM does, and checks
// the method: 404 InvalidResourceType for a path this server does not
// serve, 405 MethodNotAllowed for a method it does not serve there.
func parseRoute(method, path string) (route, *apiError) {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	low := make([]string, len(seg))
	for i, s := range seg {
		low[i] = strings.ToLower(s)
	}
	want := func(methods ...string) *apiError {
		for _, m := range methods {
			if method == m {
				return nil
			}
		}
		return errorf(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The requested method '%s' is not allowed on '%s'.", method, path)
	}
	at := func(i int, s string) bool { return i < len(low) && low[i] == s }
	kindAt := func(i int) (kind, bool) {
		if i < len(low) && (low[i] == string(kindSnapshot) || low[i] == string(kindDisk)) {
			return kind(low[i]), true
		}
		return "", false
	}
	switch {
	case len(seg) == 4 && low[1] == "v2.0" && low[2] == ".well-known" && low[3] == "openid-configuration":
		return route{op: opTokenConf, sub: seg[0]}, want(http.MethodGet)
	case len(seg) == 4 && low[1] == "oauth2" && low[2] == "v2.0" && low[3] == "token":
		return route{op: opTokenIssue, sub: seg[0]}, want(http.MethodPost)
	case !at(0, "subscriptions") || len(seg) < 2:
	case at(2, "providers") && at(3, "microsoft.compute"):
		if k, ok := kindAt(4); ok && len(seg) == 5 {
			return route{op: opListSub, kind: k, sub: seg[1]}, want(http.MethodGet)
		}
		if len(seg) == 8 && at(4, "locations") && at(6, "diskoperations") {
			return route{op: opOperation, sub: seg[1], region: low[5], opID: low[7]}, want(http.MethodGet)
		}
	case at(2, "resourcegroups") && at(4, "providers") && at(5, "microsoft.compute"):
		k, ok := kindAt(6)
		if !ok {
			break
		}
		r := route{kind: k, sub: seg[1], rg: seg[3]}
		switch {
		case len(seg) == 7:
			r.op = opList
			return r, want(http.MethodGet)
		case len(seg) == 8:
			r.op, r.name = opResource, seg[7]
			return r, want(http.MethodGet, http.MethodPut, http.MethodDelete)
		case len(seg) == 9 && low[8] == "begingetaccess":
			r.op, r.name = opGrant, seg[7]
			return r, want(http.MethodPost)
		case len(seg) == 9 && low[8] == "endgetaccess":
			r.op, r.name = opRevoke, seg[7]
			return r, want(http.MethodPost)
		}
	}
	return route{}, errorf(http.StatusNotFound, "InvalidResourceType",
		"The resource type or path '%s' is not served by this local Resource Manager.", path)
}

// resourceGroupID is the canonical ID of a resource group.
func resourceGroupID(sub, rg string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg
}

// parseResourceGroupID splits /subscriptions/{s}/resourceGroups/{rg}.
func parseResourceGroupID(id string) (sub, rg string, err error) {
	seg := strings.Split(strings.Trim(id, "/"), "/")
	if len(seg) != 4 || !strings.EqualFold(seg[0], "subscriptions") || !strings.EqualFold(seg[2], "resourceGroups") ||
		seg[1] == "" || seg[3] == "" {
		return "", "", fmt.Errorf("resource group ID %q is not /subscriptions/{subscription}/resourceGroups/{name}", id)
	}
	return seg[1], seg[3], nil
}

// resourceID is the canonical ID of a disk or snapshot.
func resourceID(sub, rg string, k kind, name string) string {
	return resourceGroupID(sub, rg) + "/providers/" + k.armType() + "/" + name
}

// parseResourceID splits the ID of a disk or snapshot; ok is false for
// anything else.
func parseResourceID(id string) (sub, rg string, k kind, name string, ok bool) {
	seg := strings.Split(strings.Trim(id, "/"), "/")
	if len(seg) != 8 || !strings.EqualFold(seg[0], "subscriptions") || !strings.EqualFold(seg[2], "resourceGroups") ||
		!strings.EqualFold(seg[4], "providers") || !strings.EqualFold(seg[5], "Microsoft.Compute") {
		return "", "", "", "", false
	}
	switch k = kind(strings.ToLower(seg[6])); k {
	case kindSnapshot, kindDisk:
		return seg[1], seg[3], k, seg[7], true
	}
	return "", "", "", "", false
}

// key is the map key of an ID: IDs are case-insensitive.
func key(id string) string { return strings.ToLower(strings.TrimRight(id, "/")) }

// checkName applies Compute's rule for disk and snapshot names: 1 to 80
// letters, digits, underscores, periods and hyphens, starting with a letter
// or digit and ending with a letter, digit or underscore.
func checkName(k kind, name string) *apiError {
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	ok := len(name) >= 1 && len(name) <= 80 && alnum(name[0]) && (alnum(name[len(name)-1]) || name[len(name)-1] == '_')
	for i := 0; ok && i < len(name); i++ {
		ok = alnum(name[i]) || strings.IndexByte("_.-", name[i]) >= 0
	}
	if !ok {
		return errorf(http.StatusBadRequest, "InvalidResourceName",
			"The %s name '%s' is invalid: use 1 to 80 letters, digits, '_', '.' and '-', starting with a letter or digit and ending with a letter, digit or '_'.", k.singular(), name)
	}
	return nil
}

// normRegion is ARM's normal form of a location: "East US" is "eastus".
func normRegion(loc string) string {
	return strings.ToLower(strings.ReplaceAll(loc, " ", ""))
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
