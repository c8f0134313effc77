package peerexchange

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/p2p/enode"
)

// The server's request decoder never panics, fails only with
// ErrBadRequest, and reads our own encoding of what it accepted back to
// the same count. (Seeds: testdata/fuzz/FuzzDecodeRequest.)
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte{0x0a, 0x02, 0x08, 0x05, 0x12, 0x02, 0x50, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := decodeRequest(b)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		frame, err := encodeRequest(n)
		if err != nil {
			t.Fatalf("accepted count %d does not encode: %v", n, err)
		}
		back, err := decodeRequest(body(t, frame))
		if err != nil || back != n {
			t.Fatalf("round trip of %d: %d, %v", n, back, err)
		}
	})
}

// The client's answer decoder never panics, fails only with its sentinels,
// and returns at most numPeers distinct records, each signed and each one
// of the records the answer carries. (Seeds:
// testdata/fuzz/FuzzDecodeResponse: answers of nwaku's and go-waku's
// shape with signed records, refusals, forged and oversized records.)
func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte{0x0a, 0x02, 0x08, 0x00, 0x12, 0x03, 0x50, 0xc8, 0x01}, uint8(5))
	f.Fuzz(func(t *testing.T, b []byte, numPeers uint8) {
		nodes, err := decodeResponse(b, int(numPeers))
		if err != nil {
			var se *StatusError
			switch {
			case errors.As(err, &se):
				if se.Code == StatusOK {
					t.Fatalf("a 200 answer failed as refused: %v", err)
				}
			case errors.Is(err, ErrMalformedResponse), errors.Is(err, ErrResponseTooLarge),
				errors.Is(err, ErrTooManyRecords), errors.Is(err, ErrBadRecord):
			default:
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(nodes) > int(numPeers) {
			t.Fatalf("%d records for %d asked", len(nodes), numPeers)
		}
		seen := map[enode.ID]bool{}
		for _, n := range nodes {
			if seen[n.ID()] {
				t.Fatalf("record %s twice", n.ID())
			}
			seen[n.ID()] = true
			if _, err := enode.New(enode.ValidSchemes, n.Record()); err != nil {
				t.Fatalf("returned record %s does not verify: %v", n.ID(), err)
			}
			raw := rawOf(t, n)
			if len(raw) > MaxRecordSize || !bytes.Contains(b, raw) {
				t.Fatalf("returned record %s (%d bytes) is not one the answer carries", n.ID(), len(raw))
			}
		}
	})
}
