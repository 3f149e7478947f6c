package actors

import (
	"context"
	"net"
	"os"
	"sync"
	"time"

	"github.com/actornet/actornet/actors/core"
	"github.com/asynkron/protoactor-go/actor"
)

// Deadlines are the read and write deadlines of a Go adapter (net.Conn,
// net.PacketConn) over a socket actor, and its closed state. Await waits
// for a request while watching them: a deadline moved while a request
// waits applies to that request; when the deadline passes or the adapter
// closes, the request is withdrawn from the actor and the actor's last
// word is returned, so nothing the actor did is lost. The zero value is not
// usable: use NewDeadlines. Safe for concurrent use.
type Deadlines struct {
	mu       sync.Mutex
	rdl, wdl time.Time
	rchg     chan struct{} // closed when the read deadline changes
	wchg     chan struct{}
	closed   chan struct{}
	once     sync.Once
}

// NewDeadlines returns deadlines with none set.
func NewDeadlines() *Deadlines {
	return &Deadlines{rchg: make(chan struct{}), wchg: make(chan struct{}), closed: make(chan struct{})}
}

// Set sets the read or write deadline; the zero time means none.
func (d *Deadlines) Set(t time.Time, write bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if write {
		d.wdl = t
		close(d.wchg)
		d.wchg = make(chan struct{})
		return
	}
	d.rdl = t
	close(d.rchg)
	d.rchg = make(chan struct{})
}

func (d *Deadlines) get(write bool) (time.Time, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if write {
		return d.wdl, d.wchg
	}
	return d.rdl, d.rchg
}

// Close marks the adapter closed: waiting requests are withdrawn. It
// reports whether this call closed it.
func (d *Deadlines) Close() bool {
	first := false
	d.once.Do(func() { close(d.closed); first = true })
	return first
}

// Check fails an operation before it starts, as Go's net does, when the
// adapter is closed (net.ErrClosed) or the deadline has already passed
// (os.ErrDeadlineExceeded).
func (d *Deadlines) Check(write bool) error {
	select {
	case <-d.closed:
		return net.ErrClosed
	default:
	}
	if dl, _ := d.get(write); !dl.IsZero() && !time.Now().Before(dl) {
		return os.ErrDeadlineExceeded
	}
	return nil
}

// AwaitDeadline waits for f, a request to the socket actor at pid, under
// d's read or write deadline. It returns os.ErrDeadlineExceeded or
// net.ErrClosed when it gave up, with whatever the actor's last answer
// carried.
func AwaitDeadline[T any](d *Deadlines, sys *System, pid *actor.PID, f *Future[T], write bool) (T, error) {
	for {
		dl, changed := d.get(write)
		var timer *time.Timer
		var expired <-chan time.Time
		if !dl.IsZero() {
			timer = time.NewTimer(time.Until(dl))
			expired = timer.C
		}
		var giveUp error
		select {
		case <-f.Done():
		case <-changed:
		case <-expired:
			giveUp = os.ErrDeadlineExceeded
		case <-d.closed:
			giveUp = net.ErrClosed
		}
		core.StopTimer(timer)
		if v, err, done := f.Result(); done {
			return v, err
		}
		if giveUp == nil {
			continue // the deadline moved: wait again with the new one
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		v, err := Await(ctx, sys, pid, f)
		if err != nil {
			err = giveUp
		}
		return v, err
	}
}
