// Package dnstest holds the DNS fixtures of the discovery tests: an
// authoritative DNS server on 127.0.0.1 serving TXT records the test sets
// (EIP-1459 trees among them), a server that never answers, and signed
// trees built with go-ethereum's dnsdisc. It is used by p2p/dnsdisc's
// tests and by node's; nothing else imports it.
package dnstest

import (
	"crypto/ecdsa"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gethdns "github.com/ethereum/go-ethereum/p2p/dnsdisc"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/miekg/dns"
)

// StartBound is how long Start waits for the server to be up.
const StartBound = 5 * time.Second

// Server is an authoritative DNS server on 127.0.0.1 (UDP, and TCP on the
// same port for answers that do not fit a datagram) that serves the TXT
// records set by the test; every other name is answered "no such name".
// Its methods are safe for concurrent use.
type Server struct {
	addr    string
	queries atomic.Int64
	asked   chan string // every name asked, while there is room

	mu      sync.Mutex
	records map[string][]string // lower-case name without the trailing dot
}

// Start starts a Server; the test's cleanup stops it and waits for its
// goroutines.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{asked: make(chan string, 4096), records: make(map[string][]string)}
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
		case <-time.After(StartBound):
			t.Fatalf("DNS server not started within %v", StartBound)
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

// Addr is the server's "127.0.0.1:port" (UDP and TCP).
func (s *Server) Addr() string { return s.addr }

// Queries is the number of queries answered so far.
func (s *Server) Queries() int64 { return s.queries.Load() }

// ServeDNS answers one query (dns.Handler).
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
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

// Set makes txts the TXT records of name.
func (s *Server) Set(name string, txts ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[strings.ToLower(name)] = txts
}

// SetTree replaces the records of domain and its subdomains with records
// (name to TXT, as Tree.Records).
func (s *Server) SetTree(domain string, records map[string]string) {
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

// WaitAsked waits for a query of name, within bound, and fails the test
// if none comes. Queries of other names are passed over.
func (s *Server) WaitAsked(t testing.TB, name string, bound time.Duration) {
	t.Helper()
	name = strings.ToLower(name)
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

// DrainAsked forgets the names asked so far.
func (s *Server) DrainAsked() {
	for {
		select {
		case <-s.asked:
		default:
			return
		}
	}
}

// Silent takes UDP queries on 127.0.0.1 and never answers; each packet
// received is reported on got while there is room. The test's cleanup
// stops it.
func Silent(t testing.TB) (addr string, got <-chan struct{}) {
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

// Tree is a signed EIP-1459 tree.
type Tree struct {
	// URL is enrtree://<signer's key>@<domain>.
	URL string
	// Records are the tree's TXT records by name (for Server.SetTree).
	Records map[string]string
	Nodes   []*enode.Node
}

// MakeTree builds a tree of nodes and links with go-ethereum's dnsdisc and
// signs it with key for domain, with sequence number seq.
func MakeTree(t testing.TB, key *ecdsa.PrivateKey, domain string, seq uint, nodes []*enode.Node, links ...string) Tree {
	t.Helper()
	tr, err := gethdns.MakeTree(seq, nodes, links)
	if err != nil {
		t.Fatal(err)
	}
	url, err := tr.Sign(key, domain)
	if err != nil {
		t.Fatal(err)
	}
	return Tree{URL: url, Records: tr.ToTXT(domain), Nodes: nodes}
}
