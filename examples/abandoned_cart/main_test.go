package main

import "os"

// The example's timeline is deterministic: it runs on a mock clock.
func Example() {
	run(os.Stdout)
	// Output:
	// Abandoned cart: remind after 24 h unless opened or bought
	// Mon 05 Jan 09:00  apply abandoned_cart and cart_reminder
	// Mon 05 Jan 09:00      ✓ abandoned_cart: saved as a draft
	// Mon 05 Jan 09:00      ✓ cart_reminder: saved as a draft
	// Mon 05 Jan 09:00      ✓ cart_reminder: draft → active
	// Mon 05 Jan 09:00      ✓ abandoned_cart: draft → active
	// Mon 05 Jan 09:00  dan    purchase socks (happened Mon 05 Jan 08:00)
	// Mon 05 Jan 09:00      · no decision: dan waits for no reminder yet, so his purchase cancels nothing
	// Mon 05 Jan 09:00  dan    push_received abandoned_cart
	// Mon 05 Jan 09:00      → cart_reminder scheduled for dan, due Tue 06 Jan 09:00
	// Mon 05 Jan 09:00  eve    push_received abandoned_cart
	// Mon 05 Jan 09:00      → cart_reminder scheduled for eve, due Tue 06 Jan 09:00
	// Mon 05 Jan 09:00  fay    push_received abandoned_cart
	// Mon 05 Jan 09:00      → cart_reminder scheduled for fay, due Tue 06 Jan 09:00
	// Mon 05 Jan 09:00  gus    push_received abandoned_cart
	// Mon 05 Jan 09:00      → cart_reminder scheduled for gus, due Tue 06 Jan 09:00
	// Mon 05 Jan 12:00  eve    purchase shoes
	// Mon 05 Jan 12:00      × cart_reminder cancelled for eve: exception (purchase: waiting since 2026-01-05T09:00:00Z)
	// Mon 05 Jan 12:00  fay    push_opened abandoned_cart
	// Mon 05 Jan 12:00      × cart_reminder cancelled for fay: exception (push_opened of "abandoned_cart": waiting since 2026-01-05T09:00:00Z)
	// Tue 06 Jan 09:00      ← cart_reminder delivered to dan
	// Tue 06 Jan 09:00      ← cart_reminder delivered to gus
	// sent:
	//   cart_reminder to dan at Tue 06 Jan 09:00 (message {"title":"Your cart misses you"})
	//   cart_reminder to gus at Tue 06 Jan 09:00 (message {"title":"Your cart misses you"})
}
