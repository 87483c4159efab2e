package postgres_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// doneCtx reports, once, that a call has asked for ctx.Done: the store
// asks for it first while waiting for a connection from the pool.
type doneCtx struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func (c *doneCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

// A call waiting for a connection when Close closes the pool of Open
// fails as calls after Close do: with store.ErrClosed, not with pgxpool's
// own error, so that a host can tell a closed store from a failing one.
func TestCallWaitingForAConnectionAtCloseReturnsErrClosed(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, testDSN(t)+"&pool_max_conns=1", postgres.WithSchema(testSchema(t)))
	require.NoError(t, err)
	defer s.Close()
	held, err := s.Pool().Acquire(ctx) // the only connection: the update waits for it
	require.NoError(t, err)

	wctx := &doneCtx{Context: ctx, waiting: make(chan struct{})}
	updated := make(chan error, 1)
	go func() {
		updated <- s.Update(wctx, "", "ann", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Pending = append(u.Pending, newPending("ann", "f", "d1", t0))
		})
	}()
	<-wctx.waiting // past the store's own check: in the pool
	closed := make(chan struct{})
	go func() { defer close(closed); s.Close() }()
	// The pool's Close marks it closed, then waits for the connection the
	// test holds: once it waits, the update can only be refused.
	for !poolClosing() {
		runtime.Gosched()
	}
	held.Release()
	<-closed
	err = <-updated
	require.ErrorIs(t, err, store.ErrClosed)
}

// poolClosing reports whether a goroutine waits in the Close of a pgxpool
// pool (puddle's) for its connections to come back.
func poolClosing() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "[sync.WaitGroup.Wait") && strings.Contains(g, "puddle/v2.(*Pool[...]).Close(") {
			return true
		}
	}
	return false
}
