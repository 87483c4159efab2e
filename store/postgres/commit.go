package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// commitGrace is how long the last round trip of a transaction (its
// writes and COMMIT) may go on after the caller's context has ended, and
// commitCeiling how long it may take at most under a context without a
// deadline, which a server gone from the network would otherwise hold for
// as long as the operating system keeps the connection. A full
// UpdateBatch chunk's takes about 50 ms here.
const (
	commitGrace   = 30 * time.Second
	commitCeiling = 5 * time.Minute
)

// sendCommit sends b, the last round trip of a transaction on conn (its
// writes and COMMIT), under commitContext, and reads its results with read
// (nil: Close's error is the outcome; otherwise read's, the batch closed
// after it).
func sendCommit(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch, read func(pgx.BatchResults) error) (err error) {
	wctx, finish, err := commitContext(ctx)
	if err != nil {
		return err
	}
	defer func() { err = finish(err) }()
	br := conn.SendBatch(wctx, b)
	if read == nil {
		return commitOutcome(br.Close())
	}
	err = read(br)
	// Once COMMIT succeeded the transaction is done: an error closing the
	// batch (a look-up's after it, or the connection's) changes nothing;
	// before, read saw the error already.
	_ = br.Close()
	return commitOutcome(err)
}

// commitOutcome returns err, the failure of a round trip that ends with
// COMMIT, saying so when the transaction may have committed all the same:
// the round trip was sent and no error from the server rolled it back (the
// connection was lost, or the server ended the session, before the
// COMMIT's reply arrived). The caller's error then says that its changes
// may be stored, as a retry would find them, rather than read as though
// nothing changed. The failures that leave nothing committed keep their
// text: the connection failed before anything was sent, preparing the
// statements failed (they had not run), the server reported an error,
// which rolled the transaction back, or it ended the session for being
// idle, before the round trip arrived.
func commitOutcome(err error) error {
	if err == nil || errors.Is(err, errConflict) {
		return err
	}
	var (
		pe   *pgconn.PgError
		prep pgx.ErrPreprocessingBatch
	)
	if pgconn.SafeToRetry(err) || errors.As(err, &prep) || errors.As(err, &pe) && (severity(pe) == "ERROR" || idleTimeout(pe)) {
		return err
	}
	return fmt.Errorf("%w (the connection failed after COMMIT was sent: the transaction may have committed)", err)
}

// idleTimeout reports whether pe ends a session for its idleness
// (idle_in_transaction_session_timeout, idle_session_timeout): the server
// ends it only while no round trip of the session is in progress, so the
// one that reads it was not run, COMMIT included.
func idleTimeout(pe *pgconn.PgError) bool {
	return pe.Code == "25P03" || pe.Code == "57P05"
}

// severity is pe's severity in English: Severity is in the server's
// lc_messages language ("FEHLER" in German), SeverityUnlocalized, sent
// from PostgreSQL 9.6 on, is not.
func severity(pe *pgconn.PgError) string {
	if pe.SeverityUnlocalized != "" {
		return pe.SeverityUnlocalized
	}
	return pe.Severity
}

// commitContext returns the context for the last round trip of a
// transaction: ctx's values, and an end commitGrace after ctx's (or
// commitCeiling after the call, if ctx has no deadline and has not ended
// by then). Ended while the server commits, ctx would have the reply
// dropped unread, and the caller told that nothing changed of a
// transaction that committed; only a connection lost (or a commit going
// on past those bounds) leaves the outcome unknown. If ctx has ended
// already, the transaction is not committed: the error is ctx's.
//
// A bound that passes ends the context with context.DeadlineExceeded (so
// that the driver reports a timeout), a cancelled ctx's grace with
// context.Canceled. finish releases the context and returns the round
// trip's error err, saying why the context ended if it did; called again,
// it returns err as it is.
func commitContext(ctx context.Context) (wctx context.Context, finish func(err error) error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var (
		bounded   context.Context
		stopBound context.CancelFunc
	)
	if d, ok := ctx.Deadline(); ok {
		bounded, stopBound = context.WithDeadlineCause(context.WithoutCancel(ctx), d.Add(commitGrace),
			fmt.Errorf("no answer %v after the call's deadline: %w", commitGrace, context.DeadlineExceeded))
	} else {
		bounded, stopBound = context.WithTimeoutCause(context.WithoutCancel(ctx), commitCeiling,
			fmt.Errorf("no answer in %v: %w", commitCeiling, context.DeadlineExceeded))
	}
	wctx, cancel := context.WithCancelCause(bounded)
	var (
		mu    sync.Mutex
		timer *time.Timer
		done  bool
	)
	// A caller that cancels, rather than reach its deadline, gets its
	// grace from the cancel. The callback may run after finish (it had
	// started): done keeps it from arming a timer then.
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.Canceled) {
			return // its deadline: bounded ends commitGrace after it
		}
		mu.Lock()
		defer mu.Unlock()
		if !done {
			timer = time.AfterFunc(commitGrace, func() {
				cancel(fmt.Errorf("no answer %v after the call's context was cancelled: %w", commitGrace, context.Canceled))
			})
		}
	})
	return wctx, func(err error) error {
		mu.Lock()
		again := done
		done = true
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		if again {
			return err
		}
		stop()
		if err != nil && wctx.Err() != nil {
			err = fmt.Errorf("%w (round trip: %w)", context.Cause(wctx), err)
		}
		cancel(nil)
		stopBound()
		return err
	}, nil
}
