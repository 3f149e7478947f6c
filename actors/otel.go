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
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for k, t := range s.Metrics() {
			attrs := metric.WithAttributes(attribute.String("kind", k.Kind), attribute.String("service", k.Service))
			for i, in := range otelInstruments {
				o.ObserveInt64(obs[i], in.value(&t), attrs)
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
