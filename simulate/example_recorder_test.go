package simulate_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
)

// A provider that refuses the first two attempts: the engine retries
// after 1, then 2 minutes. Without jitter in the retry policy, the
// retries' times are the same on every run.
func ExampleRecorder() {
	sim, _ := simulate.New(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Minute, Max: time.Hour}))
	attempts := 0
	sim.Sender.Fail = func(connector.Delivery) error {
		if attempts++; attempts <= 2 {
			return errors.New("provider unavailable")
		}
		return nil
	}
	_ = sim.Apply(rule.Campaign{ID: "newsletter"}, rule.Campaign{
		ID:       "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:    rule.After(time.Hour),
	})
	_ = sim.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	_, _ = sim.Advance(2 * time.Hour)
	for _, d := range sim.Decisions() {
		if d.UserID != "" {
			fmt.Println(d.At.Format("15:04"), d.Kind, d.Attempt)
		}
	}
	fmt.Println(len(sim.Sender.Attempts()), "attempts,", len(sim.Sent()), "accepted")
	// Output:
	// 09:00 scheduled 0
	// 10:00 retried 1
	// 10:01 retried 2
	// 10:03 delivered 3
	// 3 attempts, 1 accepted
}
