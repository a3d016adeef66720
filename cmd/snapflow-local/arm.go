package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/snapflow/snapflow/tests/cluster"
	"github.com/snapflow/snapflow/tests/localarm"
)

// armConfig is what `snapflow-local arm` is told on its command line;
// secrets come from its environment (cluster.EnvARMClients,
// cluster.EnvARMAccountKeys).
type armConfig struct {
	listen, certFile, keyFile, urlFile string
	groups, regions, accounts          []string
}

func newARM() *cobra.Command {
	var c armConfig
	cmd := &cobra.Command{
		Use:   "arm",
		Short: "Serve a local Azure Resource Manager (tests/localarm) over TLS",
		Long: `arm serves tests/localarm, a local Azure Resource Manager for managed-disk
snapshots with an Entra ID token endpoint, over TLS on 127.0.0.1 (MSAL needs
an https authority). Page blobs go to the storage accounts given, Azurite's.

Secrets never go on the command line: client secrets come from
` + cluster.EnvARMClients + ` ("tenant:client:secret;...") and storage account keys
from ` + cluster.EnvARMAccountKeys + ` ("name:key;...").

State is in memory: stopping the server (SIGTERM) loses every disk and
snapshot it holds.`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveARM(cmd.Context(), c, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.listen, "listen", "127.0.0.1:0", "address to serve on")
	f.StringVar(&c.certFile, "tls-cert", "", "serving certificate (PEM)")
	f.StringVar(&c.keyFile, "tls-key", "", "serving key (PEM)")
	f.StringVar(&c.urlFile, "url-file", "", "file to write the https URL to once listening")
	f.StringArrayVar(&c.groups, "resource-group", nil, "/subscriptions/S/resourceGroups/RG=region (repeatable)")
	f.StringArrayVar(&c.regions, "region", nil, "a region resources may be created in (repeatable)")
	f.StringArrayVar(&c.accounts, "storage-account", nil, "region=name,endpoint (repeatable; the key from "+cluster.EnvARMAccountKeys+")")
	for _, name := range []string{"tls-cert", "tls-key"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// serveARM serves until ctx ends (SIGTERM, SIGINT).
func serveARM(ctx context.Context, c armConfig, log io.Writer) error {
	opt, err := cluster.ARMOptions(c.groups, c.regions, c.accounts, os.Getenv)
	if err != nil {
		return err
	}
	opt.Blobs = &localarm.AzuriteBlobs{}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("load the TLS certificate: %w", err)
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.listen, err)
	}
	url := "https://" + ln.Addr().String()
	srv := &http.Server{
		Handler:           localarm.New(opt).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	if c.urlFile != "" {
		if err := writeAtomic(c.urlFile, url+"\n"); err != nil {
			_ = srv.Close()
			return fmt.Errorf("write --url-file: %w", err)
		}
	}
	fmt.Fprintf(log, "local ARM serving on %s (%d resource groups)\n", url, len(opt.ResourceGroups))
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	fmt.Fprintln(log, "local ARM stopped; its disks and snapshots are gone")
	return nil
}

// writeAtomic writes data to path through a rename, so a reader never sees
// a partial URL.
func writeAtomic(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".url-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
