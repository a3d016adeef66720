package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the paths of the cluster's certificates and keys.
type pki struct {
	CACert, CAKey           string
	ServingCert, ServingKey string // kube-apiserver
	AdminCert, AdminKey     string // O=system:masters
	KubeletCert, KubeletKey string // the process node's kubelet API
	SAKey, SAPub            string // service-account token signing
}

// certValidity is long enough for any test run or developer session.
const certValidity = 30 * 24 * time.Hour

// newPKI writes a CA and the certificates the cluster needs into dir; the
// kubelet certificate names node.
func newPKI(dir, node string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &pki{}
	path := func(name string) string { return filepath.Join(dir, name) }
	caKey, caCert, err := selfSignedCA()
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	p.CACert, p.CAKey = path("ca.crt"), path("ca.key")
	if err := writeCertKey(p.CACert, p.CAKey, caCert.Raw, caKey); err != nil {
		return nil, err
	}
	issue := func(name string, tmpl *x509.Certificate) (string, string, error) {
		crt, key := path(name+".crt"), path(name+".key")
		der, k, err := signLeaf(tmpl, caCert, caKey)
		if err != nil {
			return "", "", fmt.Errorf("issue %s certificate: %w", name, err)
		}
		return crt, key, writeCertKey(crt, key, der, k)
	}
	localhost := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(serviceIP)}
	if p.ServingCert, p.ServingKey, err = issue("apiserver", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: localhost,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, err
	}
	if p.AdminCert, p.AdminKey, err = issue("admin", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "snapflow-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return nil, err
	}
	if p.KubeletCert, p.KubeletKey, err = issue("kubelet", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}},
		DNSNames:    []string{"localhost", node},
		IPAddresses: localhost,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return nil, err
	}
	p.SAKey, p.SAPub = path("sa.key"), path("sa.pub")
	return p, writeSAKeys(p.SAKey, p.SAPub)
}

func selfSignedCA() (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "snapflow-local-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

func signLeaf(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(certValidity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	return der, key, err
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func writeCertKey(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// writeSAKeys writes the RSA key pair that signs service-account tokens.
func writeSAKeys(keyPath, pubPath string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}
