package mplex

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// readFrame never panics, accepts only frames within the spec, and a frame
// it accepts survives re-encoding.
func FuzzReadFrame(f *testing.F) {
	f.Add(appendFrame(nil, 0, flagNewStream, []byte("0")))
	f.Add(appendFrame(nil, 7, flagMsgInitiator, []byte("hello")))
	f.Add(appendFrame(nil, 1<<40, flagResetReceiver, nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{1<<3 | 7, 0})
	f.Add([]byte{0x10, 0x80, 0x80, 0x80, 0x01}) // length 2 MiB
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		fr, err := readFrame(r)
		if err != nil {
			if len(b) == 0 && !errors.Is(err, io.EOF) {
				t.Fatalf("empty input: %v, want io.EOF", err)
			}
			return
		}
		if fr.flag > flagResetInitiator || len(fr.data) > MaxFrameData {
			t.Fatalf("accepted %+v", fr)
		}
		enc := appendFrame(nil, fr.id, fr.flag, fr.data)
		back, err := readFrame(bufio.NewReader(bytes.NewReader(enc)))
		if err != nil || back.id != fr.id || back.flag != fr.flag || !bytes.Equal(back.data, fr.data) {
			t.Fatalf("re-encoded frame reads back as %+v, %v; want %+v", back, err, fr)
		}
	})
}

// A connection fed arbitrary bytes never panics, and ends or keeps going
// with its streams readable.
func FuzzConnInput(f *testing.F) {
	f.Add(appendFrame(appendFrame(nil, 0, flagNewStream, []byte("0")), 0, flagMsgInitiator, []byte("data")))
	f.Add(appendFrame(appendFrame(appendFrame(nil, 2, flagNewStream, nil), 2, flagCloseInitiator, nil), 2, flagResetInitiator, nil))
	f.Add(appendFrame(nil, 0, flagMsgReceiver, []byte("to a stream nobody opened")))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, y := net.Pipe()
		c := (&Transport{ReceiveTimeout: time.Millisecond, MaxStreamBuffer: 64}).newConn(x)
		defer c.Close()
		go func() {
			for {
				s, err := c.AcceptStream()
				if err != nil {
					return
				}
				go io.Copy(io.Discard, s)
			}
		}()
		y.SetWriteDeadline(time.Now().Add(time.Second))
		y.Write(b)
		y.Close()
	})
}
