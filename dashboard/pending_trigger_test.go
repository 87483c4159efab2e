package dashboard

import (
	"net/http"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// The Trigger column of both pending lists says the event as the rules
// above it say triggers, with its kind as code (what the logs carry) and
// its ID after it; the wire form "push_received of abandoned_cart" is gone.
func TestPendingListsSayTheTriggerInWords(t *testing.T) {
	f := newFake(fixtureNow)
	f.add(populatedFake().campaigns["cart_reminder"].Campaign, rule.Active)
	p := store.Pending{ID: "d-1", CampaignID: "cart_reminder", Activation: 1, DueAt: fixtureNow, ReadyAt: fixtureNow,
		Trigger: event.Event{ID: "ev-83", UserID: "ann", Kind: event.PushReceived, CampaignID: "abandoned_cart"}}
	f.pending = []store.Claim{{UserID: "ann", Pending: p}}
	f.explain[[2]string{"ann", "cart_reminder"}] = connector.Explanation{UserID: "ann", CampaignID: "cart_reminder", Pending: []store.Pending{p}}
	h := mustHandler(t, f)
	campaign := section(t, body(t, get(t, h, "/campaign?id=cart_reminder"), http.StatusOK), `data-delivery="d-1"`, "</tr>")
	user := section(t, body(t, get(t, h, "/user?id=ann"), http.StatusOK), `data-pending="d-1"`, "</tr>")
	for page, row := range map[string]string{"campaign": campaign, "user": user} {
		for _, want := range []string{
			`received the push &#34;abandoned_cart&#34;<br>`,
			`<code>push_received</code> · ID <code>ev-83</code>`,
		} {
			if !strings.Contains(row, want) {
				t.Errorf("the %s page's pending row lacks %q:\n%s", page, want, row)
			}
		}
		if strings.Contains(row, "push_received of") || strings.Contains(row, "push_received <code>") {
			t.Errorf("the %s page's pending row still says the trigger as its wire form:\n%s", page, row)
		}
	}
}
