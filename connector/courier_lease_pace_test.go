package connector_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// stalledRenewals is a memory store that fails every lease renewal, the
// first one only after stall of the clock's time (a store that hangs, then
// refuses connections), and records when each renewal began.
type stalledRenewals struct {
	noRenewals
	clk   *clock.Mock
	stall time.Duration

	mu    sync.Mutex
	began []time.Time
}

func (s *stalledRenewals) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.renewal(ctx, ns, userID, fn) {
		s.mu.Lock()
		s.began = append(s.began, s.clk.Now())
		first := len(s.began) == 1
		s.mu.Unlock()
		if first {
			<-s.clk.Timer(s.stall).C
		}
		return errRenewal
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *stalledRenewals) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// TestStalledRenewalStartsOneRoundAtOnce checks that a renewal round
// that returns several rounds late starts one round at once, not every
// round it missed: a store that hung for five minutes and then fails
// fast does not get twenty renewals (and twenty logged errors) in a row.
func TestStalledRenewalStartsOneRoundAtOnce(t *testing.T) {
	var logged syncBuffer
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &stalledRenewals{noRenewals: noRenewals{Memory: store.NewMemory()}, clk: clk, stall: 5 * time.Minute}
		release := make(chan struct{})
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
			<-release
			return nil
		})
		e := newEngine(t, s, send, clk, connector.WithLease(time.Minute), connector.WithSendConcurrency(1),
			connector.WithLogger(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelError}))))
		waitingUsers(t, e, clk, 1)
		claimed := clk.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = e.Tick(context.Background())
		}()
		for clk.Now().Before(claimed.Add(7 * time.Minute)) {
			synctest.Wait()
			clk.Add(time.Second)
		}
		synctest.Wait()
		close(release)
		<-done
		s.mu.Lock()
		defer s.mu.Unlock()
		require.NotEmpty(t, s.began)
		for i := 1; i < len(s.began); i++ {
			if s.began[i].Equal(s.began[i-1]) {
				t.Errorf("renewals %d and %d both began at %v: missed rounds ran in a burst (%v)",
					i-1, i, s.began[i].Sub(claimed), s.began)
			}
		}
		// Ten renewals at most: one at 30 s, one when it returns at 5 min
		// 30 s, and one every 15 s from there to 7 min.
		require.LessOrEqual(t, len(s.began), 10, "renewals began at %v", s.began)
		require.LessOrEqual(t, countLines(logged.String(), "renewing leases"), len(s.began))
	})
}

func countLines(s, substr string) int {
	return strings.Count(s, substr)
}
