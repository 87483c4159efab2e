package connector_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// traced is an engine whose every trace is kept: the decisions handed to
// its observers, its log lines at Debug and up, and its event counts.
type traced struct {
	t   *testing.T
	ctx context.Context
	clk *clock.Mock
	mem *sweepStore
	e   *connector.Engine

	mu  sync.Mutex
	ds  []rule.Decision
	log bytes.Buffer
}

func (tr *traced) Observe(d rule.Decision) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.ds = append(tr.ds, d)
}

func (tr *traced) Write(p []byte) (int, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.log.Write(p)
}

// sweepStore is a memory store whose campaign writes or cancellations
// (stepFails) or user updates (failUsers) fail with errStep.
type sweepStore struct {
	*stepFails
	failUsers bool
}

func (s *sweepStore) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.failUsers {
		return errStep
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *sweepStore) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if s.failUsers {
		return errStep
	}
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// sweepSet is an original "o" and a follow-up "f" of opens of it, an hour
// later unless the user purchases meanwhile; edit changes "f".
func sweepSet(edit func(*rule.Campaign)) []rule.Campaign {
	f := rule.Campaign{ID: "f", Delay: rule.After(time.Hour),
		Triggers:   []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}},
		Exceptions: []rule.Exception{{Kind: event.Purchase}}}
	if edit != nil {
		edit(&f)
	}
	return []rule.Campaign{{ID: "o"}, f}
}

// newTraced applies sweepSet(edit) on a fresh engine with send as sender.
func newTraced(t *testing.T, edit func(*rule.Campaign), send connector.Sender, opts ...connector.Option) *traced {
	t.Helper()
	tr := &traced{t: t, ctx: context.Background(), clk: applyClock(), mem: &sweepStore{stepFails: &stepFails{Memory: store.NewMemory()}}}
	if send == nil {
		send = noop
	}
	opts = append(opts, connector.WithObserver(tr),
		connector.WithLogger(slog.New(slog.NewTextHandler(tr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	tr.e = newEngine(t, tr.mem, send, tr.clk, opts...)
	require.NoError(t, tr.e.Apply(tr.ctx, sweepSet(edit)))
	tr.clk.Add(time.Second)
	return tr
}

func (tr *traced) track(ev event.Event) error {
	if ev.Time.IsZero() {
		ev.Time = tr.clk.Now()
	}
	return tr.e.Track(tr.ctx, ev)
}

func (tr *traced) open(user string) {
	tr.t.Helper()
	require.NoError(tr.t, tr.track(event.Event{ID: "open-" + user, UserID: user, Kind: event.EmailOpened, CampaignID: "o"}))
}

// tickThrough moves the clock by d five minutes at a time, ticking each.
func (tr *traced) tickThrough(d time.Duration) {
	tr.t.Helper()
	for end := tr.clk.Now().Add(d); tr.clk.Now().Before(end); {
		tr.clk.Add(5 * time.Minute)
		_, err := tr.e.Tick(tr.ctx)
		require.NoError(tr.t, err)
	}
}

// endings returns "kind/reason" of the decisions about user and "f" that
// are not Scheduled, Retried or Deferred: how the user's story ended.
func (tr *traced) endings(user string) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for _, d := range tr.ds {
		if d.UserID != user || d.CampaignID != "f" {
			continue
		}
		switch d.Kind {
		case rule.Scheduled, rule.Retried, rule.Deferred:
			continue
		}
		out = append(out, string(d.Kind)+"/"+string(d.Reason))
	}
	return out
}

func (tr *traced) logged() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.log.String()
}

// requireNothingPending checks that user waits for nothing.
func (tr *traced) requireNothingPending(user string) {
	tr.t.Helper()
	u, err := tr.mem.User(tr.ctx, "", user)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	require.NoError(tr.t, err)
	require.Empty(tr.t, u.Pending, "%s still waits", user)
}

// TestSilenceSweepEvents: each way an event can end without scheduling
// or cancelling anything leaves a trace: a decision about it, a count,
// or an error to the caller of Track.
func TestSilenceSweepEvents(t *testing.T) {
	t.Run("unknown kind", func(t *testing.T) {
		tr := newTraced(t, nil, nil)
		err := tr.track(event.Event{ID: "x", UserID: "ann", Kind: "email_openned", CampaignID: "o"})
		require.ErrorIs(t, err, event.ErrUnknownKind)
		require.Zero(t, tr.e.EventCounts().Tracked)
	})
	t.Run("unknown campaign", func(t *testing.T) {
		tr := newTraced(t, nil, nil)
		require.NoError(t, tr.track(event.Event{ID: "x", UserID: "ann", Kind: event.EmailOpened, CampaignID: "oo"}))
		require.EqualValues(t, 1, tr.e.EventCounts().Ignored[rule.ReasonUnknownCampaign])
		require.Contains(t, tr.logged(), "level=WARN")
		require.Contains(t, tr.logged(), "oo")
	})
	t.Run("nobody listens", func(t *testing.T) {
		tr := newTraced(t, nil, nil)
		require.NoError(t, tr.track(event.Event{ID: "x", UserID: "ann", Kind: event.SessionStart}))
		require.EqualValues(t, 1, tr.e.EventCounts().Unheard)
	})
	t.Run("an exception with nothing to cancel", func(t *testing.T) {
		// An active follow-up listens to it, so it is not unheard; it
		// finds nothing waiting and, as rule.Reason's docs say, leaves
		// no decision: the count of tracked events is its only trace.
		tr := newTraced(t, nil, nil)
		require.NoError(t, tr.track(event.Event{ID: "x", UserID: "ann", Kind: event.Purchase}))
		counts := tr.e.EventCounts()
		require.EqualValues(t, 1, counts.Tracked)
		require.Zero(t, counts.Unheard)
		require.Empty(t, tr.endings("ann"))
	})
	t.Run("original archived", func(t *testing.T) {
		tr := newTraced(t, nil, nil)
		require.NoError(t, tr.e.Archive(tr.ctx, "o"))
		tr.open("ann")
		require.Equal(t, []string{"suppressed/original_not_active"}, tr.endings("ann"))
	})
	t.Run("already pending, then not re-eligible", func(t *testing.T) {
		tr := newTraced(t, nil, nil)
		tr.open("ann")
		require.NoError(t, tr.track(event.Event{ID: "open-2", UserID: "ann", Kind: event.EmailOpened, CampaignID: "o"}))
		tr.tickThrough(2 * time.Hour)
		require.NoError(t, tr.track(event.Event{ID: "open-3", UserID: "ann", Kind: event.EmailOpened, CampaignID: "o"}))
		require.Equal(t, []string{"suppressed/already_pending", "delivered/", "suppressed/not_reeligible"}, tr.endings("ann"))
	})
	t.Run("duplicate", func(t *testing.T) {
		tr := newTraced(t, nil, nil)
		tr.open("ann")
		tr.open("ann")
		require.Equal(t, []string{"duplicate/duplicate_event"}, tr.endings("ann"))
		require.EqualValues(t, 1, tr.e.EventCounts().Duplicates)
	})
	t.Run("before publication", func(t *testing.T) {
		tr := newTraced(t, nil, nil)
		require.NoError(t, tr.track(event.Event{ID: "x", UserID: "ann", Kind: event.EmailOpened, CampaignID: "o",
			Time: tr.clk.Now().Add(-time.Hour)}))
		require.Equal(t, []string{"suppressed/before_activation"}, tr.endings("ann"))
	})
	t.Run("follow-up stopped", func(t *testing.T) {
		tr := newTraced(t, nil, nil)
		require.NoError(t, tr.e.Stop(tr.ctx, "f"))
		tr.open("ann")
		require.EqualValues(t, 1, tr.e.EventCounts().Unheard, "an interaction a stopped follow-up would use is not counted")
	})
	t.Run("original stopped", func(t *testing.T) {
		tr := newTraced(t, nil, nil)
		require.NoError(t, tr.e.Stop(tr.ctx, "o"))
		tr.open("ann")
		require.Equal(t, []string{"suppressed/original_not_active"}, tr.endings("ann"))
	})
	t.Run("outside the audience", func(t *testing.T) {
		tr := newTraced(t, func(c *rule.Campaign) { c.Audience = "vip" }, nil, connector.WithDirectory(
			connector.SegmentFunc(func(context.Context, string, string) (bool, error) { return false, nil })))
		tr.open("ann")
		require.Equal(t, []string{"suppressed/not_in_audience"}, tr.endings("ann"))
	})
	t.Run("directory error", func(t *testing.T) {
		down := errors.New("directory down")
		tr := newTraced(t, func(c *rule.Campaign) { c.Audience = "vip" }, nil, connector.WithDirectory(
			connector.SegmentFunc(func(context.Context, string, string) (bool, error) { return false, down })))
		require.ErrorIs(t, tr.track(event.Event{ID: "x", UserID: "ann", Kind: event.EmailOpened, CampaignID: "o", Time: tr.clk.Now()}), down)
	})
	t.Run("store error", func(t *testing.T) {
		tr := newTraced(t, nil, nil)
		tr.mem.failUsers = true
		require.Error(t, tr.track(event.Event{ID: "x", UserID: "ann", Kind: event.EmailOpened, CampaignID: "o", Time: tr.clk.Now()}))
		require.Zero(t, tr.e.EventCounts().Tracked)
	})
	t.Run("exception before the trigger", func(t *testing.T) {
		tr := newTraced(t, nil, nil)
		tr.open("ann")
		require.NoError(t, tr.track(event.Event{ID: "p", UserID: "ann", Kind: event.Purchase, Time: tr.clk.Now().Add(-time.Minute)}))
		require.Equal(t, []string{"ignored/before_trigger"}, tr.endings("ann"))
		require.EqualValues(t, 1, tr.e.EventCounts().Ignored[rule.ReasonBeforeTrigger])
	})
}

// switchDir is a directory whose segments answer yes until it is given
// another answer.
type switchDir struct {
	mu     sync.Mutex
	answer func() (bool, error)
}

func (d *switchDir) set(answer func() (bool, error)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.answer = answer
}

func (d *switchDir) InSegment(context.Context, string, string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.answer == nil {
		return true, nil
	}
	return d.answer()
}

func (*switchDir) Location(context.Context, string) (*time.Location, error) { return nil, nil }

// TestSilenceSweepDeliveries: each way a scheduled delivery can end
// without a send leaves a decision about the user and the follow-up, and
// nothing waits on.
func TestSilenceSweepDeliveries(t *testing.T) {
	fail := connector.SenderFunc(func(context.Context, connector.Delivery) error { return errors.New("smtp 451") })
	vip := func(c *rule.Campaign) { c.Audience = "vip"; c.RecheckAudience = true }
	tests := []struct {
		name string
		edit func(*rule.Campaign)
		send connector.Sender
		opts []connector.Option
		// dir is what the segment answers once ann's open is tracked.
		dir func() (bool, error)
		// act runs after ann's open, before the clock moves thirty
		// hours.
		act  func(*traced)
		want string
	}{
		{name: "exception", act: func(tr *traced) {
			require.NoError(t, tr.track(event.Event{ID: "p", UserID: "ann", Kind: event.Purchase}))
		}, want: "cancelled/exception"},
		{name: "stop", act: func(tr *traced) { require.NoError(t, tr.e.Stop(tr.ctx, "f")) }, want: "cancelled/campaign_stopped"},
		{name: "archive", act: func(tr *traced) { require.NoError(t, tr.e.Archive(tr.ctx, "f")) }, want: "cancelled/campaign_stopped"},
		{name: "stop whose cancellation failed", act: func(tr *traced) {
			tr.mem.failCancel = true
			require.ErrorIs(t, tr.e.Stop(tr.ctx, "f"), connector.ErrNotCancelled)
			tr.mem.failCancel = false
		}, want: "cancelled/campaign_stopped"},
		{name: "stop whose cancellation failed, then a resume", act: func(tr *traced) {
			tr.mem.failCancel = true
			require.ErrorIs(t, tr.e.Stop(tr.ctx, "f"), connector.ErrNotCancelled)
			tr.mem.failCancel = false
			require.NoError(t, tr.e.Apply(tr.ctx, sweepSet(nil)))
		}, want: "cancelled/campaign_stopped"},
		{name: "Apply StopOthers", act: func(tr *traced) {
			require.NoError(t, tr.e.Apply(tr.ctx, sweepSet(nil)[:1], connector.StopOthers()))
		}, want: "cancelled/campaign_stopped"},
		{name: "Apply KeepStopped after a cut-short stop", act: func(tr *traced) {
			tr.mem.failCancel = true
			require.ErrorIs(t, tr.e.Stop(tr.ctx, "f"), connector.ErrNotCancelled)
			tr.mem.failCancel = false
			require.NoError(t, tr.e.Apply(tr.ctx, sweepSet(nil), connector.KeepStopped()))
		}, want: "cancelled/campaign_stopped"},
		{name: "audience re-check", edit: vip, dir: func() (bool, error) { return false, nil }, want: "suppressed/not_in_audience"},
		{name: "frequency cap", opts: []connector.Option{connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Window: 24 * time.Hour})},
			edit: func(c *rule.Campaign) { c.Reeligibility = rule.ReeligibleAfter(0) },
			act: func(tr *traced) {
				tr.tickThrough(time.Hour + 5*time.Minute) // ann's first delivery goes out
				require.NoError(t, tr.track(event.Event{ID: "open-2", UserID: "ann", Kind: event.EmailOpened, CampaignID: "o"}))
			}, want: "suppressed/frequency_capped"},
		{name: "quiet hours", opts: []connector.Option{connector.WithQuietHours(connector.QuietHours{
			From: rule.At(9, 0), To: rule.At(12, 0)})}, want: "suppressed/quiet_hours"},
		{name: "send window", edit: func(c *rule.Campaign) {
			c.SendWindow = &rule.SendWindow{From: rule.At(20, 0), To: rule.At(21, 0)}
		}, want: "suppressed/outside_send_window"},
		{name: "send failure exhausted", send: fail, want: "failed/send_error"},
		{name: "directory error to the maximum deferral", edit: vip, opts: []connector.Option{connector.WithMaxDeferral(3 * time.Hour)},
			dir: func() (bool, error) { return false, errors.New("directory down") }, want: "failed/directory_error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := &switchDir{}
			tr := newTraced(t, tc.edit, tc.send, append(tc.opts, connector.WithDirectory(dir))...)
			tr.open("ann")
			dir.set(tc.dir)
			if tc.act != nil {
				tc.act(tr)
			}
			tr.tickThrough(30 * time.Hour)
			got := tr.endings("ann")
			require.NotEmpty(t, got, "ann's delivery ended with no decision; log:\n%s", tr.logged())
			require.Equal(t, tc.want, got[len(got)-1], "ann's decisions: %v", got)
			tr.requireNothingPending("ann")
			kind, reason, _ := strings.Cut(tc.want, "/")
			require.True(t, slices.ContainsFunc(strings.Split(tr.logged(), "\n"), func(line string) bool {
				return strings.Contains(line, "decision="+kind+" reason="+reason) && strings.Contains(line, "user=ann")
			}), "no log line says %s; log:\n%s", tc.want, tr.logged())
		})
	}
}

// TestSilenceSweepDeferredTooLong: deliveries deferred (by a rate limit,
// or by quiet hours with Defer that last longer than the maximum
// deferral) until the maximum deferral each end with a decision, and nothing waits on.
func TestSilenceSweepDeferredTooLong(t *testing.T) {
	tests := []struct {
		name string
		edit func(*rule.Campaign)
		opts []connector.Option
		want map[string]bool // endings allowed
	}{
		{name: "rate limit", edit: func(c *rule.Campaign) { c.RateLimit = 1 },
			opts: []connector.Option{connector.WithMaxDeferral(10 * time.Minute)},
			want: map[string]bool{"delivered/": true, "suppressed/rate_limited": true}},
		{name: "quiet hours deferred past the maximum deferral",
			opts: []connector.Option{connector.WithMaxDeferral(time.Hour),
				connector.WithQuietHours(connector.QuietHours{From: rule.At(9, 0), To: rule.At(12, 0), Defer: true})},
			want: map[string]bool{"suppressed/quiet_hours": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTraced(t, tc.edit, nil, tc.opts...)
			users := []string{"u0", "u1", "u2", "u3", "u4", "u5"}
			for _, u := range users {
				tr.open(u)
			}
			tr.tickThrough(30 * time.Hour)
			seen := map[string]int{}
			for _, u := range users {
				got := tr.endings(u)
				require.Len(t, got, 1, "%s's decisions: %v", u, got)
				require.True(t, tc.want[got[0]], "%s ended %s", u, got[0])
				seen[got[0]]++
				tr.requireNothingPending(u)
			}
			t.Logf("endings: %v", seen)
		})
	}
}
