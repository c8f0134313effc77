// Package pubsub runs rlnd's gossipsub router (relay/gossipsub) on libp2p
// streams: one goroutine owns the router and feeds it events (peers up and
// down, RPCs read from streams, heartbeats, validation results, publishes),
// then carries out its Ready: RPCs go to bounded per-peer writer queues,
// messages to the validator, deliveries to subscriptions.
package pubsub

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	manet "github.com/multiformats/go-multiaddr/net"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("pubsub: closed")

// Validator judges messages for the router. Validate is called from the
// event loop and must not block: it takes the message and calls done later,
// from any goroutine, or returns false when it has no room (the message is
// then ignored: back-pressure).
type Validator interface {
	Validate(id string, topic string, data []byte, from peer.ID, done func(gossipsub.Result)) bool
}

// Config configures a PubSub.
type Config struct {
	Router gossipsub.Config
	// AwaitPeer, when set, is the host's admission of a connected peer
	// (Waku's metadata check: p2p.Host.WaitPeer): it returns nil once the
	// peer is admitted, an error if it is not. The driver takes a peer, and
	// reads the RPCs it sends, only once it is admitted, so no
	// subscription or message goes to a peer of another cluster. Without
	// it every connected peer is taken at once.
	AwaitPeer func(ctx context.Context, p peer.ID) error
	// Validator judges every message from peers; nil accepts all.
	Validator Validator
	// OutQueue bounds the RPCs waiting to be written to one peer
	// (default 512); past it RPCs to that peer are dropped and counted.
	OutQueue int
	// SubBuffer bounds a subscription's undelivered messages (default 1024).
	SubBuffer int
	// Events bounds the event loop's queue (default 4096); stream readers
	// wait when it is full.
	Events int
	// FrameTimeout bounds the time from the first byte of an incoming
	// RPC frame (its length) to its last (default DefaultFrameTimeout).
	// A frame not finished in time resets its stream and adds one to the
	// peer's behaviour penalty. Streams may idle between frames.
	FrameTimeout time.Duration
	Logger       *slog.Logger
}

// DefaultFrameTimeout is the default FrameTimeout. The largest frame
// accepted (MaxIncomingRPCSize, 1 MiB by default, the frames of
// go-libp2p-pubsub peers) then needs a sustained 35 KB/s from a peer, well
// below any link that can relay at mesh rates at all, while a peer that
// trickles or stalls a frame holds its stream for at most 30 s. Honest
// peers write a frame with one write once it is marshalled, so it is late
// only behind a congested link.
const DefaultFrameTimeout = 30 * time.Second

// Message is a delivered message.
type Message struct {
	ID    string
	Topic string
	Data  []byte
	From  peer.ID // the peer it came from; empty for our own
	Local bool
}

// Subscription receives a topic's messages until it is cancelled.
type Subscription struct {
	ps    *PubSub
	topic string
	c     chan *Message
	once  sync.Once
}

// C is the channel of messages; closed when the subscription ends.
func (s *Subscription) C() <-chan *Message { return s.c }

// Topic is the subscribed topic.
func (s *Subscription) Topic() string { return s.topic }

// Cancel ends the subscription (the topic stays joined).
func (s *Subscription) Cancel() {
	s.once.Do(func() {
		s.ps.do(func(time.Time) {
			subs := s.ps.subs[s.topic]
			for i, x := range subs {
				if x == s {
					s.ps.subs[s.topic] = append(subs[:i:i], subs[i+1:]...)
					break
				}
			}
			close(s.c)
		})
	})
}

// Stats are the driver's counters and the router's.
type Stats struct {
	gossipsub.Stats
	Peers           int
	RPCsIn, RPCsOut uint64
	SendsDropped    uint64 // a peer's writer queue was full
	BadFrames       uint64 // oversized or undecodable frames (stream reset)
	SlowFrames      uint64 // frames not finished within FrameTimeout (stream reset)
	FramesInFlight  int    // incoming frames started and not yet finished
	OversizeOut     uint64 // RPCs over MaxRPCSize not sent (a bug if ever nonzero)
	PXDials         uint64 // dials of peers offered in PRUNEs
	PXBadRecords    uint64 // offered signed peer records that did not check out
	LargestFrameOut int    // the largest RPC written, in bytes
	SlowSubscriber  uint64 // deliveries dropped: subscription buffer full
	ValidationFull  uint64 // the validator had no room
	Pending         int
	Cached          int
}

// PubSub is gossipsub on a libp2p host.
//
// Its goroutines (the event loop, the writers, the stream readers, the
// posts of connection events and the peer-exchange dials) run under ctx
// and are counted in wg: Close cancels ctx, resets the streams being read,
// and waits for them all.
type PubSub struct {
	h      host.Host
	cfg    Config
	log    *slog.Logger
	r      *gossipsub.Router
	events chan func(now time.Time)
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{} // closed when the event loop ends

	// mu guards closed, after which no goroutine starts, and the streams
	// peers opened to us, which Close resets.
	mu      sync.Mutex
	closed  bool
	inbound map[network.Stream]struct{}

	// Owned by the event loop.
	writers map[peer.ID]*writer
	known   map[peer.ID]bool // peers the router has
	// records are the signed peer records identify gave of connected
	// peers (go-libp2p keeps none in the peerstore), offered with them
	// in PRUNEs.
	records map[peer.ID]*record.Envelope
	subs    map[string][]*Subscription
	stats   Stats

	// Counted from stream goroutines.
	rpcsIn, badFrames, slowFrames atomic.Uint64
	// pxDials counts the dials of peers offered in PRUNEs, pxBadRecords
	// the offered signed peer records that did not check out.
	pxDials, pxBadRecords atomic.Uint64
	// oversizeOut counts RPCs over MaxRPCSize not sent; largestOut is the
	// largest RPC frame body written.
	oversizeOut    atomic.Uint64
	largestOut     atomic.Int64
	framesInFlight atomic.Int64

	notifee *network.NotifyBundle
}

type writer struct {
	out chan *gossipsubpb.RPC
}

// New starts gossipsub on h: it serves the pubsub protocols, opens a stream
// to every connected peer that speaks one, and runs the heartbeat.
func New(h host.Host, cfg Config) (*PubSub, error) {
	if cfg.OutQueue <= 0 {
		cfg.OutQueue = 512
	}
	if cfg.SubBuffer <= 0 {
		cfg.SubBuffer = 1024
	}
	if cfg.Events <= 0 {
		cfg.Events = 4096
	}
	if cfg.FrameTimeout <= 0 {
		cfg.FrameTimeout = DefaultFrameTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r, err := gossipsub.New(cfg.Router)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps := &PubSub{
		h: h, cfg: cfg, log: cfg.Logger, r: r,
		events: make(chan func(time.Time), cfg.Events),
		ctx:    ctx, cancel: cancel, done: make(chan struct{}),
		inbound: map[network.Stream]struct{}{},
		writers: map[peer.ID]*writer{}, known: map[peer.ID]bool{}, subs: map[string][]*Subscription{},
		records: map[peer.ID]*record.Envelope{},
	}
	for _, id := range protocols {
		h.SetStreamHandler(id, ps.handleStream)
	}
	// Notifications must not block the network: they post from goroutines
	// of their own (which wait while the event queue is full).
	ps.notifee = &network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			ps.spawn(func() { ps.takePeer(c) })
		},
		DisconnectedF: func(n network.Network, c network.Conn) {
			p := c.RemotePeer()
			ps.spawn(func() {
				ps.post(func(now time.Time) {
					if n.Connectedness(p) != network.Connected {
						ps.removePeer(now, p)
						delete(ps.records, p)
					}
				})
			})
		},
	}
	h.Network().Notify(ps.notifee)
	ps.wg.Add(1)
	go ps.loop()
	if sub, err := h.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted)); err != nil {
		ps.log.Warn("no identify events: PRUNEs will offer peers without their records", "err", err)
	} else {
		ps.spawn(func() { ps.keepRecords(sub) })
	}
	for _, c := range h.Network().Conns() {
		ps.spawn(func() { ps.takePeer(c) })
	}
	return ps, nil
}

// takePeer adds the peer of c to the router once it is admitted.
func (ps *PubSub) takePeer(c network.Conn) {
	if ps.admitted(c.RemotePeer()) {
		ps.post(func(now time.Time) { ps.addPeer(now, c) })
	}
}

// admitted waits for the host's admission of p (AwaitPeer); it is true at
// once without AwaitPeer.
func (ps *PubSub) admitted(p peer.ID) bool {
	if ps.cfg.AwaitPeer == nil {
		return true
	}
	err := ps.cfg.AwaitPeer(ps.ctx, p)
	if err != nil {
		ps.log.Debug("pubsub peer not admitted", "peer", p, "err", err)
	}
	return err == nil
}

// spawn runs f on a goroutine that Close waits for, unless the pubsub is
// closed. f must return once ps.ctx is done.
func (ps *PubSub) spawn(f func()) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return
	}
	ps.wg.Add(1)
	go func() {
		defer ps.wg.Done()
		f()
	}()
}

// Close stops the router and closes its streams. It returns once every
// goroutine of the pubsub has ended; the RPCs queued for a peer get at most
// closeGrace to be written.
func (ps *PubSub) Close() error {
	ps.mu.Lock()
	first := !ps.closed
	ps.closed = true
	var inbound []network.Stream
	for s := range ps.inbound {
		inbound = append(inbound, s)
	}
	ps.mu.Unlock()
	if first {
		ps.h.Network().StopNotify(ps.notifee)
		for _, id := range protocols {
			ps.h.RemoveStreamHandler(id)
		}
		ps.cancel()
		// Readers wait for the next frame without a deadline: end them.
		for _, s := range inbound {
			_ = s.Reset()
		}
	}
	ps.wg.Wait()
	return nil
}

// closeGrace bounds the writes of the RPCs still queued at Close, for a
// peer that does not read.
const closeGrace = time.Second

// post queues an event, waiting while the queue is full; it gives up when
// the pubsub closes.
func (ps *PubSub) post(f func(time.Time)) bool {
	select {
	case ps.events <- f:
		return true
	case <-ps.ctx.Done():
		return false
	}
}

// do runs f on the event loop and waits for it.
func (ps *PubSub) do(f func(time.Time)) error {
	ran := make(chan struct{})
	if !ps.post(func(now time.Time) { f(now); close(ran) }) {
		return ErrClosed
	}
	select {
	case <-ran:
		return nil
	case <-ps.done:
		return ErrClosed
	}
}

func (ps *PubSub) loop() {
	defer ps.wg.Done()
	defer close(ps.done)
	tick := time.NewTicker(ps.cfg.Router.Params.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-ps.ctx.Done():
			ps.shutdown()
			return
		case <-tick.C:
			// Not the tick's own time: it may predate the events handled
			// since it fired, and the router's clock must not go back.
			ps.r.Tick(time.Now())
		case f := <-ps.events:
			now := time.Now()
			f(now)
			// Take what else is queued before acting, so that RPCs to a
			// peer are coalesced.
			for range 64 {
				select {
				case f := <-ps.events:
					f(now)
					continue
				default:
				}
				break
			}
		}
		ps.act()
	}
}

func (ps *PubSub) shutdown() {
	for p, w := range ps.writers {
		close(w.out)
		delete(ps.writers, p)
	}
	for t, subs := range ps.subs {
		for _, s := range subs {
			close(s.c)
		}
		delete(ps.subs, t)
	}
}

// act carries out the router's Ready.
func (ps *PubSub) act() {
	rd := ps.r.Ready()
	for _, s := range rd.Sends {
		w := ps.writers[peer.ID(s.To)]
		if w == nil {
			continue
		}
		ps.attachPeerRecords(s.RPC)
		select {
		case w.out <- s.RPC:
			ps.stats.RPCsOut++
		default:
			ps.stats.SendsDropped++
		}
	}
	for _, v := range rd.Validations {
		id := v.ID
		if ps.cfg.Validator == nil {
			ps.r.ValidationResult(time.Now(), id, gossipsub.Accept)
			continue
		}
		done := func(res gossipsub.Result) {
			ps.post(func(now time.Time) { ps.r.ValidationResult(now, id, res) })
		}
		if !ps.cfg.Validator.Validate(id, v.Msg.GetTopic(), v.Msg.GetData(), peer.ID(v.From), done) {
			ps.stats.ValidationFull++
			ps.r.ValidationResult(time.Now(), id, gossipsub.Ignore)
		}
	}
	if ps.cfg.Validator == nil && len(rd.Validations) > 0 {
		// Accepting at once produced deliveries and forwards: act on them.
		defer ps.act()
	}
	for _, d := range rd.Deliveries {
		m := &Message{ID: d.ID, Topic: d.Msg.GetTopic(), Data: d.Msg.GetData(), From: peer.ID(d.From), Local: d.Local}
		for _, s := range ps.subs[m.Topic] {
			select {
			case s.c <- m:
			default:
				ps.stats.SlowSubscriber++
			}
		}
	}
	for _, px := range rd.PeerExchanges {
		for _, pi := range px.Peers {
			id, err := peer.IDFromBytes(pi.GetPeerId())
			if err != nil || id == ps.h.ID() || ps.h.Network().Connectedness(id) == network.Connected {
				continue
			}
			if err := ps.consumePeerRecord(id, pi.GetSignedPeerRecord()); err != nil {
				ps.pxBadRecords.Add(1)
				ps.log.Debug("peer exchange: bad signed peer record", "from", peer.ID(px.From), "peer", id, "err", err)
				continue
			}
			if len(ps.h.Peerstore().Addrs(id)) == 0 {
				continue // neither a record nor an address we knew
			}
			ps.pxDials.Add(1)
			ps.spawn(func() {
				ctx, cancel := context.WithTimeout(ps.ctx, 10*time.Second)
				defer cancel()
				_ = ps.h.Connect(ctx, peer.AddrInfo{ID: id})
			})
		}
	}
}

// maxRecords bounds the signed peer records kept (one per connected peer).
const maxRecords = 4096

// keepRecords keeps the signed peer record of each connected peer that
// identify gives, until the pubsub closes.
func (ps *PubSub) keepRecords(sub event.Subscription) {
	defer sub.Close()
	for {
		select {
		case <-ps.ctx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			ev, isID := e.(event.EvtPeerIdentificationCompleted)
			if !isID || ev.SignedPeerRecord == nil {
				continue
			}
			ps.post(func(time.Time) {
				if len(ps.records) < maxRecords && ps.h.Network().Connectedness(ev.Peer) == network.Connected {
					ps.records[ev.Peer] = ev.SignedPeerRecord
				}
			})
		}
	}
}

// maxPeerRecord bounds a signed peer record taken from a PRUNE (a record
// of a few addresses is a few hundred bytes).
const maxPeerRecord = 4 << 10

// attachPeerRecords fills in the signed peer records (libp2p record
// envelopes, as identify gives them) of the peers offered in rpc's PRUNEs,
// so that peers that do not know them (go-libp2p-pubsub peers connect
// only to offered peers with a record) can dial them.
func (ps *PubSub) attachPeerRecords(rpc *gossipsubpb.RPC) {
	for _, pr := range rpc.GetControl().GetPrune() {
		for _, pi := range pr.GetPeers() {
			if len(pi.SignedPeerRecord) > 0 {
				continue
			}
			id, err := peer.IDFromBytes(pi.GetPeerId())
			if err != nil {
				continue
			}
			if env := ps.records[id]; env != nil {
				if b, err := env.Marshal(); err == nil && len(b) <= maxPeerRecord {
					pi.SignedPeerRecord = b
				}
			}
		}
	}
}

// consumePeerRecord checks a signed peer record offered for id and keeps
// its addresses for a dial; an empty record is no error.
func (ps *PubSub) consumePeerRecord(id peer.ID, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if len(b) > maxPeerRecord {
		return fmt.Errorf("%d bytes, at most %d", len(b), maxPeerRecord)
	}
	env, rec, err := record.ConsumeEnvelope(b, peer.PeerRecordEnvelopeDomain)
	if err != nil {
		return err
	}
	pr, ok := rec.(*peer.PeerRecord)
	if !ok {
		return fmt.Errorf("a %T, not a peer record", rec)
	}
	if pr.PeerID != id {
		return fmt.Errorf("the record is %s's", pr.PeerID)
	}
	if signer, err := peer.IDFromPublicKey(env.PublicKey); err != nil || signer != id {
		return fmt.Errorf("the record is not signed by %s", id)
	}
	if cab, ok := peerstore.GetCertifiedAddrBook(ps.h.Peerstore()); ok {
		_, err = cab.ConsumePeerRecord(env, peerstore.TempAddrTTL)
		return err
	}
	ps.h.Peerstore().AddAddrs(id, pr.Addrs, peerstore.TempAddrTTL)
	return nil
}

// addPeer makes p a router peer as soon as it connects or opens a pubsub
// stream to us, and starts its writer, which opens our stream to it and
// writes what the router queues meanwhile. Adding on the first sign of
// the peer, not when our stream is up, keeps the RPCs it sends first (its
// subscriptions) from arriving before the router knows it.
func (ps *PubSub) addPeer(now time.Time, c network.Conn) {
	p := c.RemotePeer()
	if _, ok := ps.writers[p]; ok {
		return
	}
	if ps.h.Network().Connectedness(p) != network.Connected {
		return
	}
	ip := ""
	if a, err := manet.ToIP(c.RemoteMultiaddr()); err == nil {
		ip = a.String()
	}
	if !ps.known[p] {
		ps.known[p] = true
		ps.r.AddPeer(now, gossipsub.PeerID(p), gossipsub.WakuRelay, c.Stat().Direction == network.DirOutbound, ip)
	}
	w := &writer{out: make(chan *gossipsubpb.RPC, ps.cfg.OutQueue)}
	ps.writers[p] = w
	ps.stats.Peers = len(ps.known)
	ps.wg.Add(1)
	go ps.write(p, w)
}

// removePeer forgets p once it has no connection left.
func (ps *PubSub) removePeer(now time.Time, p peer.ID) {
	if w := ps.writers[p]; w != nil {
		delete(ps.writers, p)
		close(w.out)
	}
	if ps.known[p] {
		delete(ps.known, p)
		ps.r.RemovePeer(now, gossipsub.PeerID(p))
	}
	ps.stats.Peers = len(ps.known)
}

// write opens our stream to p and sends the peer's queued RPCs, flushing
// when the queue runs dry.
func (ps *PubSub) write(p peer.ID, w *writer) {
	defer ps.wg.Done()
	ctx, cancel := context.WithTimeout(ps.ctx, 10*time.Second)
	s, err := ps.h.NewStream(ctx, p, protocols...)
	cancel()
	if err != nil {
		// The peer does not speak pubsub (a light client) or is gone.
		ps.log.Debug("no pubsub stream", "peer", p, "err", err)
		ps.post(func(now time.Time) {
			if ps.writers[p] == w {
				ps.removePeer(now, p)
			}
		})
		for range w.out {
		}
		return
	}
	pr := protoOf(s.Protocol())
	ps.post(func(time.Time) { ps.r.SetProtocol(gossipsub.PeerID(p), pr) })
	// At Close the loop closes w.out and the writer writes what is queued
	// and closes the stream; a peer that does not read gets closeGrace.
	// The writer waits for the deadline's goroutine if it started.
	graced := make(chan struct{})
	stop := context.AfterFunc(ps.ctx, func() {
		defer close(graced)
		_ = s.SetWriteDeadline(time.Now().Add(closeGrace))
	})
	defer func() {
		if !stop() {
			<-graced
		}
	}()
	bw := bufio.NewWriterSize(s, 64<<10)
	var buf []byte
	maxOut := ps.cfg.Router.Params.MaxRPCSize
	for rpc := range w.out {
		b, err := proto.MarshalOptions{}.MarshalAppend(buf[:0], rpc)
		switch {
		case err != nil:
		case len(b) > maxOut:
			// The router splits RPCs to fit and refuses messages that
			// cannot: this is a bug, and the frame is not sent, since a
			// peer reading with nwaku's bound would drop the stream.
			buf = b
			ps.oversizeOut.Add(1)
			ps.log.Error("pubsub RPC over the frame bound not sent", "peer", p, "size", len(b), "bound", maxOut)
		default:
			buf = b
			err = wire.WriteFrame(bw, b)
			ps.noteFrameOut(len(b))
		}
		if err == nil && len(w.out) == 0 {
			err = bw.Flush()
		}
		if err != nil {
			ps.log.Debug("pubsub write failed", "peer", p, "err", err)
			_ = s.Reset()
			// The stream broke, maybe not the connection: open a new
			// one, keeping the router's state of the peer.
			ps.post(func(now time.Time) {
				if ps.writers[p] != w {
					return
				}
				delete(ps.writers, p)
				close(w.out)
				if c := ps.h.Network().ConnsToPeer(p); len(c) > 0 {
					ps.addPeer(now, c[0])
				} else {
					ps.removePeer(now, p)
				}
			})
			for range w.out {
			}
			return
		}
	}
	_ = s.Close()
}

// maxFrame bounds an incoming RPC frame: the router's bound on the RPCs it
// accepts (go-libp2p-pubsub bundles IWANT replies in frames of up to
// 1 MiB; each message in them is still bounded by MaxMessageSize).
func (ps *PubSub) maxFrame() int { return ps.cfg.Router.Params.MaxIncomingRPCSize }

// noteFrameOut records an RPC of n bytes written.
func (ps *PubSub) noteFrameOut(n int) {
	for {
		cur := ps.largestOut.Load()
		if int64(n) <= cur || ps.largestOut.CompareAndSwap(cur, int64(n)) {
			return
		}
	}
}

// handleStream reads a peer's RPCs into the event loop.
func (ps *PubSub) handleStream(s network.Stream) {
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		_ = s.Reset()
		return
	}
	ps.inbound[s] = struct{}{}
	ps.wg.Add(1)
	ps.mu.Unlock()
	defer func() {
		ps.mu.Lock()
		delete(ps.inbound, s)
		ps.mu.Unlock()
		ps.wg.Done()
	}()
	p := s.Conn().RemotePeer()
	c := s.Conn()
	// A peer may open its stream before the admission check has an
	// outcome: what it sends waits until then.
	if !ps.admitted(p) || !ps.post(func(now time.Time) { ps.addPeer(now, c) }) {
		_ = s.Reset()
		return
	}
	// A small read buffer: frame bodies grow their own buffers as they
	// arrive (wire.ReadFrame), so what a stream holds follows what its
	// peer sent, not what it announced.
	br := bufio.NewReaderSize(s, readBuffer)
	max := ps.maxFrame()
	for {
		b, err := ps.readFrame(s, br, max)
		if err != nil {
			switch {
			case errors.Is(err, wire.ErrTooLarge) || errors.Is(err, wire.ErrMalformed):
				ps.badFrames.Add(1)
				ps.log.Debug("bad pubsub frame", "peer", p, "err", err)
				_ = s.Reset()
			case isTimeout(err):
				ps.slowFrames.Add(1)
				ps.log.Debug("pubsub frame not finished in time", "peer", p, "timeout", ps.cfg.FrameTimeout, "err", err)
				_ = s.Reset()
				ps.post(func(time.Time) { ps.r.Penalize(gossipsub.PeerID(p), 1) })
			default:
				_ = s.Close()
			}
			return
		}
		rpc := &gossipsubpb.RPC{}
		if err := proto.Unmarshal(b, rpc); err != nil {
			ps.badFrames.Add(1)
			ps.log.Debug("undecodable pubsub RPC", "peer", p, "err", err)
			_ = s.Reset()
			return
		}
		ps.rpcsIn.Add(1)
		if !ps.post(func(now time.Time) { ps.r.HandleRPC(now, gossipsub.PeerID(p), rpc) }) {
			_ = s.Reset()
			return
		}
	}
}

// readBuffer is the read buffer of a pubsub stream.
const readBuffer = 4 << 10

// readFrame waits, without a deadline, for the first byte of the next
// frame, then reads the frame within FrameTimeout. A frame already whole
// in the read buffer needs no deadline.
func (ps *PubSub) readFrame(s network.Stream, br *bufio.Reader, max int) ([]byte, error) {
	if _, err := br.Peek(1); err != nil {
		return nil, err // the stream ended (io.EOF) or broke
	}
	if buffered, _ := br.Peek(br.Buffered()); frameWhole(buffered) {
		return wire.ReadFrame(br, max)
	}
	ps.framesInFlight.Add(1)
	defer ps.framesInFlight.Add(-1)
	if err := s.SetReadDeadline(time.Now().Add(ps.cfg.FrameTimeout)); err != nil {
		return nil, fmt.Errorf("set the frame deadline: %w", err)
	}
	b, err := wire.ReadFrame(br, max)
	if err == nil {
		err = s.SetReadDeadline(time.Time{})
	}
	return b, err
}

// frameWhole tells whether b starts with a whole frame.
func frameWhole(b []byte) bool {
	n, k := binary.Uvarint(b)
	return k > 0 && n <= uint64(len(b)-k)
}

// isTimeout tells whether err is a passed deadline (yamux's and mplex's).
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// Subscribe joins topic and returns a subscription to its messages.
func (ps *PubSub) Subscribe(topic string) (*Subscription, error) {
	s := &Subscription{ps: ps, topic: topic, c: make(chan *Message, ps.cfg.SubBuffer)}
	err := ps.do(func(now time.Time) {
		ps.r.Join(now, topic)
		ps.subs[topic] = append(ps.subs[topic], s)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Join joins topic without a subscription (the node relays it).
func (ps *PubSub) Join(topic string) error {
	return ps.do(func(now time.Time) { ps.r.Join(now, topic) })
}

// Leave leaves topic.
func (ps *PubSub) Leave(topic string) error {
	return ps.do(func(now time.Time) { ps.r.Leave(now, topic) })
}

// Publish sends data on topic. The caller has validated it. It returns the
// message id and the number of peers it was sent to.
func (ps *PubSub) Publish(topic string, data []byte) (string, int, error) {
	var (
		id  string
		n   int
		err error
	)
	if e := ps.do(func(now time.Time) { id, n, err = ps.r.Publish(now, topic, data) }); e != nil {
		return "", 0, e
	}
	return id, n, err
}

// Stats returns the counters.
func (ps *PubSub) Stats() Stats {
	var st Stats
	_ = ps.do(func(time.Time) {
		st = ps.stats
		st.Stats = ps.r.Stats()
		st.Pending = ps.r.PendingValidations()
		st.Cached = ps.r.CachedMessages()
	})
	st.RPCsIn = ps.rpcsIn.Load()
	st.BadFrames = ps.badFrames.Load()
	st.SlowFrames = ps.slowFrames.Load()
	st.FramesInFlight = int(ps.framesInFlight.Load())
	st.OversizeOut = ps.oversizeOut.Load()
	st.PXDials, st.PXBadRecords = ps.pxDials.Load(), ps.pxBadRecords.Load()
	st.LargestFrameOut = int(ps.largestOut.Load())
	return st
}

// MeshPeers returns the topic's mesh.
func (ps *PubSub) MeshPeers(topic string) []peer.ID {
	var out []peer.ID
	_ = ps.do(func(time.Time) {
		for _, id := range ps.r.Mesh(topic) {
			out = append(out, peer.ID(id))
		}
	})
	return out
}

// TopicPeers returns the peers subscribed to topic.
func (ps *PubSub) TopicPeers(topic string) []peer.ID {
	var out []peer.ID
	_ = ps.do(func(time.Time) {
		for _, id := range ps.r.TopicPeers(topic) {
			out = append(out, peer.ID(id))
		}
	})
	return out
}

// Score returns a peer's gossipsub score.
func (ps *PubSub) Score(p peer.ID) float64 {
	var s float64
	_ = ps.do(func(now time.Time) { s = ps.r.Score(gossipsub.PeerID(p), now) })
	return s
}

// Scores returns the gossipsub score of every peer the router has, read in
// one pass of the event loop (the peer manager disconnects the peers below
// the graylist threshold).
func (ps *PubSub) Scores() map[peer.ID]float64 {
	out := map[peer.ID]float64{}
	_ = ps.do(func(now time.Time) {
		for _, id := range ps.r.Peers() {
			out[peer.ID(id)] = ps.r.Score(id, now)
		}
	})
	return out
}

// String describes the pubsub for logs.
func (ps *PubSub) String() string { return fmt.Sprintf("pubsub on %s", ps.h.ID()) }
