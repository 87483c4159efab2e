package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the zones must not depend on the machine's tz database

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// decisionLog keeps every decision an observer hands it: the independent
// count the pages are checked against.
type decisionLog struct {
	mu sync.Mutex
	ds []rule.Decision
}

func (l *decisionLog) Observe(d rule.Decision) {
	l.mu.Lock()
	l.ds = append(l.ds, d)
	l.mu.Unlock()
}

// metricOf says, from the decision alone, which of the pages' metrics
// count it (keys of campaignMetrics): a suppression with a delivery ID
// dropped a scheduled delivery when due, one without stopped a trigger; a
// conversion with the reason control_group is a held-out user's.
func metricOf(d rule.Decision) []string {
	switch d.Kind {
	case rule.Scheduled:
		return []string{"triggered", "scheduled"}
	case rule.Suppressed:
		if d.DeliveryID == "" {
			return []string{"triggered", "suppressed"}
		}
		return []string{"suppressed"}
	case rule.Cancelled:
		return []string{"cancelled"}
	case rule.Delivered:
		return []string{"sent"}
	case rule.Failed:
		return []string{"failed"}
	case rule.HeldOut:
		return []string{"held_out"}
	case rule.Converted:
		if d.Reason == rule.ReasonControlGroup {
			return []string{"converted_held_out"}
		}
		return []string{"converted"}
	}
	return nil
}

type flipDirectory struct {
	mu  sync.Mutex
	out map[string]bool
}

func (d *flipDirectory) Location(context.Context, string) (*time.Location, error) { return nil, nil }
func (d *flipDirectory) InSegment(_ context.Context, user, _ string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.out[user], nil
}

// A scripted workload on the mock clock, across a clock change of the
// dashboard's zone and a restart of the engine: every figure the pages
// show equals the count of the decisions the engines handed an observer.
func TestScenarioFiguresMatchTheDecisions(t *testing.T) {
	ctx := context.Background()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 26, 21, 0, 0, 0, time.UTC))
	st := store.NewMemory()
	const retention = 48 * time.Hour
	log := &decisionLog{}
	dir := &flipDirectory{out: map[string]bool{}}
	var sendsMu sync.Mutex
	sends := map[string]int{} // sender calls by campaign; sends run concurrently
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		sendsMu.Lock()
		sends[d.CampaignID]++
		sendsMu.Unlock()
		if strings.HasPrefix(d.UserID, "bad") {
			return errors.New("refused")
		}
		return nil
	})
	newEngine := func() *connector.Engine {
		e, err := connector.New(st, send, connector.WithClock(clk), connector.WithObserver(log),
			connector.WithDirectory(dir),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 2, Base: time.Minute, Max: time.Minute}),
			connector.WithQuietHours(connector.QuietHours{From: rule.At(2, 0), To: rule.At(4, 0)}),
			connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Window: 24 * time.Hour}),
			connector.WithTallyRetention(retention),
			connector.WithDecisionLog(100, 30*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := newEngine()
	must := noError(t)
	must(e.Save(ctx, rule.Campaign{ID: "news"}))
	recv := rule.Trigger{Kind: event.EmailReceived, CampaignID: "news"}
	camps := []rule.Campaign{
		{ID: "remind", Triggers: []rule.Trigger{recv}, Delay: rule.After(2 * time.Hour),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}},
			Audience:   "vip", RecheckAudience: true,
			Conversions: []rule.Conversion{{ID: "buy", Kind: event.Purchase}}},
		{ID: "ctrl", Triggers: []rule.Trigger{recv}, Delay: rule.After(3 * time.Hour), ControlPercent: 50, Conversions: []rule.Conversion{{ID: "buy", Kind: event.Purchase}}, Reeligibility: rule.ReeligibleAfter(0)},
		{ID: "limited", Triggers: []rule.Trigger{recv}, Delay: rule.After(30 * time.Minute), RateLimit: 1, IgnoreFrequencyCaps: true, Reeligibility: rule.ReeligibleAfter(0)},
	}
	for _, c := range camps {
		must(e.Save(ctx, c))
		must(e.Publish(ctx, c.ID))
	}
	must(e.Publish(ctx, "news"))
	tick := func() {
		if _, err := e.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	users := []string{"ann", "bob", "bad1", "cleo", "out1", "dan", "bad2", "eve"}
	userAt := map[int]string{}
	for step := range 140 {
		u := fmt.Sprintf("%s-%d", users[step%len(users)], step/len(users)%3)
		userAt[step] = u
		dir.mu.Lock()
		dir.out[u] = strings.HasPrefix(u, "out") && step%2 == 0
		dir.mu.Unlock()
		must(e.Track(ctx, event.Event{ID: fmt.Sprintf("r%d", step), UserID: u, Kind: event.EmailReceived, CampaignID: "news"}))
		if step%5 == 0 {
			must(e.Track(ctx, event.Event{ID: fmt.Sprintf("r%d", step), UserID: u, Kind: event.EmailReceived, CampaignID: "news"})) // duplicate
		}
		if step%4 == 1 {
			must(e.Track(ctx, event.Event{ID: fmt.Sprintf("o%d", step), UserID: u, Kind: event.EmailOpened, CampaignID: "news"}))
		}
		if step%5 == 0 {
			must(e.Track(ctx, event.Event{ID: fmt.Sprintf("s%d", step), UserID: u, Kind: event.EmailReceived, CampaignID: "news"}))
		}
		if step%3 == 0 {
			must(e.Track(ctx, event.Event{ID: fmt.Sprintf("p%d", step), UserID: userAt[max(step-6, 0)], Kind: event.Purchase}))
		}
		if step%9 == 0 {
			must(e.Track(ctx, event.Event{ID: fmt.Sprintf("x%d", step), UserID: u, Kind: event.EmailReceived, CampaignID: "newz"}))
		}
		if step%6 == 2 { // leaves the audience before the re-check
			dir.mu.Lock()
			dir.out[u] = true
			dir.mu.Unlock()
		}
		clk.Add(37 * time.Minute)
		tick()
		if step == 70 { // restart on the same store
			must(e.FlushTallies(ctx))
			e = newEngine()
		}
		if step == 120 {
			must(e.Stop(ctx, "remind"))
		}
	}
	clk.Add(time.Minute)
	tick()

	h, err := New(e, quietLogger(), WithLocation(berlin))
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	log.mu.Lock()
	ds := append([]rule.Decision(nil), log.ds...)
	log.mu.Unlock()

	// Sender calls are the sends' decisions.
	for _, c := range camps {
		var want int
		sendsMu.Lock()
		calls := sends[c.ID]
		sendsMu.Unlock()
		for _, d := range ds {
			if d.CampaignID == c.ID && (d.Kind == rule.Delivered || d.Kind == rule.Failed || d.Kind == rule.Retried) {
				want++
			}
		}
		if calls != want {
			t.Errorf("%s: %d sender calls, %d decisions of sends", c.ID, calls, want)
		}
	}
	// The store keeps the tallies of the hours from the one that started
	// the retention ago (the last prune's, at the last Tick).
	kept := now.Add(-retention).Truncate(time.Hour)
	ds = slices.DeleteFunc(ds, func(d rule.Decision) bool { return d.At.Before(kept) })

	// The campaigns page: each metric over 24 h and 7 days, and why the
	// cancelled and suppressed fell out.
	breakdowns := map[string]bool{}
	list := body(t, get(t, h, "/"), http.StatusOK)
	for _, w := range []window{lastDay, lastWeek} {
		since, until := w.bounds(now)
		for _, c := range camps {
			want := map[string]int64{}
			for _, d := range ds {
				if d.CampaignID == c.ID && !d.At.Before(since) && d.At.Before(until) {
					for _, m := range metricOf(d) {
						want[m]++
					}
				}
			}
			art := section(t, list, `data-campaign="`+c.ID+`"`, "</article>")
			why := map[string]int64{}
			for _, d := range ds {
				if d.CampaignID != c.ID || d.At.Before(since) || !d.At.Before(until) {
					continue
				}
				switch {
				case d.Kind == rule.Suppressed && d.DeliveryID != "":
					why["suppressed "+reasonWords(d.Reason)+" when due"]++
				case d.Kind == rule.Suppressed:
					why["suppressed "+reasonWords(d.Reason)]++
				case d.Kind == rule.Cancelled && d.Reason != rule.ReasonException:
					why["cancelled "+reasonWords(d.Reason)]++
				}
			}
			for k, n := range why {
				kind, label, _ := strings.Cut(k, " ")
				cell := section(t, art, `data-metric="`+kind+`" data-window="`+w.Key+`"`, "</td>")
				if line := esc(label) + ": " + thousands(n) + "</li>"; !strings.Contains(cell, line) {
					t.Errorf("%s %s: no line %q in %s", c.ID, w.Key, line, cell)
				}
				breakdowns[k] = true
			}
			for _, m := range campaignMetrics {
				if got := number(t, art, `data-metric="`+m.Key+`" data-window="`+w.Key+`"`); got != want[m.Key] {
					t.Errorf("%s %s %s: page %d, decisions %d", c.ID, w.Key, m.Key, got, want[m.Key])
				}
			}
		}
	}
	// Pending counts: scheduled deliveries not yet ended.
	for _, c := range camps {
		open := map[string]bool{}
		for _, d := range ds {
			if d.CampaignID != c.ID || d.DeliveryID == "" {
				continue
			}
			switch d.Kind {
			case rule.Scheduled:
				open[d.DeliveryID] = true
			case rule.Delivered, rule.Failed, rule.HeldOut, rule.Cancelled, rule.Suppressed:
				delete(open, d.DeliveryID)
			}
		}
		art := section(t, list, `data-campaign="`+c.ID+`"`, "</article>")
		if got := number(t, art, "data-pending"); got != int64(len(open)) {
			t.Errorf("%s pending: page %d, decisions %d", c.ID, got, len(open))
		}
	}
	// The campaign page: funnel, kinds and days.
	for _, c := range camps {
		page := body(t, get(t, h, "/campaign?id="+c.ID+"&range=7d"), http.StatusOK)
		since, until := lastWeek.bounds(now)
		kinds := map[rule.DecisionKind]int64{}
		steps := map[string]int64{}
		days := map[string]map[string]int64{}
		for _, d := range ds {
			if d.CampaignID != c.ID {
				continue
			}
			if !d.At.Before(since) && d.At.Before(until) {
				kinds[d.Kind]++
				for _, m := range metricOf(d) {
					steps[m]++
				}
			}
			day := d.At.In(berlin).Format(time.DateOnly)
			if days[day] == nil {
				days[day] = map[string]int64{}
			}
			for _, m := range metricOf(d) {
				days[day][m]++
			}
		}
		for k, n := range kinds {
			if k == rule.Warned || k == rule.Applied {
				continue
			}
			if got := number(t, page, `data-kind="`+string(k)+`"`); got != n {
				t.Errorf("%s kind %s: page %d, decisions %d", c.ID, k, got, n)
			}
		}
		for _, s := range []string{"triggered", "scheduled", "sent", "converted"} {
			if got := number(t, page, `data-step="`+s+`"`); got != steps[s] {
				t.Errorf("%s step %s: page %d, decisions %d", c.ID, s, got, steps[s])
			}
		}
		for i := range calendarDays {
			y, m, dd := now.In(berlin).Date()
			day := time.Date(y, m, dd-i, 0, 0, 0, 0, berlin).Format(time.DateOnly)
			row := section(t, page, `data-day="`+day+`"`, "</tr>")
			for _, mt := range dayMetrics {
				if got := number(t, row, `data-metric="`+mt.Key+`"`); got != days[day][mt.Key] {
					t.Errorf("%s day %s %s: page %d, decisions %d", c.ID, day, mt.Key, got, days[day][mt.Key])
				}
			}
		}
	}
	// The health page: failed, retried, deferred by follow-up, 24 h.
	health := body(t, get(t, h, "/health"), http.StatusOK)
	since, until := lastDay.bounds(now)
	for _, c := range camps {
		want := map[rule.DecisionKind]int64{}
		for _, d := range ds {
			if d.CampaignID == c.ID && !d.At.Before(since) && d.At.Before(until) {
				want[d.Kind]++
			}
		}
		if want[rule.Failed]+want[rule.Retried]+want[rule.Deferred] == 0 {
			continue
		}
		row := section(t, health, `data-trouble="`+c.ID+`"`, "</tr>")
		for key, k := range map[string]rule.DecisionKind{"failed": rule.Failed, "retried": rule.Retried, "deferred": rule.Deferred} {
			if got := number(t, row, `data-metric="`+key+`"`); got != want[k] {
				t.Errorf("health %s %s: page %d, decisions %d", c.ID, key, got, want[k])
			}
		}
	}
	var unknown int64
	for _, d := range ds {
		if d.Kind == rule.Ignored && d.Reason == rule.ReasonUnknownCampaign && !d.At.Before(since) && d.At.Before(until) {
			unknown++
		}
	}
	if got := number(t, health, "data-unknown-total"); got != unknown {
		t.Errorf("health unknown: page %d, decisions %d", got, unknown)
	}
	t.Logf("breakdowns checked: %v", breakdowns)
	// Summary of what ran, to see the scenario exercised every path.
	seen := map[string]int{}
	for _, d := range ds {
		k := string(d.Kind) + "/" + string(d.Reason)
		if d.Kind == rule.Suppressed && d.DeliveryID != "" {
			k += "/due"
		}
		seen[k]++
	}
	t.Logf("decisions: %v", seen)
}
