package peerexchange

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/rlnd/rlnd/wire"
)

// body strips a frame's length prefix, checking it.
func body(t *testing.T, frame []byte) []byte {
	t.Helper()
	b, err := wire.ReadFrame(bytes.NewReader(frame), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// msg appends fields to make a protobuf message.
func msg(fields ...func([]byte) []byte) []byte {
	var b []byte
	for _, f := range fields {
		b = f(b)
	}
	return b
}

func bytesField(num protowire.Number, v []byte) func([]byte) []byte {
	return func(b []byte) []byte {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendBytes(b, v)
	}
}

func varintField(num protowire.Number, v uint64) func([]byte) []byte {
	return func(b []byte) []byte {
		b = protowire.AppendTag(b, num, protowire.VarintType)
		return protowire.AppendVarint(b, v)
	}
}

func TestDecodeRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    []byte
		want uint64
		err  string // in the error; "" for none
	}{
		// nwaku writes field 1 and an empty response (status 0) beside it.
		{"nwaku", []byte{0x0a, 0x02, 0x08, 0x05, 0x12, 0x02, 0x50, 0x00}, 5, ""},
		{"js-waku", []byte{0x0a, 0x02, 0x08, 0x3c}, 60, ""},
		{"num_peers absent reads 0", []byte{0x0a, 0x00}, 0, ""},
		{"huge num_peers", msg(bytesField(1, msg(varintField(1, 1<<63)))), 1 << 63, ""},
		{"no query", []byte{0x12, 0x00}, 0, "no query (PeerExchangeRPC field 1)"},
		{"empty", nil, 0, "no query"},
		{"garbage", []byte{0xff, 0xff, 0xff}, 0, "malformed protobuf"},
		{"query of the wrong wire type (skipped as unknown)", []byte{0x08, 0x05}, 0, "no query"},
		{"oversized", make([]byte, MaxRequestSize+1), 0, "1025 bytes, at most 1024"},
	}
	for _, tc := range tests {
		got, err := decodeRequest(tc.b)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("%s: decodeRequest = %d, %v; want %d", tc.name, got, err, tc.want)
			}
			continue
		}
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: decodeRequest error %v, want ErrBadRequest saying %q", tc.name, err, tc.err)
		}
	}
	// Our own query is js-waku's.
	frame, err := encodeRequest(60)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x04, 0x0a, 0x02, 0x08, 0x3c}; !bytes.Equal(frame, want) {
		t.Fatalf("query frame %x, want %x", frame, want)
	}
}

// Our answers carry what nwaku's decoder requires: field 1 (an empty
// query) and status_code in the response; a description only on errors.
func TestEncodeResponseForNwaku(t *testing.T) {
	t.Parallel()
	n, _ := record(t, 1, "127.0.0.1", 60000)
	raw := rawOf(t, n)
	for _, tc := range []struct {
		name    string
		records [][]byte
		code    StatusCode
		desc    string
	}{
		{"success", [][]byte{raw, raw}, StatusOK, ""},
		{"empty success", nil, StatusOK, ""},
		{"refusal", nil, StatusTooManyRequests, "too many requests"},
	} {
		frame, err := encodeResponse(tc.records, tc.code, tc.desc)
		if err != nil {
			t.Fatal(err)
		}
		b := body(t, frame)
		if !bytes.HasPrefix(b, []byte{0x0a, 0x02, 0x08, 0x00}) {
			t.Fatalf("%s: answer %x does not start with field 1 = {num_peers: 0} as nwaku writes it", tc.name, b)
		}
		resp := fieldBytes(t, b, 2)
		if resp == nil {
			t.Fatalf("%s: no field 2 in %x", tc.name, b)
		}
		var infos int
		var code uint64
		var desc []byte
		for len(resp) > 0 {
			num, typ, n := protowire.ConsumeTag(resp)
			resp = resp[n:]
			switch {
			case num == 1 && typ == protowire.BytesType:
				v, n := protowire.ConsumeBytes(resp)
				if got := fieldBytes(t, v, 1); !bytes.Equal(got, raw) {
					t.Fatalf("%s: peer info %x, want the record", tc.name, v)
				}
				infos++
				resp = resp[n:]
			case num == 10 && typ == protowire.VarintType:
				v, n := protowire.ConsumeVarint(resp)
				code, resp = v, resp[n:]
			case num == 11 && typ == protowire.BytesType:
				v, n := protowire.ConsumeBytes(resp)
				desc, resp = v, resp[n:]
			default:
				t.Fatalf("%s: unexpected field %d type %d", tc.name, num, typ)
			}
		}
		if infos != len(tc.records) || code != uint64(tc.code) || string(desc) != tc.desc {
			t.Fatalf("%s: %d records, status %d %q; want %d, %d %q", tc.name, infos, code, desc, len(tc.records), tc.code, tc.desc)
		}
	}
}

// fieldBytes is the first length-delimited field num of message b.
func fieldBytes(t *testing.T, b []byte, num protowire.Number) []byte {
	t.Helper()
	for len(b) > 0 {
		n, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			t.Fatalf("bad tag in %x", b)
		}
		b = b[k:]
		k = protowire.ConsumeFieldValue(n, typ, b)
		if k < 0 {
			t.Fatalf("bad field %d", n)
		}
		if n == num && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b)
			return v
		}
		b = b[k:]
	}
	return nil
}

// The largest answer (MaxPeers records of MaxRecordSize) fits
// MaxResponseSize and decodes.
func TestLargestAnswer(t *testing.T) {
	t.Parallel()
	var records [][]byte
	for range MaxPeers {
		records = append(records, rawOf(t, fullRecord(t)))
	}
	frame, err := encodeResponse(records, StatusOK, "")
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, frame)
	if len(b) != 18371 || len(b) > MaxResponseSize {
		t.Fatalf("largest answer is %d bytes, want 18371 (at most %d)", len(b), MaxResponseSize)
	}
	nodes, err := decodeResponse(b, MaxPeers)
	if err != nil || len(nodes) != MaxPeers {
		t.Fatalf("decodeResponse = %d nodes, %v", len(nodes), err)
	}
}

func TestDecodeResponse(t *testing.T) {
	t.Parallel()
	a, _ := record(t, 1, "127.0.0.1", 60000)
	b, _ := record(t, 1, "127.0.0.2", 60000)
	ra, rb := rawOf(t, a), rawOf(t, b)
	tampered := bytes.Clone(ra)
	tampered[len(tampered)-1] ^= 1 // the last byte is in the port: the signature no longer holds
	info := func(r []byte) func([]byte) []byte { return bytesField(1, msg(bytesField(1, r))) }
	query0 := bytesField(1, []byte{0x08, 0x00})
	tests := []struct {
		name     string
		b        []byte
		numPeers int
		want     []*enode.Node
		err      error
		errText  string
	}{
		{"nwaku answer", msg(query0, bytesField(2, msg(info(ra), info(rb), varintField(10, 200)))), 5, []*enode.Node{a, b}, nil, ""},
		{"go-waku answer (no status)", msg(bytesField(2, msg(info(ra)))), 5, []*enode.Node{a}, nil, ""},
		{"empty answer", msg(query0, bytesField(2, msg(varintField(10, 200)))), 5, nil, nil, ""},
		{"nwaku refusal", msg(query0, bytesField(2, msg(varintField(10, 429)))), 5, nil, ErrRefused, "429 TOO_MANY_REQUESTS"},
		{"refusal with a description", msg(bytesField(2, msg(varintField(10, 400), bytesField(11, []byte("bad query"))))), 5, nil, ErrRefused, "400 BAD_REQUEST: bad query"},
		{"unknown code", msg(bytesField(2, msg(varintField(10, 0)))), 5, nil, ErrRefused, "refused: 0 0"},
		{"no response", msg(query0), 5, nil, ErrMalformedResponse, "no response (PeerExchangeRPC field 2)"},
		{"garbage", []byte{0xff, 0x01, 0x02}, 5, nil, ErrMalformedResponse, "malformed protobuf"},
		{"too many", msg(bytesField(2, msg(info(ra), info(rb)))), 1, nil, ErrTooManyRecords, "2 records, asked for 1"},
		{"a bad record is skipped", msg(bytesField(2, msg(info(tampered), info([]byte("not rlp")), info(rb)))), 5, []*enode.Node{b}, nil, ""},
		{"a duplicate is skipped", msg(bytesField(2, msg(info(ra), info(ra), info(rb)))), 5, []*enode.Node{a, b}, nil, ""},
		{"only bad records", msg(bytesField(2, msg(info(tampered), info(nil)))), 5, nil, ErrBadRecord, "none of the 2 records is good; record 1 of 2: no valid v4 signature: invalid signature on node record"},
		{"an oversized record", msg(bytesField(2, msg(info(make([]byte, MaxRecordSize+1))))), 5, nil, ErrBadRecord, "301 bytes, at most 300"},
		{"oversized answer", make([]byte, MaxResponseSize+1), 5, nil, ErrResponseTooLarge, "65537 bytes"},
	}
	for _, tc := range tests {
		got, err := decodeResponse(tc.b, tc.numPeers)
		if tc.err != nil {
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("%s: error %v, want %v saying %q", tc.name, err, tc.err, tc.errText)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d records, want %d", tc.name, len(got), len(tc.want))
			continue
		}
		for i := range got {
			if got[i].ID() != tc.want[i].ID() || got[i].Seq() != tc.want[i].Seq() {
				t.Errorf("%s: record %d is %s, want %s", tc.name, i, got[i].ID(), tc.want[i].ID())
			}
		}
	}
	var se *StatusError
	if _, err := decodeResponse(msg(bytesField(2, msg(varintField(10, 503), bytesField(11, []byte("x"))))), 5); !errors.As(err, &se) || se.Code != StatusUnavailable || se.Description != "x" {
		t.Fatalf("503 answer: %v, want a *StatusError 503 \"x\"", err)
	}
}
