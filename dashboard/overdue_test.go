package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

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
