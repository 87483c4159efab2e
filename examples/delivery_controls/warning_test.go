package main

import (
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// A warning concerns a campaign, not a user: its line names the campaign
// and says what the warning means, as control_group prints them.
func Example_warning() {
	fmt.Println(describe(rule.Decision{
		Kind: rule.Warned, CampaignID: "survey", Reason: rule.ReasonNoChannel, At: time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC),
		Detail: "the follow-up sets no channel",
	}))
	// Output:
	// Mon 05 Jan 09:00      ! warning about survey: no_channel (the follow-up sets no channel)
}
