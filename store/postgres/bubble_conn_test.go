package postgres_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// A test that drives engines inside a synctest bubble uses stores and
// pools made outside it (their background goroutines must stay out), so
// their connections are made outside it too. pgx arms a timer on each
// connection around every write, and when a write takes longer than
// 15 ms of real time (a loaded machine descheduling the writer) the
// timer, made outside the bubble, starts a background reader there, which
// then wakes the bubble's reading goroutine: synctest forbids that, and
// the test binary dies. bubblePool's connections hand their writes to a
// goroutine of their own, started outside the bubble with the
// connection, so that a write returns as soon as it is queued and the
// timer has no time to fire.

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
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	warm(t, pool, int(cfg.MaxConns))
	return pool
}
