package dashboard

import (
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// quietFake is a fake at fixtureNow with the follow-up "remind" (on the
// email "newsletter", sent a day later) in state s, created at created
// and last updated at updated, and no tally.
func quietFake(s rule.State, created, updated time.Time) *fakeSource {
	f := newFake(fixtureNow)
	f.add(rule.Campaign{ID: "newsletter"}, rule.Active)
	f.add(rule.Campaign{ID: "remind", Delay: rule.After(24 * time.Hour),
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}, s)
	rec := f.campaigns["remind"]
	rec.CreatedAt, rec.UpdatedAt = created, updated
	f.campaigns["remind"] = rec
	return f
}

// funnelWordsOf returns what the page of target says of its funnel.
func funnelWordsOf(t *testing.T, f *fakeSource, target string) string {
	t.Helper()
	page := body(t, get(t, mustHandler(t, f), target), http.StatusOK)
	return html.UnescapeString(section(t, page, `data-funnel-words`, "</div>"))
}

// A day when nothing triggered the follow-up: the page says what that
// means, and what it knows of the follow-up's state then, from its state
// now and its last update, without guessing what it does not know.
func TestEmptyFunnelSaysWhatIsKnown(t *testing.T) {
	const yesterday = "/campaign?id=remind&day=2026-03-03" // fixtureNow is Wed 4 Mar
	long := fixtureNow.Add(-20 * 24 * time.Hour)
	for _, c := range []struct {
		name             string
		state            rule.State
		created, updated time.Time
		want             []string
		not              []string
	}{
		{"stopped before the day", rule.Stopped, long, fixtureNow.Add(-3 * 24 * time.Hour),
			[]string{"Nothing triggered it", `receives the email "newsletter"`, `Was "newsletter" sent`, "It was stopped all day", "2026-03-01 15:20:00 UTC"},
			[]string{"active all day", "cannot say"}},
		{"active since before the day", rule.Active, long, fixtureNow.Add(-10 * 24 * time.Hour),
			[]string{"Nothing triggered it", "It was active all day", "2026-02-22 15:20:00 UTC"},
			[]string{"cannot say"}},
		{"updated during the day", rule.Active, long, time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC),
			[]string{"It is active now", "last updated at 2026-03-03 09:00:00 UTC, during this day", "cannot say whether it was active before then"},
			[]string{"all day"}},
		{"updated after the day", rule.Stopped, long, fixtureNow.Add(-time.Hour),
			[]string{"It is stopped now", "after this day", "cannot say whether it was active then"},
			[]string{"all day"}},
		{"created after the day", rule.Active, fixtureNow.Add(-2 * time.Hour), fixtureNow.Add(-time.Hour),
			[]string{"It did not exist yet: it was created at 2026-03-04 13:20:00 UTC"},
			[]string{"cannot say", "all day"}},
	} {
		words := funnelWordsOf(t, quietFake(c.state, c.created, c.updated), yesterday)
		for _, w := range c.want {
			if !strings.Contains(words, w) {
				t.Errorf("%s: the words lack %q:\n%s", c.name, w, words)
			}
		}
		if c.name == "stopped before the day" && strings.Index(words, "It was") > strings.Index(words, "Nothing triggered") {
			t.Errorf("%s: the state, which alone explains the funnel, is not said first:\n%s", c.name, words)
		}
		for _, w := range c.not {
			if strings.Contains(words, w) {
				t.Errorf("%s: the words say %q:\n%s", c.name, w, words)
			}
		}
	}
}

// Triggers that scheduled deliveries but nothing sent: the page says
// where the deliveries went, or that they fall due after the window.
func TestFunnelThatSentNothingSaysWhy(t *testing.T) {
	long := fixtureNow.Add(-20 * 24 * time.Hour)
	f := quietFake(rule.Active, long, long)
	hour := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	f.tallies = append(f.tallies,
		tally{Hour: hour, CampaignID: "remind", Kind: rule.Scheduled, Count: 5},
		tally{Hour: hour, CampaignID: "remind", Kind: rule.Suppressed, Reason: rule.ReasonNotInAudience, Rule: store.RuleWhenDue, Count: 1})
	words := funnelWordsOf(t, f, "/campaign?id=remind&day=2026-03-03")
	for _, w := range []string{"Nothing was sent", "send after 1 day", "fall due later", "fell out", "It was active all day"} {
		if !strings.Contains(words, w) {
			t.Errorf("the words lack %q:\n%s", w, words)
		}
	}
	f.tallies = []tally{{Hour: hour, CampaignID: "remind", Kind: rule.Suppressed, Reason: rule.ReasonAlreadyPending, Count: 4}}
	words = funnelWordsOf(t, f, "/campaign?id=remind&day=2026-03-03")
	if !strings.Contains(words, "Every trigger was suppressed on arrival") {
		t.Errorf("the words do not say every trigger was suppressed:\n%s", words)
	}
}

// A funnel that sent something needs no words.
func TestFunnelThatSentSaysNothingMore(t *testing.T) {
	page := body(t, get(t, mustHandler(t, populatedFake()), "/campaign?id=resend&day=2026-03-03"), http.StatusOK)
	if strings.Contains(page, "data-funnel-words") {
		t.Errorf("words under a funnel that sent:\n%s", section(t, page, "data-funnel-words", "</div>"))
	}
}

// The sentence on a delay reads for every shape of delay: "send after 1
// day", "send next monday at 10:00", each counted from the trigger.
func TestFunnelThatSentNothingSaysTheDelayInWords(t *testing.T) {
	long := fixtureNow.Add(-20 * 24 * time.Hour)
	hour := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		delay rule.Delay
		want  string
	}{
		{rule.After(24 * time.Hour), "It does not send at once (its definition says: send after 1 day), so what was scheduled on"},
		{rule.NextWeekdayAt(time.Monday, 10, 0), "It does not send at once (its definition says: send next monday at 10:00), so what was scheduled on"},
		{rule.InDaysAt(2, 9, 0), "It does not send at once (its definition says: send in 2 days at 09:00), so what was scheduled on"},
	} {
		f := quietFake(rule.Active, long, long)
		rec := f.campaigns["remind"]
		rec.Campaign.Delay = c.delay
		f.campaigns["remind"] = rec
		f.tallies = append(f.tallies, tally{Hour: hour, CampaignID: "remind", Kind: rule.Scheduled, Count: 5})
		words := funnelWordsOf(t, f, "/campaign?id=remind&day=2026-03-03")
		if !strings.Contains(words, c.want) {
			t.Errorf("%v: the words lack %q:\n%s", c.delay, c.want, words)
		}
	}
}
