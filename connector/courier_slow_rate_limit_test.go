package connector_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// slowTakes is a memory store whose rate-limit counters answer, once slow
// is set, after latency on the mock clock.
type slowTakes struct {
	*store.Memory
	clk     *clock.Mock
	latency time.Duration
	slow    atomic.Bool
}

func (s *slowTakes) Take(ctx context.Context, ns, key string, limit int64, now, expires time.Time) (bool, error) {
	if s.slow.Load() {
		<-s.clk.Timer(s.latency).C
	}
	return s.Memory.Take(ctx, ns, key, limit, now, expires)
}

// quietHoursBehindASlowCall runs follow-up f (triggered by a push open
// of o, 59 minutes later) of user ann, due at 21:59, a minute before
// quiet hours (22:00–08:00, deferred), through a Tick whose checks wait
// two minutes on a slow call that slow sets off. It fails unless the
// delivery is deferred to the end of quiet hours rather than sent inside
// them.
func quietHoursBehindASlowCall(t *testing.T, clk *clock.Mock, s store.Store, slow func(), f rule.Campaign, opts ...connector.Option) {
	t.Helper()
	ctx := context.Background()
	var sentAt []time.Time
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		sentAt = append(sentAt, clk.Now())
		return nil
	})
	var deferred []rule.Decision
	opts = append(opts, connector.WithClock(clk),
		connector.WithQuietHours(connector.QuietHours{From: rule.At(22, 0), To: rule.At(8, 0), Defer: true}),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			if d.Kind == rule.Deferred {
				deferred = append(deferred, d)
			}
		})))
	e, err := connector.New(s, send, opts...)
	require.NoError(t, err)
	clk.Set(time.Date(2026, 3, 2, 21, 0, 0, 0, time.UTC))
	f.ID, f.Triggers, f.Delay = "f", []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}, rule.After(59*time.Minute)
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
	require.NoError(t, e.Save(ctx, f))
	require.NoError(t, e.Publish(ctx, "f"))
	require.NoError(t, e.Publish(ctx, "o"))
	require.NoError(t, e.Track(ctx, event.Event{UserID: "ann", Kind: event.PushOpened, CampaignID: "o"}))
	clk.Add(59 * time.Minute) // 21:59: due
	slow()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := e.Tick(ctx); err != nil {
			t.Error(err)
		}
	}()
	synctest.Wait()
	clk.Add(2 * time.Minute) // 22:01: the slow call answers
	<-done
	for _, at := range sentAt {
		require.True(t, at.Hour() < 22 && at.Hour() >= 8, "sent at %s, inside quiet hours", at.Format(time.TimeOnly))
	}
	require.Len(t, deferred, 1, "deferred to the end of quiet hours")
	require.Equal(t, rule.ReasonQuietHours, deferred[0].Reason)
}

// TestSlowDirectoryDoesNotSendIntoQuietHours checks that the send-time
// checks judge quiet hours when the directory has answered, not when they
// started: a delivery due a minute before quiet hours, whose user's zone
// takes two minutes to come, is deferred to their end rather than sent
// inside them.
func TestSlowDirectoryDoesNotSendIntoQuietHours(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		dir := &slowDirectory{clk: clk, latency: 2 * time.Minute}
		quietHoursBehindASlowCall(t, clk, store.NewMemory(), func() { dir.slow.Store(true) }, rule.Campaign{},
			connector.WithDirectory(waitDirectory(dir.wait)))
	})
}

// TestSlowRateLimitDoesNotSendIntoQuietHours checks that the send-time
// checks hold when the rate limit's store call is slow, as when the
// directory is: a delivery whose slot takes two minutes to come is
// deferred to the end of quiet hours rather than sent inside them.
func TestSlowRateLimitDoesNotSendIntoQuietHours(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &slowTakes{Memory: store.NewMemory(), clk: clk, latency: 2 * time.Minute}
		quietHoursBehindASlowCall(t, clk, s, func() { s.slow.Store(true) }, rule.Campaign{RateLimit: 100})
	})
}
