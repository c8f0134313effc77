package wakuenr

import (
	"fmt"
	"strings"
)

// Capabilities is the waku2 entry: one flag per protocol a node serves
// (RFC 31; bit 0 is the least significant).
type Capabilities uint8

// Capability flags.
const (
	Relay     Capabilities = 1 << 0
	Store     Capabilities = 1 << 1
	Filter    Capabilities = 1 << 2
	Lightpush Capabilities = 1 << 3
	Sync      Capabilities = 1 << 4

	// knownCapabilities are the flags RFC 31 defines; other bits are
	// kept as read but have no name.
	knownCapabilities = Relay | Store | Filter | Lightpush | Sync
)

var capabilityNames = []struct {
	c    Capabilities
	name string
}{
	{Relay, "relay"}, {Store, "store"}, {Filter, "filter"}, {Lightpush, "lightpush"}, {Sync, "sync"},
}

// Has reports whether every flag of want is set in c.
func (c Capabilities) Has(want Capabilities) bool { return c&want == want }

// String lists the flags, comma separated ("relay,store"), "none" for
// none; bits RFC 31 does not define are shown in hex at the end
// ("relay,0x80").
func (c Capabilities) String() string {
	if c == 0 {
		return "none"
	}
	var parts []string
	for _, n := range capabilityNames {
		if c&n.c != 0 {
			parts = append(parts, n.name)
		}
	}
	if rest := c &^ knownCapabilities; rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint8(rest)))
	}
	return strings.Join(parts, ",")
}

// ParseCapabilities reads a comma-separated list of capability names
// (relay, store, filter, lightpush, sync; case and spaces ignored), as
// String writes them. "" and "none" are no capabilities.
func ParseCapabilities(s string) (Capabilities, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return 0, nil
	}
	var c Capabilities
next:
	for _, part := range strings.Split(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		for _, n := range capabilityNames {
			if part == n.name {
				c |= n.c
				continue next
			}
		}
		return 0, fmt.Errorf("%w: capability %q, want one of relay, store, filter, lightpush, sync", ErrInvalid, part)
	}
	return c, nil
}

// EncodeCapabilities is the waku2 value: one byte, as nwaku writes it.
func EncodeCapabilities(c Capabilities) []byte { return []byte{byte(c)} }

// DecodeCapabilities reads a waku2 value (the RLP string's bytes): one
// byte. An empty value is 0 (the RLP encoding of the integer 0, which
// writers that encode the flags as an integer produce).
func DecodeCapabilities(b []byte) (Capabilities, error) {
	switch len(b) {
	case 0:
		return 0, nil
	case 1:
		return Capabilities(b[0]), nil
	}
	return 0, fmt.Errorf("%w: %s is %d bytes, want 1", ErrMalformed, KeyCapabilities, len(b))
}
