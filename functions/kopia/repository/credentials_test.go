package repository

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCredentialsFrom(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "password"), []byte("from-file\n"), 0o600)
	writeFile(t, filepath.Join(dir, "key"), []byte("key with spaces \r\n"), 0o600)

	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    Credentials
		wantErr string
	}{
		{
			name: "values",
			env: map[string]string{
				EnvPassword: "pw", EnvAzureAccountName: "acct", EnvAzureAccountKey: "k", EnvAzureSASToken: "sv=1&sig=s",
				EnvS3AccessKeyID: "id", EnvS3SecretAccessKey: "secret", EnvS3SessionToken: "tok",
			},
			want: Credentials{
				Password: "pw", AzureAccountName: "acct", AzureAccountKey: "k", AzureSASToken: "sv=1&sig=s",
				S3AccessKeyID: "id", S3SecretAccessKey: "secret", S3SessionToken: "tok",
			},
		},
		{
			name: "files drop one trailing newline only",
			env:  map[string]string{EnvPassword + "_FILE": filepath.Join(dir, "password"), EnvAzureAccountKey + "_FILE": filepath.Join(dir, "key")},
			want: Credentials{Password: "from-file", AzureAccountKey: "key with spaces "},
		},
		{
			name: "empty file variable is unset",
			env:  map[string]string{EnvPassword: "pw", EnvPassword + "_FILE": ""},
			want: Credentials{Password: "pw"},
		},
		{name: "nothing set", env: map[string]string{}, want: Credentials{}},
		{
			name:    "both value and file",
			env:     map[string]string{EnvS3SecretAccessKey: "secret", EnvS3SecretAccessKey + "_FILE": filepath.Join(dir, "key")},
			wantErr: "credentials: set only one of AWS_SECRET_ACCESS_KEY and AWS_SECRET_ACCESS_KEY_FILE",
		},
		{
			name:    "missing file",
			env:     map[string]string{EnvPassword + "_FILE": filepath.Join(dir, "nope")},
			wantErr: fmt.Sprintf("credentials: read SNAPFLOW_REPOSITORY_PASSWORD_FILE file %q: ", filepath.Join(dir, "nope")),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }

			got, err := credentialsFrom(lookup, os.ReadFile)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want prefix %q", err, tc.wantErr)
				}

				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows a value: %v", err)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("credentials (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	for _, env := range SecretKeys {
		t.Setenv(env, "")
		t.Setenv(env+"_FILE", "")
	}

	t.Setenv(EnvPassword, "pw")

	got, err := CredentialsFromEnv()
	if err != nil || got != (Credentials{Password: "pw"}) {
		t.Errorf("CredentialsFromEnv() = %v, %v; want only the password", got, err)
	}
}

func TestCredentialsFromMissingFileIsNotExist(t *testing.T) {
	lookup := func(k string) (string, bool) { return "/nonexistent/pw", k == EnvPassword+"_FILE" }

	if _, err := credentialsFrom(lookup, os.ReadFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	c := Credentials{
		Password: "pw-XYZ", AzureAccountName: "acct", AzureAccountKey: "key-XYZ", AzureSASToken: "sig-XYZ",
		S3AccessKeyID: "id", S3SecretAccessKey: "secret-XYZ", S3SessionToken: "tok-XYZ",
	}

	j, err := json.Marshal(struct{ C Credentials }{c})
	if err != nil {
		t.Fatal(err)
	}

	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c), string(j)} {
		if strings.Contains(s, "XYZ") {
			t.Errorf("printed credentials show a secret: %s", s)
		}
	}

	want := "Credentials{set: Password AzureAccountName AzureAccountKey AzureSASToken S3AccessKeyID S3SecretAccessKey S3SessionToken}"
	if got := c.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestSecretKeysNameEveryVariable(t *testing.T) {
	got := map[string]bool{}
	for _, env := range SecretKeys {
		got[env] = true
	}

	want := map[string]bool{
		EnvPassword: true, EnvAzureAccountName: true, EnvAzureAccountKey: true, EnvAzureSASToken: true,
		EnvS3AccessKeyID: true, EnvS3SecretAccessKey: true, EnvS3SessionToken: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SecretKeys env vars (-want +got):\n%s", diff)
	}
}

func TestCredentialsFromSecrets(t *testing.T) {
	got := CredentialsFromSecrets(map[string][]byte{
		"password": []byte("pw"), "azureStorageAccount": []byte("acct"), "azureStorageKey": []byte("key"), "unrelated": []byte("x"),
	})

	want := Credentials{Password: "pw", AzureAccountName: "acct", AzureAccountKey: "key"}
	if got != want {
		t.Errorf("CredentialsFromSecrets = %s, want %s", got, want)
	}
}
