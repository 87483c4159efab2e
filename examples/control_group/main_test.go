package main

import "os"

// The example's timeline is deterministic: it runs on a mock clock.
func Example() {
	run(os.Stdout)
	// Output:
	// Control group of the promo → survey
	// Mon 05 Jan 09:00  apply promo and holdout_survey
	// Mon 05 Jan 09:00      ✓ promo: saved as a draft
	// Mon 05 Jan 09:00      ✓ holdout_survey: saved as a draft
	// Mon 05 Jan 09:00      ✓ holdout_survey: draft → active
	// Mon 05 Jan 09:00      ✓ promo: draft → active
	// Mon 05 Jan 09:00  mia    control_group_enrolled promo
	// Mon 05 Jan 09:00      → holdout_survey scheduled for mia, due Mon 05 Jan 10:00
	// Mon 05 Jan 09:00  save spring_promo
	// Mon 05 Jan 09:00  save spring_survey
	// Mon 05 Jan 09:00  publish spring_promo
	// Mon 05 Jan 09:00      ! warning about spring_survey: draft_follow_up (original "spring_promo" is active while follow-up "spring_survey" is a draft: its interactions are lost for the follow-up until it is published)
	// Mon 05 Jan 09:00  ned    control_group_enrolled spring_promo
	// Mon 05 Jan 09:00      · no decision: spring_survey is a draft, so nothing listens; ned gets no survey
	// Mon 05 Jan 09:01  publish spring_survey
	// Mon 05 Jan 10:00      ← holdout_survey delivered to mia
	// sent:
	//   holdout_survey to mia at Mon 05 Jan 10:00 (message {"survey":"what would make you buy?"})
}
