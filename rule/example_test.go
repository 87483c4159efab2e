package rule_test

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// An abandoned-cart follow-up, as Go and as JSON: a day after the
// abandoned-cart push is received, remind the user, unless they buy
// something or open the push meanwhile.
func ExampleCampaign() {
	c := rule.Campaign{
		ID:       "cart_reminder",
		Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
		Delay:    rule.After(24 * time.Hour),
		Exceptions: []rule.Exception{
			{Kind: event.Purchase},
			{Kind: event.PushOpened, CampaignID: "abandoned_cart"},
		},
	}
	fmt.Println(c.Validate())
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(c)
	// Output:
	// <nil>
	// {
	//   "id": "cart_reminder",
	//   "triggers": [
	//     {
	//       "kind": "push_received",
	//       "campaign_id": "abandoned_cart"
	//     }
	//   ],
	//   "delay": {
	//     "after": "24h0m0s"
	//   },
	//   "exceptions": [
	//     {
	//       "kind": "purchase"
	//     },
	//     {
	//       "kind": "push_opened",
	//       "campaign_id": "abandoned_cart"
	//     }
	//   ]
	// }
}

func ExampleNextWeekdayAt() {
	paris, _ := time.LoadLocation("Europe/Paris")
	trigger := time.Date(2026, 3, 25, 18, 0, 0, 0, paris) // a Wednesday
	for _, d := range []rule.Delay{
		rule.NextWeekdayAt(time.Wednesday, 9, 0), // same weekday: next week
		rule.NextWeekdayAt(time.Sunday, 2, 30),   // 29 March: 02:30 does not exist in Paris
		rule.InDaysAt(1, 9, 0),
	} {
		fmt.Printf("%-22s → %s\n", d, d.DueAt(trigger, paris).Format("Mon Jan 2 15:04 MST"))
	}
	// Output:
	// next wednesday at 09:00 → Wed Apr 1 09:00 CEST
	// next sunday at 02:30   → Sun Mar 29 03:00 CEST
	// in 1 day at 09:00      → Thu Mar 26 09:00 CET
}

func ExampleCondition() {
	big := rule.Trigger{Kind: event.Purchase, Where: []rule.Condition{
		rule.GreaterOrEqual("total", 100),
		rule.OneOf("currency", "EUR", "USD"),
	}}
	for _, total := range []any{120, 99.5, json.Number("100")} {
		ev := event.Event{UserID: "u", Kind: event.Purchase, Properties: map[string]any{"total": total, "currency": "EUR"}}
		fmt.Println(total, big.Matches(&ev))
	}
	fmt.Println(big)
	// Output:
	// 120 true
	// 99.5 false
	// 100 true
	// purchase where total ≥ 100 and currency in ["EUR","USD"]
}
