package dashboard

import (
	"slices"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

func TestWindowsEndWithTheCurrentHour(t *testing.T) {
	now := time.Date(2026, 3, 4, 15, 20, 0, 0, time.UTC)
	since, until := lastDay.bounds(now)
	if want := time.Date(2026, 3, 4, 16, 0, 0, 0, time.UTC); !until.Equal(want) {
		t.Errorf("until %v, want %v", until, want)
	}
	if want := time.Date(2026, 3, 3, 16, 0, 0, 0, time.UTC); !since.Equal(want) {
		t.Errorf("since %v, want %v", since, want)
	}
	for _, w := range windows {
		if n := len(newSeries(w, since, now).Counts); time.Duration(n)*w.Bucket != w.Span {
			t.Errorf("%s: %d buckets of %v do not cover %v", w.Key, n, w.Bucket, w.Span)
		}
	}
}

func TestSummarizeCountsOnlyTheWindowsHours(t *testing.T) {
	now := time.Date(2026, 3, 4, 15, 20, 0, 0, time.UTC)
	since, until := lastDay.bounds(now)
	ts := []tally{
		{Hour: since.Add(-time.Hour), Kind: rule.Delivered, Count: 100}, // the hour before: out
		{Hour: since, Kind: rule.Delivered, Count: 1},                   // the first hour: in
		{Hour: until.Add(-time.Hour), Kind: rule.Delivered, Count: 2},   // the current hour: in
		{Hour: until, Kind: rule.Delivered, Count: 1000},                // the next hour: out
		{Hour: since, Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: `purchase`, Count: 3},
		{Hour: since, Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: `push_opened of "cart"`, Count: 4},
		{Hour: since, Kind: rule.Cancelled, Reason: rule.ReasonCampaignStopped, Count: 3},
		{Hour: since, Kind: rule.Suppressed, Reason: rule.ReasonNotInAudience, Count: 5},
		{Hour: since, Kind: rule.Suppressed, Reason: rule.ReasonNotInAudience, Rule: store.RuleWhenDue, Count: 6},
	}
	s := summarize(ts, campaignMetrics, lastDay, now, nil)
	sent := s.Figure("sent")
	if sent.Total() != 3 || sent.Series.Counts[0] != 1 || sent.Series.Counts[23] != 2 {
		t.Errorf("sent %d %v, want 3: 1 in the first hour, 2 in the last", sent.Total(), sent.Series.Counts)
	}
	want := []part{{`push_opened of "cart" happened while the user waited (exception)`, 4}, {reasonWords(rule.ReasonCampaignStopped), 3},
		{"purchase happened while the user waited (exception)", 3}}
	if got := s.Figure("cancelled").Breakdown; !slices.Equal(got, want) {
		t.Errorf("cancelled by %v, want %v", got, want)
	}
	if got := s.Figure("triggered").Total(); got != 5 {
		t.Errorf("triggered %d, want the 5 suppressed on arrival (not the 6 when due: they were scheduled)", got)
	}
	want = []part{{reasonWords(rule.ReasonNotInAudience) + " when due", 6}, {reasonWords(rule.ReasonNotInAudience), 5}}
	if got := s.Figure("suppressed").Breakdown; !slices.Equal(got, want) {
		t.Errorf("suppressed for %v, want %v", got, want)
	}
	if got := s.Figure("triggered").Breakdown; len(got) != 0 {
		t.Errorf("triggered has a breakdown %v: it sums two kinds", got)
	}
}

func TestFunnelSaysWhatFellOutAtEachStep(t *testing.T) {
	now := time.Date(2026, 3, 4, 15, 20, 0, 0, time.UTC)
	h := now.Truncate(time.Hour)
	ts := []tally{
		{Hour: h, Kind: rule.Scheduled, Count: 80},
		{Hour: h, Kind: rule.Suppressed, Reason: rule.ReasonAlreadyPending, Count: 15},
		{Hour: h, Kind: rule.Suppressed, Reason: rule.ReasonNotInAudience, Count: 5},
		{Hour: h, Kind: rule.Suppressed, Reason: rule.ReasonQuietHours, Rule: store.RuleWhenDue, Count: 4},
		{Hour: h, Kind: rule.Suppressed, Reason: rule.ReasonNotInAudience, Rule: store.RuleWhenDue, Count: 2},
		{Hour: h, Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: "purchase", Count: 24},
		{Hour: h, Kind: rule.HeldOut, Reason: rule.ReasonControlGroup, Count: 8},
		{Hour: h, Kind: rule.Failed, Reason: rule.ReasonSendError, Count: 2},
		{Hour: h, Kind: rule.Delivered, Count: 40},
		{Hour: h, Kind: rule.Converted, Count: 10},
	}
	steps := funnel(summarize(ts, funnelMetrics, lastDay, now, nil))
	var counts []int64
	for _, s := range steps {
		counts = append(counts, s.Count)
	}
	if !slices.Equal(counts, []int64{100, 80, 40, 10}) {
		t.Fatalf("steps %v, want 100 80 40 10", counts)
	}
	if steps[0].OfPrevious != -1 || steps[1].OfPrevious != 80 || steps[2].OfPrevious != 50 || steps[3].OfFirst != 10 {
		t.Errorf("percentages %+v", steps)
	}
	if want := []part{{"suppressed: " + reasonWords(rule.ReasonAlreadyPending), 15}, {"suppressed: " + reasonWords(rule.ReasonNotInAudience), 5}}; !slices.Equal(steps[0].Lost, want) {
		t.Errorf("lost before scheduling %v, want %v", steps[0].Lost, want)
	}
	want := []part{{"cancelled: purchase happened while the user waited (exception)", 24}, {"held out in the control group", 8},
		{"suppressed: in quiet hours when due", 4}, {"suppressed: user not in the audience when due", 2}, {"failed: the sending service returned an error", 2}}
	if !slices.Equal(steps[1].Lost, want) {
		t.Errorf("lost before sending %v, want %v", steps[1].Lost, want)
	}
	// A tally without the rule whose reason occurs only when a delivery
	// comes due (from a store written before engines marked the stage)
	// falls out after Scheduled all the same.
	ts = append(ts, tally{Hour: h, Kind: rule.Suppressed, Reason: rule.ReasonFrequencyCapped, Count: 5})
	steps = funnel(summarize(ts, funnelMetrics, lastDay, now, nil))
	if steps[0].Count != 100 || !slices.Contains(steps[1].Lost, part{"suppressed: user reached a frequency cap when due", 5}) {
		t.Errorf("a frequency cap's tally without the rule: triggered %d, lost after scheduling %v", steps[0].Count, steps[1].Lost)
	}
	if empty := funnel(summarize(nil, funnelMetrics, lastDay, now, nil)); empty[1].OfPrevious != -1 {
		t.Errorf("a step after an empty one has a percentage: %v", empty[1].OfPrevious)
	}
}

func TestWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7 * 24 * time.Hour: "7 days", 36 * time.Hour: "1 day 12 hours", 90 * time.Minute: "1 hour 30 minutes",
		time.Hour + time.Second: "1 hour 1 second", 0: "no time",
	} {
		if got := durationWords(d); got != want {
			t.Errorf("durationWords(%v) = %q, want %q", d, got, want)
		}
	}
	for name, want := range map[string]string{"Pending": "Pending", "IgnoredByReason": "Ignored by reason", "UserIDs": "User ids", "HTTPErrors": "Http errors"} {
		if got := fieldWords(name); got != want {
			t.Errorf("fieldWords(%q) = %q, want %q", name, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1\u202f000", 1234567: "1\u202f234\u202f567", -1500: "-1\u202f500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	c := rule.Campaign{ID: "r", Triggers: []rule.Trigger{{Kind: "email_received", CampaignID: "n"}}, Delay: rule.After(48 * time.Hour),
		Reeligibility: rule.ReeligibleAfter(30 * 24 * time.Hour)}
	got := rulesInWords(&c, time.UTC)
	if want := []string{`When the user receives the email "n": send after 2 days.`, "A trigger while the user already waits changes nothing.",
		"Re-eligible 30 days after receiving it."}; !slices.Equal(got, want) {
		t.Errorf("rulesInWords = %q, want %q", got, want)
	}
}
