package dnsdisc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// newResolver is Go's own DNS client (the one LookupTXT uses on every
// platform) asking nameServer ("ip:port"; "": the system's resolvers). Its
// connections are cut as soon as the query's context ends: Go's client
// would otherwise wait for its deadline before it sees a cancellation, and
// a Feed's Close would wait that long.
func newResolver(nameServer string) *net.Resolver {
	var d net.Dialer
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			if nameServer != "" {
				address = nameServer
			}
			conn, err := d.DialContext(ctx, network, address)
			if err != nil {
				return nil, err
			}
			stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
			// Go's client frames a query by the connection's kind: a
			// wrapper must stay a PacketConn for UDP.
			if udp, ok := conn.(*net.UDPConn); ok {
				return &cutUDPConn{UDPConn: udp, stop: stop}, nil
			}
			return &cutConn{Conn: conn, stop: stop}, nil
		},
	}
}

type cutUDPConn struct {
	*net.UDPConn
	stop func() bool
}

func (c *cutUDPConn) Close() error { c.stop(); return c.UDPConn.Close() }

type cutConn struct {
	net.Conn
	stop func() bool
}

func (c *cutConn) Close() error { c.stop(); return c.Conn.Close() }

// query asks for the TXT records of name, after a token of the Client's
// rate limit, within Config.Timeout. Errors wrap ErrTimeout or ErrLookup,
// or are ctx's own error when ctx ended.
func (c *Client) query(ctx context.Context, name string) ([]string, error) {
	if err := c.limiter.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: TXT %s: the query rate limit (%v per second) leaves no time before the deadline: %w", ErrTimeout, name, c.cfg.RateLimit, err)
	}
	qctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	// The name is made absolute so that the resolver's search domains are
	// not tried: a tree's names are fully qualified.
	txts, err := c.resolver.LookupTXT(qctx, name+".")
	if err == nil {
		return txts, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var dnsErr *net.DNSError
	if qctx.Err() != nil || errors.As(err, &dnsErr) && dnsErr.IsTimeout {
		return nil, fmt.Errorf("%w: TXT %s: no answer within %v", ErrTimeout, name, c.cfg.Timeout)
	}
	return nil, fmt.Errorf("%w: TXT %s: %w", ErrLookup, name, err)
}

// lookupRoot returns the root record of the tree at u: the first TXT
// record at its domain that starts with "enrtree-root:v1" (other records
// at the domain are left alone, whatever their size).
func (c *Client) lookupRoot(ctx context.Context, u URL) (string, error) {
	txts, err := c.query(ctx, u.Domain)
	if err != nil {
		return "", err
	}
	for _, txt := range txts {
		if strings.HasPrefix(txt, rootPrefix) {
			if len(txt) > MaxEntrySize {
				return "", fmt.Errorf("%w: root record at %s is %d bytes, at most %d allowed", ErrInvalidTree, u.Domain, len(txt), MaxEntrySize)
			}
			return txt, nil
		}
	}
	return "", fmt.Errorf("%w: none of the %d TXT records at %s starts with %q", ErrNoRoot, len(txts), u.Domain, rootPrefix)
}
