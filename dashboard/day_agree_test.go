package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// mixedWorkload returns a fake at now with the follow-up "remind" and
// ten days of tallies, every hour, of every kind its figures count, in
// counts that differ from hour to hour.
func mixedWorkload(now time.Time) *fakeSource {
	f := newFake(now)
	f.add(rule.Campaign{ID: "remind", Delay: rule.After(time.Hour),
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}, rule.Active)
	end := now.Truncate(time.Hour)
	for h := range 10 * 24 {
		at := end.Add(-time.Duration(h) * time.Hour)
		n := int64(h%7 + 1)
		f.tallies = append(f.tallies,
			tally{Hour: at, CampaignID: "remind", Kind: rule.Scheduled, Count: n},
			tally{Hour: at, CampaignID: "remind", Kind: rule.Delivered, Count: n + 1},
			tally{Hour: at, CampaignID: "remind", Kind: rule.Suppressed, Reason: rule.ReasonAlreadyPending, Count: int64(h % 3)},
			tally{Hour: at, CampaignID: "remind", Kind: rule.Suppressed, Reason: rule.ReasonNotInAudience, Rule: store.RuleWhenDue, Count: int64(h % 2)},
			tally{Hour: at, CampaignID: "remind", Kind: rule.HeldOut, Reason: rule.ReasonControlGroup, Count: int64(h % 5)},
			tally{Hour: at, CampaignID: "remind", Kind: rule.Converted, Count: int64(h % 4)},
			tally{Hour: at, CampaignID: "remind", Kind: rule.Failed, Reason: rule.ReasonSendError, Count: int64(h % 6)},
			tally{Hour: at, CampaignID: "remind", Kind: rule.Cancelled, Reason: rule.ReasonCampaignStopped, Count: int64(h % 8)},
		)
	}
	return f
}

// The page of each day of Day by day counts what the day's row counts,
// metric by metric, in its funnel and its decisions, in zones with clock
// changes of an hour or half an hour, offsets of half or three quarters
// of an hour, and clocks that go forward at midnight.
func TestEachDaysPageCountsWhatItsRowCounts(t *testing.T) {
	cases := []struct {
		zone string
		now  time.Time
	}{
		{"Europe/Paris", time.Date(2026, 3, 30, 12, 20, 0, 0, time.UTC)},
		{"Europe/Paris", time.Date(2026, 10, 26, 12, 20, 0, 0, time.UTC)},
		{"Asia/Kolkata", time.Date(2026, 3, 30, 12, 20, 0, 0, time.UTC)},
		{"Asia/Kathmandu", time.Date(2026, 3, 30, 12, 20, 0, 0, time.UTC)},
		{"Australia/Lord_Howe", time.Date(2026, 4, 7, 12, 20, 0, 0, time.UTC)},
		{"Australia/Lord_Howe", time.Date(2026, 10, 6, 12, 20, 0, 0, time.UTC)},
		{"America/Santiago", time.Date(2026, 9, 8, 12, 20, 0, 0, time.UTC)},
		{"America/Santiago", time.Date(2026, 4, 7, 12, 20, 0, 0, time.UTC)},
		{"Africa/Cairo", time.Date(2026, 4, 26, 12, 20, 0, 0, time.UTC)},
		{"America/Havana", time.Date(2026, 3, 10, 12, 20, 0, 0, time.UTC)},
		{"Pacific/Chatham", time.Date(2026, 4, 7, 12, 20, 0, 0, time.UTC)},
		{"America/St_Johns", time.Date(2026, 3, 10, 12, 20, 0, 0, time.UTC)},
		{"Pacific/Kiritimati", time.Date(2026, 3, 10, 12, 20, 0, 0, time.UTC)},
		{"Pacific/Niue", time.Date(2026, 3, 10, 23, 50, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Skipf("no zone %s: %v", c.zone, err)
		}
		h := mustHandler(t, mixedWorkload(c.now), WithLocation(loc))
		week := body(t, get(t, h, "/campaign?id=remind"), http.StatusOK)
		days := section(t, week, `id="days"`, "</section>")
		if n := strings.Count(days, "<tr data-day="); n != calendarDays {
			t.Errorf("%s at %s: %d rows", c.zone, c.now, n)
		}
		y, m, d := c.now.In(loc).Date()
		for i := range calendarDays {
			date := time.Date(y, m, d-i, 12, 0, 0, 0, loc).Format(time.DateOnly)
			page := body(t, get(t, h, "/campaign?id=remind&day="+date), http.StatusOK)
			funnel := section(t, page, `id="funnel"`, "</section>")
			for _, k := range []string{"triggered", "scheduled", "sent", "converted"} {
				if got, want := number(t, funnel, `data-step="`+k+`"`), dayCount(t, days, date, k); got != want {
					t.Errorf("%s %s %s: funnel %d row %d", c.zone, date, k, got, want)
				}
			}
			dec := section(t, page, `id="decisions"`, "</section>")
			for kind, k := range map[string]string{"delivered": "sent", "held_out": "held_out", "failed": "failed", "cancelled": "cancelled", "suppressed": "suppressed", "scheduled": "scheduled", "converted": "converted"} {
				got := int64(0)
				if strings.Contains(dec, `data-kind="`+kind+`"`) {
					got = number(t, dec, `data-kind="`+kind+`"`)
				}
				if want := dayCount(t, days, date, k); got != want {
					t.Errorf("%s %s %s: decisions %d row %d", c.zone, date, k, got, want)
				}
			}
		}
	}
}
