package connector_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// A directory that fails at send time holds deliveries back; the retries
// wait as a failing send's do, doubling, but at most 5 minutes: an outage
// of hours costs a delivery a try every 5 minutes rather than one every
// Base, and a delivery goes out within 5 minutes of the directory's
// return.
func TestDirectoryOutageBacksOff(t *testing.T) {
	policy := connector.RetryPolicy{MaxAttempts: 6, Base: 30 * time.Second, Max: time.Hour}
	wait := func(n int) time.Duration { // the policy's wait before send n+1
		d := policy.Base
		for i := 1; i < n && d < policy.Max; i++ {
			d *= 2
		}
		return min(d, policy.Max)
	}
	held := func(n int) time.Duration { return min(wait(n), 5*time.Minute) } // a directory error's
	setup := func(t *testing.T, maxDeferral time.Duration) (*connectortest.Harness, *directory, time.Time) {
		dir := newDirectory()
		dir.set("u", "vips", true)
		h := connectortest.New(t, connector.WithDirectory(dir), connector.WithRetryPolicy(policy), connector.WithMaxDeferral(maxDeferral))
		followUp(h, func(c *rule.Campaign) { c.Audience, c.RecheckAudience, c.Delay = "vips", true, rule.After(time.Hour) })
		h.Track(opened("u"))
		return h, dir, h.Clock.Now().Add(time.Hour)
	}
	retries := func(h *connectortest.Harness) (at []time.Time, failed time.Time) {
		for _, d := range h.DecisionsFor("u", "f") {
			switch {
			case d.Kind == rule.Retried && d.Reason == rule.ReasonDirectoryError:
				at = append(at, d.At)
			case d.Kind == rule.Failed:
				require.Equal(t, rule.ReasonDirectoryError, d.Reason)
				failed = d.At
			}
		}
		return at, failed
	}

	t.Run("ever less often, then failed at the maximum deferral", func(t *testing.T) {
		h, dir, due := setup(t, 6*time.Hour)
		dir.failWith(errors.New("timeout"))
		h.AdvanceTo(due.Add(8 * time.Hour))

		deadline := due.Add(6 * time.Hour)
		var want []time.Time
		for at, n := due, 1; at.Before(deadline); n++ {
			want = append(want, at)
			if at = at.Add(held(n)); at.After(deadline) {
				at = deadline
			}
		}
		at, failed := retries(h)
		require.Equal(t, want, at, "the tries held back, each after the policy's wait: %s", h.Timeline())
		require.Len(t, at, 75, "at the due time, then 30 s, 1, 2, 4 min later, then every 5 min until the deadline")
		require.Equal(t, deadline, failed, "failed with the last try, at the end of the maximum deferral")
		h.RequireNotSent("u", "f")

		// The decision log keeps the outage's latest retry only: the
		// rest of the user's history stays.
		x, err := h.Engine.Explain(context.Background(), "u", "f")
		require.NoError(t, err)
		var kinds []string
		for _, d := range x.Decisions {
			kinds = append(kinds, string(d.Kind))
		}
		require.Equal(t, []string{"scheduled", "retried", "failed"}, kinds)
		require.Contains(t, x.Decisions[1].Detail, "(75 in a row)")
	})

	t.Run("sent once the directory answers", func(t *testing.T) {
		h, dir, due := setup(t, 72*time.Hour)
		dir.failWith(errors.New("timeout"))
		h.AdvanceTo(due.Add(3 * time.Minute)) // tries at +0, +30 s, +1.5 min; the next at +3.5 min
		dir.failWith(nil)
		h.AdvanceTo(due.Add(time.Hour))
		at, _ := retries(h)
		require.Equal(t, []time.Time{due, due.Add(30 * time.Second), due.Add(90 * time.Second)}, at)
		h.RequireSentAt("u", "f", due.Add(210*time.Second))
	})

	t.Run("sent before its send window closes when the directory is back in time", func(t *testing.T) {
		dir := newDirectory()
		dir.set("u", "vips", true)
		h := connectortest.New(t, connector.WithDirectory(dir), connector.WithRetryPolicy(policy))
		followUp(h, func(c *rule.Campaign) {
			c.Audience, c.RecheckAudience, c.Delay = "vips", true, rule.After(16*time.Hour)
			c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(17, 0)}
		})
		h.Track(opened("u"))
		due := connectortest.Start.Add(16 * time.Hour)
		dir.failWith(errors.New("timeout"))
		h.AdvanceTo(due.Add(32 * time.Minute)) // the outage ends at 16:32, the window at 17:00
		dir.failWith(nil)
		h.AdvanceTo(due.Add(2 * time.Hour))
		h.RequireSentAt("u", "f", due.Add(32*time.Minute+30*time.Second))
	})

	t.Run("a deferral after an answer starts the next outage's waits afresh", func(t *testing.T) {
		dir := newDirectory()
		dir.set("u", "vips", true)
		h := connectortest.New(t, connector.WithDirectory(dir), connector.WithRetryPolicy(policy))
		followUp(h, func(c *rule.Campaign) {
			c.Audience, c.RecheckAudience, c.Delay = "vips", true, rule.After(16*time.Hour+50*time.Minute)
			c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(17, 0), NextAvailable: true}
		})
		h.Track(opened("u"))
		due := connectortest.Start.Add(16*time.Hour + 50*time.Minute)
		dir.failWith(errors.New("timeout"))
		h.AdvanceTo(due.Add(8 * time.Minute)) // five errors, the next try at 17:02:30
		dir.failWith(nil)
		h.AdvanceTo(due.Add(time.Hour)) // the directory answers: deferred to 9:00
		h.RequireReason("u", "f", rule.Deferred, rule.ReasonOutsideSendWindow)
		nine := connectortest.Start.Add(33 * time.Hour)
		dir.failWith(errors.New("timeout"))
		h.AdvanceTo(nine.Add(10 * time.Second))
		dir.failWith(nil)
		h.AdvanceTo(nine.Add(time.Hour))
		h.RequireSentAt("u", "f", nine.Add(held(1)))
	})

	t.Run("a Tick stopped while asking is no directory error", func(t *testing.T) {
		// The hold-out's enrollment asks the directory for the survey's
		// audience; the Tick's context ends while it asks.
		ctx, cancel := context.WithCancel(context.Background())
		dir := &cancelling{cancel: cancel}
		h := connectortest.New(t, connector.WithDirectory(dir), connector.WithRetryPolicy(policy))
		h.Save(rule.Campaign{ID: "o"},
			rule.Campaign{ID: "f", ControlPercent: 100, Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}},
			rule.Campaign{ID: "survey", Audience: "vips", Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "f"}}})
		h.Publish("survey", "f", "o")
		h.Track(opened("u"))
		_, err := h.Engine.Tick(ctx)
		require.ErrorIs(t, err, context.Canceled)
		require.True(t, dir.asked.Load(), "the enrollment asked the directory")
		h.RequireNoReason("u", "f", rule.Retried, rule.ReasonDirectoryError)
		st, err := h.Store.User(context.Background(), "", "u")
		require.NoError(t, err)
		require.Len(t, st.Pending, 1)
		require.Zero(t, st.Pending[0].DirectoryErrors)
	})

	t.Run("an answer starts the next outage's waits afresh", func(t *testing.T) {
		h, dir, due := setup(t, 72*time.Hour)
		sendErr := errors.New("smtp: 451")
		h.Sender.Fail = func(connector.Delivery) error { return sendErr }
		dir.failWith(errors.New("timeout"))
		h.AdvanceTo(due.Add(3 * time.Minute)) // three directory errors: +0, +30 s, +1.5 min
		dir.failWith(nil)
		h.AdvanceTo(due.Add(210 * time.Second)) // the directory answers; the send fails (attempt 1)
		h.RequireReason("u", "f", rule.Retried, rule.ReasonSendError)
		dir.failWith(errors.New("timeout"))
		h.Sender.Fail = nil
		retry := due.Add(210*time.Second + wait(1)) // the send's retry, after one failed attempt
		h.AdvanceTo(retry)
		dir.failWith(nil)
		h.AdvanceTo(due.Add(time.Hour))
		at, _ := retries(h)
		require.Len(t, at, 4, h.Timeline())
		require.Equal(t, retry, at[3])
		// One send tried and one directory error since: the wait of a
		// second try, not of a fifth.
		h.RequireSentAt("u", "f", retry.Add(held(2)))
	})
}

// cancelling is a directory that ends its caller's context when asked for
// a segment, as a Tick stopped during the call would see it.
type cancelling struct {
	cancel context.CancelFunc
	asked  atomic.Bool
}

func (d *cancelling) Location(context.Context, string) (*time.Location, error) { return nil, nil }

func (d *cancelling) InSegment(ctx context.Context, _, _ string) (bool, error) {
	d.asked.Store(true)
	d.cancel()
	return false, ctx.Err()
}
