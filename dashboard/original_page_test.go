package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// An original has no deliveries of its own: what its Stop button changes
// is its follow-ups, which no longer trigger on it. Its page says so, not
// that the stop cancels its pending deliveries, and names the follow-ups
// that trigger on it, as the campaigns page's list of originals does.
func TestAnOriginalsPageNamesItsFollowUpsAndWhatAStopDoesToThem(t *testing.T) {
	f := populatedFake()
	page := body(t, get(t, mustHandler(t, f, WithActions()), "/campaign?id=newsletter"), http.StatusOK)
	if strings.Contains(page, "cancels every pending delivery") {
		t.Error("an original's Stop button says it cancels pending deliveries, which it has none of")
	}
	if !strings.Contains(page, "its follow-ups stop triggering on it") {
		t.Error("an original's Stop button does not say what it does to its follow-ups")
	}
	followUps := section(t, page, `data-followups`, "</p>")
	if !strings.Contains(followUps, `<a href="campaign?id=resend">`) {
		t.Errorf("the original's page does not link its follow-up resend:\n%s", followUps)
	}
	if strings.Contains(followUps, "cart_reminder") {
		t.Errorf("the original's page names a follow-up of another original:\n%s", followUps)
	}
	page = body(t, get(t, mustHandler(t, f, WithActions()), "/campaign?id=resend"), http.StatusOK)
	if !strings.Contains(page, "cancels every pending delivery") || strings.Contains(page, "data-followups") {
		t.Error("a follow-up's page changed")
	}
}

// A follow-up that other follow-ups trigger on names them too; one that
// none does says nothing of it. More than ten are counted, with a link to
// the campaigns page's list of them all.
func TestAFollowUpsPageNamesTheFollowUpsOfIt(t *testing.T) {
	f := populatedFake()
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		f.add(rule.Campaign{ID: "then-" + id, Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "resend"}}}, rule.Active)
	}
	page := body(t, get(t, mustHandler(t, f), "/campaign?id=resend"), http.StatusOK)
	followUps := section(t, page, `data-followups`, "</p>")
	if strings.Count(followUps, `<a href="campaign?id=then-`) != namedPerOriginal || !strings.Contains(followUps, `<a href="./?original=resend" data-more>and 2 more</a>`) {
		t.Errorf("resend's page does not name ten of its twelve follow-ups and link the rest:\n%s", followUps)
	}
	if strings.Contains(body(t, get(t, mustHandler(t, f), "/campaign?id=then-a"), http.StatusOK), "data-followups") {
		t.Error("a follow-up no other follows speaks of its follow-ups")
	}
	// Stopping resend cancels its deliveries and, resend being the
	// original of the then- follow-ups, stops them triggering on it.
	page = body(t, get(t, mustHandler(t, f, WithActions()), "/campaign?id=resend"), http.StatusOK)
	for _, want := range []string{"cancels every pending delivery", "the follow-ups that trigger on it stop triggering"} {
		if !strings.Contains(page, want) {
			t.Errorf("the Stop button of resend, which others follow, does not say %q", want)
		}
	}
}

// What a stop does to the follow-ups of a campaign is said in words, not
// as the engine's setting ("accept stopped originals"); the option that
// changes it is in the title, for the engineer. An original's Stop says
// it, and so does that of a follow-up that others trigger on.
func TestAStopSaysInWordsWhatItDoesToTheFollowUps(t *testing.T) {
	f := populatedFake()
	f.add(rule.Campaign{ID: "then", Delay: rule.After(time.Hour),
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "resend"}}}, rule.Active)
	h := mustHandler(t, f, WithActions())
	for _, id := range []string{"newsletter", "resend"} {
		stop := oneLine(section(t, body(t, get(t, h, "/campaign?id="+id), http.StatusOK), `data-explain="stop"`, "</form>"))
		if strings.Contains(stop, "accept stopped originals") {
			t.Errorf("%s: the Stop button speaks of the engine's setting:\n%s", id, stop)
		}
		for _, want := range []string{
			"stop triggering", "what users do with the messages it already sent no longer starts them",
			`<span title="The host allows it with connector.WithStoppedOriginals.">unless the host lets a stopped campaign keep starting its follow-ups</span>`,
		} {
			if !strings.Contains(stop, want) {
				t.Errorf("%s: the Stop button does not say %q:\n%s", id, want, stop)
			}
		}
	}
}
