package main

import "os"

// The example's timeline is deterministic: it runs on a mock clock.
func Example() {
	run(os.Stdout)
	// Output:
	// Resend the newsletter to non-openers after 7 days, unless they bought something
	// Mon 05 Jan 09:00  apply newsletter and resend
	// Mon 05 Jan 09:00      ✓ newsletter: saved as a draft
	// Mon 05 Jan 09:00      ✓ resend: saved as a draft
	// Mon 05 Jan 09:00      ✓ resend: draft → active
	// Mon 05 Jan 09:00      ✓ newsletter: draft → active
	// Mon 05 Jan 09:00  ann    email_received newsletter
	// Mon 05 Jan 09:00      → resend scheduled for ann, due Mon 12 Jan 09:00
	// Mon 05 Jan 09:00  bob    email_received newsletter
	// Mon 05 Jan 09:00      → resend scheduled for bob, due Mon 12 Jan 09:00
	// Mon 05 Jan 09:00  cleo   email_received newsletter
	// Mon 05 Jan 09:00      → resend scheduled for cleo, due Mon 12 Jan 09:00
	// Mon 05 Jan 09:00  dan    email_received newsletter
	// Mon 05 Jan 09:00      → resend scheduled for dan, due Mon 12 Jan 09:00
	// Wed 07 Jan 09:00  bob    email_opened newsletter
	// Wed 07 Jan 09:00      × resend cancelled for bob: exception (email_opened of "newsletter": waiting since 2026-01-05T09:00:00Z)
	// Thu 08 Jan 09:00  dan    purchase sku-42
	// Thu 08 Jan 09:00      × resend cancelled for dan: exception (purchase: waiting since 2026-01-05T09:00:00Z)
	// Mon 12 Jan 09:00      ← resend delivered to ann
	// Mon 12 Jan 09:00      ← resend delivered to cleo
	// Tue 13 Jan 09:00  cleo   email_opened newsletter
	// Tue 13 Jan 09:00      · no decision: cleo's resend went out, so her open cancels nothing
	// sent:
	//   resend to ann at Mon 12 Jan 09:00 (message {"subject":"In case you missed it"})
	//   resend to cleo at Mon 12 Jan 09:00 (message {"subject":"In case you missed it"})
}
