package postgres_test

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// A test that drives engines inside a synctest bubble uses stores and
// pools made outside it (their background goroutines must stay out), so
// their connections are made outside it too, and some of them are also
// used outside it: by New and its migrations before the bubble, and by
// each store's waker (its NOTIFYs) during it. pgx arms a timer around
// every write; when a write made outside the bubble takes longer than
// 15 ms of real time (a loaded machine descheduling the writer), the
// timer starts a background reader, which can stay parked in a read
// after the query ends. A later query inside the bubble on that pooled
// connection then waits on the reader's condition variable, the reader
// wakes it from outside, which synctest forbids, and the test binary
// dies. (Inside the bubble the timer runs on the bubble's clock and does
// not fire.) bubblePool's connections hand their writes to a goroutine of
// their own, started with the connection, so that a write returns as
// soon as it is queued and never waits for the server to read: the
// background reader is never needed. Their frontends read the socket
// themselves, not through that reader, which, should a writer outside the
// bubble stall past the timer all the same (descheduled on a loaded
// machine), starts but reads nothing and wakes nobody.

// queuedConn is a net.Conn whose writes go to the network from a
// goroutine of its own, in order; a write that failed fails the next ones.
// It shares no lock between that goroutine and its callers, only a
// channel and atomics: a lock released outside the bubble would wake a
// caller inside it.
type queuedConn struct {
	net.Conn
	queue  chan []byte
	done   chan struct{}
	err    atomic.Pointer[error]
	closed atomic.Bool
	direct atomic.Bool // the frontend reads Conn itself: Read is pgconn's background reader's
}

func newQueuedConn(c net.Conn) *queuedConn {
	q := &queuedConn{Conn: c, queue: make(chan []byte, 4096), done: make(chan struct{})}
	go q.write()
	return q
}

func (q *queuedConn) write() {
	for {
		select {
		case b := <-q.queue:
			if _, err := q.Conn.Write(b); err != nil {
				q.err.CompareAndSwap(nil, &err)
			}
		case <-q.done:
			return
		}
	}
}

func (q *queuedConn) Write(b []byte) (int, error) {
	if err := q.err.Load(); err != nil {
		return 0, *err
	}
	select {
	case q.queue <- append([]byte(nil), b...):
		return len(b), nil
	case <-q.done:
		return 0, net.ErrClosed
	}
}

// Read reads the network until the frontend reads it directly
// (bubblePool); after that, only pgconn's background reader calls it, and
// waits here until the connection closes.
func (q *queuedConn) Read(b []byte) (int, error) {
	if !q.direct.Load() {
		return q.Conn.Read(b)
	}
	<-q.done
	return 0, net.ErrClosed
}

func (q *queuedConn) Close() error {
	if q.closed.CompareAndSwap(false, true) {
		close(q.done)
	}
	return q.Conn.Close()
}

// bubblePool returns a pool whose connections, all made now, queue their
// writes (queuedConn).
func bubblePool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	require.NoError(t, err)
	var d net.Dialer
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newQueuedConn(c), nil
	}
	cfg.ConnConfig.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		if q, ok := w.(*queuedConn); ok { // no TLS: read the socket, not through the background reader
			q.direct.Store(true)
			r = q.Conn
		}
		return pgproto3.NewFrontend(r, w)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	warm(t, pool, int(cfg.MaxConns))
	return pool
}
