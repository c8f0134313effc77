package mplex

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	muxtest "github.com/libp2p/go-libp2p/p2p/muxer/testsuite"
)

// go-libp2p's conformance suite for stream multiplexers.
func TestMuxerSuite(t *testing.T) {
	muxtest.SubtestAll(t, DefaultTransport)
}

// pair runs mplex on both ends of an in-memory connection.
func pair(t *testing.T, tr *Transport) (a, b *conn) {
	t.Helper()
	x, y := net.Pipe()
	a, b = tr.newConn(x), tr.newConn(y)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// The bytes on the wire are the spec's: NewStream with the id as name,
// messages with the initiator flag one way and the receiver flag back,
// close frames each way.
func TestWireFormat(t *testing.T) {
	x, y := net.Pipe()
	c := DefaultTransport.newConn(x)
	defer c.Close()
	r := bufio.NewReader(y)
	opened := make(chan io.Reader, 1)
	go func() {
		s, err := c.OpenStream(context.Background())
		if err != nil {
			close(opened)
			return
		}
		opened <- s
		s.Write([]byte("hi"))
		s.CloseWrite()
	}()
	want := []frame{
		{id: 0, flag: flagNewStream, data: []byte("0")},
		{id: 0, flag: flagMsgInitiator, data: []byte("hi")},
		{id: 0, flag: flagCloseInitiator},
	}
	for _, w := range want {
		f, err := readFrame(r)
		if err != nil {
			t.Fatal(err)
		}
		if f.id != w.id || f.flag != w.flag || !bytes.Equal(f.data, w.data) {
			t.Fatalf("frame %+v, want %+v", f, w)
		}
	}
	// The remote side answers on stream 0 with receiver flags.
	if _, err := y.Write(appendFrame(appendFrame(nil, 0, flagMsgReceiver, []byte("yo")), 0, flagCloseReceiver, nil)); err != nil {
		t.Fatal(err)
	}
	s := <-opened
	if s == nil {
		t.Fatal("OpenStream failed")
	}
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "yo" {
		t.Fatalf("read %q, %v; want \"yo\" then EOF", got, err)
	}
}

// A stream whose reader falls behind by more than the buffer bound is
// reset; the connection and other streams go on.
func TestSlowReaderIsReset(t *testing.T) {
	a, b := pair(t, &Transport{MaxStreamBuffer: 1000, ReceiveTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	s1, err := a.OpenStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := b.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}
	// One frame always fits an empty buffer: the byte after it is over
	// the bound.
	if _, err := s1.Write(make([]byte, 1500)); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	// The reset comes back to the writer.
	waitReset(t, s1, "the overflowing stream")
	if _, err := s1.Write([]byte{1}); !errors.Is(err, errReset()) {
		t.Fatalf("write on the overflowing stream: %v, want a reset", err)
	}
	if _, err := r1.Read(make([]byte, 10)); !errors.Is(err, errReset()) {
		t.Fatalf("reader of the overflowing stream: %v, want a reset", err)
	}
	s2, err := a.OpenStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := b.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}
	go s2.Write([]byte("still here"))
	buf := make([]byte, 10)
	if _, err := io.ReadFull(r2, buf); err != nil || string(buf) != "still here" {
		t.Fatalf("second stream: %q %v", buf, err)
	}
}

// A frame over 1 MiB, or with an unknown flag, ends the connection.
func TestProtocolViolationsCloseTheConnection(t *testing.T) {
	for name, bad := range map[string][]byte{
		"oversized frame":     appendFrame(nil, 1, flagMsgInitiator, make([]byte, MaxFrameData+1)),
		"unknown flag 7":      {1<<3 | 7, 0},
		"stream opened twice": appendFrame(appendFrame(nil, 3, flagNewStream, nil), 3, flagNewStream, nil),
	} {
		t.Run(name, func(t *testing.T) {
			x, y := net.Pipe()
			c := DefaultTransport.newConn(x)
			defer c.Close()
			go func() {
				for {
					if _, err := c.AcceptStream(); err != nil {
						return
					}
				}
			}()
			go y.Write(bad)
			select {
			case <-c.closed:
			case <-time.After(10 * time.Second):
				t.Fatal("connection still open")
			}
			if _, err := c.OpenStream(context.Background()); err == nil {
				t.Fatal("OpenStream on a failed connection succeeded")
			}
		})
	}
}

// Inbound streams beyond the bound are reset, not kept.
func TestInboundStreamLimit(t *testing.T) {
	a, b := pair(t, &Transport{MaxInboundStreams: 3, AcceptBacklog: 10, ReceiveTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	var streams []io.ReadWriter
	for range 5 {
		s, err := a.OpenStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
	}
	for range 3 {
		if _, err := b.AcceptStream(); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range streams[3:] {
		waitReset(t, s, "a stream over the inbound limit")
		if _, err := s.Write([]byte{1}); !errors.Is(err, errReset()) {
			t.Fatalf("write on a stream over the inbound limit: %v, want a reset", err)
		}
	}
	b.mu.Lock()
	n := b.inbound
	b.mu.Unlock()
	if n != 3 {
		t.Fatalf("%d inbound streams kept, want 3", n)
	}
}

func errReset() error { return networkErrReset }

// waitReset waits until the remote side's reset of s arrived (s is one
// of this package's streams).
func waitReset(t *testing.T, s any, what string) {
	t.Helper()
	select {
	case <-s.(*stream).reset:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s was not reset", what)
	}
}

// The unread data of all streams together is bounded too: a peer cannot
// spread its excess over many streams.
func TestConnBufferBound(t *testing.T) {
	a, b := pair(t, &Transport{MaxConnBuffer: 100, ReceiveTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	s1, _ := a.OpenStream(ctx)
	s2, _ := a.OpenStream(ctx)
	for range 2 {
		if _, err := b.AcceptStream(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s1.Write(make([]byte, 60)); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Write(make([]byte, 60)); err != nil {
		t.Fatal(err)
	}
	waitReset(t, s2, "the stream over the connection's bound")
	if _, err := s2.Write(make([]byte, 60)); !errors.Is(err, errReset()) {
		t.Fatalf("write on the stream over the connection's bound: %v, want a reset", err)
	}
	if got := b.buffered.Load(); got > 100 {
		t.Fatalf("%d bytes buffered, bound 100", got)
	}
}

// The reader keeps reading while the peer reads nothing: the resets it
// owes (here, for streams over the inbound limit) never block it, and too
// many owed resets close the connection instead of piling up.
func TestResetsDoNotStallTheReader(t *testing.T) {
	for _, tc := range []struct {
		streams    uint64
		wantClosed bool
	}{{300, false}, {maxPendingResets + 200, true}} {
		x, y := net.Pipe()
		c := (&Transport{MaxInboundStreams: 1}).newConn(x)
		// Stream 0 is accepted, the others refused; then a probe on
		// stream 0 shows whether the reader got through them all.
		var frames []byte
		for id := range tc.streams {
			frames = appendFrame(frames, id, flagNewStream, nil)
		}
		frames = appendFrame(frames, 0, flagMsgInitiator, []byte("probe"))
		go y.Write(frames)
		got := make(chan string, 1)
		go func() {
			s, err := c.AcceptStream()
			if err != nil {
				got <- err.Error()
				return
			}
			buf := make([]byte, 5)
			if _, err := io.ReadFull(s, buf); err != nil {
				got <- err.Error()
				return
			}
			got <- string(buf)
		}()
		select {
		case g := <-got:
			if tc.wantClosed != (g != "probe") {
				t.Fatalf("%d refused streams: read %q, closed %v", tc.streams, g, c.IsClosed())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d refused streams: the reader stalled", tc.streams)
		}
		if c.IsClosed() != tc.wantClosed {
			t.Fatalf("%d refused streams: closed %v, want %v", tc.streams, c.IsClosed(), tc.wantClosed)
		}
		c.Close()
		y.Close()
	}
}
