package connector_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestRunRecordsAKeptOutcome: under Run, the store goes down during a
// send and stays down past the delivery's lease, and past the lease of
// the claim that finds it again; it is then back. The send is recorded,
// once, and never repeated.
func TestRunRecordsAKeptOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &outage{Memory: store.NewMemory()}
		l := &sendLog{}
		o := &outcomes{}
		e := nowEngine(t, s, l, connector.WithSendConcurrency(2),
			connector.WithObserver(connector.ObserverFunc(o.observe)), connector.WithLogger(slog.New(slog.DiscardHandler)))
		ctx := context.Background()
		l.during = func() { s.down.Store(true) }
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- e.Run(rctx) }()
		require.NoError(t, e.Track(ctx, pushOpened))
		time.Sleep(150 * time.Second) // two leases and a half
		l.mu.Lock()
		l.during = nil
		l.mu.Unlock()
		s.down.Store(false)
		time.Sleep(5 * time.Minute)
		cancel()
		require.NoError(t, <-done)
		got := l.sends()
		require.Len(t, got, 1, "the delivery was sent again")
		require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(got[0].ID))
		st, err := e.Stats(ctx)
		require.NoError(t, err)
		require.Zero(t, st.Pending)
	})
}

// TestRunSaysWhichSendsItLeavesUnrecorded: Run ends while the store still
// fails the record of a send it made. It says so at Error, naming the
// delivery (a restart would send it again), and keeps the outcome: once
// the store is back, the next Run records it and sends nothing more.
func TestRunSaysWhichSendsItLeavesUnrecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &outage{Memory: store.NewMemory()}
		l := &sendLog{}
		var logged syncBuffer
		e := nowEngine(t, s, l, connector.WithSendConcurrency(2),
			connector.WithLogger(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelError}))))
		ctx := context.Background()
		l.during = func() { s.down.Store(true) }
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- e.Run(rctx) }()
		require.NoError(t, e.Track(ctx, pushOpened))
		time.Sleep(90 * time.Second) // past the send's lease
		cancel()
		require.NoError(t, <-done)
		got := l.sends()
		require.Len(t, got, 1)
		require.Contains(t, logged.String(), "returning while the store has not taken the record of 1 send:")
		require.Contains(t, logged.String(), "delivery "+got[0].ID+` of user \"u1\"`)

		l.mu.Lock()
		l.during = nil
		l.mu.Unlock()
		s.down.Store(false)
		rctx, cancel = context.WithCancel(ctx)
		go func() { done <- e.Run(rctx) }()
		time.Sleep(5 * time.Minute)
		cancel()
		require.NoError(t, <-done)
		require.Len(t, l.sends(), 1, "the delivery was sent again")
		st, err := e.Stats(ctx)
		require.NoError(t, err)
		require.Zero(t, st.Pending)
		require.Equal(t, 1, strings.Count(logged.String(), "returning while"), "the second Run left nothing unrecorded")
	})
}
