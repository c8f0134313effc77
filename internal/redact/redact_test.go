package redact

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"http://127.0.0.1:8545", "http://127.0.0.1:8545"},
		{"http://127.0.0.1:8545/", "http://127.0.0.1:8545/"},
		{"wss://rpc.example.org/ws", "wss://rpc.example.org/ws"},
		{"https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161", "https://mainnet.infura.io/v3/redacted"},
		{"wss://mainnet.infura.io/ws/v3/9aa3d95b3bc440fa88ea12eaa4456161", "wss://mainnet.infura.io/ws/v3/redacted"},
		{"https://eth-mainnet.g.alchemy.com/v2/aB3dEfGhIjKlMnOpQrStUvWxYz012345", "https://eth-mainnet.g.alchemy.com/v2/redacted"},
		{"https://linea-sepolia.g.alchemy.com/v2/Kq_9-zzYx7LmNoPqR", "https://linea-sepolia.g.alchemy.com/v2/redacted"},
		{"https://rpc.ankr.com/eth/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "https://rpc.ankr.com/eth/redacted"},
		{"https://name.quiknode.pro/abcdefabcdefabcdefabcdefabcdefabcdefabcd/", "https://name.quiknode.pro/redacted/"},
		{"https://user:hunter22@rpc.example.org:8443/path", "https://redacted@rpc.example.org:8443/path"},
		{"https://:apikey123@rpc.example.org", "https://redacted@rpc.example.org"},
		{"https://onlyuser@rpc.example.org", "https://redacted@rpc.example.org"},
		{"https://rpc.example.org/?key=a=b", "https://rpc.example.org/?redacted"},
		{"https://rpc.example.org/rpc?apikey=s3cr3t&x=1#frag", "https://rpc.example.org/rpc?redacted#redacted"},
		{"postgres://rlnd:pg-pass@db.internal:5432/rlnd?sslmode=disable", "postgres://redacted@db.internal:5432/rlnd?redacted"},
		{"postgresql://rlnd@/rlnd?host=/run/postgresql", "postgresql://redacted@/rlnd?redacted"},
		{"/home/op/.ethereum/geth.ipc", "/home/op/.ethereum/geth.ipc"},
		{"localhost:8545", "localhost:8545"},
		{"user:pass@host", "user:redacted"},
		{"//u:p@h/x", "//redacted@h/x"},
		{"file:///tmp/x", "file:///tmp/x"},
		// Short and all-lower-case path segments are not keys.
		{"https://rpc.example.org/linea-sepolia/rpc", "https://rpc.example.org/linea-sepolia/rpc"},
		{"https://rpc.example.org/abcdefghijklmnopqrstuvwxyzabcdef", "https://rpc.example.org/redacted"},
		// Unparsable: scheme and a plain host only.
		{"http://h:port/v3/9aa3d95b3bc440fa88ea12eaa4456161", "http://redacted/redacted"},
		{"http://h/%zz", "http://h/redacted"},
		{"http://u:p%zz@h/", "http://redacted/redacted"},
		{"http://[::1/x", "http://redacted/redacted"},
		{"::not a url", "redacted"},
		// libpq keyword/value strings.
		{"host=db user=rlnd password=pg-pass dbname=rlnd", "host=db user=rlnd password=redacted dbname=rlnd"},
		{"host=db password = 'pg pass \\' q' sslmode=require", "host=db password=redacted sslmode=require"},
		{"host=db password='unterminated secret", "host=db redacted"},
		{"host=db sslpassword=x", "host=db sslpassword=redacted"},
		{"host=db options=a?b", "host=db options=redacted"},
	}
	for _, tc := range tests {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestKeyLike(t *testing.T) {
	t.Parallel()
	tests := []struct {
		seg  string
		want bool
	}{
		{"v3", false},
		{"9aa3d95b3bc440fa88ea12eaa4456161", true},
		{"0123456789abcdef", true},
		{"0123456789abcde", false}, // 15: too short
		{"linea-sepolia-rpc", false},
		{"Kq_9-zzYx7LmNoPqR", true},
		{"abcdefghijklmnopqrstuvwxyzabcdef", true},
		{"abcdefghijklmnop", false},
		{"has space 0123456789", false},
		{"base64+/=", false},
		{"QUJDREVGR0hJSktMTU5PUA==", true},
	}
	for _, tc := range tests {
		if got := KeyLike(tc.seg); got != tc.want {
			t.Errorf("KeyLike(%q) = %v, want %v", tc.seg, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	const infura = "https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161"
	const pg = "postgres://rlnd:Pg-S3cret@db:5432/rlnd?sslmode=disable"
	tests := []struct {
		name, in string
		raws     []string
		want     string
	}{
		{"net/http error", `Post "` + infura + `": dial tcp: lookup mainnet.infura.io: no such host`, nil,
			`Post "https://mainnet.infura.io/v3/redacted": dial tcp: lookup mainnet.infura.io: no such host`},
		{"url.Parse error", `parse "http://u:pw@h:x/": invalid port ":x" after host`, nil,
			`parse "http://redacted/redacted": invalid port ":x" after host`},
		{"escaped key outside a URL", "key 9aa3d95b3bc440fa88ea12eaa4456161 refused", []string{infura},
			"key redacted refused"},
		{"password quoted alone", "password Pg-S3cret rejected for user rlnd", []string{pg},
			"password redacted rejected for user rlnd"},
		{"escaped password", "auth Pg-S3cret%21 failed", []string{"postgres://rlnd:Pg-S3cret%21@db/rlnd"},
			"auth redacted failed"},
		{"url then colon", "open postgres://u:pw@h:5432/db?sslmode=disable: failed.", nil,
			"open postgres://redacted@h:5432/db?redacted: failed."},
		{"url ends a sentence", "could not reach http://h/v3/9aa3d95b3bc440fa88ea12eaa4456161.", nil,
			"could not reach http://h/v3/redacted."},
		{"several URLs", "a http://x/?q=1 b ws://u:p@y/z c", nil, "a http://x/?redacted b ws://redacted@y/z c"},
		{"nothing to hide", "connection refused", []string{"http://127.0.0.1:8545"}, "connection refused"},
		{"keyword dsn", "cannot use password=hunter22 here", []string{"host=db password=hunter22"},
			"cannot use password=redacted here"},
	}
	for _, tc := range tests {
		if got := Text(tc.in, tc.raws...); got != tc.want {
			t.Errorf("%s: Text(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestError(t *testing.T) {
	t.Parallel()
	if Error(nil, "http://x") != nil {
		t.Fatal("Error(nil) is not nil")
	}
	plain := errors.New("not found")
	if got := Error(plain, "https://h/v3/9aa3d95b3bc440fa88ea12eaa4456161"); got != plain {
		t.Fatalf("Error changed an error with nothing to hide: %v", got)
	}
	raw := "https://u:hunter22@h/v3/9aa3d95b3bc440fa88ea12eaa4456161?x=1"
	inner := &url.Error{Op: "Post", URL: raw, Err: fs.ErrNotExist}
	err := Error(fmt.Errorf("chain id: %w", inner), raw)
	for _, secret := range []string{"hunter22", "9aa3d95b3bc440fa88ea12eaa4456161", "x=1"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%q still in %q", secret, err.Error())
		}
	}
	if want := `chain id: Post "https://redacted@h/v3/redacted?redacted": file does not exist`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("the redacted error does not unwrap to the original chain")
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Error("errors.As does not find the *url.Error")
	}
}
