package repository

import (
	"strings"
	"testing"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func TestS3Endpoint(t *testing.T) {
	for _, tc := range []struct {
		endpoint  string
		wantHost  string
		wantNoTLS bool
		wantErr   string
	}{
		{"", "s3.amazonaws.com", false, ""},
		{"http://minio.minio:9000", "minio.minio:9000", true, ""},
		{"https://s3.eu-west-1.amazonaws.com/", "s3.eu-west-1.amazonaws.com", false, ""},
		{"minio.minio:9000", "minio.minio:9000", false, ""},
		{"ftp://host", "", false, `endpoint "ftp://host": scheme must be http or https`},
		{"http://host:9000/bucket", "", false, `endpoint "http://host:9000/bucket": s3 endpoints take no path or query; use prefix`},
		{"http://user:pass@host:9000/x", "", false, `endpoint "http://user:xxxxx@host:9000/x": s3 endpoints take no path or query; use prefix`},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			host, noTLS, err := s3Endpoint(tc.endpoint)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}

				return
			}

			if err != nil || host != tc.wantHost || noTLS != tc.wantNoTLS {
				t.Errorf("s3Endpoint = %q, %v, %v; want %q, %v", host, noTLS, err, tc.wantHost, tc.wantNoTLS)
			}
		})
	}
}

func TestFolderPrefix(t *testing.T) {
	for in, want := range map[string]string{"": "", "a": "a/", "a/": "a/", "/a/b": "a/b/", "/": ""} {
		if got := folderPrefix(in); got != want {
			t.Errorf("folderPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFilesystemDir(t *testing.T) {
	for _, tc := range []struct{ path, prefix, want, wantErr string }{
		{"/backups", "", "/backups", ""},
		{"/backups", "team-a", "/backups/team-a", ""},
		{"/backups", "/team-a/x/", "/backups/team-a/x", ""},
		{"/backups", "../etc", "", `prefix "../etc" must be a relative path inside "/backups"`},
		{"/backups", "a/../../etc", "", `prefix "a/../../etc" must be a relative path inside "/backups"`},
	} {
		got, err := filesystemDir(tc.path, tc.prefix)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("filesystemDir(%q, %q) err = %v, want %q", tc.path, tc.prefix, err, tc.wantErr)
			}

			continue
		}

		if err != nil || got != tc.want {
			t.Errorf("filesystemDir(%q, %q) = %q, %v; want %q", tc.path, tc.prefix, got, err, tc.want)
		}
	}
}

func TestNewStorageRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		loc     v1alpha1.LocationSpec
		wantErr string
	}{
		{"unknown type", v1alpha1.LocationSpec{Type: "gcs"}, `location type gcs: unknown location type "gcs": want azure, s3 or filesystem`},
		{"filesystem without path", v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem}, "location type filesystem: path is empty"},
		{"s3 without bucket", v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeS3}, "location type s3: bucket is empty"},
		{"azure without container", v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeAzure}, "location type azure: container is empty"},
		{"s3 with a path endpoint", v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeS3, Bucket: "b", Endpoint: "http://h/b"}, "location type s3: endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewStorage(t.Context(), tc.loc, Credentials{Password: "pw"}, false)
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("NewStorage err = %v, want prefix %q", err, tc.wantErr)
			}
		})
	}
}
