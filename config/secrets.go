package config

import (
	"fmt"

	"github.com/rlnd/rlnd/internal/redact"
)

// secretKind says whether a key's value is secret and how to show it
// without the secret.
type secretKind int

const (
	notSecret secretKind = iota
	// secretText values (passwords, private keys) are hidden whole.
	secretText
	// secretURL values (RPC and database URLs) keep their scheme, host
	// and port; user info, query and key-like path segments are hidden.
	secretURL
)

// Redacted returns a copy of c in which the values of the secret keys
// (marked in the key table) are hidden: passwords and keys become
// "redacted", URLs keep only what redact.URL keeps. Empty values stay
// empty, so that the output still shows what is unset.
func (c *Config) Redacted() *Config {
	out := *c
	for _, k := range keys() {
		if k.secret == notSecret {
			continue
		}
		switch p := k.field(&out).(type) {
		case *string:
			*p = hideSecret(k.secret, *p)
		case *[]string:
			hidden := make([]string, len(*p))
			for i, v := range *p {
				hidden[i] = hideSecret(k.secret, v)
			}
			*p = hidden
		default:
			// The key table test keeps this from happening.
			panic(fmt.Sprintf("config: secret key %s has a %T field; secrets are strings", k.name, p))
		}
	}
	return &out
}

func hideSecret(kind secretKind, v string) string {
	switch {
	case v == "":
		return ""
	case kind == secretURL:
		return redact.URL(v)
	default:
		return redact.Mark
	}
}

// SecretKeys lists the keys whose values Redacted hides, in table order.
func SecretKeys() []string {
	var out []string
	for _, k := range keys() {
		if k.secret != notSecret {
			out = append(out, k.name)
		}
	}
	return out
}
