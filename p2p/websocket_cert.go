package p2p

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// maxPEMFile bounds the certificate and key files read: a chain of a few
// certificates is some kilobytes.
const maxPEMFile = 1 << 20

// WebsocketCert is the certificate of the secure websocket (/wss)
// listeners, read from PEM files (nwaku's --websocket-secure-cert-path and
// --websocket-secure-key-path). Reload reads them again, so that a renewed
// certificate is served without a restart.
type WebsocketCert struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// LoadWebsocketCert reads a certificate file (PEM: the node's certificate
// first, then the intermediates) and its private key file (PEM). A file
// that is missing, unreadable, too large or holds no PEM block, or a key
// that does not match the certificate, is an error naming the file.
func LoadWebsocketCert(certFile, keyFile string) (*WebsocketCert, error) {
	c := &WebsocketCert{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again; on an error the certificate in use stays.
func (c *WebsocketCert) Reload() error {
	certPEM, err := readPEMFile(c.certFile, "certificate", "CERTIFICATE")
	if err != nil {
		return err
	}
	keyPEM, err := readPEMFile(c.keyFile, "key", "")
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("p2p: secure websocket certificate %s with key %s: %w", c.certFile, c.keyFile, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fmt.Errorf("p2p: secure websocket certificate %s: %w", c.certFile, err)
		}
	}
	c.cert.Store(&pair)
	return nil
}

// Leaf is the certificate served, parsed (its subject, names and expiry).
func (c *WebsocketCert) Leaf() *x509.Certificate { return c.cert.Load().Leaf }

// TLSConfig is the server configuration of the listeners: TLS 1.2 or
// later, with the certificate loaded last.
func (c *WebsocketCert) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cert.Load(), nil
		},
	}
}

// readPEMFile reads a PEM file of at most maxPEMFile bytes holding a block
// (of type blockType, if not empty).
func readPEMFile(path, what, blockType string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("p2p: secure websocket %s: %w", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, fmt.Errorf("p2p: secure websocket %s %s: %w", what, path, err)
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("p2p: secure websocket %s %s is larger than %d bytes", what, path, maxPEMFile)
	}
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if blockType == "" || block.Type == blockType {
			return data, nil
		}
	}
	want := "PEM block"
	if blockType != "" {
		want = "PEM " + blockType + " block"
	}
	return nil, fmt.Errorf("p2p: secure websocket %s %s holds no %s", what, path, want)
}
