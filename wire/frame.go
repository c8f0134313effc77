package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Every Waku request-response protocol and the gossipsub RPC stream carry
// protobufs as frames: an unsigned varint length, then that many bytes.

// ReadFrame reads one frame of at most max bytes. A frame announcing more
// is rejected before its body is read. io.EOF is returned only when the
// stream ends cleanly before a frame starts.
//
// The body's buffer grows as its bytes arrive (FrameChunk first, then
// doubling, capped at the announced length), so a peer that announces a
// large frame and sends little of it holds about twice what it sent, not
// what it announced. A complete frame's buffer is exactly its length.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	n, err := readUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: frame of %d bytes, at most %d allowed", ErrTooLarge, n, max)
	}
	return readBody(r, int(n))
}

// FrameChunk is the first buffer ReadFrame allocates for a frame body.
const FrameChunk = 4 << 10

// readBody reads n bytes into a buffer that doubles as they arrive.
func readBody(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, min(n, FrameChunk))
	got := 0
	for {
		k, err := io.ReadFull(r, buf[got:])
		got += k
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("read frame body (%d of %d bytes): %w", got, n, err)
		}
		if got == n {
			return buf, nil
		}
		grown := make([]byte, min(2*len(buf), n))
		copy(grown, buf)
		buf = grown
	}
}

// readUvarint reads a varint one byte at a time (streams are not
// io.ByteReaders); at most 10 bytes, minimal encodings not required.
func readUvarint(r io.Reader) (uint64, error) {
	var (
		x     uint64
		shift uint
		b     [1]byte
	)
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, fmt.Errorf("read frame length: %w", err)
		}
		if b[0] < 0x80 {
			if i == binary.MaxVarintLen64-1 && b[0] > 1 {
				break
			}
			return x | uint64(b[0])<<shift, nil
		}
		x |= uint64(b[0]&0x7f) << shift
		shift += 7
	}
	return 0, fmt.Errorf("%w: frame length varint overflows 64 bits", ErrMalformed)
}

// AppendFrame appends the frame of b to dst.
func AppendFrame(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// WriteFrame writes b as one frame with a single Write call.
func WriteFrame(w io.Writer, b []byte) error {
	_, err := w.Write(AppendFrame(make([]byte, 0, len(b)+binary.MaxVarintLen64), b))
	return err
}
