package azureblob

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kopia/kopia/repo/blob"
)

// sas is a made-up container SAS; only its shape matters here.
const sas = "sv=2023-11-03&se=2030-01-01T00%3A00%3A00Z&sr=c&sp=racwdl&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"

func TestClientURL(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
		want string // clientURL
		cont string // containerURL: never has the SAS
	}{
		{
			name: "default endpoint",
			opt:  Options{AccountName: "myaccount", AccountKey: "a2V5", Container: "backups"},
			want: "https://myaccount.blob.core.windows.net/backups",
			cont: "https://myaccount.blob.core.windows.net/backups",
		},
		{
			name: "path-style Azurite endpoint",
			opt:  Options{Endpoint: "http://127.0.0.1:10000/devstoreaccount1", AccountName: "devstoreaccount1", AccountKey: "a2V5", Container: "backups"},
			want: "http://127.0.0.1:10000/devstoreaccount1/backups",
			cont: "http://127.0.0.1:10000/devstoreaccount1/backups",
		},
		{
			name: "path-style endpoint with trailing slashes",
			opt:  Options{Endpoint: "http://127.0.0.1:10000/eastus//", AccountName: "eastus", AccountKey: "a2V5", Container: "backups"},
			want: "http://127.0.0.1:10000/eastus/backups",
			cont: "http://127.0.0.1:10000/eastus/backups",
		},
		{
			name: "custom domain endpoint",
			opt:  Options{Endpoint: "https://myaccount.blob.core.chinacloudapi.cn/", AccountName: "myaccount", AccountKey: "a2V5", Container: "backups"},
			want: "https://myaccount.blob.core.chinacloudapi.cn/backups",
			cont: "https://myaccount.blob.core.chinacloudapi.cn/backups",
		},
		{
			name: "SAS with leading question mark",
			opt:  Options{Endpoint: "http://127.0.0.1:10000/westus", SASToken: "?" + sas, Container: "backups"},
			want: "http://127.0.0.1:10000/westus/backups?" + sas,
			cont: "http://127.0.0.1:10000/westus/backups",
		},
		{
			name: "SAS without leading question mark",
			opt:  Options{Endpoint: "http://127.0.0.1:10000/westus", SASToken: sas, Container: "backups"},
			want: "http://127.0.0.1:10000/westus/backups?" + sas,
			cont: "http://127.0.0.1:10000/westus/backups",
		},
		{
			name: "SAS on the default endpoint",
			opt:  Options{AccountName: "myaccount", SASToken: sas, Container: "backups"},
			want: "https://myaccount.blob.core.windows.net/backups?" + sas,
			cont: "https://myaccount.blob.core.windows.net/backups",
		},
		{
			name: "prefix does not change the URL",
			opt:  Options{AccountName: "myaccount", AccountKey: "a2V5", Container: "backups", Prefix: "team-a/"},
			want: "https://myaccount.blob.core.windows.net/backups",
			cont: "https://myaccount.blob.core.windows.net/backups",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.opt.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			got, err := clientURL(&tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("clientURL = %q, want %q", got, tc.want)
			}
			got, err = containerURL(&tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.cont {
				t.Errorf("containerURL = %q, want %q", got, tc.cont)
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
		want []string // the lines of the joined error
	}{
		{
			name: "nothing set",
			opt:  Options{},
			want: []string{
				"no endpoint: an account name is required",
				"a container name is required",
				"an account key or a SAS token is required",
			},
		},
		{
			name: "endpoint with a query",
			opt:  Options{Endpoint: "http://127.0.0.1:10000/acct?" + sas, AccountName: "acct", AccountKey: "a2V5", Container: "backups"},
			want: []string{"endpoint must not have a query string; put a SAS in the SAS token"},
		},
		{
			name: "endpoint not http",
			opt:  Options{Endpoint: "ftp://127.0.0.1/acct", SASToken: sas, Container: "backups"},
			want: []string{"endpoint must be an http or https URL"},
		},
		{
			name: "endpoint with user info",
			opt:  Options{Endpoint: "https://me:pw@example.com", SASToken: sas, Container: "backups"},
			want: []string{"endpoint must not contain user information"},
		},
		{
			name: "both credentials",
			opt:  Options{AccountName: "acct", AccountKey: "a2V5", SASToken: sas, Container: "backups"},
			want: []string{"set either an account key or a SAS token, not both"},
		},
		{
			name: "key without account",
			opt:  Options{Endpoint: "http://127.0.0.1:10000/acct", AccountKey: "a2V5", Container: "backups"},
			want: []string{"an account name is required with an account key"},
		},
		{
			name: "SAS without signature",
			opt:  Options{Endpoint: "http://127.0.0.1:10000/acct", SASToken: "?sv=2023-11-03&sp=r", Container: "backups"},
			want: []string{"SAS token has no signature (sig)"},
		},
		{
			name: "bad names",
			opt:  Options{AccountName: "My.Account", AccountKey: "a2V5", Container: "Backups_1", Prefix: "/team-a/"},
			want: []string{
				`no endpoint: account name "My.Account" is invalid: want 3 to 24 lowercase letters and digits`,
				`container name "Backups_1" is invalid: want 3 to 63 lowercase letters, digits and single hyphens`,
				`prefix "/team-a/" must not start with '/'`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opt.validate()
			if err == nil {
				t.Fatal("validate succeeded, want an error")
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("validate errors (-got +want):\n%s", diff)
			}
			if strings.Contains(err.Error(), "c2VjcmV0") {
				t.Errorf("error %q contains the SAS signature", err)
			}
		})
	}
}

func TestBlobNamePrefix(t *testing.T) {
	cases := []struct {
		prefix, id, name string
	}{
		{prefix: "", id: "p0123abc", name: "p0123abc"},
		{prefix: "team-a/", id: "p0123abc", name: "team-a/p0123abc"},
		{prefix: "team-a/", id: "kopia.repository", name: "team-a/kopia.repository"},
		{prefix: "x", id: "", name: "x"},
	}
	for _, tc := range cases {
		if got := blobName(tc.prefix, tc.id); got != tc.name {
			t.Errorf("blobName(%q, %q) = %q, want %q", tc.prefix, tc.id, got, tc.name)
		}
		if got := blobID(tc.prefix, tc.name); got != tc.id {
			t.Errorf("blobID(%q, %q) = %q, want %q", tc.prefix, tc.name, got, tc.id)
		}
	}
}

// The secrets are tagged for kopia's scrubber and String leaves them out.
func TestSecretsHidden(t *testing.T) {
	typ := reflect.TypeFor[Options]()
	for _, name := range []string{"AccountKey", "SASToken"} {
		f, _ := typ.FieldByName(name)
		if got := f.Tag.Get("kopia"); got != "sensitive" {
			t.Errorf("field %s has kopia tag %q, want \"sensitive\"", name, got)
		}
	}
	opt := Options{Endpoint: "http://127.0.0.1:10000/acct", AccountName: "acct", AccountKey: "c2VjcmV0LWtleQ==", SASToken: sas, Container: "backups"}
	for _, s := range []string{opt.String(), (&opt).String()} {
		if strings.Contains(s, "c2VjcmV0") {
			t.Errorf("String() = %q shows a secret", s)
		}
	}
}

// A ConnectionInfo survives kopia's JSON round trip, which is how a config
// file reopens the storage.
func TestConnectionInfoJSON(t *testing.T) {
	Register()
	opt := Options{Endpoint: "http://127.0.0.1:10000/acct", AccountName: "acct", AccountKey: "a2V5", Container: "backups", Prefix: "team-a/"}
	s := &storage{opt: opt}
	ci := s.ConnectionInfo()
	raw, err := json.Marshal(ci)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"snapflow-azure","config":{"endpoint":"http://127.0.0.1:10000/acct","accountName":"acct","accountKey":"a2V5","container":"backups","prefix":"team-a/"}}`
	if string(raw) != want {
		t.Errorf("marshalled ConnectionInfo\n got %s\nwant %s", raw, want)
	}
	var back blob.ConnectionInfo
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(back, ci); diff != "" {
		t.Errorf("round trip (-got +want):\n%s", diff)
	}
	// The returned config is a copy: changing it leaves the storage alone.
	ci.Config.(*Options).Container = "other"
	if s.opt.Container != "backups" {
		t.Errorf("ConnectionInfo shares the storage's options")
	}
}
