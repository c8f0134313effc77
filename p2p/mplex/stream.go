package mplex

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

var (
	errDeadline    = os.ErrDeadlineExceeded
	errWriteClosed = errors.New("mplex: write on a stream closed for writing")
	errReadClosed  = errors.New("mplex: read on a stream closed for reading")
)

type stream struct {
	c   *conn
	key streamKey

	mu           sync.Mutex
	chunks       [][]byte // unread data, oldest first
	buffered     int
	remoteClosed bool // the remote side closed its direction: EOF once drained
	readClosed   bool
	writeClosed  bool
	resetErr     error         // why the stream can no longer be used
	reset        chan struct{} // closed with resetErr
	notify       chan struct{} // wakes a blocked Read
	space        chan struct{} // tells a waiting deliver that Read made room

	readDL, writeDL deadline
}

var _ network.MuxedStream = (*stream)(nil)

func newStream(c *conn, key streamKey) *stream {
	s := &stream{c: c, key: key, reset: make(chan struct{}), notify: make(chan struct{}, 1), space: make(chan struct{}, 1)}
	s.readDL.init()
	s.writeDL.init()
	return s
}

// flags are the message, close and reset flags this side sends: the
// Initiator variants on streams it opened.
func (s *stream) flags() (msg, closeF, resetF flag) {
	if s.key.local {
		return flagMsgInitiator, flagCloseInitiator, flagResetInitiator
	}
	return flagMsgReceiver, flagCloseReceiver, flagResetReceiver
}

func (s *stream) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Read reads data the remote side sent; io.EOF after it closed and all is
// read.
func (s *stream) Read(p []byte) (int, error) {
	for {
		s.mu.Lock()
		switch {
		case s.resetErr != nil:
			err := s.resetErr
			s.mu.Unlock()
			return 0, err
		case s.buffered > 0:
			n := 0
			for n < len(p) && len(s.chunks) > 0 {
				k := copy(p[n:], s.chunks[0])
				n += k
				if k == len(s.chunks[0]) {
					s.chunks[0] = nil
					s.chunks = s.chunks[1:]
				} else {
					s.chunks[0] = s.chunks[0][k:]
				}
			}
			s.buffered -= n
			s.c.buffered.Add(-int64(n))
			s.mu.Unlock()
			select {
			case s.space <- struct{}{}:
			default:
			}
			return n, nil
		case s.readClosed:
			s.mu.Unlock()
			return 0, errReadClosed
		case s.remoteClosed:
			s.mu.Unlock()
			return 0, io.EOF
		}
		s.mu.Unlock()
		if len(p) == 0 {
			return 0, nil
		}
		select {
		case <-s.notify:
		case <-s.reset:
		case <-s.readDL.wait():
			return 0, errDeadline
		}
	}
}

// push buffers received data; false when the bound would be passed (or
// when the stream is reset or closed for reading: the data is dropped).
func (s *stream) push(data []byte) bool {
	if len(data) == 0 {
		return true
	}
	s.mu.Lock()
	if s.resetErr != nil || s.readClosed {
		s.mu.Unlock()
		return true // dropped: nobody will read it
	}
	// One frame (at most 1 MiB) always fits an empty stream buffer; the
	// connection's bound holds for every frame.
	if (s.buffered > 0 && s.buffered+len(data) > s.c.maxBuffer) || s.c.buffered.Load()+int64(len(data)) > s.c.maxConnBuf {
		s.mu.Unlock()
		return false
	}
	s.chunks = append(s.chunks, data)
	s.buffered += len(data)
	s.c.buffered.Add(int64(len(data)))
	s.mu.Unlock()
	s.wake()
	return true
}

// Write sends p in frames of at most MaxFrameData bytes.
func (s *stream) Write(p []byte) (int, error) {
	msg, _, _ := s.flags()
	written := 0
	for {
		s.mu.Lock()
		err := s.resetErr
		if err == nil && s.writeClosed {
			err = errWriteClosed
		}
		s.mu.Unlock()
		if err != nil {
			return written, err
		}
		if written == len(p) {
			return written, nil
		}
		n := min(len(p)-written, MaxFrameData)
		f := appendFrame(make([]byte, 0, n+20), s.key.id, msg, p[written:written+n])
		// A write is bounded by the stream's write deadline, not a context.
		if err := s.c.send(context.Background(), s, f); err != nil {
			return written, err
		}
		written += n
	}
}

// CloseWrite half-closes: the remote side reads EOF after what was sent.
func (s *stream) CloseWrite() error {
	_, closeF, _ := s.flags()
	s.mu.Lock()
	if s.writeClosed || s.resetErr != nil {
		s.mu.Unlock()
		return nil
	}
	s.writeClosed = true
	done := s.remoteClosed || s.readClosed
	s.mu.Unlock()
	s.c.sendControl(appendFrame(nil, s.key.id, closeF, nil))
	if done {
		s.c.remove(s)
	}
	return nil
}

// CloseRead discards what arrives from now on.
func (s *stream) CloseRead() error {
	s.mu.Lock()
	s.readClosed = true
	s.dropBuffered()
	done := s.writeClosed
	s.mu.Unlock()
	s.wake()
	if done {
		s.c.remove(s)
	}
	return nil
}

// Close closes both directions.
func (s *stream) Close() error {
	_ = s.CloseWrite()
	return s.CloseRead()
}

// Reset aborts the stream in both directions and tells the remote side.
func (s *stream) Reset() error {
	s.resetLocal()
	return nil
}

// ResetWithError is Reset: mplex carries no error codes.
func (s *stream) ResetWithError(network.StreamErrorCode) error { return s.Reset() }

func (s *stream) resetLocal() {
	if !s.markReset(network.ErrReset) {
		return
	}
	_, _, resetF := s.flags()
	s.c.queueReset(appendFrame(nil, s.key.id, resetF, nil))
	s.c.remove(s)
}

func (s *stream) remoteReset() {
	if s.markReset(network.ErrReset) {
		s.c.remove(s)
	}
}

func (s *stream) remoteClose() {
	s.mu.Lock()
	s.remoteClosed = true
	done := s.writeClosed
	s.mu.Unlock()
	s.wake()
	if done {
		s.c.remove(s)
	}
}

// connClosed fails the stream with the connection's error.
func (s *stream) connClosed(err error) { s.markReset(err) }

// dropBuffered discards the unread data (s.mu held).
func (s *stream) dropBuffered() {
	s.c.buffered.Add(-int64(s.buffered))
	s.chunks, s.buffered = nil, 0
}

// markReset records the first reason the stream ends; false if it had
// ended already.
func (s *stream) markReset(err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resetErr != nil {
		return false
	}
	s.resetErr = err
	s.dropBuffered()
	close(s.reset)
	return true
}

func (s *stream) SetDeadline(t time.Time) error {
	s.readDL.set(t)
	s.writeDL.set(t)
	return nil
}

func (s *stream) SetReadDeadline(t time.Time) error {
	s.readDL.set(t)
	return nil
}

func (s *stream) SetWriteDeadline(t time.Time) error {
	s.writeDL.set(t)
	return nil
}

// deadline is a channel that is closed when a settable time passes.
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer
	ch    chan struct{}
}

func (d *deadline) init() { d.ch = make(chan struct{}) }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.ch // the timer fired: wait for it to close ch
	}
	d.timer = nil
	select {
	case <-d.ch:
		d.ch = make(chan struct{})
	default:
	}
	if t.IsZero() {
		return
	}
	if wait := time.Until(t); wait <= 0 {
		close(d.ch)
	} else {
		ch := d.ch
		d.timer = time.AfterFunc(wait, func() { close(ch) })
	}
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}
