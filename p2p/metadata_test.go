package p2p

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/metadatapb"
)

func TestEncodeMetadata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cluster uint32
		shards  []uint32
		packed  bool
		want    string
	}{
		{42, nil, true, "082a"},
		{42, nil, false, "082a"},
		// js-waku's encoding (protons): one field per shard.
		{42, []uint32{0, 1, 2}, false, "082a100010011002"},
		// nwaku's (and protoc's) encoding: packed.
		{42, []uint32{0, 1, 2}, true, "082a1203000102"},
		{1, []uint32{300}, true, "08011202ac02"},
	}
	for _, tc := range tests {
		got := encodeMetadata(tc.cluster, tc.shards, tc.packed)
		if hex.EncodeToString(got) != tc.want {
			t.Errorf("encodeMetadata(%d, %v, %v) = %x, want %s", tc.cluster, tc.shards, tc.packed, got, tc.want)
		}
		var m metadatapb.WakuMetadataResponse
		if err := proto.Unmarshal(got, &m); err != nil {
			t.Fatal(err)
		}
		if m.GetClusterId() != tc.cluster || !slices.Equal(m.GetShards(), tc.shards) {
			t.Errorf("decoded %v, want cluster %d shards %v", &m, tc.cluster, tc.shards)
		}
		packed, ok := shardsEncoding(got)
		if ok != (len(tc.shards) > 0) || (ok && packed != tc.packed) {
			t.Errorf("shardsEncoding(%x) = %v, %v", got, packed, ok)
		}
	}
}

// exchange sends one raw metadata request from b to a and returns a's raw
// response.
func exchange(t *testing.T, from, to *Host, req []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := from.Libp2p().NewStream(ctx, to.ID(), ProtocolMetadata)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := wire.WriteFrame(s, req); err != nil {
		t.Fatal(err)
	}
	s.CloseWrite()
	resp, err := wire.ReadFrame(s, wire.MaxControlFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// The response uses the shard encoding of the request; a request without
// shards gets the encoding chosen from the agent (packed for non-js-waku);
// a request without a cluster id is answered and does not disconnect.
func TestMetadataResponseEncoding(t *testing.T) {
	t.Parallel()
	a, _ := newTestHost(t, HostConfig{ClusterID: 9, Shards: shards(4, 5)})
	b, _ := newTestHost(t, HostConfig{ClusterID: 9, TolerateNoMetadata: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.Connect(ctx, addrInfo(t, a, "tcp")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  []byte
		want []byte
	}{
		{"unpacked", encodeMetadata(9, []uint32{4}, false), encodeMetadata(9, []uint32{4, 5}, false)},
		{"packed", encodeMetadata(9, []uint32{4}, true), encodeMetadata(9, []uint32{4, 5}, true)},
		{"no shards", encodeMetadata(9, nil, false), encodeMetadata(9, []uint32{4, 5}, true)},
		{"no cluster", nil, encodeMetadata(9, []uint32{4, 5}, true)},
	}
	for _, tc := range tests {
		if got := exchange(t, b, a, tc.req); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: response %x, want %x", tc.name, got, tc.want)
		}
	}
	if a.Libp2p().Network().Connectedness(b.ID()) != network.Connected {
		t.Fatal("a disconnected b")
	}
	if _, rejected := a.Rejected(b.ID()); rejected {
		t.Fatal("a rejected b")
	}
}

// js-waku agents get unpacked shards in our requests.
func TestRequestEncodingForJSWaku(t *testing.T) {
	t.Parallel()
	a, aev := newTestHost(t, HostConfig{ClusterID: 9, Shards: shards(4, 5)})
	b, _ := newTestHost(t, HostConfig{ClusterID: 9, UserAgent: "js-waku"})
	got := make(chan []byte, 1)
	b.Libp2p().SetStreamHandler(ProtocolMetadata, func(s network.Stream) {
		defer s.Close()
		req, err := wire.ReadFrame(s, wire.MaxControlFrameSize)
		if err != nil {
			s.Reset()
			return
		}
		got <- req
		wire.WriteFrame(s, encodeMetadata(9, []uint32{5}, false))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Libp2p().Connect(ctx, addrInfo(t, a, "tcp")); err != nil {
		t.Fatal(err)
	}
	if md := aev.waitReady(t, b.ID()); !slices.Equal(md.Shards, []uint32{5}) {
		t.Fatalf("learnt %+v", md)
	}
	if req := <-got; !bytes.Equal(req, encodeMetadata(9, []uint32{4, 5}, false)) {
		t.Fatalf("request %x, want unpacked shards", req)
	}
}

// A peer that answers without a cluster id is rejected.
func TestResponseWithoutClusterID(t *testing.T) {
	t.Parallel()
	a, aev := newTestHost(t, HostConfig{ClusterID: 9})
	b, _ := newTestHost(t, HostConfig{ClusterID: 9})
	b.Libp2p().SetStreamHandler(ProtocolMetadata, func(s network.Stream) {
		defer s.Close()
		if _, err := wire.ReadFrame(s, wire.MaxControlFrameSize); err != nil {
			s.Reset()
			return
		}
		wire.WriteFrame(s, nil)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Libp2p().Connect(ctx, addrInfo(t, a, "tcp")); err != nil {
		t.Fatal(err)
	}
	aev.waitRejected(t, b.ID(), ErrNoClusterID)
}

// A check whose peer hangs up at once fails without dialling the peer
// back (the metadata query never dials): five connections, each closed by
// the peer as it comes up, make five inbound connections at the peer.
func TestCheckDoesNotRedial(t *testing.T) {
	t.Parallel()
	a, _ := newTestHost(t, HostConfig{ClusterID: 1})
	b, _ := newTestHost(t, HostConfig{ClusterID: 1})
	var inbound atomic.Int64
	b.Libp2p().Network().Notify(&network.NotifyBundle{ConnectedF: func(n network.Network, c network.Conn) {
		if c.Stat().Direction == network.DirInbound {
			inbound.Add(1)
		}
		go c.Close()
	}})
	for i := range 5 {
		ctx, cancel := context.WithTimeout(network.WithForceDirectDial(context.Background(), "test"), 10*time.Second)
		_ = a.Libp2p().Connect(ctx, addrInfo(t, b, "tcp"))
		if _, err := a.WaitPeer(ctx, b.ID()); err == nil {
			t.Fatal("peer admitted though it hung up")
		}
		cancel()
		if got := inbound.Load(); got != int64(i+1) {
			t.Fatalf("%d inbound connections after %d dials: the check dialled the peer back", got, i+1)
		}
	}
}

// WaitPeer for an unknown peer fails at once.
func TestWaitPeerNotConnected(t *testing.T) {
	t.Parallel()
	a, _ := newTestHost(t, HostConfig{ClusterID: 1})
	b, _ := newTestHost(t, HostConfig{ClusterID: 1})
	if _, err := a.WaitPeer(context.Background(), b.ID()); err == nil {
		t.Fatal("WaitPeer of an unconnected peer succeeded")
	}
	_ = peer.ID("")
}

func FuzzShardsEncoding(f *testing.F) {
	f.Add([]byte{0x08, 0x2a, 0x12, 0x03, 0, 1, 2})
	f.Add([]byte{0x08, 0x2a, 0x10, 0x00})
	f.Add([]byte{0x12})
	f.Fuzz(func(t *testing.T, b []byte) {
		packed, ok := shardsEncoding(b)
		if !ok {
			return
		}
		var m metadatapb.WakuMetadataRequest
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		// Re-encoding what was decoded in the detected encoding gives
		// a message that is detected the same way.
		if len(m.GetShards()) > 0 {
			again, ok2 := shardsEncoding(encodeMetadata(m.GetClusterId(), m.GetShards(), packed))
			if !ok2 || again != packed {
				t.Fatalf("re-encoded detection %v %v, want %v", again, ok2, packed)
			}
		}
	})
}

// Our metadata request is written only after the peer confirmed the
// protocol: a peer that takes its time to confirm sees nothing but the
// negotiation until it does. (With lazy negotiation the request and the
// half-close arrive with the protocol proposal, and js-waku may read them
// before its handler is in place.)
func TestMetadataRequestAfterNegotiation(t *testing.T) {
	t.Parallel()
	a, aev := newTestHost(t, HostConfig{ClusterID: 9, Shards: shards(4)})
	b, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	const hold = 300 * time.Millisecond // how long b waits before confirming
	early := make(chan bool, 1)
	// b negotiates by hand: it reads the proposal, waits, and only then
	// confirms; every other protocol (identify) is refused.
	b.Network().SetStreamHandler(func(s network.Stream) {
		br := bufio.NewReader(s)
		line := func() (string, error) {
			n, err := binary.ReadUvarint(br)
			if err != nil || n > 1024 {
				return "", fmt.Errorf("multistream line: %v (length %d)", err, n)
			}
			b := make([]byte, n)
			_, err = io.ReadFull(br, b)
			return string(b), err
		}
		writeLine := func(l string) { _, _ = s.Write(append(binary.AppendUvarint(nil, uint64(len(l))), l...)) }
		hdr, err := line()
		if err != nil {
			_ = s.Reset()
			return
		}
		if p, err := line(); err != nil || p != string(ProtocolMetadata)+"\n" {
			_ = s.Reset()
			return
		}
		_ = s.SetReadDeadline(time.Now().Add(hold))
		_, err = br.Peek(1)
		early <- err == nil // a byte came before we confirmed
		_ = s.SetReadDeadline(time.Time{})
		writeLine(hdr)
		writeLine(string(ProtocolMetadata) + "\n")
		if _, err := wire.ReadFrame(br, wire.MaxControlFrameSize); err != nil {
			_ = s.Reset()
			return
		}
		_ = wire.WriteFrame(s, encodeMetadata(9, []uint32{4}, true))
		_ = s.Close()
	})
	// a knows b speaks metadata, as identify tells of a Waku peer: the
	// host's NewStream would then negotiate lazily.
	if err := a.Libp2p().Peerstore().AddProtocols(b.ID(), ProtocolMetadata); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Libp2p().Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-early:
		if e {
			t.Fatal("the request came before the protocol was confirmed")
		}
	case <-ctx.Done():
		t.Fatal("no metadata negotiation reached the peer within 10 s")
	}
	if md := aev.waitReady(t, b.ID()); md.ClusterID != 9 {
		t.Fatalf("learnt %+v", md)
	}
}

// A check whose peer has no connection for a moment waits (up to
// noConnGrace) for one the peer brings, and never dials it itself: a
// stream opens once the peer connects within the grace, and without a
// connection the open fails after it.
func TestStreamNoDialWaitsForAConnection(t *testing.T) {
	t.Parallel()
	a, _ := newTestHost(t, HostConfig{ClusterID: 1})
	b, _ := newTestHost(t, HostConfig{ClusterID: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	began := time.Now()
	if _, err := a.newStreamNoDial(ctx, b.ID()); !errors.Is(err, network.ErrNoConn) {
		t.Fatalf("no connection at all: %v, want ErrNoConn", err)
	}
	if took := time.Since(began); took < noConnGrace {
		t.Fatalf("gave up after %s, before the %s grace", took, noConnGrace)
	}
	if got := len(b.Libp2p().Network().ConnsToPeer(a.ID())); got != 0 {
		t.Fatalf("the open dialled: b has %d connections from a", got)
	}

	opened := make(chan error, 1)
	go func() {
		s, err := a.newStreamNoDial(ctx, b.ID())
		if err == nil {
			_ = s.Reset()
		}
		opened <- err
	}()
	// b connects to a while a's open waits.
	if err := b.Libp2p().Connect(ctx, addrInfo(t, a, "tcp")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("the peer connected within the grace, yet: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("no stream within 10 s")
	}
}
