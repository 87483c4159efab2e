package connector_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// updateBomb is an outage whose updates panic once armed: a store with a
// bug, met by a Tick of Run's.
type updateBomb struct {
	*outage
	armed atomic.Bool
}

func (s *updateBomb) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.armed.Load() {
		panic("update")
	}
	return s.outage.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *updateBomb) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// armOnWrite is a log that arms its store once a line says want.
type armOnWrite struct {
	syncBuffer
	want string
	s    *updateBomb
}

func (w *armOnWrite) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.want) {
		w.s.armed.Store(true)
	}
	return w.syncBuffer.Write(p)
}

// TestRunUnwoundByAPanicSaysWhichSendsItLeavesUnrecorded: Run keeps the
// outcome of a send whose record the store never took; the store then
// panics in the next Tick's claim, which Run repeats on its goroutine. A
// host that does not recover it loses the process and the outcome: Run
// names the delivery at Error as it unwinds, as it does when it returns.
func TestRunUnwoundByAPanicSaysWhichSendsItLeavesUnrecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &updateBomb{outage: &outage{Memory: store.NewMemory()}}
		l := &sendLog{}
		logged := &armOnWrite{want: "recording delivery", s: s}
		e := nowEngine(t, s, l, connector.WithSendConcurrency(1),
			connector.WithLogger(slog.New(slog.NewTextHandler(logged, &slog.HandlerOptions{Level: slog.LevelError}))))
		ctx := context.Background()
		l.during = func() { s.down.Store(true) }
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		recovered := make(chan any, 1)
		go func() {
			defer func() { recovered <- recover() }()
			_ = e.Run(rctx)
		}()
		require.NoError(t, e.Track(ctx, pushOpened))
		require.Equal(t, "update", <-recovered)
		cancel()
		synctest.Wait()
		got := l.sends()
		require.Len(t, got, 1)
		require.Contains(t, logged.String(), "returning while the store has not taken the record of 1 send:")
		require.Contains(t, logged.String(), "delivery "+got[0].ID+` of user \"u1\"`)
	})
}
