package wakuenr

import (
	"encoding/binary"
	"fmt"

	"github.com/ethereum/go-ethereum/p2p/enr"
	ma "github.com/multiformats/go-multiaddr"
)

// maxMultiaddrsValue bounds a multiaddrs value given to
// DecodeMultiaddrs: no record can hold more.
const maxMultiaddrsValue = enr.SizeLimit

// EncodeMultiaddrs is the multiaddrs value of addrs: each address as u16
// BE length | binary multiaddr, in order. Addresses are written as given
// (Apply and Build take the /p2p part off first).
func EncodeMultiaddrs(addrs []ma.Multiaddr) ([]byte, error) {
	var b []byte
	for k, a := range addrs {
		raw := a.Bytes()
		if len(raw) == 0 || len(raw) > 0xffff {
			return nil, fmt.Errorf("%w: multiaddr %d is %d bytes, want 1 to 65535", ErrInvalid, k, len(raw))
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(raw)))
		b = append(b, raw...)
	}
	return b, nil
}

// DecodeMultiaddrs reads a multiaddrs value. It is strict: every length
// must be non-zero and within the value, every address a valid multiaddr,
// and the value at most enr.SizeLimit bytes. An empty value is no
// addresses.
func DecodeMultiaddrs(b []byte) ([]ma.Multiaddr, error) {
	if len(b) > maxMultiaddrsValue {
		return nil, fmt.Errorf("%w: %s is %d bytes, want at most %d", ErrMalformed, KeyMultiaddrs, len(b), maxMultiaddrsValue)
	}
	var out []ma.Multiaddr
	for pos, k := 0, 0; pos < len(b); k++ {
		if len(b)-pos < 2 {
			return nil, fmt.Errorf("%w: %s entry %d at byte %d: %d byte(s) left, want a 2-byte length", ErrMalformed, KeyMultiaddrs, k, pos, len(b)-pos)
		}
		n := int(binary.BigEndian.Uint16(b[pos:]))
		pos += 2
		if n == 0 {
			return nil, fmt.Errorf("%w: %s entry %d has length 0, want a multiaddr", ErrMalformed, KeyMultiaddrs, k)
		}
		if len(b)-pos < n {
			return nil, fmt.Errorf("%w: %s entry %d has length %d, only %d byte(s) left", ErrMalformed, KeyMultiaddrs, k, n, len(b)-pos)
		}
		a, err := ma.NewMultiaddrBytes(b[pos : pos+n])
		if err != nil {
			return nil, fmt.Errorf("%w: %s entry %d: %w", ErrMalformed, KeyMultiaddrs, k, err)
		}
		out = append(out, a)
		pos += n
	}
	return out, nil
}
