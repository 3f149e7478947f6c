package actors

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// WithMeterProvider exports the system's Metrics through OpenTelemetry:
// asynchronous instruments read the counters when the provider collects,
// so the data path pays nothing extra for the export. Every instrument has
// the attributes "kind" and "service" (see MetricKey):
//
//	actornet.sockets.open            live sockets (up-down counter)
//	actornet.socket.bytes_in         bytes read (counter, By)
//	actornet.socket.bytes_out        bytes written (counter, By)
//	actornet.socket.reads            read syscalls that moved bytes
//	actornet.socket.writes           write syscalls that moved bytes
//	actornet.socket.errors           failed data syscalls
//	actornet.tcp.accepted            connections accepted
//	actornet.tcp.rejected            connections refused at max connections
//	actornet.tcp.accept_errors       accept failures (EMFILE, ENFILE...)
//	actornet.udp.drops               datagrams the kernel dropped
//	actornet.socket.stalls           socket actors moved off a blocked poller
//
// and each poller actor's, with the attribute "poller"
// ("actornet/poller/0"):
//
//	actornet.poller.events           Ready messages delivered (counter;
//	                                 attribute "direction": readable, writable)
//	actornet.poller.wakeups          wake-ups through the eventfd (counter)
//	actornet.poller.waits            epoll_wait calls (counter; attribute
//	                                 "mode": blocking, poll)
//	actornet.poller.registrations    fds watched (up-down counter)
//	actornet.poller.longest_iteration longest delivery of one batch (gauge, ns)
//	actornet.poller.handoffs         loops replaced by the stall watchdog
//	actornet.poller.restarts         fresh loops started after a failure
//
// and on a node (WithRemote, WithCluster), what its remote policy decided
// (Metrics.Remote):
//
//	actornet.remote.allowed          requests from other nodes allowed
//	                                 (counter; attribute "op")
//	actornet.remote.denied           requests refused (counter; attributes
//	                                 "op" and "rule")
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.meters = mp }
}

// otelInstrument is one exported Totals field.
type otelInstrument struct {
	name, unit, desc string
	updown           bool
	value            func(*Totals) int64
}

var otelInstruments = []otelInstrument{
	{name: "actornet.sockets.open", desc: "live socket actors", updown: true, value: func(t *Totals) int64 { return t.Open }},
	{name: "actornet.socket.bytes_in", unit: "By", desc: "bytes read", value: func(t *Totals) int64 { return int64(t.BytesIn) }},
	{name: "actornet.socket.bytes_out", unit: "By", desc: "bytes written", value: func(t *Totals) int64 { return int64(t.BytesOut) }},
	{name: "actornet.socket.reads", desc: "read syscalls that moved bytes", value: func(t *Totals) int64 { return int64(t.Reads) }},
	{name: "actornet.socket.writes", desc: "write syscalls that moved bytes", value: func(t *Totals) int64 { return int64(t.Writes) }},
	{name: "actornet.socket.errors", desc: "failed data syscalls", value: func(t *Totals) int64 { return int64(t.Errors) }},
	{name: "actornet.tcp.accepted", desc: "connections accepted", value: func(t *Totals) int64 { return int64(t.Accepted) }},
	{name: "actornet.tcp.rejected", desc: "connections closed at once at max connections", value: func(t *Totals) int64 { return int64(t.Rejected) }},
	{name: "actornet.tcp.accept_errors", desc: "accept failures such as EMFILE", value: func(t *Totals) int64 { return int64(t.AcceptErrors) }},
	{name: "actornet.udp.drops", desc: "datagrams dropped for a full receive buffer", value: func(t *Totals) int64 { return int64(t.Drops) }},
	{name: "actornet.socket.stalls", desc: "times a socket actor held its poller past the stall budget and was moved to the worker pool", value: func(t *Totals) int64 { return int64(t.Stalls) }},
	{name: "actornet.tls.handshakes", desc: "TLS handshakes completed", value: func(t *Totals) int64 { return int64(t.Handshakes) }},
	{name: "actornet.tls.handshake_errors", desc: "TLS handshakes failed (bad input, certificates, the deadline)", value: func(t *Totals) int64 { return int64(t.HandshakeErrors) }},
}

// pollerInstrument is one exported PollerStats field; a field with two
// values (by direction, by wait mode) has attr set and value2 for the
// second.
type pollerInstrument struct {
	name, unit, desc string
	kind             int // 0 counter, 1 up-down counter, 2 gauge
	attr, v1, v2     string
	value, value2    func(*PollerStats) int64
}

var pollerInstruments = []pollerInstrument{
	{name: "actornet.poller.events", desc: "Ready messages delivered to socket actors", attr: "direction", v1: "readable", v2: "writable",
		value: func(s *PollerStats) int64 { return int64(s.Readable) }, value2: func(s *PollerStats) int64 { return int64(s.Writable) }},
	{name: "actornet.poller.wakeups", desc: "wake-ups of the wait loop through its eventfd", value: func(s *PollerStats) int64 { return int64(s.Wakeups) }},
	{name: "actornet.poller.waits", desc: "epoll_wait calls", attr: "mode", v1: "blocking", v2: "poll",
		value: func(s *PollerStats) int64 { return int64(s.BlockingWaits) }, value2: func(s *PollerStats) int64 { return int64(s.Polls) }},
	{name: "actornet.poller.released_waits", desc: "blocking waits made after giving the goroutine's P back to the Go scheduler", value: func(s *PollerStats) int64 { return int64(s.ReleasedWaits) }},
	{name: "actornet.poller.registrations", desc: "fds the poller watches", kind: 1, value: func(s *PollerStats) int64 { return int64(s.Registrations) }},
	{name: "actornet.poller.longest_iteration", unit: "ns", desc: "longest delivery of the events of one epoll_wait", kind: 2, value: func(s *PollerStats) int64 { return int64(s.LongestIteration) }},
	{name: "actornet.poller.handoffs", desc: "wait loops replaced by the stall watchdog", value: func(s *PollerStats) int64 { return int64(s.Handoffs) }},
	{name: "actornet.poller.restarts", desc: "fresh wait loops started after a failure", value: func(s *PollerStats) int64 { return int64(s.Restarts) }},
}

// startMetrics registers the instruments and their callback with mp.
func (s *System) startMetrics(mp metric.MeterProvider) error {
	meter := mp.Meter("github.com/actornet/actornet")
	obs := make([]metric.Int64Observable, len(otelInstruments))
	all := make([]metric.Observable, len(otelInstruments))
	for i, in := range otelInstruments {
		var (
			o   metric.Int64Observable
			err error
		)
		if in.updown {
			o, err = meter.Int64ObservableUpDownCounter(in.name, metric.WithDescription(in.desc))
		} else {
			o, err = meter.Int64ObservableCounter(in.name, metric.WithDescription(in.desc), metric.WithUnit(in.unit))
		}
		if err != nil {
			return err
		}
		obs[i], all[i] = o, o
	}
	pobs := make([]metric.Int64Observable, len(pollerInstruments))
	for i, in := range pollerInstruments {
		var (
			o   metric.Int64Observable
			err error
		)
		switch in.kind {
		case 1:
			o, err = meter.Int64ObservableUpDownCounter(in.name, metric.WithDescription(in.desc))
		case 2:
			o, err = meter.Int64ObservableGauge(in.name, metric.WithDescription(in.desc), metric.WithUnit(in.unit))
		default:
			o, err = meter.Int64ObservableCounter(in.name, metric.WithDescription(in.desc))
		}
		if err != nil {
			return err
		}
		pobs[i] = o
		all = append(all, o)
	}
	allowed, err := meter.Int64ObservableCounter("actornet.remote.allowed", metric.WithDescription("requests from other nodes the remote policy allowed"))
	if err != nil {
		return err
	}
	denied, err := meter.Int64ObservableCounter("actornet.remote.denied", metric.WithDescription("requests from other nodes the remote policy refused"))
	if err != nil {
		return err
	}
	all = append(all, allowed, denied)
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m := s.Metrics()
		for op, n := range m.Remote.Allowed {
			o.ObserveInt64(allowed, int64(n), metric.WithAttributes(attribute.String("op", op)))
		}
		for k, n := range m.Remote.Denied {
			o.ObserveInt64(denied, int64(n), metric.WithAttributes(attribute.String("op", k.Op), attribute.String("rule", k.Rule)))
		}
		for k, t := range m.Sockets {
			attrs := metric.WithAttributes(attribute.String("kind", k.Kind), attribute.String("service", k.Service))
			for i, in := range otelInstruments {
				o.ObserveInt64(obs[i], in.value(&t), attrs)
			}
		}
		for _, p := range m.Pollers {
			name := attribute.String("poller", p.Name)
			for i, in := range pollerInstruments {
				if in.attr == "" {
					o.ObserveInt64(pobs[i], in.value(&p), metric.WithAttributes(name))
					continue
				}
				o.ObserveInt64(pobs[i], in.value(&p), metric.WithAttributes(name, attribute.String(in.attr, in.v1)))
				o.ObserveInt64(pobs[i], in.value2(&p), metric.WithAttributes(name, attribute.String(in.attr, in.v2)))
			}
		}
		return nil
	}, all...)
	if err != nil {
		return err
	}
	s.metricsReg = reg
	return nil
}

func (s *System) stopMetrics() error {
	if s.metricsReg == nil {
		return nil
	}
	return s.metricsReg.Unregister()
}
