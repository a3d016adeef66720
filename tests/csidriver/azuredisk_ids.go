package csidriver

// The Azure-disk personality's ARM IDs, names and errors.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// armRef is a disk's or snapshot's ARM ID, split.
type armRef struct{ sub, rg, name string }

// parseARMID splits /subscriptions/{s}/resourceGroups/{rg}/providers/
// Microsoft.Compute/{kind}/{name}; ARM IDs are case-insensitive.
func parseARMID(id, kind string) (armRef, bool) {
	seg := strings.Split(strings.Trim(id, "/"), "/")
	if !strings.HasPrefix(id, "/") || len(seg) != 8 || seg[1] == "" || seg[3] == "" || seg[7] == "" {
		return armRef{}, false
	}
	for i, want := range map[int]string{0: "subscriptions", 2: "resourceGroups", 4: "providers", 5: "Microsoft.Compute", 6: kind} {
		if !strings.EqualFold(seg[i], want) {
			return armRef{}, false
		}
	}
	return armRef{sub: seg[1], rg: seg[3], name: seg[7]}, true
}

// diskDirName names a disk's volume directory: ARM IDs have slashes and
// differ only in case for the same disk.
func diskDirName(id string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(id)))
	return "disk-" + hex.EncodeToString(sum[:8])
}

var armNamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$`)

// armName is the disk or snapshot name for a CSI name: the name itself
// when Compute accepts it, else its allowed characters and a hash of it.
func armName(name string) string {
	if armNamePattern.MatchString(name) {
		return name
	}
	clean := strings.Map(func(r rune) rune {
		if r < 128 && (r == '_' || r == '.' || r == '-' || armNamePattern.MatchString(string(r))) {
			return r
		}
		return '-'
	}, name)
	clean = strings.TrimLeft(clean, "_.-")
	sum := sha256.Sum256([]byte(name))
	if len(clean) > 60 {
		clean = clean[:60]
	}
	if clean != "" {
		clean += "-"
	}
	return clean + hex.EncodeToString(sum[:8])
}

func notFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == 404
}

// armStatus turns an ARM failure into the gRPC code a CO acts on, with
// ARM's own code and message.
func armStatus(what string, err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		if s, ok := status.FromError(err); ok {
			return s.Err()
		}
		return status.Errorf(codes.Unavailable, "%s: %v", what, err)
	}
	code := codes.Internal
	switch re.StatusCode {
	case 400:
		code = codes.InvalidArgument
	case 401:
		code = codes.Unauthenticated
	case 403:
		code = codes.PermissionDenied
	case 404:
		code = codes.NotFound
	case 409:
		code = codes.Unavailable // e.g. a copy still running: retry
		if re.ErrorCode == "PropertyChangeNotAllowed" || re.ErrorCode == "InvalidResourceLocation" {
			code = codes.AlreadyExists
		}
	case 429:
		code = codes.ResourceExhausted
	}
	return status.Errorf(code, "%s: %s: %s", what, re.ErrorCode, armMessage(re))
}

// armMessage is the message of ARM's {"error":{...}} body.
func armMessage(re *azcore.ResponseError) string {
	var env struct {
		Error struct{ Message string } `json:"error"`
	}
	if re.RawResponse != nil {
		if b, err := runtime.Payload(re.RawResponse); err == nil && json.Unmarshal(b, &env) == nil && env.Error.Message != "" {
			return env.Error.Message
		}
	}
	return re.Error()
}
