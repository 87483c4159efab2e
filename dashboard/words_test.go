package dashboard

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// everyFieldCampaign sets every field of rule.Campaign that changes who
// gets the follow-up, when or how often.
func everyFieldCampaign() rule.Campaign {
	return rule.Campaign{
		ID:                  "cart_reminder",
		Triggers:            []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
		Delay:               rule.After(24 * time.Hour),
		Exceptions:          []rule.Exception{{Kind: event.Purchase}},
		Reeligibility:       rule.ReeligibleAfter(30 * 24 * time.Hour),
		Start:               time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC),
		End:                 time.Date(2026, time.April, 1, 0, 0, 0, 0, time.UTC),
		Audience:            "<b>vip</b>",
		RecheckAudience:     true,
		Channel:             event.Push,
		ControlPercent:      10,
		SendWindow:          &rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0)},
		Conversions:         []rule.Conversion{{ID: "bought", Kind: event.Purchase}},
		PendingPolicy:       rule.ReplaceWithLatest,
		RateLimit:           1200,
		IgnoreFrequencyCaps: true,
	}
}

// A manager reads from the words alone everything that decides who gets
// a follow-up, when and how often: the JSON definition is for developers.
func TestRulesInWordsSayEveryField(t *testing.T) {
	c := everyFieldCampaign()
	got := rulesInWords(&c, time.UTC)
	for _, want := range []string{
		`When the user receives the push "abandoned_cart": send after 1 day.`,
		"Cancelled if, while the delivery waits, the user buys anything.",
		"A later trigger while the user waits replaces the waiting delivery.",
		"Re-eligible 30 days after receiving it.",
		"10 % of the triggered users are held out as a control group.",
		"Converts (bought) when the user buys anything within 3 days of receiving it.",
		`Only for the audience "<b>vip</b>", checked again when due.`,
		"Sent 09:00–18:00.",
		"At most 1\u202f200 sent per minute; the rest wait for the next minute.",
		"Exempt from the frequency caps: neither capped nor counted.",
		"Runs from 2026-03-01 00:00:00 UTC until 2026-04-01 00:00:00 UTC.",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("the words lack %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
	for p, want := range map[rule.PendingPolicy]string{
		rule.KeepFirst:     "A trigger while the user already waits changes nothing.",
		rule.AllowParallel: "Every trigger schedules its own delivery, even while the user waits.",
	} {
		c.PendingPolicy = p
		if got := rulesInWords(&c, time.UTC); !slices.Contains(got, want) {
			t.Errorf("policy %q: the words lack %q:\n%s", p, want, strings.Join(got, "\n"))
		}
	}
	c.RecheckAudience = false
	if got := rulesInWords(&c, time.UTC); !slices.Contains(got, `Only for the audience "<b>vip</b>".`) {
		t.Errorf("an audience checked once only reads:\n%s", strings.Join(got, "\n"))
	}
}

// Each field of rule.Campaign is either said in words (rulesInWords or the
// facts above them) or deliberately left to the JSON definition: a field
// added to rule.Campaign fails here until the dashboard says it or says
// why not.
func TestEveryCampaignFieldIsConsidered(t *testing.T) {
	said := []string{"ID", "Triggers", "Delay", "Exceptions", "Reeligibility", "Start", "End", "Audience",
		"RecheckAudience", "Channel", "ControlPercent", "SendWindow", "Conversions", "PendingPolicy", "RateLimit",
		"IgnoreFrequencyCaps"}
	jsonOnly := []string{"Message"} // opaque to the engine, the sender's business
	for f := range reflect.TypeFor[rule.Campaign]().Fields() {
		if !slices.Contains(said, f.Name) && !slices.Contains(jsonOnly, f.Name) {
			t.Errorf("rule.Campaign.%s is not said in words: add it to rulesInWords (and here)", f.Name)
		}
	}
}

// The campaigns page says a follow-up's channel and rules in words as the
// campaign page does, escaped.
func TestCampaignsPageSaysChannelAndRules(t *testing.T) {
	f := newFake(fixtureNow)
	f.add(rule.Campaign{ID: "abandoned_cart"}, rule.Active)
	f.add(everyFieldCampaign(), rule.Active)
	h := mustHandler(t, f)
	for _, target := range []string{"/", "/campaign?id=cart_reminder"} {
		page := body(t, get(t, h, target), http.StatusOK)
		for _, want := range []string{
			"<dt>Channel</dt><dd>push</dd>",
			"At most 1\u202f200 sent per minute",
			"Exempt from the frequency caps",
			esc(`Only for the audience "<b>vip</b>", checked again when due.`),
		} {
			if !strings.Contains(page, want) {
				t.Errorf("%s lacks %q", target, want)
			}
		}
		if strings.Contains(page, "<b>vip") {
			t.Errorf("%s shows the audience unescaped", target)
		}
	}
}
