// Package mplex is the libp2p mplex stream multiplexer (/mplex/6.7.0),
// written against go-libp2p's network.Multiplexer: js-waku's default
// libp2p stack muxes with mplex only, and go-libp2p no longer ships it.
//
// The wire, from the libp2p mplex spec: a frame is a varint header
// (stream id << 3 | flag), a varint length and that many bytes of data.
// Stream ids are chosen by the side that opens the stream, so the flags
// tell whose id a frame names: the opener sends the Initiator variants,
// the other side the Receiver ones. Close is a half-close of the sender's
// direction; reset aborts both. mplex has no flow control: a stream that
// lets unread data pile up past a bound is reset.
package mplex

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ID is mplex's multistream-select protocol id.
const ID = "/mplex/6.7.0"

// MaxFrameData is the largest frame body the spec allows (1 MiB); a
// larger length is a protocol violation and ends the connection.
const MaxFrameData = 1 << 20

// flag is the low three bits of a frame header.
type flag uint64

const (
	flagNewStream      flag = 0
	flagMsgReceiver    flag = 1
	flagMsgInitiator   flag = 2
	flagCloseReceiver  flag = 3
	flagCloseInitiator flag = 4
	flagResetReceiver  flag = 5
	flagResetInitiator flag = 6
)

// ErrProtocol is a frame the spec does not allow.
var ErrProtocol = errors.New("mplex: protocol violation")

// frame is one decoded frame.
type frame struct {
	id   uint64
	flag flag
	data []byte
}

// maxStreamID keeps id << 3 | flag within a uint64.
const maxStreamID = 1<<61 - 1

// readFrame reads one frame. A header or length that is not a valid varint,
// an unknown flag or an oversized body is ErrProtocol; a stream that ends
// inside a frame is io.ErrUnexpectedEOF, and before one io.EOF.
func readFrame(r *bufio.Reader) (frame, error) {
	h, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return frame{}, io.EOF
		}
		return frame{}, headerErr("header", err)
	}
	f := frame{id: h >> 3, flag: flag(h & 7)}
	if f.flag > flagResetInitiator {
		return frame{}, fmt.Errorf("%w: unknown flag %d on stream %d", ErrProtocol, f.flag, f.id)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return frame{}, headerErr("length", err)
	}
	if n > MaxFrameData {
		return frame{}, fmt.Errorf("%w: frame of %d bytes on stream %d, at most %d allowed", ErrProtocol, n, f.id, MaxFrameData)
	}
	if n > 0 {
		f.data = make([]byte, n)
		if _, err := io.ReadFull(r, f.data); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return frame{}, fmt.Errorf("mplex: frame body on stream %d: %w", f.id, err)
		}
	}
	return f, nil
}

func headerErr(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("mplex: frame %s: %w", what, io.ErrUnexpectedEOF)
	}
	// ReadUvarint's other error is a varint longer than 64 bits; a
	// failing connection surfaces here too, and either way the
	// connection is done.
	return fmt.Errorf("%w: frame %s: %v", ErrProtocol, what, err)
}

// appendFrame appends the encoding of a frame to b.
func appendFrame(b []byte, id uint64, fl flag, data []byte) []byte {
	b = binary.AppendUvarint(b, id<<3|uint64(fl))
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}
