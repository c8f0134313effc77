package peerexchange

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	msmux "github.com/multiformats/go-multistream"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/internal/hostile"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/p2p/admission"
	"github.com/rlnd/rlnd/wire"
	pb "github.com/rlnd/rlnd/wire/pb/peerexchangepb"
)

// rawStream opens a peer-exchange stream from c to s and negotiates the
// protocol before anything is written (h.NewStream would negotiate with
// the first write).
func rawStream(t *testing.T, ctx context.Context, c, s *p2p.Host) network.Stream {
	t.Helper()
	st, err := c.Libp2p().Network().NewStream(ctx, s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := msmux.SelectProtoOrFail(Protocol, st); err != nil {
		t.Fatal(err)
	}
	_ = st.SetDeadline(time.Now().Add(waitBound))
	t.Cleanup(func() { _ = st.Reset() })
	return st
}

// answerOn reads the server's answer on st.
func answerOn(st network.Stream) ([]byte, error) {
	return wire.ReadFrame(st, MaxResponseSize)
}

// Requests the server cannot read are answered 400 saying why, at once;
// a stream without a request is reset at the first-byte deadline, one
// whose request stalls at the request deadline.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	const firstByte, request = 300 * time.Millisecond, 500 * time.Millisecond
	s := startService(t, 10, ServerConfig{
		Admission: admission.Limits{FirstByte: firstByte, Request: request},
		RateLimit: RateLimits{PeerBurst: 100},
	})
	c := testnet.Host(t, cluster)
	testnet.Connect(t, c, s.host)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitBound)
	defer cancel()

	header := func(n int) []byte { return binary.AppendUvarint(nil, uint64(n)) }
	big := append(header(2048), make([]byte, 2048)...)
	for _, tc := range []struct {
		name string
		send []byte
		want string
	}{
		{"a frame announcing 2 KiB, body unsent", header(2048), "frame of 2048 bytes, at most 1024 allowed"},
		{"a 2 KiB frame", big, "frame of 2048 bytes, at most 1024 allowed"},
		{"garbage", append(header(3), 0xff, 0xff, 0xff), "malformed protobuf"},
		{"no query", wire.AppendFrame(nil, []byte{0x12, 0x00}), "no query (PeerExchangeRPC field 1)"},
		{"a frame length that overflows", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, "overflows 64 bits"},
	} {
		st := rawStream(t, ctx, c, s.host)
		began := time.Now()
		if _, err := st.Write(tc.send); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, err := answerOn(st)
		if err != nil {
			t.Fatalf("%s: no answer: %v", tc.name, err)
		}
		_, err = decodeResponse(b, 1)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != StatusBadRequest || !strings.Contains(se.Description, tc.want) {
			t.Fatalf("%s: answer %v, want 400 saying %q", tc.name, err, tc.want)
		}
		if took := time.Since(began); took >= request {
			t.Fatalf("%s: answered after %s, not at once", tc.name, took)
		}
	}
	if got := s.result(t, ResultBadRequest); got != 5 {
		t.Fatalf("%v bad requests counted, want 5", got)
	}

	// No first byte: reset at the first-byte deadline.
	st := rawStream(t, ctx, c, s.host)
	began := time.Now()
	if _, err := st.Read(make([]byte, 1)); err == nil {
		t.Fatal("an idle stream got an answer")
	}
	if took := time.Since(began); took < firstByte-50*time.Millisecond || took > waitBound {
		t.Fatalf("idle stream ended after %s, first-byte deadline %s", took, firstByte)
	}
	if got := metricValue(t, s.reg, "rlnd_admission_refused_total", map[string]string{"reason": admission.ReasonIdleTimeout}); got != 1 {
		t.Fatalf("idle timeouts counted %v, want 1", got)
	}

	// A request that starts and stalls ends at the request deadline.
	st = rawStream(t, ctx, c, s.host)
	began = time.Now()
	if _, err := st.Write(header(4)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(st); err == nil {
		// a clean end is fine too; what matters is when
		t.Log("the stalled request's stream was closed")
	}
	if took := time.Since(began); took < request-50*time.Millisecond || took > waitBound {
		t.Fatalf("stalled request ended after %s, request deadline %s", took, request)
	}
	if err := s.srv.Admission().Wait(ctx, func(st admission.Stats) bool { return st.Active == 0 && st.Idle == 0 }); err != nil {
		t.Fatal(err)
	}
}

// Eight peer ids from one /24 ask once each: the prefix's bucket (4)
// serves four and refuses the others 429 without keeping a bucket for
// them, while a peer on another prefix is served until its own bucket (2)
// is empty.
func TestPrefixFlood(t *testing.T) {
	t.Parallel()
	s := startService(t, 20, ServerConfig{RateLimit: RateLimits{
		PeerBurst: 2, PeerEvery: time.Hour, PrefixBurst: 4, PrefixEvery: time.Hour,
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitBound)
	defer cancel()
	var ips []string
	for i := range 8 {
		ips = append(ips, fmt.Sprintf("127.0.3.%d", i+1))
	}
	attackers := hostile.Clients(t, ctx, cluster, s.host, ips...)
	honest := hostile.Clients(t, ctx, cluster, s.host, "127.0.4.1")[0]
	served, refused := 0, 0
	for _, a := range attackers {
		nodes, err := Request(ctx, a.Libp2p(), s.host.ID(), 5)
		var se *StatusError
		switch {
		case err == nil && len(nodes) == 5:
			served++
		case errors.As(err, &se) && se.Code == StatusTooManyRequests && strings.Contains(se.Description, "peers of this address prefix may make 4"):
			refused++
		default:
			t.Fatalf("attacker %s: %d records, %v", a.ID(), len(nodes), err)
		}
	}
	if served != 4 || refused != 4 {
		t.Fatalf("one /24 of 8 peer ids: %d served, %d refused; want 4 and 4", served, refused)
	}
	for i := range 3 {
		nodes, err := Request(ctx, honest.Libp2p(), s.host.ID(), 5)
		var se *StatusError
		switch {
		case i < 2 && (err != nil || len(nodes) != 5):
			t.Fatalf("honest request %d: %d records, %v", i, len(nodes), err)
		case i == 2 && !(errors.As(err, &se) && se.Code == StatusTooManyRequests && strings.Contains(se.Description, "this peer may make 2")):
			t.Fatalf("honest request %d over its burst: %v, want 429 for the peer", i, err)
		}
	}
	if got := s.result(t, ResultRateLimitedPrefix); got != 4 {
		t.Fatalf("rate_limited_prefix %v, want 4", got)
	}
	if got := s.result(t, ResultRateLimitedPeer); got != 1 {
		t.Fatalf("rate_limited_peer %v, want 1", got)
	}
	if peers, prefixes := s.srv.limit.tracked(); peers != 5 || prefixes != 2 {
		t.Fatalf("buckets for %d peers and %d prefixes, want 5 and 2 (none for refused peers)", peers, prefixes)
	}
}

// A peer over its admission limit of requests in progress is answered 429
// busy at once.
func TestBusy(t *testing.T) {
	t.Parallel()
	s := startService(t, 10, ServerConfig{Admission: admission.Limits{PeerRequests: 1}})
	c := testnet.Host(t, cluster)
	testnet.Connect(t, c, s.host)
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	st := rawStream(t, ctx, c, s.host)
	if _, err := st.Write([]byte{0x04}); err != nil { // a request started and stalled
		t.Fatal(err)
	}
	if err := s.srv.Admission().Wait(ctx, func(st admission.Stats) bool { return st.Active == 1 }); err != nil {
		t.Fatal(err)
	}
	_, err := Request(ctx, c.Libp2p(), s.host.ID(), 5)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != StatusTooManyRequests || !strings.HasPrefix(se.Description, "busy: this peer") {
		t.Fatalf("request over the peer's limit: %v, want 429 busy", err)
	}
	_ = st.Reset()
	if err := s.srv.Admission().Wait(ctx, func(st admission.Stats) bool { return st.Active == 0 }); err != nil {
		t.Fatal(err)
	}
	if nodes, err := Request(ctx, c.Libp2p(), s.host.ID(), 5); err != nil || len(nodes) != 5 {
		t.Fatalf("after the stall: %d records, %v", len(nodes), err)
	}
	if got := s.result(t, ResultBusyPeer); got != 1 {
		t.Fatalf("busy_peer %v, want 1", got)
	}
}

// A hostile server's answers give the client clear errors, within the
// request's deadline.
func TestHostileServer(t *testing.T) {
	t.Parallel()
	srv := testnet.Host(t, cluster)
	c := testnet.Host(t, cluster)
	testnet.Connect(t, c, srv)
	good, _ := record(t, 1, "127.0.0.1", 60000)
	good2, _ := record(t, 1, "127.0.0.2", 60000)
	tampered := rawOf(t, good2)
	tampered[len(tampered)-1] ^= 1
	answer := func(records [][]byte, code *uint32) []byte {
		resp := &pb.PeerExchangeResponse{StatusCode: code}
		for _, r := range records {
			resp.PeerInfos = append(resp.PeerInfos, &pb.PeerInfo{Enr: r})
		}
		b, err := proto.Marshal(&pb.PeerExchangeRPC{Response: resp})
		if err != nil {
			t.Fatal(err)
		}
		return wire.AppendFrame(nil, b)
	}
	var six [][]byte
	for range 6 {
		n, _ := record(t, 1, "127.0.0.3", 60000)
		six = append(six, rawOf(t, n))
	}
	tests := []struct {
		name    string
		reply   []byte // nil: never answer
		closeUp bool   // close without answering
		want    error
		text    string
		nodes   int
	}{
		{"oversized answer", append(binary.AppendUvarint(nil, 1<<20), make([]byte, 4096)...), false, ErrResponseTooLarge, "frame of 1048576 bytes, at most 65536 allowed", 0},
		{"garbage", wire.AppendFrame(nil, []byte{0xff, 0xfe, 0xfd}), false, ErrMalformedResponse, "malformed protobuf", 0},
		{"no response field", wire.AppendFrame(nil, []byte{0x0a, 0x02, 0x08, 0x00}), false, ErrMalformedResponse, "no response", 0},
		{"six records for five", answer(six, nil), false, ErrTooManyRecords, "6 records, asked for 5", 0},
		{"only a forged record", answer([][]byte{tampered}, proto.Uint32(200)), false, ErrBadRecord, "record 1 of 1: no valid v4 signature", 0},
		{"a forged record beside a good one", answer([][]byte{tampered, rawOf(t, good)}, proto.Uint32(200)), false, nil, "", 1},
		{"refused", answer(nil, proto.Uint32(503)), false, ErrRefused, "503 SERVICE_UNAVAILABLE", 0},
		{"closed unanswered", nil, true, io.EOF, "the stream ended before one", 0},
		{"silent", nil, false, context.DeadlineExceeded, "read the answer", 0},
	}
	for _, tc := range tests {
		release := make(chan struct{}) // a silent handler waits for it
		srv.Libp2p().SetStreamHandler(Protocol, func(st network.Stream) {
			defer st.Close()
			if _, err := wire.ReadFrame(st, MaxRequestSize); err != nil {
				_ = st.Reset()
				return
			}
			switch {
			case tc.closeUp:
			case tc.reply == nil:
				<-release
			default:
				_, _ = st.Write(tc.reply)
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		began := time.Now()
		nodes, err := Request(ctx, c.Libp2p(), srv.ID(), 5)
		cancel()
		close(release)
		if took := time.Since(began); took > time.Second+waitBound/2 {
			t.Fatalf("%s: Request took %s with a 1 s deadline", tc.name, took)
		}
		if tc.want == nil {
			if err != nil || len(nodes) != tc.nodes {
				t.Fatalf("%s: %d records, %v; want %d", tc.name, len(nodes), err, tc.nodes)
			}
			continue
		}
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Fatalf("%s: error %v, want %v saying %q", tc.name, err, tc.want, tc.text)
		}
		t.Logf("%s: %v", tc.name, err)
	}
}

// A request over a rate limit is read before it is refused: js-waku writes
// its query before it reads, and an answer that came first stalled its
// connection set-up (see Server.serve). The refused peer's stream stays
// unanswered until its request is complete, then gets its 429.
func TestRateLimitedRequestIsReadFirst(t *testing.T) {
	t.Parallel()
	s := startService(t, 3, ServerConfig{RateLimit: RateLimits{PeerBurst: 1, PeerEvery: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitBound)
	defer cancel()
	c := hostile.Clients(t, ctx, cluster, s.host, "127.0.5.1")[0]
	if _, err := Request(ctx, c.Libp2p(), s.host.ID(), 3); err != nil {
		t.Fatalf("first request, within the burst: %v", err)
	}
	st := rawStream(t, ctx, c, s.host)
	req, err := encodeRequest(3)
	if err != nil {
		t.Fatal(err)
	}
	frame := wire.AppendFrame(nil, req)
	if _, err := st.Write(frame[:1]); err != nil {
		t.Fatal(err)
	}
	// Half a request: the server must still be reading it. A read that
	// returns within the wait would be an answer given before the request.
	const unanswered = 200 * time.Millisecond
	_ = st.SetReadDeadline(time.Now().Add(unanswered))
	var timeout interface{ Timeout() bool }
	if b, err := answerOn(st); err == nil || !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Fatalf("answer %x (err %v) before the request was complete", b, err)
	}
	_ = st.SetReadDeadline(time.Now().Add(waitBound))
	if _, err := st.Write(frame[1:]); err != nil {
		t.Fatal(err)
	}
	b, err := answerOn(st)
	if err != nil {
		t.Fatal(err)
	}
	_, err = decodeResponse(b, 3)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != StatusTooManyRequests {
		t.Fatalf("answer %v, want 429", err)
	}
}
