package actors

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// addrPattern is one compiled Rule.Connect or Rule.Listen entry.
type addrPattern struct {
	unix    bool
	path    string // path.Match pattern, for unix
	anyHost bool
	ip      bool // prefix holds the host
	prefix  netip.Prefix
	name    string // a host name (or "") to match as written
	lo, hi  uint16 // the ports, inclusive
}

func compilePatterns(raw []string) ([]addrPattern, error) {
	out := make([]addrPattern, 0, len(raw))
	for _, s := range raw {
		p, err := compilePattern(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func compilePattern(s string) (addrPattern, error) {
	if rest, ok := strings.CutPrefix(s, "unix:"); ok {
		if rest == "" {
			return addrPattern{}, fmt.Errorf("%q: no path after \"unix:\"", s)
		}
		if _, err := path.Match(rest, ""); err != nil {
			return addrPattern{}, fmt.Errorf("%q: %w", s, err)
		}
		return addrPattern{unix: true, path: rest}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return addrPattern{}, fmt.Errorf("%q: not HOST:PORT or unix:PATTERN: %w", s, err)
	}
	var p addrPattern
	switch {
	case host == "*":
		p.anyHost = true
	case strings.Contains(host, "/"):
		pre, err := netip.ParsePrefix(host)
		if err != nil {
			return addrPattern{}, fmt.Errorf("%q: %w", s, err)
		}
		p.ip, p.prefix = true, pre.Masked()
	default:
		if ip, err := netip.ParseAddr(host); err == nil {
			ip = ip.WithZone("").Unmap()
			p.ip, p.prefix = true, netip.PrefixFrom(ip, ip.BitLen())
		} else {
			p.name = strings.ToLower(host)
		}
	}
	switch lo, hi, ok := strings.Cut(port, "-"); {
	case port == "*":
		p.lo, p.hi = 0, 65535
	case ok:
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 != nil || err2 != nil || a > b {
			return addrPattern{}, fmt.Errorf("%q: port range %q is not LOW-HIGH within 0-65535", s, port)
		}
		p.lo, p.hi = uint16(a), uint16(b)
	default:
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return addrPattern{}, fmt.Errorf("%q: port %q is not a number, a LOW-HIGH range or *", s, port)
		}
		p.lo, p.hi = uint16(n), uint16(n)
	}
	return p, nil
}

func matchAny(ps []addrPattern, addr string) bool {
	if len(ps) == 0 {
		return false
	}
	t, err := parseTarget(addr)
	if err != nil {
		return false
	}
	for i := range ps {
		if ps[i].match(t) {
			return true
		}
	}
	return false
}

// target is a request's address, parsed once for matching.
type target struct {
	unix bool
	path string
	isIP bool
	ip   netip.Addr
	host string // lower case, when not an IP
	port uint16
}

var errUnparsed = errors.New("address not understood")

func parseTarget(addr string) (target, error) {
	if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
		return target{unix: true, path: rest}, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return target{}, errUnparsed
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return target{}, errUnparsed
	}
	t := target{port: uint16(n)}
	if ip, err := netip.ParseAddr(host); err == nil {
		t.isIP, t.ip = true, ip.WithZone("").Unmap()
	} else {
		t.host = strings.ToLower(host)
	}
	return t, nil
}

func (p *addrPattern) match(t target) bool {
	if p.unix || t.unix {
		if !p.unix || !t.unix {
			return false
		}
		ok, _ := path.Match(p.path, t.path)
		return ok
	}
	if t.port < p.lo || t.port > p.hi {
		return false
	}
	switch {
	case p.anyHost:
		return true
	case p.ip:
		return t.isIP && p.prefix.Contains(t.ip)
	default:
		return !t.isIP && p.name == t.host
	}
}
