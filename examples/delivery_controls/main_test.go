package main

import "os"

// The example's timeline is deterministic: it runs on a mock clock.
func Example() {
	run(os.Stdout)
	// Output:
	// Time zones, a send window and a frequency cap (timeline in UTC)
	// Mon 05 Jan 09:00  apply welcome, tips and survey
	// Mon 05 Jan 09:00      ✓ welcome: saved as a draft
	// Mon 05 Jan 09:00      ✓ survey: saved as a draft
	// Mon 05 Jan 09:00      ✓ tips: saved as a draft
	// Mon 05 Jan 09:00      ✓ tips: draft → active
	// Mon 05 Jan 09:00      ✓ survey: draft → active
	// Mon 05 Jan 09:00      ✓ welcome: draft → active
	// Mon 05 Jan 09:00  ana    email_opened welcome
	// Mon 05 Jan 09:00      → tips scheduled for ana, due Tue 06 Jan 14:00
	// Mon 05 Jan 09:00  ben    email_opened welcome
	// Mon 05 Jan 09:00      → tips scheduled for ben, due Tue 06 Jan 08:00
	// Mon 05 Jan 09:00  chi    email_opened welcome
	// Mon 05 Jan 09:00      → tips scheduled for chi, due Tue 06 Jan 00:00
	// Mon 05 Jan 09:00  ben    email_clicked welcome
	// Mon 05 Jan 09:00      → survey scheduled for ben, due Tue 06 Jan 05:00
	// Tue 06 Jan 00:00      ← tips delivered to chi
	// Tue 06 Jan 05:00      ← survey delivered to ben
	// Tue 06 Jan 08:00      × tips suppressed for ben: frequency_capped (cap 1 per calendar day on email)
	// Tue 06 Jan 14:00      ← tips delivered to ana
	// sent, in each user's time:
	//   tips   to chi at Tue 06 Jan 09:00 Asia/Tokyo
	//   survey to ben at Tue 06 Jan 06:00 Europe/Paris
	//   tips   to ana at Tue 06 Jan 09:00 America/New_York
}
