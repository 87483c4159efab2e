package connector_test

import (
	"context"
	"fmt"
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

// slowDirectory answers, once slow is set, after latency on the mock
// clock: every user is in UTC and in every segment.
type slowDirectory struct {
	clk     *clock.Mock
	latency time.Duration
	slow    atomic.Bool
}

func (d *slowDirectory) wait() {
	if d.slow.Load() {
		<-d.clk.Timer(d.latency).C
	}
}

func (d *slowDirectory) Location(context.Context, string) (*time.Location, error) {
	d.wait()
	return time.UTC, nil
}

func (d *slowDirectory) InSegment(context.Context, string, string) (bool, error) {
	d.wait()
	return true, nil
}

// TestSlowDirectoryDoesNotShortenTheLease checks that a delivery whose
// send-time checks wait for a slow directory (20 s here, a third of the
// lease) is leased for its send from the end of its checks, not from
// their start: the other engine, ticking meanwhile, never gets a delivery
// that is being sent, and none is sent twice.
func TestSlowDirectoryDoesNotShortenTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		mem := store.NewMemory()
		send := &slowSender{clk: clk, latency: 25 * time.Second}
		dir := &slowDirectory{clk: clk, latency: 50 * time.Second}
		var engines []*connector.Engine
		for range 2 {
			e, err := connector.New(mem, send, connector.WithClock(clk), connector.WithSendConcurrency(2),
				connector.WithSendTimeout(30*time.Second), connector.WithLease(time.Minute),
				connector.WithDirectory(dir))
			require.NoError(t, err)
			engines = append(engines, e)
		}
		ctx := context.Background()
		e := engines[0]
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}},
			SendWindow: &rule.SendWindow{From: rule.At(0, 0), To: rule.At(23, 59)}})) // the window needs the user's zone
		require.NoError(t, e.Publish(ctx, "f"))
		require.NoError(t, e.Publish(ctx, "o"))
		const users = 6
		for i := range users {
			require.NoError(t, e.Track(ctx, event.Event{UserID: fmt.Sprint("u", i), Kind: event.PushOpened, CampaignID: "o"}))
		}
		dir.slow.Store(true)
		tickAll(t, clk, engines, time.Second, time.Hour, func() bool {
			st, err := e.Stats(ctx)
			require.NoError(t, err)
			return st.Pending == 0
		})
		counts := send.counts()
		require.Len(t, counts, users)
		for id, n := range counts {
			require.Equal(t, 1, n, "delivery %s sent %d times", id, n)
		}
	})
}

// TestSlowDirectoryDoesNotSendIntoQuietHours checks that the send-time
// checks judge quiet hours when the directory has answered, not when they
// started: a delivery due a minute before quiet hours, whose user's zone
// takes two minutes to come, is deferred to their end rather than sent
// inside them.
func TestSlowDirectoryDoesNotSendIntoQuietHours(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		clk.Set(time.Date(2026, 3, 2, 21, 0, 0, 0, time.UTC))
		var sentAt []time.Time
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
			sentAt = append(sentAt, clk.Now())
			return nil
		})
		dir := &slowDirectory{clk: clk, latency: 2 * time.Minute}
		var deferred []rule.Decision
		e, err := connector.New(store.NewMemory(), send, connector.WithClock(clk), connector.WithDirectory(dir),
			connector.WithQuietHours(connector.QuietHours{From: rule.At(22, 0), To: rule.At(8, 0), Defer: true}),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Deferred {
					deferred = append(deferred, d)
				}
			})))
		require.NoError(t, err)
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}},
			Delay: rule.After(59 * time.Minute)}))
		require.NoError(t, e.Publish(ctx, "f"))
		require.NoError(t, e.Publish(ctx, "o"))
		require.NoError(t, e.Track(ctx, event.Event{UserID: "ann", Kind: event.PushOpened, CampaignID: "o"}))
		clk.Add(59 * time.Minute) // 21:59: due
		dir.slow.Store(true)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := e.Tick(ctx); err != nil {
				t.Error(err)
			}
		}()
		synctest.Wait()
		clk.Add(2 * time.Minute) // 22:01: the directory answers
		<-done
		for _, at := range sentAt {
			require.True(t, at.Hour() < 22 && at.Hour() >= 8, "sent at %s, inside quiet hours", at.Format(time.TimeOnly))
		}
		require.Len(t, deferred, 1, "deferred to the end of quiet hours")
		require.Equal(t, rule.ReasonQuietHours, deferred[0].Reason)
	})
}
