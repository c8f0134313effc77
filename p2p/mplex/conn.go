package mplex

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// Transport makes mplex connections. The zero value uses the defaults.
type Transport struct {
	// MaxStreamBuffer is how many unread bytes a stream may hold before it
	// is reset (default 4 MiB).
	MaxStreamBuffer int
	// MaxConnBuffer is how many unread bytes all streams of a connection
	// may hold together (default 32 MiB).
	MaxConnBuffer int
	// MaxInboundStreams bounds the streams the remote side has open at
	// once; more are reset (default 1024).
	MaxInboundStreams int
	// AcceptBacklog is how many new inbound streams may wait for
	// AcceptStream (default 256).
	AcceptBacklog int
	// ReceiveTimeout is how long the connection's reader waits for room
	// when a stream's buffer is full or the accept backlog is: mplex has
	// no flow control, so the whole connection waits, and after this long
	// the stream is reset instead (default 5 s, as go-mplex).
	ReceiveTimeout time.Duration
}

// DefaultTransport has the default limits.
var DefaultTransport = &Transport{}

var _ network.Multiplexer = (*Transport)(nil)

const (
	defaultStreamBuffer = 4 << 20
	defaultConnBuffer   = 32 << 20
	defaultMaxInbound   = 1024
	defaultBacklog      = 256
	defaultRecvTimeout  = 5 * time.Second
	// writeQueue is how many frames may wait for the connection writer.
	writeQueue = 64
)

// ErrConnClosed is returned by operations on a closed connection.
var ErrConnClosed = errors.New("mplex: connection closed")

// NewConn runs mplex over c. isServer does not matter to mplex (either side
// may open streams); scope is not used.
func (t *Transport) NewConn(c net.Conn, isServer bool, scope network.PeerScope) (network.MuxedConn, error) {
	return t.newConn(c), nil
}

// streamKey names a stream: the id and whether this side opened it.
type streamKey struct {
	id    uint64
	local bool
}

type conn struct {
	nc          net.Conn
	maxBuffer   int
	maxConnBuf  int64
	buffered    atomic.Int64 // unread bytes of all streams
	maxIn       int
	recvTimeout time.Duration

	writes chan []byte   // encoded frames, in order
	closed chan struct{} // closed once by Close or a connection error

	mu       sync.Mutex
	streams  map[streamKey]*stream
	inbound  int
	nextID   uint64
	closeErr error

	resetMu    sync.Mutex
	resets     [][]byte      // reset frames for the writer, see queueReset
	resetReady chan struct{} // signals resets

	accept    chan *stream
	closeOnce sync.Once
	done      sync.WaitGroup
}

func (t *Transport) newConn(nc net.Conn) *conn {
	c := &conn{
		nc:          nc,
		maxBuffer:   t.MaxStreamBuffer,
		maxConnBuf:  int64(t.MaxConnBuffer),
		maxIn:       t.MaxInboundStreams,
		recvTimeout: t.ReceiveTimeout,
		writes:      make(chan []byte, writeQueue),
		closed:      make(chan struct{}),
		streams:     map[streamKey]*stream{},
		resetReady:  make(chan struct{}, 1),
		accept:      make(chan *stream, max(1, t.AcceptBacklog)),
	}
	if c.maxBuffer <= 0 {
		c.maxBuffer = defaultStreamBuffer
	}
	if c.maxConnBuf <= 0 {
		c.maxConnBuf = defaultConnBuffer
	}
	if c.maxIn <= 0 {
		c.maxIn = defaultMaxInbound
	}
	if c.recvTimeout <= 0 {
		c.recvTimeout = defaultRecvTimeout
	}
	if t.AcceptBacklog <= 0 {
		c.accept = make(chan *stream, defaultBacklog)
	}
	c.done.Add(2)
	go c.readLoop()
	go c.writeLoop()
	return c
}

// Close closes the connection; its streams fail.
func (c *conn) Close() error {
	c.fail(ErrConnClosed)
	c.done.Wait()
	return nil
}

// CloseWithError is Close: mplex has no error codes.
func (c *conn) CloseWithError(network.ConnErrorCode) error { return c.Close() }

// IsClosed reports whether the connection is closed.
func (c *conn) IsClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// As finds no other type behind an mplex connection.
func (c *conn) As(any) bool { return false }

// fail closes the connection once, recording why.
func (c *conn) fail(err error) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closeErr = err
		streams := c.streams
		c.streams = map[streamKey]*stream{}
		c.mu.Unlock()
		close(c.closed)
		_ = c.nc.Close()
		for _, s := range streams {
			s.connClosed(err)
		}
	})
}

func (c *conn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeErr != nil {
		return c.closeErr
	}
	return ErrConnClosed
}

// OpenStream opens a stream; its name is its id in decimal, as go-mplex
// and js-libp2p name them.
func (c *conn) OpenStream(ctx context.Context) (network.MuxedStream, error) {
	c.mu.Lock()
	if c.IsClosed() {
		c.mu.Unlock()
		return nil, c.err()
	}
	if c.nextID > maxStreamID {
		c.mu.Unlock()
		return nil, errors.New("mplex: stream ids exhausted")
	}
	id := c.nextID
	c.nextID++
	s := newStream(c, streamKey{id: id, local: true})
	c.streams[s.key] = s
	c.mu.Unlock()
	if err := c.send(ctx, s, appendFrame(nil, id, flagNewStream, []byte(strconv.FormatUint(id, 10)))); err != nil {
		c.remove(s)
		return nil, err
	}
	return s, nil
}

// AcceptStream waits for a stream the remote side opens.
func (c *conn) AcceptStream() (network.MuxedStream, error) {
	select {
	case s := <-c.accept:
		return s, nil
	case <-c.closed:
		return nil, c.err()
	}
}

// send queues an encoded frame of stream s for the writer. It gives up
// when ctx (nil: none) ends, s's write deadline passes, s is reset, or the
// connection closes.
func (c *conn) send(ctx context.Context, s *stream, f []byte) error {
	select {
	case c.writes <- f:
		return nil
	case <-c.closed:
		return c.err()
	case <-s.reset:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.resetErr
	case <-s.writeDL.wait():
		return errDeadline
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendControl queues a close frame behind the stream's data (it blocks
// while the write queue is full, like a write).
func (c *conn) sendControl(f []byte) {
	select {
	case c.writes <- f:
	case <-c.closed:
	}
}

// maxPendingResets bounds the reset frames waiting for the writer; a peer
// that makes more pile up is not reading, and the connection is closed.
const maxPendingResets = 1024

// queueReset queues a reset frame without ever blocking: the reader sends
// resets (overflowing streams, refused streams) and must keep reading even
// when the peer does not read what we write. Resets may overtake queued
// data; the data of a reset stream is discarded anyway.
func (c *conn) queueReset(f []byte) {
	c.resetMu.Lock()
	if len(c.resets) >= maxPendingResets {
		c.resetMu.Unlock()
		c.fail(fmt.Errorf("%w: %d resets wait for a peer that does not read", ErrProtocol, maxPendingResets))
		return
	}
	c.resets = append(c.resets, f)
	c.resetMu.Unlock()
	select {
	case c.resetReady <- struct{}{}:
	default:
	}
}

func (c *conn) writeLoop() {
	defer c.done.Done()
	write := func(f []byte) bool {
		if _, err := c.nc.Write(f); err != nil {
			c.fail(fmt.Errorf("mplex: write: %w", err))
			return false
		}
		return true
	}
	for {
		select {
		case f := <-c.writes:
			if !write(f) {
				return
			}
		case <-c.resetReady:
			// One at a time, so that the pending count covers every
			// reset not yet written.
			for {
				c.resetMu.Lock()
				if len(c.resets) == 0 {
					c.resetMu.Unlock()
					break
				}
				f := c.resets[0]
				c.resets[0] = nil
				c.resets = c.resets[1:]
				c.resetMu.Unlock()
				if !write(f) {
					return
				}
			}
		case <-c.closed:
			return
		}
	}
}

func (c *conn) readLoop() {
	defer c.done.Done()
	r := bufio.NewReaderSize(c.nc, 64<<10)
	for {
		f, err := readFrame(r)
		if err != nil {
			c.fail(err)
			return
		}
		if err := c.handle(f); err != nil {
			c.fail(err)
			return
		}
	}
}

// handle applies one frame. Frames for streams this side no longer knows
// (reset, or fully closed) are dropped, as the spec allows.
func (c *conn) handle(f frame) error {
	if f.flag == flagNewStream {
		return c.newInbound(f.id)
	}
	// The Initiator variants name a stream the remote side opened.
	local := f.flag == flagMsgReceiver || f.flag == flagCloseReceiver || f.flag == flagResetReceiver
	c.mu.Lock()
	s := c.streams[streamKey{id: f.id, local: local}]
	c.mu.Unlock()
	if s == nil {
		return nil
	}
	switch f.flag {
	case flagMsgReceiver, flagMsgInitiator:
		c.deliver(s, f.data)
	case flagCloseReceiver, flagCloseInitiator:
		s.remoteClose()
	case flagResetReceiver, flagResetInitiator:
		s.remoteReset()
	}
	return nil
}

func (c *conn) newInbound(id uint64) error {
	key := streamKey{id: id}
	c.mu.Lock()
	if c.IsClosed() {
		c.mu.Unlock()
		return nil
	}
	if _, dup := c.streams[key]; dup {
		c.mu.Unlock()
		return fmt.Errorf("%w: stream %d opened twice", ErrProtocol, id)
	}
	if c.inbound >= c.maxIn {
		c.mu.Unlock()
		c.queueReset(appendFrame(nil, id, flagResetReceiver, nil))
		return nil
	}
	s := newStream(c, key)
	c.streams[key] = s
	c.inbound++
	c.mu.Unlock()
	select {
	case c.accept <- s:
		return nil
	default:
	}
	t := time.NewTimer(c.recvTimeout)
	defer t.Stop()
	select {
	case c.accept <- s:
	case <-t.C:
		// Nobody is accepting: refuse the stream.
		s.resetLocal()
	case <-c.closed:
	}
	return nil
}

// deliver buffers data for s, waiting up to the receive timeout for its
// reader to make room; a reader that does not is reset, so the memory
// held per stream stays bounded.
func (c *conn) deliver(s *stream, data []byte) {
	if s.push(data) {
		return
	}
	t := time.NewTimer(c.recvTimeout)
	defer t.Stop()
	for {
		select {
		case <-s.space:
			if s.push(data) {
				return
			}
		case <-t.C:
			s.resetLocal()
			return
		case <-c.closed:
			return
		}
	}
}

// remove forgets a stream that is done in both directions or reset.
func (c *conn) remove(s *stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streams[s.key] == s {
		delete(c.streams, s.key)
		if !s.key.local {
			c.inbound--
		}
	}
}
