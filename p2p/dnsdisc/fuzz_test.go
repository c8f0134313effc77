package dnsdisc

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	gethdns "github.com/ethereum/go-ethereum/p2p/dnsdisc"
)

// ParseURL never panics, and a URL it accepts is one go-ethereum's client
// accepts too, with the same key, and its canonical form reads back the
// same. (The checked-in corpus under testdata/fuzz/FuzzParseURL holds the
// Waku Network's URL and others.)
func FuzzParseURL(f *testing.F) {
	f.Add(twnURL)
	f.Add("enrtree://AOGYWMBYOUIMOENHXCHILPKY3ZRFEULMFI4DOM442QSZ73TT2A7VI@")
	f.Add("enrtree://AOGYWMBYOUIMOENHXCHILPKY3ZRFEULMFI4DOM442QSZ73TT2A7VI@A.b-c.D_e.")
	f.Add("enrtree://@example.org")
	f.Add("enrtree://AAAA@example.org")
	f.Add("https://example.org")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			if len(err.Error()) > 1024 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		domain, key, err := gethdns.ParseURL(s)
		if err != nil {
			t.Fatalf("accepted %q, which go-ethereum refuses: %v", s, err)
		}
		if !key.Equal(u.PublicKey) || !strings.EqualFold(strings.TrimSuffix(domain, "."), u.Domain) {
			t.Fatalf("%q: got %s, go-ethereum reads %x@%s", s, u, crypto.CompressPubkey(key), domain)
		}
		back, err := ParseURL(u.String())
		if err != nil || back.String() != u.String() {
			t.Fatalf("canonical %s reads back as %v, %v", u, back, err)
		}
	})
}

// parseRoot never panics, and a root it accepts reads back the same from
// its own text.
func FuzzParseRoot(f *testing.F) {
	e, l := label("e"), label("l")
	f.Add(rootPrefix + " e=" + e + " l=" + l + " seq=7 sig=" + b64(make([]byte, 65)))
	f.Add(rootPrefix + "  e=" + e + "\tl=" + l + " seq=18446744073709551615 sig=" + b64(make([]byte, 65)))
	f.Add(rootPrefix + " e=" + e + " l=" + l + " seq=18446744073709551616 sig=AA")
	f.Add(rootPrefix + " e= l= seq= sig=")
	f.Add(rootPrefix)
	f.Fuzz(func(t *testing.T, txt string) {
		r, err := parseRoot(txt)
		if err != nil {
			return
		}
		if len(r.sig) != 65 || checkHash(r.eroot) != nil || checkHash(r.lroot) != nil {
			t.Fatalf("accepted %q as %+v", txt, r)
		}
		back, err := parseRoot(r.signedText() + " sig=" + b64(r.sig))
		if err != nil || back.eroot != r.eroot || back.lroot != r.lroot || back.seq != r.seq || !bytes.Equal(back.sig, r.sig) {
			t.Fatalf("%+v reads back as %+v, %v", r, back, err)
		}
		key, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if r.verify(&key.PublicKey) {
			t.Fatalf("%q verifies against a fresh key", txt)
		}
	})
}

// checkEntry never panics, and passes on only an entry record, within
// MaxEntrySize, whose hash starts with the bytes its label encodes.
func FuzzCheckEntry(f *testing.F) {
	branch := branchPrefix + label("a") + "," + label("b")
	f.Add(label(branch), branch, "")
	f.Add(label(branch), "v=spf1", branch)
	f.Add(label("enr:-AAA"), "enr:-AAA", "enr:-BBB")
	f.Add(label("x"), "enrtree://AOGYWMBYOUIMOENHXCHILPKY3ZRFEULMFI4DOM442QSZ73TT2A7VI@a.b", "")
	f.Add("abc", branch, "")
	f.Fuzz(func(t *testing.T, lbl, a, b string) {
		txts := []string{a}
		if b != "" {
			txts = append(txts, b)
		}
		txt, err := checkEntry(lbl, txts)
		if err != nil {
			return
		}
		want, derr := b32.DecodeString(lbl)
		if derr != nil || len(want) < 12 || len(txt) > MaxEntrySize || !isEntry(txt) ||
			!bytes.HasPrefix(crypto.Keccak256([]byte(txt)), want) || (txt != a && txt != b) {
			t.Fatalf("checkEntry(%q, %q) passed on %q", lbl, txts, txt)
		}
	})
}
