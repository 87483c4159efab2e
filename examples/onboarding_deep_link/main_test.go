package main

import "os"

// The example's timeline is deterministic: it runs on a mock clock.
func Example() {
	run(os.Stdout)
	// Output:
	// Onboarding deep link → feature tour
	// Mon 05 Jan 09:00  apply onboarding and feature_tour
	// Mon 05 Jan 09:00      ✓ onboarding: saved as a draft
	// Mon 05 Jan 09:00      ✓ feature_tour: saved as a draft
	// Mon 05 Jan 09:00      ✓ feature_tour: draft → active
	// Mon 05 Jan 09:00      ✓ onboarding: draft → active
	// Mon 05 Jan 09:00  kim    in_app_message_button_clicked onboarding [deep_link]
	// Mon 05 Jan 09:00      → feature_tour scheduled for kim, due Mon 05 Jan 09:10
	// Mon 05 Jan 09:00  lea    in_app_message_button_clicked onboarding [close]
	// Mon 05 Jan 09:00      · no decision: feature_tour triggers on the deep_link button only
	// Mon 05 Jan 09:10      ← feature_tour delivered to kim
	// sent:
	//   feature_tour to kim at Mon 05 Jan 09:10 (message {"screen":"tour"})
}
