package wakuenr

import (
	"cmp"
	"crypto/ecdsa"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// LocalRecord is what a node says about itself in its ENR: where to reach
// it and the Waku entries.
type LocalRecord struct {
	// IP is the address peers reach us at, for the ip (IPv4) or ip6 entry.
	// Apply sets it as the LocalNode's static IP; nil leaves the
	// LocalNode's IP as it is (its fallback or the address its discovery
	// peers report).
	IP net.IP
	// TCP is the libp2p TCP port, for the tcp entry (and tcp6 too when IP
	// is an IPv6 address); 0 removes them.
	TCP int
	// UDP is the discv5 port, for the udp entry. Apply sets it as the
	// LocalNode's fallback UDP port; 0 leaves it as it is.
	UDP int
	// Capabilities is the waku2 entry (always written, as nwaku does).
	Capabilities Capabilities
	// Shards is the rs or rsv entry (see ShardEntry); nil removes both.
	Shards *Shards
	// Multiaddrs are the addresses that IP and TCP cannot say: websocket,
	// wss, DNS names. A trailing /p2p/<our id> is taken off; a /p2p part
	// of another peer is an error. Empty removes the entry.
	Multiaddrs []ma.Multiaddr
}

// entryChange is one entry to set, or to delete when value is nil.
type entryChange struct {
	key   string
	value enr.Entry
}

// changes are the entries r sets and deletes on the record of self.
func (r LocalRecord) changes(self peer.ID) ([]entryChange, error) {
	if r.TCP < 0 || r.TCP > math.MaxUint16 {
		return nil, fmt.Errorf("%w: TCP port %d, want 0 to 65535", ErrInvalid, r.TCP)
	}
	if r.UDP < 0 || r.UDP > math.MaxUint16 {
		return nil, fmt.Errorf("%w: UDP port %d, want 0 to 65535", ErrInvalid, r.UDP)
	}
	out := []entryChange{{KeyCapabilities, enr.WithEntry(KeyCapabilities, EncodeCapabilities(r.Capabilities))}}
	if ip := r.IP; ip != nil {
		if ip4 := ip.To4(); ip4 != nil {
			out = append(out, entryChange{"ip", enr.IPv4(ip4)})
		} else if len(ip) == net.IPv6len {
			out = append(out, entryChange{"ip6", enr.IPv6(ip)})
		} else {
			return nil, fmt.Errorf("%w: IP %v, want 4 or 16 bytes", ErrInvalid, ip)
		}
	}
	if r.TCP != 0 {
		out = append(out, entryChange{"tcp", enr.TCP(r.TCP)})
	} else {
		out = append(out, entryChange{key: "tcp"})
	}
	// EIP-778's tcp6 defaults to tcp, but js-waku reads an IPv6 address
	// only with a tcp6 entry: an IPv6 IP gets one.
	if r.TCP != 0 && r.IP != nil && r.IP.To4() == nil {
		out = append(out, entryChange{"tcp6", enr.TCP6(r.TCP)})
	} else {
		out = append(out, entryChange{key: "tcp6"})
	}
	if r.UDP != 0 {
		out = append(out, entryChange{"udp", enr.UDP(r.UDP)})
	}
	if r.Shards == nil {
		out = append(out, entryChange{key: KeyShardList}, entryChange{key: KeyShardVector})
	} else {
		key, value, err := ShardEntry(*r.Shards)
		if err != nil {
			return nil, err
		}
		other := KeyShardVector
		if key == KeyShardVector {
			other = KeyShardList
		}
		out = append(out, entryChange{key, enr.WithEntry(key, value)}, entryChange{key: other})
	}
	if len(r.Multiaddrs) == 0 {
		out = append(out, entryChange{key: KeyMultiaddrs})
	} else {
		addrs := make([]ma.Multiaddr, len(r.Multiaddrs))
		for k, a := range r.Multiaddrs {
			bare, err := stripPeer(a, self)
			if err != nil {
				return nil, fmt.Errorf("%w: multiaddr %d: %w", ErrInvalid, k, err)
			}
			addrs[k] = bare
		}
		value, err := EncodeMultiaddrs(addrs)
		if err != nil {
			return nil, err
		}
		out = append(out, entryChange{KeyMultiaddrs, enr.WithEntry(KeyMultiaddrs, value)})
	}
	return out, nil
}

// stripPeer takes a trailing /p2p/self off a; a /p2p of another peer is
// an error.
func stripPeer(a ma.Multiaddr, self peer.ID) (ma.Multiaddr, error) {
	if len(a) == 0 {
		return nil, fmt.Errorf("empty multiaddr")
	}
	rest, last := ma.SplitLast(a)
	if last == nil || last.Code() != ma.P_P2P {
		return a, nil
	}
	id, err := peer.IDFromBytes(last.RawValue())
	if err != nil {
		return nil, fmt.Errorf("%v: peer id: %w", a, err)
	}
	if id != self {
		return nil, fmt.Errorf("%v names peer %s, not this node (%s)", a, id, self)
	}
	if len(rest) == 0 {
		return nil, fmt.Errorf("%v has no address before /p2p", a)
	}
	return rest, nil
}

// Build returns the record r describes, signed by key with sequence
// number seq: a record standing alone, for tests, tools and peers that
// hand out records. A record over enr.SizeLimit is ErrTooBig.
func Build(key *ecdsa.PrivateKey, seq uint64, r LocalRecord) (*enode.Node, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no key", ErrKeyType)
	}
	self, err := PeerID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	changes, err := r.changes(self)
	if err != nil {
		return nil, err
	}
	var rec enr.Record
	rec.Set(enr.ID("v4"))
	rec.Set(enode.Secp256k1(key.PublicKey))
	for _, c := range changes {
		if c.value != nil {
			rec.Set(c.value)
		}
	}
	rec.SetSeq(seq)
	if size := signedSize(&rec); size > enr.SizeLimit {
		return nil, tooBig(size, &rec)
	}
	if err := enode.SignV4(&rec, key); err != nil {
		return nil, fmt.Errorf("wakuenr: sign record: %w", err)
	}
	n, err := enode.New(enode.ValidSchemes, &rec)
	if err != nil {
		return nil, fmt.Errorf("wakuenr: signed record does not verify: %w", err)
	}
	return n, nil
}

// Apply sets r's entries on ln (ip through SetStaticIP, udp through
// SetFallbackUDP, the others through Set and Delete), once it has checked
// that the record ln then signs fits in enr.SizeLimit with any sequence
// number: ErrTooBig otherwise, and ln is left as it was. (A LocalNode
// whose record does not fit panics when it signs.)
//
// reserve are entries the record may carry later in place of (or beside)
// the ones it has now, such as the udp port or the ip6 address that the
// LocalNode's endpoint prediction may set: the size check counts them, ln
// does not get them. Callers that share ln with something else setting
// entries must serialise their Apply calls with it.
//
// Entries change one at a time, those that shrink or go first, so that no
// record ln signs in between is bigger than the old or the new one.
func Apply(ln *enode.LocalNode, r LocalRecord, reserve ...enr.Entry) error {
	cur := ln.Node()
	self, err := PeerID(cur.Pubkey())
	if err != nil {
		return err
	}
	changes, err := r.changes(self)
	if err != nil {
		return err
	}
	type step struct {
		change entryChange
		delta  int // encoded size after minus before
	}
	oldValues := recordValues(cur.Record())
	newValues := map[string]rlp.RawValue{}
	var steps []step
	for _, c := range changes {
		old := oldValues[c.key]
		if c.value == nil {
			if old != nil {
				steps = append(steps, step{c, -len(old)})
			}
			newValues[c.key] = nil
			continue
		}
		v, err := rlp.EncodeToBytes(c.value)
		if err != nil {
			return fmt.Errorf("wakuenr: encode %s: %w", c.key, err)
		}
		newValues[c.key] = v
		steps = append(steps, step{c, len(v) - len(old)})
	}
	// The trial record: what ln holds, with r's changes and the reserve
	// applied, at the longest sequence number.
	var trial enr.Record
	for k, v := range oldValues {
		if nv, changed := newValues[k]; changed {
			v = nv
		}
		if v != nil {
			trial.Set(enr.WithEntry(k, v))
		}
	}
	for k, v := range newValues {
		if _, had := oldValues[k]; !had && v != nil {
			trial.Set(enr.WithEntry(k, v))
		}
	}
	for _, e := range reserve {
		trial.Set(e)
	}
	trial.SetSeq(math.MaxUint64)
	if size := signedSize(&trial); size > enr.SizeLimit {
		return tooBig(size, &trial)
	}
	slices.SortStableFunc(steps, func(a, b step) int { return cmp.Compare(a.delta, b.delta) })
	for _, s := range steps {
		switch {
		case s.change.value == nil:
			ln.Delete(enr.WithEntry(s.change.key, nil))
		case s.change.key == "ip":
			ln.SetStaticIP(net.IP(s.change.value.(enr.IPv4)))
		case s.change.key == "ip6":
			ln.SetStaticIP(net.IP(s.change.value.(enr.IPv6)))
		case s.change.key == "udp":
			ln.SetFallbackUDP(int(s.change.value.(enr.UDP)))
		default:
			ln.Set(s.change.value)
		}
	}
	return nil
}

// recordValues are the entries of r, key to RLP value.
func recordValues(r *enr.Record) map[string]rlp.RawValue {
	elems := r.AppendElements(nil)
	out := make(map[string]rlp.RawValue, len(elems)/2)
	for k := 1; k+1 < len(elems); k += 2 {
		out[elems[k].(string)] = elems[k+1].(rlp.RawValue)
	}
	return out
}

// signedSize is the encoded size of r once signed with a v4 (64-byte)
// signature.
func signedSize(r *enr.Record) int {
	list := r.AppendElements([]any{make([]byte, 64)})
	b, err := rlp.EncodeToBytes(list)
	if err != nil {
		return math.MaxInt
	}
	return len(b)
}

// tooBig describes a record of size bytes over the limit, naming its
// biggest entries.
func tooBig(size int, r *enr.Record) error {
	vals := recordValues(r)
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(-cmp.Compare(len(vals[a]), len(vals[b])), cmp.Compare(a, b)) })
	var big string
	for k, key := range keys[:min(3, len(keys))] {
		if k > 0 {
			big += ", "
		}
		big += fmt.Sprintf("%s %d", key, len(vals[key]))
	}
	return fmt.Errorf("%w: %d bytes signed, over the %d-byte ENR limit by %d (largest entries in bytes: %s)", ErrTooBig, size, enr.SizeLimit, size-enr.SizeLimit, big)
}

// SplitAddrs sorts the addresses a node advertises into LocalRecord
// fields: the first plain /ip4/<ip>/tcp/<port> (or, when there is none,
// the first /ip6/<ip>/tcp/<port>), with or without a /p2p suffix, gives
// IP and TCP; every other address goes to rest, in order, duplicates
// removed. Nothing is dropped: the caller chooses what to advertise.
func SplitAddrs(addrs []ma.Multiaddr) (ip net.IP, tcp int, rest []ma.Multiaddr) {
	plain := -1
	for _, want := range []int{ma.P_IP4, ma.P_IP6} {
		for k, a := range addrs {
			if code, addrIP, port := plainTCP(a); code == want {
				plain, ip, tcp = k, addrIP, port
				break
			}
		}
		if plain >= 0 {
			break
		}
	}
	for k, a := range addrs {
		if k != plain && !ma.Contains(rest, a) {
			rest = append(rest, a)
		}
	}
	return ip, tcp, rest
}

// plainTCP reads /ip4|ip6/<ip>/tcp/<port>[/p2p/<id>] with a specified
// address and a non-zero port; code is ma.P_IP4 or ma.P_IP6, or 0 for any
// other address.
func plainTCP(a ma.Multiaddr) (code int, ip net.IP, port int) {
	if rest, last := ma.SplitLast(a); last != nil && last.Code() == ma.P_P2P {
		a = rest
	}
	if len(a) != 2 || a[1].Code() != ma.P_TCP {
		return 0, nil, 0
	}
	code = a[0].Code()
	if code != ma.P_IP4 && code != ma.P_IP6 {
		return 0, nil, 0
	}
	port, err := strconv.Atoi(a[1].Value())
	ip = net.IP(slices.Clone(a[0].RawValue()))
	if err != nil || port == 0 || ip.IsUnspecified() {
		return 0, nil, 0
	}
	return code, ip, port
}
