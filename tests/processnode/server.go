package processnode

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// apiHandler serves the parts of the kubelet API the apiserver proxies to:
// container logs, exec, the pod list and a health check.
func (n *Node) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("GET /pods", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(n.listPods())
	})
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", n.serveLogs)
	mux.HandleFunc("/exec/{ns}/{pod}/{container}", n.serveExec)
	mux.HandleFunc("/exec/{ns}/{pod}/{uid}/{container}", n.serveExec)
	for _, p := range []string{"/attach/", "/portForward/", "/run/"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "not supported by the process node", http.StatusNotImplemented)
		})
	}
	return mux
}

// serveLogs serves a container's log file with the kubelet's query
// parameters follow, previous, tailLines and limitBytes (timestamps and
// sinceSeconds/sinceTime are ignored: the log has no timestamps).
func (n *Node) serveLogs(w http.ResponseWriter, r *http.Request) {
	ns, name, container := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	pw := n.findWorker(ns, name)
	if pw == nil || !pw.hasContainer(container) {
		http.Error(w, fmt.Sprintf("container %q in pod %s/%s not found", container, ns, name), http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	previous, follow := q.Get("previous") == "true", q.Get("follow") == "true"
	f, err := os.Open(logPath(pw.dir, container, previous))
	if err != nil {
		msg := fmt.Sprintf("container %q in pod %s/%s is waiting to start", container, ns, name)
		if previous {
			msg = fmt.Sprintf("previous terminated container %q in pod %s/%s not found", container, ns, name)
		}
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	defer f.Close()
	if s := q.Get("tailLines"); s != "" {
		lines, err := strconv.Atoi(s)
		if err != nil || lines < 0 {
			http.Error(w, "invalid tailLines", http.StatusBadRequest)
			return
		}
		off, err := tailOffset(f, lines)
		if err == nil {
			_, err = f.Seek(off, io.SeekStart)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	var out io.Writer = flushWriter{w}
	if s := q.Get("limitBytes"); s != "" {
		limit, err := strconv.ParseInt(s, 10, 64)
		if err != nil || limit <= 0 {
			http.Error(w, "invalid limitBytes", http.StatusBadRequest)
			return
		}
		out = &limitWriter{w: out, left: limit}
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	for {
		if _, err := io.Copy(out, f); err != nil {
			return
		}
		if !follow || previous || !pw.logActive(container, f) {
			_, _ = io.Copy(out, f) // what the process wrote before it ended
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tailOffset returns the offset where the last n lines of f begin.
func tailOffset(f *os.File, n int) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat log: %w", err)
	}
	size := fi.Size()
	if n == 0 {
		return size, nil
	}
	buf := make([]byte, 32*1024)
	pos, seen := size, 0
	for pos > 0 {
		chunk := min(int64(len(buf)), pos)
		pos -= chunk
		if _, err := f.ReadAt(buf[:chunk], pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read log: %w", err)
		}
		b := buf[:chunk]
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' || pos+int64(i) == size-1 {
				continue // a trailing newline ends the last line
			}
			if seen++; seen == n {
				return pos + int64(i) + 1, nil
			}
		}
	}
	return 0, nil
}

type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

// limitWriter writes at most left bytes and then fails.
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.ErrShortWrite
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

// hasContainer reports whether the pod spec has container name.
func (w *podWorker) hasContainer(name string) bool {
	for _, cs := range [][]corev1.Container{w.spec.InitContainers, w.spec.Containers} {
		for _, c := range cs {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}

// logActive reports whether the attempt writing to f may still write: its
// process runs and f is still the current log (not rotated by a restart).
func (w *podWorker) logActive(container string, f *os.File) bool {
	w.mu.Lock()
	p := w.procs[container]
	w.mu.Unlock()
	if p == nil || !p.running() {
		return false
	}
	cur, err := os.Stat(logPath(w.dir, container, false))
	if err != nil {
		return false
	}
	fi, err := f.Stat()
	return err == nil && os.SameFile(cur, fi)
}

// tlsConfig loads the serving cert, or makes a self-signed one.
func (n *Node) tlsConfig() (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if n.cfg.TLSCertFile != "" {
		cert, err = tls.LoadX509KeyPair(n.cfg.TLSCertFile, n.cfg.TLSKeyFile)
	} else {
		cert, err = selfSignedCert(n.cfg.NodeName)
	}
	if err != nil {
		return nil, fmt.Errorf("kubelet API serving cert: %w", err)
	}
	// HTTP/1.1 only: exec upgrades the connection by hijacking it.
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}, nil
}

func selfSignedCert(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{host, "localhost"},
		IPAddresses:  []net.IP{net.ParseIP(nodeIP)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create cert: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
