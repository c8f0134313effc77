package p2p

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
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

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/websocket"
	ma "github.com/multiformats/go-multiaddr"
)

// selfSigned writes a fresh self-signed certificate for 127.0.0.1 and its
// key as PEM files in dir, and returns their paths and the certificate.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// A plain go-libp2p host that trusts the certificate dials the host's
// secure websocket (/tls/ws) address and connects; the host admits it.
func TestSecureWebsocket(t *testing.T) {
	t.Parallel()
	certFile, keyFile, cert := selfSigned(t, t.TempDir(), "node")
	wc, err := LoadWebsocketCert(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if wc.Leaf().SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Fatalf("Leaf() is not the certificate in %s", certFile)
	}
	h, ev := newTestHost(t, HostConfig{ClusterID: 1, Shards: shards(0), TolerateNoMetadata: true,
		Listen: []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/tls/ws"}, WebsocketTLS: wc.TLSConfig()})
	var wss []ma.Multiaddr
	for _, a := range h.Libp2p().Network().ListenAddresses() {
		if secureWebsocket(a) {
			wss = append(wss, a)
		}
	}
	if len(wss) != 1 {
		t.Fatalf("secure websocket listen addresses %v in %v, want one", wss, h.Libp2p().Network().ListenAddresses())
	}

	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client, err := libp2p.New(libp2p.NoListenAddrs, libp2p.Security(noise.ID, noise.New),
		libp2p.Transport(websocket.New, websocket.WithTLSClientConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Connect(ctx, peer.AddrInfo{ID: h.ID(), Addrs: wss}); err != nil {
		t.Fatalf("dial %s: %v", wss[0], err)
	}
	ev.waitReady(t, client.ID())
	conns := client.Network().ConnsToPeer(h.ID())
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	if !secureWebsocket(conns[0].RemoteMultiaddr()) {
		t.Errorf("connected over %s, want the secure websocket", conns[0].RemoteMultiaddr())
	}

	// A client that does not trust the certificate is refused.
	untrusting, err := libp2p.New(libp2p.NoListenAddrs, libp2p.Security(noise.ID, noise.New),
		libp2p.Transport(websocket.New, websocket.WithTLSClientConfig(&tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer untrusting.Close()
	if err := untrusting.Connect(ctx, peer.AddrInfo{ID: h.ID(), Addrs: wss}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client without the root connected (%v)", err)
	}
}

// Bad certificate or key files are errors naming the file at fault;
// Reload serves a renewed certificate and keeps the old one when the new
// files are bad.
func TestWebsocketCertFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, _ := selfSigned(t, dir, "a")
	otherCert, otherKey, renewed := selfSigned(t, dir, "b")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, maxPEMFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name, cert, key string
		want            []string
	}{
		{name: "missing certificate", cert: missing, key: keyFile, want: []string{"certificate", missing, "no such file"}},
		{name: "missing key", cert: certFile, key: missing, want: []string{"key", missing, "no such file"}},
		{name: "a directory", cert: dir, key: keyFile, want: []string{"certificate", dir}},
		{name: "certificate not PEM", cert: notPEM, key: keyFile, want: []string{"certificate", notPEM, "holds no PEM CERTIFICATE block"}},
		{name: "key given as certificate", cert: keyFile, key: keyFile, want: []string{"certificate", keyFile, "holds no PEM CERTIFICATE block"}},
		{name: "key not PEM", cert: certFile, key: notPEM, want: []string{"key", notPEM, "holds no PEM block"}},
		{name: "certificate too large", cert: big, key: keyFile, want: []string{big, "larger than"}},
		{name: "key of another certificate", cert: certFile, key: otherKey, want: []string{certFile, otherKey, "does not match"}},
	}
	for _, tt := range tests {
		_, err := LoadWebsocketCert(tt.cert, tt.key)
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: LoadWebsocketCert = %v, want an error containing %q", tt.name, err, w)
			}
		}
	}

	wc, err := LoadWebsocketCert(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	first := wc.Leaf()
	if err := os.WriteFile(keyFile, []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := wc.Reload(); err == nil || wc.Leaf() != first {
		t.Fatalf("Reload of a damaged key: %v, serving %v; want an error and the old certificate", err, wc.Leaf().Subject)
	}
	for _, f := range [][2]string{{otherCert, certFile}, {otherKey, keyFile}} {
		data, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f[1], data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := wc.Reload(); err != nil {
		t.Fatal(err)
	}
	got, err := wc.TLSConfig().GetCertificate(&tls.ClientHelloInfo{})
	if err != nil || got.Leaf.SerialNumber.Cmp(renewed.SerialNumber) != 0 {
		t.Fatalf("after Reload the listener serves %v (%v), want the renewed certificate", got.Leaf.Subject, err)
	}
}

// secureWebsocket reports whether a is a /wss or /tls/ws address.
func secureWebsocket(a ma.Multiaddr) bool {
	for _, c := range a {
		if code := c.Protocol().Code; code == ma.P_WSS || code == ma.P_TLS {
			return true
		}
	}
	return false
}
