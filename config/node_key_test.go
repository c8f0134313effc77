package config

import (
	"bytes"
	"strings"
	"testing"
)

// DecodeNodeKey takes nwaku's --nodekey form and refuses what is not a
// secp256k1 private key, without quoting it.
func TestDecodeNodeKey(t *testing.T) {
	t.Parallel()
	one := append(make([]byte, 31), 1)
	top := append([]byte(nil), secp256k1N[:]...)
	top[31]-- // N-1
	tests := []struct {
		name, text string
		want       []byte
		err        string
	}{
		{name: "one", text: strings.Repeat("00", 31) + "01", want: one},
		{name: "0x and white space", text: "  0x" + strings.Repeat("00", 31) + "01\n", want: one},
		{name: "0X upper case", text: "0X" + strings.ToUpper("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140"), want: top},
		{name: "empty", text: "", err: "holds 0 characters, want 64 hex digits"},
		{name: "33 bytes", text: strings.Repeat("11", 33), err: "holds 66 characters"},
		{name: "not hex", text: strings.Repeat("g1", 32), err: "is not hex"},
		{name: "zero", text: strings.Repeat("0", 64), err: "not a secp256k1 private key"},
		{name: "the group order", text: "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", err: "not a secp256k1 private key"},
		{name: "all ones", text: strings.Repeat("ff", 32), err: "not a secp256k1 private key"},
	}
	for _, tt := range tests {
		got, err := DecodeNodeKey(tt.text)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want one containing %q", tt.name, err, tt.err)
			}
			if err != nil && tt.text != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.text)[:8]) {
				t.Errorf("%s: the error quotes the key: %v", tt.name, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("%s: DecodeNodeKey = %x, %v; want %x", tt.name, got, err, tt.want)
		}
	}
}

// ParseNAT reads nwaku's --nat values.
func TestParseNAT(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, mode, ip, err string
	}{
		{in: "none", mode: NATNone},
		{in: "", mode: NATNone},
		{in: "Any", mode: NATAny},
		{in: "extip:203.0.113.7", mode: NATExtIP, ip: "203.0.113.7"},
		{in: "extip:2001:db8::7", mode: NATExtIP, ip: "2001:db8::7"},
		{in: "extip:::ffff:203.0.113.7", mode: NATExtIP, ip: "203.0.113.7"},
		{in: "upnp", err: "does no UPnP or NAT-PMP port mapping"},
		{in: "PMP", err: "does no UPnP or NAT-PMP port mapping"},
		{in: "extip", err: "is not allowed"},
		{in: "none:1.2.3.4", err: "is not allowed"},
		{in: "extip:", err: "is not an IP address"},
		{in: "extip:::", err: "cannot be dialled"},
		{in: "extip:224.0.0.1", err: "cannot be dialled"},
	}
	for _, tt := range tests {
		got, err := ParseNAT(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseNAT(%q) = %+v, %v; want an error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		ip := ""
		if got.ExtIP.IsValid() {
			ip = got.ExtIP.String()
		}
		if err != nil || got.Mode != tt.mode || ip != tt.ip {
			t.Errorf("ParseNAT(%q) = %+v, %v; want mode %s, IP %q", tt.in, got, err, tt.mode, tt.ip)
		}
	}
}
