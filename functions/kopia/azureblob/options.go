package azureblob

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Options say where the blobs live and how to authenticate.
//
// Exactly one of AccountKey and SASToken must be set. The JSON form is what
// kopia writes to its config file (see blob.ConnectionInfo); the secrets are
// tagged kopia:"sensitive" so that kopia scrubs them wherever it displays a
// configuration, and String never shows them.
type Options struct {
	// Endpoint is the blob service URL. Path-style is allowed, e.g.
	// http://127.0.0.1:10000/devstoreaccount1 for Azurite. Empty means
	// https://<AccountName>.blob.core.windows.net. It must not carry a query
	// string: a SAS goes in SASToken.
	Endpoint string `json:"endpoint,omitempty"`

	// AccountName is the storage account. It is required with AccountKey
	// and when Endpoint is empty.
	AccountName string `json:"accountName,omitempty"`

	// AccountKey is the account's shared key (base64).
	AccountKey string `json:"accountKey,omitempty" kopia:"sensitive"`

	// SASToken is a shared access signature valid for Container, with or
	// without the leading '?'.
	SASToken string `json:"sasToken,omitempty" kopia:"sensitive"`

	// Container holds the blobs. It must exist, unless New is called with
	// isCreate and a shared key, in which case New creates it.
	Container string `json:"container"`

	// Prefix is prepended to every blob ID, e.g. "team-a/", so that several
	// repositories can share a container.
	Prefix string `json:"prefix,omitempty"`
}

// String describes o with the secrets left out, so that Options can be
// logged or printed with %v.
func (o Options) String() string {
	var auth string
	switch {
	case o.AccountKey != "" && o.SASToken != "":
		auth = "shared key and SAS token"
	case o.AccountKey != "":
		auth = "shared key"
	case o.SASToken != "":
		auth = "SAS token"
	default:
		auth = "no credentials"
	}
	return fmt.Sprintf("{Endpoint:%q AccountName:%q Container:%q Prefix:%q auth:%s}", o.Endpoint, o.AccountName, o.Container, o.Prefix, auth)
}

// defaultEndpointFormat is the public Azure cloud's blob service host for an
// account.
const defaultEndpointFormat = "https://%s.blob.core.windows.net"

// validate reports every problem with o at once.
func (o *Options) validate() error {
	var errs []error
	if _, err := serviceURL(o); err != nil {
		errs = append(errs, err)
	}
	if err := checkContainerName(o.Container); err != nil {
		errs = append(errs, err)
	}
	switch {
	case o.AccountKey != "" && o.SASToken != "":
		errs = append(errs, errors.New("set either an account key or a SAS token, not both"))
	case o.AccountKey == "" && o.SASToken == "":
		errs = append(errs, errors.New("an account key or a SAS token is required"))
	case o.AccountKey != "" && o.AccountName == "":
		errs = append(errs, errors.New("an account name is required with an account key"))
	case o.SASToken != "":
		if _, err := sasQuery(o.SASToken); err != nil {
			errs = append(errs, err)
		}
	}
	if strings.HasPrefix(o.Prefix, "/") {
		errs = append(errs, fmt.Errorf("prefix %q must not start with '/'", o.Prefix))
	}
	return errors.Join(errs...)
}

// serviceURL returns the blob service URL of o, without a trailing slash.
// It never echoes the endpoint when it is malformed or has a query, since
// either may be a misplaced secret.
func serviceURL(o *Options) (string, error) {
	if o.Endpoint == "" {
		if err := checkAccountName(o.AccountName); err != nil {
			return "", fmt.Errorf("no endpoint: %w", err)
		}
		return fmt.Sprintf(defaultEndpointFormat, o.AccountName), nil
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil {
		return "", errors.New("endpoint is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("endpoint must be an http or https URL")
	case u.Host == "":
		return "", errors.New("endpoint has no host")
	case u.User != nil:
		return "", errors.New("endpoint must not contain user information")
	case u.RawQuery != "" || u.ForceQuery:
		return "", errors.New("endpoint must not have a query string; put a SAS in the SAS token")
	case u.Fragment != "":
		return "", errors.New("endpoint must not have a fragment")
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// containerURL returns the URL of o's container, without any SAS: the
// service URL, a slash and the container name. For a path-style endpoint
// that is endpoint/container, e.g.
// http://127.0.0.1:10000/devstoreaccount1/backups.
func containerURL(o *Options) (string, error) {
	svc, err := serviceURL(o)
	if err != nil {
		return "", err
	}
	if err := checkContainerName(o.Container); err != nil {
		return "", err
	}
	return svc + "/" + o.Container, nil
}

// clientURL is the URL the container client is built from: containerURL,
// followed by the SAS as the query string when o authenticates with one.
func clientURL(o *Options) (string, error) {
	u, err := containerURL(o)
	if err != nil || o.SASToken == "" {
		return u, err
	}
	q, err := sasQuery(o.SASToken)
	if err != nil {
		return "", err
	}
	return u + "?" + q, nil
}

// sasQuery returns the SAS token without a leading '?', after checking that
// it parses as a query string with a signature. Errors never quote it.
func sasQuery(token string) (string, error) {
	q := strings.TrimPrefix(strings.TrimSpace(token), "?")
	v, err := url.ParseQuery(q)
	if err != nil {
		return "", errors.New("SAS token is not a valid query string")
	}
	if v.Get("sig") == "" {
		return "", errors.New("SAS token has no signature (sig)")
	}
	return q, nil
}

// blobName is the Azure name of the blob with kopia ID id: the prefix, then
// the ID.
func blobName(prefix, id string) string {
	return prefix + id
}

// blobID is the kopia ID of the Azure blob name, which a listing by prefix
// guarantees starts with prefix.
func blobID(prefix, name string) string {
	return strings.TrimPrefix(name, prefix)
}

// checkAccountName applies Azure's rule for storage account names: 3 to 24
// lowercase letters and digits. It keeps a stray character from turning the
// default endpoint into another host.
func checkAccountName(name string) error {
	if name == "" {
		return errors.New("an account name is required")
	}
	if len(name) < 3 || len(name) > 24 || strings.IndexFunc(name, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	}) >= 0 {
		return fmt.Errorf("account name %q is invalid: want 3 to 24 lowercase letters and digits", name)
	}
	return nil
}

// checkContainerName applies Azure's rule for container names: 3 to 63
// lowercase letters, digits and single hyphens, starting and ending with a
// letter or digit; "$root" and "$web" are the special exceptions.
func checkContainerName(name string) error {
	if name == "" {
		return errors.New("a container name is required")
	}
	if name == "$root" || name == "$web" {
		return nil
	}
	bad := len(name) < 3 || len(name) > 63 ||
		name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--") ||
		strings.IndexFunc(name, func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-'
		}) >= 0
	if bad {
		return fmt.Errorf("container name %q is invalid: want 3 to 63 lowercase letters, digits and single hyphens", name)
	}
	return nil
}
