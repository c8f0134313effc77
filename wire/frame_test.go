package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

// A frame arriving a byte at a time, across several doublings of the
// buffer, reads back whole, into a buffer of exactly its length.
func TestReadFrameGrowsAcrossChunks(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, FrameChunk - 1, FrameChunk, FrameChunk + 1, 3*FrameChunk + 7, 40 * FrameChunk} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(i*7 + i>>8)
		}
		framed := AppendFrame(nil, body)
		framed = AppendFrame(framed, []byte("next"))
		r := iotest.OneByteReader(bytes.NewReader(framed))
		got, err := ReadFrame(r, size)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d-byte frame: err %v, equal %v", size, err, bytes.Equal(got, body))
		}
		if cap(got) != size {
			t.Fatalf("%d-byte frame in a buffer of capacity %d", size, cap(got))
		}
		if next, err := ReadFrame(r, size+4); err != nil || string(next) != "next" {
			t.Fatalf("after a %d-byte frame: %q, %v", size, next, err)
		}
	}
}

// A body cut short at any point, chunk boundaries included, is
// io.ErrUnexpectedEOF.
func TestReadFrameTruncatedAtChunkBoundary(t *testing.T) {
	t.Parallel()
	const size = 5 * FrameChunk
	framed := AppendFrame(nil, make([]byte, size))
	head := len(framed) - size
	for _, sent := range []int{0, 1, FrameChunk - 1, FrameChunk, FrameChunk + 1, 2 * FrameChunk, 4 * FrameChunk, size - 1} {
		_, err := ReadFrame(bytes.NewReader(framed[:head+sent]), size)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("body cut after %d of %d bytes: %v, want io.ErrUnexpectedEOF", sent, size, err)
		}
	}
}

// A frame announcing announced bytes of which only sent arrive allocates
// about 2*max(sent, FrameChunk), far less than announced: the buffer grows
// with what arrives. (Not parallel: it reads the process's allocation
// counter, and the parallel tests are paused while it runs.)
func TestReadFrameAllocatesWhatArrives(t *testing.T) {
	const announced = 16 << 20
	tests := []struct {
		sent  int
		bound uint64 // bytes allocated, at most
	}{
		{0, 16 << 10},
		{100, 16 << 10},
		{10_000, 64 << 10},
		{100_000, 512 << 10},
	}
	for _, tt := range tests {
		in := append(binary.AppendUvarint(nil, announced), make([]byte, tt.sent)...)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ReadFrame(bytes.NewReader(in), announced)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%d of %d bytes sent: %v, want io.ErrUnexpectedEOF", tt.sent, announced, err)
		}
		allocated := after.TotalAlloc - before.TotalAlloc
		t.Logf("announced %d MiB, sent %d bytes: allocated %d bytes (bound %d)", announced>>20, tt.sent, allocated, tt.bound)
		if allocated > tt.bound {
			t.Errorf("announced %d bytes, sent %d: allocated %d bytes, want at most %d", announced, tt.sent, allocated, tt.bound)
		}
	}
}
