package repository

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Environment variables that carry a Location's secret values. Each may
// instead be given as <NAME>_FILE naming a file that holds the value (a
// mounted Secret key); a trailing newline in the file is ignored.
const (
	EnvPassword          = "SNAPFLOW_REPOSITORY_PASSWORD"
	EnvAzureAccountName  = "AZURE_STORAGE_ACCOUNT"
	EnvAzureAccountKey   = "AZURE_STORAGE_KEY"
	EnvAzureSASToken     = "AZURE_STORAGE_SAS_TOKEN"
	EnvS3AccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvS3SecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvS3SessionToken    = "AWS_SESSION_TOKEN"
	fileSuffix           = "_FILE"
)

// SecretKeys maps each key of a Location's Secrets (credentialsSecretRef and
// repositoryPasswordSecretRef) to the environment variable the mover reads
// it from. The pod spec builder mounts or injects each key it finds.
var SecretKeys = map[string]string{
	"password":             EnvPassword,
	"azureStorageAccount":  EnvAzureAccountName,
	"azureStorageKey":      EnvAzureAccountKey,
	"azureStorageSASToken": EnvAzureSASToken,
	"awsAccessKeyID":       EnvS3AccessKeyID,
	"awsSecretAccessKey":   EnvS3SecretAccessKey,
	"awsSessionToken":      EnvS3SessionToken,
}

// Credentials are a Location's secret values. They come only from env or
// mounted files, never flags. Printing them (%v, %+v, %#v, JSON) shows only
// which values are set.
type Credentials struct {
	Password                                         string // repository password
	AzureAccountName, AzureAccountKey, AzureSASToken string
	S3AccessKeyID, S3SecretAccessKey, S3SessionToken string
}

// CredentialsFromEnv reads Credentials from the environment variables
// EnvPassword ... EnvS3SessionToken, each of which may instead be given as
// <NAME>_FILE pointing at a mounted file. Setting both NAME and NAME_FILE is
// an error. Missing values are left empty.
func CredentialsFromEnv() (Credentials, error) {
	return credentialsFrom(os.LookupEnv, os.ReadFile)
}

// CredentialsFromSecrets reads Credentials from the data of a Location's
// Secrets, under the keys of SecretKeys; kubectl snapflow reads them so.
func CredentialsFromSecrets(data map[string][]byte) Credentials {
	lookup := func(env string) (string, bool) {
		for key, name := range SecretKeys {
			if name == env {
				v, ok := data[key]
				return string(v), ok
			}
		}

		return "", false
	}
	c, _ := credentialsFrom(lookup, nil) // no <NAME>_FILE: neither a file read nor an error

	return c
}

func credentialsFrom(lookup func(string) (string, bool), readFile func(string) ([]byte, error)) (Credentials, error) {
	var c Credentials

	fields := []struct {
		env string
		dst *string
	}{
		{EnvPassword, &c.Password},
		{EnvAzureAccountName, &c.AzureAccountName},
		{EnvAzureAccountKey, &c.AzureAccountKey},
		{EnvAzureSASToken, &c.AzureSASToken},
		{EnvS3AccessKeyID, &c.S3AccessKeyID},
		{EnvS3SecretAccessKey, &c.S3SecretAccessKey},
		{EnvS3SessionToken, &c.S3SessionToken},
	}

	var errs []error

	for _, f := range fields {
		v, err := credentialValue(f.env, lookup, readFile)
		if err != nil {
			errs = append(errs, err)
			continue
		}

		*f.dst = v
	}

	return c, errors.Join(errs...)
}

// credentialValue reads one value from env var name or the file named by
// name_FILE. Errors name the variable and file, never the value.
func credentialValue(name string, lookup func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	v, hasValue := lookup(name)
	path, hasFile := lookup(name + fileSuffix)

	switch {
	case hasValue && v != "" && hasFile && path != "":
		return "", fmt.Errorf("credentials: set only one of %s and %s%s", name, name, fileSuffix)
	case hasFile && path != "":
		b, err := readFile(path)
		if err != nil {
			return "", fmt.Errorf("credentials: read %s%s file %q: %w", name, fileSuffix, path, err)
		}

		return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
	default:
		return v, nil
	}
}

// String lists which values are set, never the values.
func (c Credentials) String() string {
	set := func(name, v string) string {
		if v == "" {
			return ""
		}

		return " " + name
	}

	return "Credentials{set:" +
		set("Password", c.Password) +
		set("AzureAccountName", c.AzureAccountName) +
		set("AzureAccountKey", c.AzureAccountKey) +
		set("AzureSASToken", c.AzureSASToken) +
		set("S3AccessKeyID", c.S3AccessKeyID) +
		set("S3SecretAccessKey", c.S3SecretAccessKey) +
		set("S3SessionToken", c.S3SessionToken) + "}"
}

// GoString is String, so %#v does not print secrets either.
func (c Credentials) GoString() string { return c.String() }

// MarshalJSON encodes String, so structured loggers that marshal values do
// not print secrets.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%q", c.String())), nil
}

// secrets returns the values that must never be shown, including the parts
// of a SAS token that could appear on their own (its signature, escaped or
// not, inside a URL).
func (c Credentials) secrets() []string {
	out := []string{c.Password, c.AzureAccountKey, c.S3SecretAccessKey, c.S3SessionToken}
	out = append(out, sasSecrets(c.AzureSASToken)...)

	return out
}
