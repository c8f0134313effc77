package peermgr

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeStore: the peer store decoder never panics, refuses what does
// not check out with errCorruptStore, and what it accepts encodes back to
// records that decode the same. Each input is tried as a whole file and,
// behind a valid header, as a document (so that the records' checks are
// reached past the checksum). Seeds in testdata/fuzz/FuzzDecodeStore: a
// valid file, its document alone, a truncated file, one with a damaged
// byte, an empty one.
func FuzzDecodeStore(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		checkDecode(t, append(storeHeader(data), data...))
	})
}

func checkDecode(t *testing.T, data []byte) {
	peers, err := decodeStore(data)
	if err != nil {
		if !errors.Is(err, errCorruptStore) {
			t.Fatalf("error %v is not errCorruptStore", err)
		}
		return
	}
	again, err := encodeStore(peers)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeStore(again)
	if err != nil {
		t.Fatalf("re-encoded store does not decode: %v", err)
	}
	if len(back) != len(peers) || (len(peers) > 0 && !reflect.DeepEqual(back, peers)) {
		t.Fatalf("round trip changed the records:\n%+v\n%+v", peers, back)
	}
}
