package connector_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// failuresEngine returns an engine on a memory store with a mock clock,
// the follow-up "f" of "o" due at once and published, and a retry policy
// of 3 attempts a minute apart, doubling. opts come last.
func failuresEngine(t *testing.T, send connector.SenderFunc, opts ...connector.Option) (*connector.Engine, *clock.Mock, *store.Memory) {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	mem := store.NewMemory()
	base := []connector.Option{connector.WithClock(clk),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Minute, Max: time.Hour})}
	e, err := connector.New(mem, send, append(base, opts...)...)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: "email_opened", CampaignID: "o"}}}))
	require.NoError(t, e.Publish(ctx, "f"))
	require.NoError(t, e.Publish(ctx, "o"))
	return e, clk, mem
}

func tick(t *testing.T, e *connector.Engine) int {
	t.Helper()
	n, err := e.Tick(context.Background())
	require.NoError(t, err)
	return n
}

// TestRecentFailuresListsRetriesAndTheFinalFailure checks that a failing
// sender's retries and its final failure are listed, the latest first,
// with the sender's error, whether or not anything observes the engine's
// decisions.
func TestRecentFailuresListsRetriesAndTheFinalFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []connector.Option
	}{
		{"no observer, no decision log", nil},
		{"an observer", []connector.Option{connector.WithObserver(connector.ObserverFunc(func(rule.Decision) {}))}},
		{"a decision log", []connector.Option{connector.WithDecisionLog(100, 24*time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
				return fmt.Errorf("provider said no to attempt %d", d.Attempt)
			})
			e, clk, _ := failuresEngine(t, send, tc.opts...)
			require.NoError(t, e.Track(context.Background(), opened("ann")))
			start := clk.Now()
			require.Zero(t, tick(t, e))
			clk.Add(time.Minute)
			require.Zero(t, tick(t, e))
			clk.Add(2 * time.Minute)
			require.Zero(t, tick(t, e))

			got := e.RecentFailures()
			require.Len(t, got, 3)
			want := []struct {
				kind    rule.DecisionKind
				attempt int
				at      time.Time
			}{
				{rule.Failed, 3, start.Add(3 * time.Minute)},
				{rule.Retried, 2, start.Add(time.Minute)},
				{rule.Retried, 1, start},
			}
			for i, w := range want {
				d := got[i]
				require.Equal(t, w.kind, d.Kind, "decision %d", i)
				require.Equal(t, rule.ReasonSendError, d.Reason)
				require.Equal(t, w.attempt, d.Attempt)
				require.True(t, w.at.Equal(d.At), "decision %d at %v, want %v", i, d.At, w.at)
				require.Equal(t, "ann", d.UserID)
				require.Equal(t, "f", d.CampaignID)
				require.NotEmpty(t, d.DeliveryID)
				require.Equal(t, got[0].DeliveryID, d.DeliveryID)
				require.Contains(t, d.Detail, fmt.Sprintf("provider said no to attempt %d", w.attempt))
			}

			got[0].UserID = "changed"
			require.Equal(t, "ann", e.RecentFailures()[0].UserID, "the list returned is a copy")
		})
	}
}

// TestRecentFailuresIgnoresSends checks that sends that go through, a
// retry's included, add nothing to the list.
func TestRecentFailuresIgnoresSends(t *testing.T) {
	fail := true
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		if fail {
			return errors.New("timeout")
		}
		return nil
	})
	e, clk, _ := failuresEngine(t, send)
	require.NoError(t, e.Track(context.Background(), opened("ann")))
	require.NoError(t, e.Track(context.Background(), opened("bob")))
	require.Zero(t, tick(t, e))
	require.Len(t, e.RecentFailures(), 2)

	fail = false
	clk.Add(time.Minute)
	require.Equal(t, 2, tick(t, e))
	require.NoError(t, e.Track(context.Background(), opened("cy")))
	require.Equal(t, 1, tick(t, e))
	got := e.RecentFailures()
	require.Len(t, got, 2, "the retries that went through add nothing")
	for _, d := range got {
		require.Equal(t, rule.Retried, d.Kind)
	}

	e2, _, _ := failuresEngine(t, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }))
	require.NoError(t, e2.Track(context.Background(), opened("ann")))
	require.Equal(t, 1, tick(t, e2))
	require.Nil(t, e2.RecentFailures())
}

// TestRecentFailuresKeepsFifty checks that a flood of failures turns the
// list over, keeping the latest fifty, while the tallies count them all.
func TestRecentFailuresKeepsFifty(t *testing.T) {
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		return connector.Permanent(errors.New("no such address: " + d.UserID))
	})
	e, clk, _ := failuresEngine(t, send)
	ctx := context.Background()
	for i := range 40 {
		require.NoError(t, e.Track(ctx, opened(fmt.Sprint("early-", i))))
	}
	require.Zero(t, tick(t, e))
	clk.Add(time.Minute)
	later := clk.Now()
	for i := range 30 {
		require.NoError(t, e.Track(ctx, opened(fmt.Sprint("late-", i))))
	}
	require.Zero(t, tick(t, e))

	got := e.RecentFailures()
	require.Len(t, got, 50)
	for i, d := range got {
		require.Equal(t, rule.Failed, d.Kind)
		require.Contains(t, d.Detail, "no such address: "+d.UserID)
		if i < 30 {
			require.True(t, strings.HasPrefix(d.UserID, "late-"), "the latest first: %d is %s", i, d.UserID)
			require.True(t, later.Equal(d.At))
		} else {
			require.True(t, strings.HasPrefix(d.UserID, "early-"), "then the earlier: %d is %s", i, d.UserID)
		}
	}

	ts, err := e.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	var n int64
	for _, x := range ts {
		if x.Kind == rule.Failed {
			n += x.Count
		}
	}
	require.Equal(t, int64(70), n, "the tallies stay exact")
}

// TestRecentFailuresClipsALongError checks that an error's text is kept
// to about a kibibyte, cut on a character's boundary, saying so.
func TestRecentFailuresClipsALongError(t *testing.T) {
	long := strings.Repeat("é", 5000) // 10,000 bytes, two per character
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		return connector.Permanent(errors.New(long))
	})
	e, _, _ := failuresEngine(t, send, connector.WithDecisionLog(10, time.Hour))
	require.NoError(t, e.Track(context.Background(), opened("ann")))
	require.Zero(t, tick(t, e))

	got := e.RecentFailures()
	require.Len(t, got, 1)
	detail := got[0].Detail
	require.True(t, utf8.ValidString(detail))
	require.Less(t, len(detail), 1100)
	require.True(t, strings.HasPrefix(detail, strings.Repeat("é", 416)+" … (clipped: 10025 bytes in all) … é"), detail)
	require.True(t, strings.HasSuffix(detail, "é (permanent: not retried)"), detail[len(detail)-60:])

	log, err := e.Explain(context.Background(), "ann", "f")
	require.NoError(t, err)
	require.NotEmpty(t, log.Decisions)
	logged := log.Decisions[len(log.Decisions)-1].Detail
	require.True(t, utf8.ValidString(logged))
	require.Less(t, len(logged), 4200, "the decision log keeps about 4 KiB")
	require.Contains(t, logged, " … (clipped: 10025 bytes in all) … ")
	require.True(t, strings.HasSuffix(logged, "é (permanent: not retried)"), "with the engine's own words at the end")
}

// TestObserversGetALongErrorWhole checks that only the decision log and
// RecentFailures clip a long error: observers get its whole text.
func TestObserversGetALongErrorWhole(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		return connector.Permanent(errors.New(long))
	})
	var mu sync.Mutex
	var seen []rule.Decision
	obs := connector.ObserverFunc(func(d rule.Decision) { mu.Lock(); seen = append(seen, d); mu.Unlock() })
	e, _, _ := failuresEngine(t, send, connector.WithDecisionLog(10, time.Hour), connector.WithObserver(obs))
	require.NoError(t, e.Track(context.Background(), opened("ann")))
	require.Zero(t, tick(t, e))
	mu.Lock()
	defer mu.Unlock()
	i := slices.IndexFunc(seen, func(d rule.Decision) bool { return d.Kind == rule.Failed })
	require.GreaterOrEqual(t, i, 0, "the failure was observed")
	require.Contains(t, seen[i].Detail, long)
}

// TestRecentFailuresUnderConcurrentTicks checks, under -race, that Ticks
// running together each list their failures, while others read the list.
func TestRecentFailuresUnderConcurrentTicks(t *testing.T) {
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		return connector.Permanent(errors.New("refused"))
	})
	e, _, _ := failuresEngine(t, send, connector.WithSendConcurrency(4))
	ctx := context.Background()
	const users = 40
	for i := range users {
		require.NoError(t, e.Track(ctx, opened(fmt.Sprint("u-", i))))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	longest := make(chan int, 4)
	for range 4 {
		wg.Go(func() {
			_, err := e.Tick(ctx)
			errs <- err
		})
		wg.Go(func() {
			n := 0
			for range 20 {
				n = max(n, len(e.RecentFailures()))
			}
			longest <- n
		})
	}
	wg.Wait()
	for range 4 {
		require.NoError(t, <-errs)
		require.LessOrEqual(t, <-longest, 50)
	}
	got := e.RecentFailures()
	require.Len(t, got, users, "each failure once")
	seen := map[string]bool{}
	for _, d := range got {
		require.False(t, seen[d.UserID], "listed twice: %s", d.UserID)
		seen[d.UserID] = true
	}
}

// TestRecentFailuresListsDirectoryErrors checks that a delivery the
// directory held back is listed with the directory's error, though
// nothing observes the engine's decisions.
func TestRecentFailuresListsDirectoryErrors(t *testing.T) {
	dir := newDirectory()
	dir.set("ann", "vips", true)
	e, _, _ := failuresEngine(t, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithDirectory(dir))
	ctx := context.Background()
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "g", Triggers: []rule.Trigger{{Kind: "email_opened", CampaignID: "o"}},
		Audience: "vips", RecheckAudience: true}))
	require.NoError(t, e.Publish(ctx, "g"))
	require.NoError(t, e.Stop(ctx, "f"))
	require.NoError(t, e.Track(ctx, opened("ann")))
	dir.failWith(errors.New("directory timeout"))
	require.Zero(t, tick(t, e))

	got := e.RecentFailures()
	require.Len(t, got, 1)
	require.Equal(t, rule.Retried, got[0].Kind)
	require.Equal(t, rule.ReasonDirectoryError, got[0].Reason)
	require.Equal(t, "g", got[0].CampaignID)
	require.Zero(t, got[0].Attempt, "no send tried before the directory's error")
	require.Contains(t, got[0].Detail, "directory timeout")
}
