package dnsdisc

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	gethdns "github.com/ethereum/go-ethereum/p2p/dnsdisc"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/miekg/dns"
	ma "github.com/multiformats/go-multiaddr"
)

// testServer is an authoritative DNS server on 127.0.0.1 (UDP, and TCP on
// the same port for answers that do not fit a datagram) that serves TXT
// records set by the test.
type testServer struct {
	addr    string
	queries atomic.Int64
	asked   chan string // every name asked, while there is room

	mu      sync.Mutex
	records map[string][]string // lower-case name without the trailing dot
}

const startBound = 5 * time.Second

func startServer(t *testing.T) *testServer {
	t.Helper()
	s := &testServer{asked: make(chan string, 4096), records: make(map[string][]string)}
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		if pc, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp4", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if attempt == 20 {
			t.Fatalf("no port free for both UDP and TCP: %v", err)
		}
	}
	s.addr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: s}, {Listener: ln, Handler: s}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		errc := make(chan error, 1)
		go func() { errc <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-errc:
			t.Fatalf("DNS server: %v", err)
		case <-time.After(startBound):
			t.Fatalf("DNS server not started within %v", startBound)
		}
		t.Cleanup(func() {
			if err := srv.Shutdown(); err != nil {
				t.Errorf("DNS server shutdown: %v", err)
			}
			<-errc
		})
	}
	return s
}

func (s *testServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	s.queries.Add(1)
	select {
	case s.asked <- name:
	default:
	}
	s.mu.Lock()
	txts, ok := s.records[name]
	s.mu.Unlock()
	switch {
	case !ok:
		m.Rcode = dns.RcodeNameError
	case q.Qtype == dns.TypeTXT:
		for _, txt := range txts {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: split255(txt),
			})
		}
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// split255 cuts a TXT record into the character strings of at most 255
// bytes that DNS carries. (miekg/dns reads them in presentation form: a
// backslash would start an escape. Tree entries have none.)
func split255(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}

func (s *testServer) set(name string, txts ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[strings.ToLower(name)] = txts
}

// setTree replaces the records of domain and its subdomains with records.
func (s *testServer) setTree(domain string, records map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	domain = strings.ToLower(domain)
	for name := range s.records {
		if name == domain || strings.HasSuffix(name, "."+domain) {
			delete(s.records, name)
		}
	}
	for name, txt := range records {
		s.records[strings.ToLower(name)] = []string{txt}
	}
}

// waitAsked waits for a query of name, within bound.
func (s *testServer) waitAsked(t *testing.T, name string, bound time.Duration) {
	t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	for {
		select {
		case got := <-s.asked:
			if got == name {
				return
			}
		case <-timer.C:
			t.Fatalf("no query for %s within %v", name, bound)
		}
	}
}

// drainAsked forgets the names asked so far.
func (s *testServer) drainAsked() {
	for {
		select {
		case <-s.asked:
		default:
			return
		}
	}
}

// silentServer takes UDP queries on 127.0.0.1 and never answers; each
// packet received is reported on got while there is room.
func silentServer(t *testing.T) (addr string, got <-chan struct{}) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String(), ch
}

// tree is a signed test tree.
type tree struct {
	url     string
	records map[string]string
	nodes   []*enode.Node
}

// makeTree builds and signs a tree with go-ethereum's dnsdisc.
func makeTree(t *testing.T, key *ecdsa.PrivateKey, domain string, seq uint, nodes []*enode.Node, links ...string) tree {
	t.Helper()
	tr, err := gethdns.MakeTree(seq, nodes, links)
	if err != nil {
		t.Fatal(err)
	}
	url, err := tr.Sign(key, domain)
	if err != nil {
		t.Fatal(err)
	}
	return tree{url: url, records: tr.ToTXT(domain), nodes: nodes}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// urlOf is the enrtree URL of key and domain.
func urlOf(key *ecdsa.PrivateKey, domain string) string {
	return Scheme + b32.EncodeToString(crypto.CompressPubkey(&key.PublicKey)) + "@" + domain
}

// wakuNode is a signed node record as a Waku node publishes it: address,
// ports, waku2 (relay, store, filter, lightpush) and rs (cluster 1, shards
// 0 to 7); odd ones also carry a multiaddrs entry (a websocket address),
// which takes their text form past 255 characters.
func wakuNode(t testing.TB, i int, seq uint64) *enode.Node {
	t.Helper()
	return wakuNodeKey(t, newKey(t), i, seq)
}

func wakuNodeKey(t testing.TB, key *ecdsa.PrivateKey, i int, seq uint64) *enode.Node {
	t.Helper()
	var r enr.Record
	r.SetSeq(seq)
	r.Set(enr.IPv4Addr(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})))
	r.Set(enr.TCP(60000))
	r.Set(enr.UDP(9000))
	r.Set(enr.WithEntry("waku2", []byte{0x0f}))
	rs := []byte{0, 1, 8}
	for shard := range 8 {
		rs = binary.BigEndian.AppendUint16(rs, uint16(shard))
	}
	r.Set(enr.WithEntry("rs", rs))
	if i%2 == 1 {
		addr, err := ma.NewMultiaddr("/dns4/node-" + strconv.Itoa(i) + ".example.org/tcp/8000/wss")
		if err != nil {
			t.Fatal(err)
		}
		b := binary.BigEndian.AppendUint16(nil, uint16(len(addr.Bytes())))
		r.Set(enr.WithEntry("multiaddrs", append(b, addr.Bytes()...)))
	}
	if err := enode.SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	n, err := enode.New(enode.ValidSchemes, &r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wakuNodes(t testing.TB, from, count int) []*enode.Node {
	t.Helper()
	out := make([]*enode.Node, count)
	for i := range out {
		out[i] = wakuNode(t, from+i, 1)
	}
	return out
}

// signRoot is a root record over e, l and seq, signed by key.
func signRoot(t testing.TB, key *ecdsa.PrivateKey, e, l string, seq uint64) string {
	t.Helper()
	r := root{eroot: e, lroot: l, seq: seq}
	sig, err := crypto.Sign(crypto.Keccak256([]byte(r.signedText())), key)
	if err != nil {
		t.Fatal(err)
	}
	return r.signedText() + " sig=" + b64(sig)
}

// label is the name of entry txt in its tree.
func label(txt string) string {
	return b32.EncodeToString(crypto.Keccak256([]byte(txt))[:16])
}

// sameNodes reports how got differs from want (by ID and record), or "".
func sameNodes(got, want []*enode.Node) string {
	byID := make(map[enode.ID]*enode.Node)
	for _, n := range want {
		byID[n.ID()] = n
	}
	if len(got) != len(want) {
		return fmt.Sprintf("got %d nodes, want %d", len(got), len(want))
	}
	for _, n := range got {
		w, ok := byID[n.ID()]
		if !ok {
			return fmt.Sprintf("got node %s, not among those wanted", n.ID().TerminalString())
		}
		if n.String() != w.String() {
			return fmt.Sprintf("node %s: got record %s, want %s", n.ID().TerminalString(), n.String(), w.String())
		}
	}
	return ""
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
