package otelconnector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// A scripted workload on the mock clock (failures and retries, a rate
// limit that defers, a control group, quiet hours, an exception, a stop
// with deliveries pending, a restart of the engine on the same store):
// the metrics equal what the script did, counted apart: the sender's
// calls by outcome, the deliveries' lag from their triggers' times and
// delays, the pending deliveries, and the decisions an observer of its
// own saw.
func TestScenarioMetricsMatchWhatHappened(t *testing.T) {
	ctx := context.Background()
	env := newTelemetry(t, otelconnector.WithCampaignAttribute())
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 26, 21, 0, 0, 0, time.UTC))
	st := store.NewMemory()
	var mu sync.Mutex
	var seen []rule.Decision
	calls := map[string]int64{} // campaign/outcome
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(d.UserID, "bad") {
			calls[d.CampaignID+"/error"]++
			return errors.New("refused")
		}
		calls[d.CampaignID+"/ok"]++
		return nil
	})
	delays := map[string]time.Duration{"remind": 2 * time.Hour, "ctrl": 3 * time.Hour, "limited": 30 * time.Minute}
	newEngine := func() *connector.Engine {
		opts := append(env.tel.Options(),
			connector.WithClock(clk),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) { mu.Lock(); seen = append(seen, d); mu.Unlock() })),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 2, Base: time.Minute, Max: time.Minute}),
			connector.WithQuietHours(connector.QuietHours{From: rule.At(2, 0), To: rule.At(4, 0)}))
		e, err := connector.New(st, send, opts...)
		require.NoError(t, err)
		return e
	}
	e := newEngine()
	recv := rule.Trigger{Kind: event.EmailReceived, CampaignID: "news"}
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "news"}))
	for _, c := range []rule.Campaign{
		{ID: "remind", Triggers: []rule.Trigger{recv}, Delay: rule.After(delays["remind"]),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}}},
		{ID: "ctrl", Triggers: []rule.Trigger{recv}, Delay: rule.After(delays["ctrl"]), ControlPercent: 50, Reeligibility: rule.ReeligibleAfter(0)},
		{ID: "limited", Triggers: []rule.Trigger{recv}, Delay: rule.After(delays["limited"]), RateLimit: 1, Reeligibility: rule.ReeligibleAfter(0)},
	} {
		require.NoError(t, e.Save(ctx, c))
		require.NoError(t, e.Publish(ctx, c.ID))
	}
	require.NoError(t, e.Publish(ctx, "news"))
	reg, err := env.tel.ObservePending(e)
	require.NoError(t, err)
	triggeredAt := map[string]time.Time{} // event ID → clock time of its Track
	users := []string{"ann", "bob", "bad1", "cleo", "dan"}
	for step := range 90 {
		u := fmt.Sprintf("%s-%d", users[step%len(users)], step/len(users)%3)
		id := fmt.Sprintf("r%d", step)
		triggeredAt[id] = clk.Now()
		require.NoError(t, e.Track(ctx, event.Event{ID: id, UserID: u, Kind: event.EmailReceived, CampaignID: "news"}))
		if step%4 == 1 {
			require.NoError(t, e.Track(ctx, event.Event{ID: "o" + id, UserID: u, Kind: event.EmailOpened, CampaignID: "news"}))
		}
		clk.Add(23 * time.Minute)
		_, err := e.Tick(ctx)
		require.NoError(t, err)
		if step == 45 {
			require.NoError(t, e.FlushTallies(ctx))
			require.NoError(t, reg.Unregister())
			e = newEngine()
			reg, err = env.tel.ObservePending(e)
			require.NoError(t, err)
		}
		if step == 80 {
			require.NoError(t, e.Stop(ctx, "limited"))
		}
	}
	t.Cleanup(func() { require.NoError(t, reg.Unregister()) })

	ms := env.collect()
	mu.Lock()
	defer mu.Unlock()

	// Decisions by kind, reason, stage and campaign.
	want := map[string]int64{}
	for _, d := range seen {
		parts := []string{string(d.Kind)}
		if d.Reason != "" {
			parts = append(parts, string(d.Reason))
		}
		if d.Kind == rule.Suppressed && d.DeliveryID != "" {
			parts = append(parts, "when_due")
		}
		if d.CampaignID != "" && !(d.Kind == rule.Ignored && d.Reason == rule.ReasonUnknownCampaign) {
			parts = append(parts, d.CampaignID)
		}
		want[strings.Join(parts, "/")]++
	}
	require.Equal(t, want, env.decisionCounts(ms))

	// Send durations: one per call of the sender, by outcome.
	got := map[string]int64{}
	for k, dp := range env.histogram(ms, otelconnector.MetricSendDuration, otelconnector.AttrCampaignID, otelconnector.AttrOutcome) {
		got[k] = int64(dp.Count)
	}
	require.Equal(t, calls, got)

	// Lag: each delivery's time less its trigger's time and delay.
	lagWant := map[string]struct {
		n   uint64
		sum float64
	}{}
	for _, d := range seen {
		if d.Kind != rule.Delivered {
			continue
		}
		at, ok := triggeredAt[d.EventID]
		require.True(t, ok, "delivery of an unknown trigger %q", d.EventID)
		w := lagWant[d.CampaignID]
		w.n++
		w.sum += d.At.Sub(at.Add(delays[d.CampaignID])).Seconds()
		lagWant[d.CampaignID] = w
	}
	lags := env.histogram(ms, otelconnector.MetricDeliveryLag, otelconnector.AttrCampaignID)
	require.Len(t, lags, len(lagWant))
	for c, w := range lagWant {
		require.Equal(t, w.n, lags[c].Count, "%s: deliveries", c)
		require.InDelta(t, w.sum, lags[c].Sum, 1e-6, "%s: lag", c)
	}

	// Pending: scheduled deliveries that no decision ended.
	open := map[string]bool{}
	for _, d := range seen {
		switch {
		case d.DeliveryID == "":
		case d.Kind == rule.Scheduled:
			open[d.DeliveryID] = true
		case d.Kind == rule.Delivered || d.Kind == rule.Failed || d.Kind == rule.HeldOut || d.Kind == rule.Cancelled || d.Kind == rule.Suppressed:
			delete(open, d.DeliveryID)
		}
	}
	require.Equal(t, map[string]int64{"": int64(len(open))}, env.pending(ms))
	t.Logf("decisions %v, calls %v, pending %d", want, calls, len(open))
}
