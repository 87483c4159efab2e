package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// listener owns the store's notification connection: it LISTENs on the
// wake channel (payload: a namespace where a delivery became due earlier)
// and the revision channel (payload: "<revision> <namespace>"), fans wake
// notifications out to the store's Notify subscribers and raises the
// revision cache. It reconnects with backoff until the store closes, and
// pings the server when idle so that a silent connection is noticed
// within the revision max age.
type listener struct {
	s                       *Store
	connConfig              *pgx.ConnConfig
	wakeChannel, revChannel string

	gen   atomic.Uint64 // bumped each time LISTEN succeeds on a new connection
	up    atomic.Bool
	alive atomic.Int64 // Store.mono time of the connection's last sign of life

	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

func newListener(s *Store, cc *pgx.ConnConfig) *listener {
	cc = cc.Copy()
	// A wait that times out must leave the connection usable: expire the
	// read deadline rather than send a cancel request.
	cc.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	return &listener{
		s:           s,
		connConfig:  cc,
		wakeChannel: channelName(s.cfg, "wake"),
		revChannel:  channelName(s.cfg, "revision"),
		subs:        make(map[string]map[chan struct{}]struct{}),
	}
}

// channelName names a notification channel after the table set, so that
// stores on other tables of the same database do not hear each other.
// PostgreSQL keeps 63 bytes of a channel name: longer ones are hashed.
func channelName(cfg config, kind string) string {
	name := cfg.schema + "." + cfg.prefix + kind
	if len(name) <= 63 {
		return name
	}
	return fmt.Sprintf("campaignconnector_%016x_%s", hashString(14695981039346656037, cfg.schema+"."+cfg.prefix), kind)
}

// fresh reports whether a revision read under generation gen is still
// current: the connection that was listening then still is, and showed a
// sign of life within the revision max age.
func (l *listener) fresh(gen uint64, now int64) bool {
	return gen != 0 && l.up.Load() && l.gen.Load() == gen && now-l.alive.Load() < int64(l.s.cfg.revisionAge)
}

// generation returns the current connection's generation, 0 when down.
func (l *listener) generation() uint64 {
	g := l.gen.Load()
	if !l.up.Load() {
		return 0
	}
	return g
}

// run keeps a listening connection until ctx ends. The outcome of the
// first attempt goes to ready; later failures are logged and retried.
func (l *listener) run(ctx context.Context, ready chan<- error) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for first := true; ; first = false {
		conn, err := l.connect(ctx)
		if first {
			ready <- err
			if err != nil {
				return
			}
		}
		if err == nil {
			backoff = minBackoff
			if !first {
				l.s.log(slog.LevelInfo, "notification connection re-established")
				l.wakeAll() // what was notified while down is lost: look again
			}
			err = l.serve(ctx, conn)
			l.up.Store(false)
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(cctx)
			cancel()
		}
		if ctx.Err() != nil {
			return
		}
		l.s.log(slog.LevelWarn, "notification connection lost, reconnecting", slog.Any("error", err), slog.Duration("backoff", backoff))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (l *listener) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, l.connConfig)
	if err != nil {
		return nil, err
	}
	for _, ch := range []string{l.wakeChannel, l.revChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(cctx)
			cancel()
			return nil, err
		}
	}
	l.gen.Add(1)
	l.alive.Store(l.s.mono())
	l.up.Store(true)
	return conn, nil
}

// serve dispatches notifications until the connection fails or ctx ends.
func (l *listener) serve(ctx context.Context, conn *pgx.Conn) error {
	idle := max(l.s.cfg.revisionAge/2, 10*time.Millisecond)
	for {
		wctx, cancel := context.WithTimeout(ctx, idle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if n != nil {
			l.alive.Store(l.s.mono())
			l.dispatch(n)
		}
		switch {
		case err == nil:
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
			pctx, cancel := context.WithTimeout(ctx, l.s.cfg.revisionAge+time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
			l.alive.Store(l.s.mono())
		default:
			return err
		}
	}
}

func (l *listener) dispatch(n *pgconn.Notification) {
	switch n.Channel {
	case l.wakeChannel:
		l.wake(n.Payload)
	case l.revChannel:
		revText, ns, ok := strings.Cut(n.Payload, " ")
		if rev, err := strconv.ParseInt(revText, 10, 64); ok && err == nil {
			l.s.raiseRevision(ns, rev)
		}
	}
}

func (l *listener) wake(ns string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs[ns] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (l *listener) wakeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, subs := range l.subs {
		for ch := range subs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// Notify implements [store.Notifier]: ch receives a value after any
// store on the same tables (in any process) scheduled a delivery in ns, or
// made one ready earlier, due no later than every other user's delivery of
// ns (engines wait for the earliest: a later one cannot make them wait too
// long), and whenever the notification connection comes back after a
// failure (what was notified meanwhile is lost). Notifications arrive after the change
// committed, within milliseconds; several changes may give one value.
func (s *Store) Notify(ns string) (<-chan struct{}, func()) {
	l := s.listener
	ch := make(chan struct{}, 1)
	if l == nil { // a zero Store, never opened: nothing will be notified
		return ch, func() {}
	}
	l.mu.Lock()
	if l.subs[ns] == nil {
		l.subs[ns] = make(map[chan struct{}]struct{})
	}
	l.subs[ns][ch] = struct{}{}
	l.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.subs[ns], ch)
			if len(l.subs[ns]) == 0 {
				delete(l.subs, ns)
			}
			l.mu.Unlock()
		})
	}
}

// waker sends the wake notifications Updates ask for, after they commit,
// coalesced: at most one round trip in flight per store, carrying every
// namespace marked meanwhile. Sending NOTIFY inside each Update's
// transaction would serialize the commits of all of them (PostgreSQL
// holds a database-wide lock from a notifying transaction's pre-commit to
// its end).
type waker struct {
	s      *Store
	mu     sync.Mutex
	due    map[string]struct{}
	signal chan struct{}
}

func newWaker(s *Store) *waker {
	return &waker{s: s, due: make(map[string]struct{}), signal: make(chan struct{}, 1)}
}

func (w *waker) mark(ns string) {
	w.mu.Lock()
	w.due[ns] = struct{}{}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// run sends until ctx ends, then sends what is still due (bounded by 5s).
// A failure is retried every 100 ms and logged once while it lasts (the
// first of a streak): a database down for an hour is one line, not ten a
// second, each store's.
func (w *waker) run(ctx context.Context) {
	failing := false
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := w.flush(fctx); err != nil {
				w.s.log(slog.LevelWarn, "wake-up notifications lost on close", slog.Any("error", err))
			}
			return
		case <-w.signal:
		}
		err := w.flush(ctx)
		if err == nil {
			if failing {
				w.s.log(slog.LevelInfo, "wake-up notifications sent again")
			}
			failing = false
			continue
		}
		if ctx.Err() == nil {
			if !failing {
				w.s.log(slog.LevelWarn, "sending wake-up notifications, will retry", slog.Any("error", err),
					slog.Duration("retry_every", 100*time.Millisecond))
			}
			failing = true
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			select { // retry what flush put back
			case w.signal <- struct{}{}:
			default:
			}
		}
	}
}

func (w *waker) flush(ctx context.Context) error {
	w.mu.Lock()
	due := w.due
	if len(due) == 0 {
		w.mu.Unlock()
		return nil
	}
	w.due = make(map[string]struct{})
	w.mu.Unlock()
	b := &pgx.Batch{}
	for ns := range due {
		b.Queue(w.s.q.notify, w.s.listener.wakeChannel, ns)
	}
	if err := w.s.pool.SendBatch(ctx, b).Close(); err != nil {
		w.mu.Lock()
		for ns := range due {
			w.due[ns] = struct{}{}
		}
		w.mu.Unlock()
		return err
	}
	return nil
}
