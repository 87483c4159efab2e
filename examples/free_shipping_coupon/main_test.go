package main

import "os"

// The example's timeline is deterministic: it runs on a mock clock.
func Example() {
	run(os.Stdout)
	// Output:
	// Free-shipping push → 15 % coupon
	// Mon 05 Jan 09:00  apply free_shipping and coupon_15
	// Mon 05 Jan 09:00      ✓ free_shipping: saved as a draft
	// Mon 05 Jan 09:00      ✓ coupon_15: saved as a draft
	// Mon 05 Jan 09:00      ✓ coupon_15: draft → active
	// Mon 05 Jan 09:00      ✓ free_shipping: draft → active
	// Mon 05 Jan 09:00  hana   push_opened free_shipping
	// Mon 05 Jan 09:00      → coupon_15 scheduled for hana, due Mon 05 Jan 09:00
	// Mon 05 Jan 09:00  ivan   push_button_clicked free_shipping [shop_now]
	// Mon 05 Jan 09:00      → coupon_15 scheduled for ivan, due Mon 05 Jan 09:00
	// Mon 05 Jan 09:00  jon    push_received free_shipping
	// Mon 05 Jan 09:00      · no decision: coupon_15 triggers on opens and clicks, not receipts
	// Mon 05 Jan 09:00      ← coupon_15 delivered to hana
	// Mon 05 Jan 09:00      ← coupon_15 delivered to ivan
	// Mon 05 Jan 09:01  hana   push_opened free_shipping
	// Mon 05 Jan 09:01      × coupon_15 suppressed for hana: not_reeligible (push_opened of "free_shipping": received at 2026-01-05T09:00:00Z, once only)
	// sent:
	//   coupon_15 to hana at Mon 05 Jan 09:00 (message {"coupon":"SAVE15"})
	//   coupon_15 to ivan at Mon 05 Jan 09:00 (message {"coupon":"SAVE15"})
}
