// Package azuredisk copies Azure managed-disk snapshots to another region
// for crossRegionCopy: the credential a run brings, the Resource Manager
// clients for the cloud the controller names, and the two ways to copy
// (CopyStart, and a VHD through a page blob).
package azuredisk

import (
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"

	"github.com/snapflow/snapflow/engine/function"
)

// Keys of a credentials Secret: a service principal with a client secret.
const (
	KeyTenantID     = "azureTenantID"
	KeyClientID     = "azureClientID"
	KeyClientSecret = "azureClientSecret"
)

// Credential is the credential a run acts with: the service principal in
// secret (its data), or, with none, the pod's workload identity or
// managed identity (azidentity's default chain, as in AKS).
func Credential(c function.AzureCloud, secret map[string][]byte) (azcore.TokenCredential, error) {
	opts := clientOptions(c)
	if secret == nil {
		cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts})
		if err != nil {
			return nil, fmt.Errorf("azure workload or managed identity: %w", err)
		}
		return cred, nil
	}
	var missing []string
	for _, k := range []string{KeyTenantID, KeyClientID, KeyClientSecret} {
		if len(secret[k]) == 0 {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the credentials Secret lacks %v", missing)
	}
	cred, err := azidentity.NewClientSecretCredential(string(secret[KeyTenantID]), string(secret[KeyClientID]), string(secret[KeyClientSecret]),
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: c.AuthorityHost != ""})
	if err != nil {
		return nil, fmt.Errorf("azure client secret credential: %w", err)
	}
	return cred, nil
}

// Snapshots is a snapshots client of subscription.
func Snapshots(c function.AzureCloud, subscription string, cred azcore.TokenCredential) (*armcompute.SnapshotsClient, error) {
	client, err := armcompute.NewSnapshotsClient(subscription, cred, &arm.ClientOptions{ClientOptions: clientOptions(c), DisableRPRegistration: true})
	if err != nil {
		return nil, fmt.Errorf("azure snapshots client: %w", err)
	}
	return client, nil
}

// clientOptions point the SDK at c's cloud. azcore's retry policy retries
// throttling (honouring Retry-After) and transient errors.
func clientOptions(c function.AzureCloud) policy.ClientOptions {
	conf := cloud.AzurePublic
	if c.ResourceManager != "" || c.Audience != "" || c.AuthorityHost != "" {
		rm := conf.Services[cloud.ResourceManager]
		if c.ResourceManager != "" {
			rm.Endpoint = c.ResourceManager
		}
		if c.Audience != "" {
			rm.Audience = c.Audience
		}
		conf = cloud.Configuration{ActiveDirectoryAuthorityHost: conf.ActiveDirectoryAuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: rm}}
		if c.AuthorityHost != "" {
			conf.ActiveDirectoryAuthorityHost = c.AuthorityHost
		}
	}
	opts := policy.ClientOptions{Cloud: conf, InsecureAllowCredentialWithHTTP: c.AllowHTTP, Retry: policy.RetryOptions{MaxRetries: 5}}
	if c.HTTPClient != nil {
		opts.Transport = c.HTTPClient
	}
	return opts
}

// ErrorCode is the Azure error code err carries ("ResourceNotFound",
// "AADSTS7000215", ...), or "".
func ErrorCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) {
		return "AuthenticationFailed"
	}
	return ""
}

// Permanent reports whether err is one no retry fixes: a refused
// credential, a missing resource group or source, a bad request.
func Permanent(err error) bool {
	if errors.Is(err, ErrNotOurs) || errors.Is(err, ErrCopyFailed) {
		return true
	}
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) {
		return true
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.StatusCode {
	case 400, 401, 403, 404:
		return true
	}
	return false
}

// Disks is a disks client of subscription (the Azure-disk CSI driver of
// the local cluster, and tests, make disks).
func Disks(c function.AzureCloud, subscription string, cred azcore.TokenCredential) (*armcompute.DisksClient, error) {
	client, err := armcompute.NewDisksClient(subscription, cred, &arm.ClientOptions{ClientOptions: clientOptions(c), DisableRPRegistration: true})
	if err != nil {
		return nil, fmt.Errorf("azure disks client: %w", err)
	}
	return client, nil
}
