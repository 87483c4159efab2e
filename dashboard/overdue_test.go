package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// When no engine sends the deliveries that fell due, the engine's warning
// of overdue deliveries concerns no one campaign: the health page lists
// it under every campaign, not with an empty link to a campaign page
// that asks which campaign.
func TestHealthPageListsOverdueDeliveriesUnderEveryCampaign(t *testing.T) {
	e, clk := resendEngine(t)   // cleo's resend is pending, due in a week
	clk.Add(8 * 24 * time.Hour) // and no one ticks
	h, err := New(e, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, get(t, h, "/health"), http.StatusOK)
	row := section(t, page, `<tr data-warning="`+string(rule.ReasonOverdueDeliveries)+`"`, "</tr>")
	if strings.Contains(row, `href="campaign?id="`) {
		t.Errorf("the overdue deliveries' warning links to no campaign:\n%s", row)
	}
	if !strings.Contains(row, "all campaigns") {
		t.Errorf("the overdue deliveries' warning does not say it concerns all campaigns:\n%s", row)
	}
}

// The engine lists a draft follow-up of an active original under the
// follow-up: its words, beside the follow-up's ID, say that this
// campaign is the draft, not that it has a draft follow-up.
func TestADraftFollowUpsWarningReadsAsTheFollowUps(t *testing.T) {
	ctx := t.Context()
	e, _ := resendEngine(t)
	must := noError(t)
	must(e.Save(ctx, rule.Campaign{ID: "draft_resend", Delay: rule.After(time.Hour),
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}))
	h, err := New(e, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	row := section(t, body(t, get(t, h, "/health"), http.StatusOK), `<tr data-warning="`+string(rule.ReasonDraftFollowUp)+`"`, "</tr>")
	if !strings.Contains(row, `<a href="campaign?id=draft_resend">`) {
		t.Fatalf("the warning is not listed under the draft follow-up:\n%s", row)
	}
	if words := reasonWords(rule.ReasonDraftFollowUp); strings.Contains(words, "of it") || !strings.Contains(row, words) {
		t.Errorf("the warning under the draft follow-up reads %q:\n%s", words, row)
	}
}
