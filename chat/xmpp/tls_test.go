package xmpp_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/xmpp"
)

// TestTLS logs in with STARTTLS and with direct TLS against a prosody with a
// certificate for "localhost" from a CA of the test's own (ca_file).
func TestTLS(t *testing.T) {
	requireProsody(t)
	dir := t.TempDir()
	caFile, certFile, keyFile := writeCerts(t, dir)
	direct := freePort(t)
	extra := fmt.Sprintf(`modules_enabled = { "roster", "saslauth", "disco", "ping", "tls" }
modules_disabled = { "s2s" }
ssl = { certificate = %q, key = %q }
c2s_direct_tls_ports = { %d }`, certFile, keyFile, direct)
	srv, err := newProsody(dir, extra)
	require.NoError(t, err)
	t.Cleanup(srv.kill)

	for _, tt := range []struct{ mode, server string }{
		{xmpp.TLSStartTLS, srv.addr()},
		{xmpp.TLSDirect, fmt.Sprintf("127.0.0.1:%d", direct)},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			bob := newPerson(t, srv.addr(), "bob", true)
			var logs bytes.Buffer
			cfg := botConfig(tt.server)
			cfg.TLS, cfg.CAFile = tt.mode, caFile
			r := run(t, cfg, slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)))
			deadline := time.Now().Add(wait)
			for { // a direct message shows the bot is logged in
				_, err := r.a.Post(r.ctx, chat.Room{Adapter: "xmpp", ID: "bob@localhost"}, chat.Post{Text: "over " + tt.mode})
				if err == nil {
					break
				}
				require.True(t, time.Now().Before(deadline), "post: %v", err)
			}
			bob.sees(botJID, "over "+tt.mode)
			require.Contains(t, logs.String(), "encrypted=true")
		})
	}

	t.Run("untrusted certificate", func(t *testing.T) {
		cfg := botConfig(srv.addr())
		cfg.TLS = xmpp.TLSStartTLS // the system's roots don't know the test CA
		cfg.SendTimeout = 300 * time.Millisecond
		r := run(t, cfg, nil)
		_, err := r.a.Post(r.ctx, chat.Room{Adapter: "xmpp", ID: "bob@localhost"}, chat.Post{Text: "never"})
		require.Error(t, err)
	})
}

// writeCerts writes a CA and a certificate for localhost it signed.
func writeCerts(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "opsbot test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost", "conference.localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600))
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("localhost.crt", "CERTIFICATE", der), write("localhost.key", "PRIVATE KEY", keyDER)
}
