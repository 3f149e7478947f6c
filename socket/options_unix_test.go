//go:build linux || darwin || freebsd

package socket

import (
	"errors"
	"math"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestApplyOptions(t *testing.T) {
	zero := time.Duration(0)
	s := open(t, IPv6, Stream)
	err := s.Apply(Options{
		ReuseAddr:  true,
		ReusePort:  true,
		NoDelay:    true,
		KeepAlive:  KeepAlive{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 4},
		Linger:     &zero,
		RecvBuffer: 64 << 10,
		SendBuffer: 64 << 10,
		V6Only:     true,
	})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	ints := []struct {
		name       string
		level, opt int
		want       int
	}{
		{name: "SO_REUSEADDR", level: unix.SOL_SOCKET, opt: unix.SO_REUSEADDR, want: 1},
		{name: "SO_REUSEPORT", level: unix.SOL_SOCKET, opt: unix.SO_REUSEPORT, want: 1},
		{name: "TCP_NODELAY", level: unix.IPPROTO_TCP, opt: unix.TCP_NODELAY, want: 1},
		{name: "SO_KEEPALIVE", level: unix.SOL_SOCKET, opt: unix.SO_KEEPALIVE, want: 1},
		{name: tcpKeepIdleName, level: unix.IPPROTO_TCP, opt: tcpKeepIdle, want: 30},
		{name: "TCP_KEEPINTVL", level: unix.IPPROTO_TCP, opt: unix.TCP_KEEPINTVL, want: 5},
		{name: "TCP_KEEPCNT", level: unix.IPPROTO_TCP, opt: unix.TCP_KEEPCNT, want: 4},
		{name: "IPV6_V6ONLY", level: unix.IPPROTO_IPV6, opt: unix.IPV6_V6ONLY, want: 1},
	}
	for _, o := range ints {
		t.Run(o.name, func(t *testing.T) {
			got, err := unix.GetsockoptInt(s.FD(), o.level, o.opt)
			if err != nil || got != o.want {
				t.Fatalf("%s = %d, %v; want %d", o.name, got, err, o.want)
			}
		})
	}
	l, err := unix.GetsockoptLinger(s.FD(), unix.SOL_SOCKET, unix.SO_LINGER)
	if err != nil || l.Onoff != 1 || l.Linger != 0 {
		t.Fatalf("SO_LINGER = %+v, %v; want on, 0 s (abort)", l, err)
	}
	// The kernel doubles buffer sizes for its bookkeeping.
	if n, _ := s.RecvBuffer(); n < 64<<10 {
		t.Fatalf("SO_RCVBUF = %d; want at least %d", n, 64<<10)
	}
	if n, _ := s.SendBuffer(); n < 64<<10 {
		t.Fatalf("SO_SNDBUF = %d; want at least %d", n, 64<<10)
	}
	if on, _ := s.NoDelay(); !on {
		t.Fatal("NoDelay reports off")
	}
	if on, _ := s.KeepAliveEnabled(); !on {
		t.Fatal("KeepAliveEnabled reports off")
	}
	if on, _ := s.V6Only(); !on {
		t.Fatal("V6Only reports off")
	}
}

func TestZeroOptionsChangeNothing(t *testing.T) {
	s := open(t, IPv4, Stream)
	before, _ := s.RecvBuffer()
	if err := s.Apply(Options{}); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.RecvBuffer(); after != before {
		t.Fatalf("SO_RCVBUF changed from %d to %d", before, after)
	}
	if on, _ := s.NoDelay(); on {
		t.Fatal("zero Options turned TCP_NODELAY on")
	}
}

func TestBroadcast(t *testing.T) {
	s := open(t, IPv4, Datagram)
	if err := s.Apply(Options{Broadcast: true}); err != nil {
		t.Fatal(err)
	}
	if v, _ := unix.GetsockoptInt(s.FD(), unix.SOL_SOCKET, unix.SO_BROADCAST); v != 1 {
		t.Fatalf("SO_BROADCAST = %d; want 1", v)
	}
}

func TestOptionErrors(t *testing.T) {
	s := open(t, IPv4, Stream)
	neg, short, long := -time.Second, 500*time.Millisecond, time.Duration(math.MaxInt32+1)*time.Second
	tests := []struct {
		name string
		err  error
		want error
	}{
		{name: "V6Only on IPv4", err: s.SetV6Only(true), want: ErrInvalidArgument},
		{name: "negative linger", err: s.Apply(Options{Linger: &neg}), want: ErrInvalidArgument},
		{name: "linger past the kernel's int of seconds", err: s.Apply(Options{Linger: &long}), want: ErrInvalidArgument},
		{name: "linger under a second (would abort)", err: s.Apply(Options{Linger: &short}), want: ErrInvalidArgument},
		{name: "zero recv buffer", err: s.SetRecvBuffer(0), want: ErrInvalidArgument},
		{name: "negative send buffer", err: s.SetSendBuffer(-1), want: ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var oe *OpError
			if !errors.Is(tt.err, tt.want) || !errors.As(tt.err, &oe) || oe.Op == "" {
				t.Fatalf("err = %v; want an OpError naming the option, wrapping %v", tt.err, tt.want)
			}
		})
	}
}
