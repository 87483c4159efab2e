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

// slowRenewals is a memory store whose lease renewals each take took of
// the clock's time, as a store under load would, and that records when
// each began.
type slowRenewals struct {
	noRenewals // for its renewal test; its Update is not used
	renewalTimes
	took time.Duration
}

// renewalTimes records, on clk's time, when each lease renewal began.
type renewalTimes struct {
	clk *clock.Mock

	mu    sync.Mutex
	began []time.Time
}

// record notes that a renewal begins now, and returns how many have.
func (r *renewalTimes) record() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.began = append(r.began, r.clk.Now())
	return len(r.began)
}

func (s *slowRenewals) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.renewal(ctx, ns, userID, fn) {
		s.record()
		s.clk.Add(s.took)
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *slowRenewals) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// TestSlowRenewalsKeepTheirPace checks that the rounds of lease renewals
// keep their pace when the store is slow: a round starts every quarter of
// the lease from the one before, not a quarter of the lease after the one
// before returned, so that a renewal taking 10 s of a one-minute lease
// still renews each lease with half of it left, not a third.
func TestSlowRenewalsKeepTheirPace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &slowRenewals{noRenewals: noRenewals{Memory: store.NewMemory()}, renewalTimes: renewalTimes{clk: clk}, took: 10 * time.Second}
		claimed, n, err := sendHeldFor(t, s, clk, 100*time.Second)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		s.mu.Lock()
		defer s.mu.Unlock()
		require.Equal(t, []time.Time{
			claimed.Add(30 * time.Second), // half of the lease left
			claimed.Add(60 * time.Second), // renewed to 90 s at 30 s, in a round due at 60 s
			claimed.Add(90 * time.Second),
		}, s.began)
	})
}

// sendHeldFor tracks one user's trigger on an engine over store s and
// ticks while the delivery's send lasts: until the clock, moved a second
// at a time, is past its claim by d. It returns the claim's time and what
// Tick returned.
func sendHeldFor(t *testing.T, s store.Store, clk *clock.Mock, d time.Duration, opts ...connector.Option) (claimed time.Time, n int, err error) {
	t.Helper()
	release := make(chan struct{})
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		<-release // a send that lasts until the test has seen the renewals
		return nil
	})
	e := newEngine(t, s, send, clk, append([]connector.Option{connector.WithLease(time.Minute), connector.WithSendConcurrency(1)}, opts...)...)
	waitingUsers(t, e, clk, 1)
	claimed = clk.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err = e.Tick(context.Background())
	}()
	for clk.Now().Before(claimed.Add(d)) {
		synctest.Wait()
		clk.Add(time.Second)
	}
	synctest.Wait()
	close(release)
	<-done
	return claimed, n, err
}

// stalledRenewals is a memory store that fails every lease renewal, the
// first one only after stall of the clock's time (a store that hangs, then
// refuses connections), and records when each renewal began.
type stalledRenewals struct {
	noRenewals
	renewalTimes
	stall time.Duration
}

func (s *stalledRenewals) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.renewal(ctx, ns, userID, fn) {
		if s.record() == 1 {
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
		s := &stalledRenewals{noRenewals: noRenewals{Memory: store.NewMemory()}, renewalTimes: renewalTimes{clk: clk}, stall: 5 * time.Minute}
		claimed, _, _ := sendHeldFor(t, s, clk, 7*time.Minute,
			connector.WithLogger(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelError}))))
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
		require.LessOrEqual(t, strings.Count(logged.String(), "renewing leases"), len(s.began))
	})
}
