package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "myriad e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key
}

// A coordinator over HTTPS: a worker and the CLI that trust its CA
// (--ca, MYRIAD_CA) run a job; without the CA the CLI is refused.
func TestTLSProcesses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	addr := freeAddr(t)
	url := "https://" + addr
	srv := start(t, "server", "server", "--listen", addr, "--data", filepath.Join(dir, "data"), "--sync", "normal", "--tls-cert", cert, "--tls-key", key)
	start(t, "worker", "worker", "--server", url, "--ca", cert, "--slots", "2")
	writeFile(t, dir, "job.yaml", "name: tls\ninput: {items: [\"a b\", \"c\"]}\nstages:\n  - {op: wordcount}\n")
	var code int
	var stdout, stderr string
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The server may still be starting: retry until it answers.
		code, stdout, stderr = runEnv(t, append(os.Environ(), "MYRIAD_CA="+cert), "--server", url, "submit", dir+"/job.yaml", "--wait")
		if code == 0 || time.Now().After(deadline) || !strings.Contains(stderr, "connect") {
			break
		}
		select {
		case <-srv.done:
			t.Fatalf("server exited: %s", srv.out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if code != 0 {
		t.Fatalf("submit over TLS: exit %d: %s %s", code, stdout, stderr)
	}
	if code, _, stderr := runEnv(t, os.Environ(), "--server", url, "jobs"); code == 0 || !strings.Contains(stderr, "certificate") {
		t.Errorf("without the CA: exit %d: %s", code, stderr)
	}
}
