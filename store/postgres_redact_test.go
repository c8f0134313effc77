package store

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/rlnd/rlnd/internal/pgtest"
)

// closedPort returns a loopback host:port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestPostgresErrorsHideTheURL: whatever goes wrong opening the archive,
// the error names the endpoint without the password or the query.
func TestPostgresErrorsHideTheURL(t *testing.T) {
	t.Parallel()
	const pw, sslpw = "Pg-S3cret-pw", "ssl-Pw-98765"
	down := closedPort(t)
	tests := []struct{ name, url string }{
		{"unreachable", "postgres://rlnd:" + pw + "@" + down + "/rlnd?sslmode=disable&connect_timeout=5&sslpassword=" + sslpw},
		{"bad port", "postgres://rlnd:" + pw + "@localhost:notaport/rlnd?sslpassword=" + sslpw},
		{"bad option", "postgres://rlnd:" + pw + "@" + down + "/rlnd?sslmode=sometimes&sslpassword=" + sslpw},
		{"keyword form", "host=127.0.0.1 port=" + strings.Split(down, ":")[1] + " user=rlnd password=" + pw + " sslmode=disable sslpassword=" + sslpw},
		{"keyword form quoted", "host=127.0.0.1 port=" + strings.Split(down, ":")[1] + " password='" + pw + " x' sslmode=disable"},
	}
	for _, tc := range tests {
		p, err := OpenPostgres(t.Context(), tc.url)
		if err == nil {
			p.Close()
			t.Errorf("%s: opened %s", tc.name, tc.url)
			continue
		}
		msg := err.Error()
		for _, secret := range []string{pw, sslpw, url.QueryEscape(pw)} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s: error %q holds the secret %q", tc.name, msg, secret)
			}
		}
		if strings.Contains(msg, "sslpassword="+sslpw) || strings.Contains(msg, "sslmode=disable&") {
			t.Errorf("%s: error %q holds the query", tc.name, msg)
		}
		if !strings.Contains(msg, "store: open postgres") {
			t.Errorf("%s: error %q does not say what failed", tc.name, msg)
		}
	}
}

// TestPostgresWrongPasswordError: the server's refusal does not quote the
// password either.
func TestPostgresWrongPasswordError(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	const pw = "wrong-Pa55word-here"
	u.User = url.UserPassword(u.User.Username()+"_nobody", pw)
	p, err := OpenPostgres(t.Context(), u.String())
	if err == nil {
		p.Close()
		t.Fatal("opened the archive as a user that does not exist")
	}
	if strings.Contains(err.Error(), pw) {
		t.Errorf("error %q holds the password", err)
	}
}
