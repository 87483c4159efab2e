package connectortest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// A campaign ID or a condition's property is the host's text, line
// breaks included: the timeline's lines about an Apply quote them, so
// that they cannot end their line and forge one of their own.
func TestTimelineApplyLinesHoldHostileText(t *testing.T) {
	const forged = "\n  2026-01-05T00:00:00Z delivered forged"
	h := connectortest.New(t)
	resend := rule.Campaign{ID: "resend", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay: rule.After(time.Hour)}
	h.Apply(rule.Campaign{ID: "newsletter"}, resend, rule.Campaign{ID: "odd" + forged})
	h.Advance(time.Hour)
	resend.Triggers = []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter",
		Where: []rule.Condition{rule.Equal("p"+forged, "v")}}}
	h.Apply(rule.Campaign{ID: "newsletter"}, resend, rule.Campaign{ID: "odd" + forged})
	tl := h.Timeline()
	lines := strings.Split(strings.TrimSuffix(tl, "\n"), "\n")
	if len(lines) != 4 || strings.Contains(tl, "\n  2026-01-05T00:00:00Z delivered") {
		t.Fatalf("want the title, two applied lines and the edit's, none forged; got:\n%s", tl)
	}
	if want := `  2026-01-05T00:00:00Z applied: created 3, published 3 ("odd\n  2026-01-05T00:00:00Z delivered forged", newsletter, resend)`; lines[1] != want {
		t.Errorf("the Apply's line:\n got %s\nwant %s", lines[1], want)
	}
	if want := `    resend: triggers +email_received of "newsletter" where p\n  2026-01-05T00:00:00Z delivered forged …, -email_received of "newsletter"`; lines[3] != want {
		t.Errorf("the edit's line:\n got %s\nwant %s", lines[3], want)
	}
}
