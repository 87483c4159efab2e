package store

import "context"

// BatchCanceller is implemented by stores that cancel a campaign's
// pending deliveries a batch at a time. The engine's Stop and Archive use
// it when the store has it: they then hold one batch of deliveries in
// memory rather than the whole backlog, and one batch's locks (or, on a
// store with a single writer, its write turn) at a time, so that the
// host's other calls go on while a follow-up with a large backlog is
// cancelled. Without it they call [Store.CancelCampaign].
//
// A store type that embeds another store (a *[Memory], say) and
// overrides CancelCampaign has the embedded store's CancelCampaignBatch
// promoted, which the engine calls instead of the override: such a type
// overrides CancelCampaignBatch as well, or hides it with a field of that
// name.
//
// The Run of store/storetest checks it when the store implements it.
type BatchCanceller interface {
	// CancelCampaignBatch removes pending deliveries of campaign
	// campaignID in ns as [Store.CancelCampaign] removes them (those of
	// every activation up to the one [CancelThrough] gives for the
	// campaign's stored record, read in the same transaction, whoever
	// holds their lease), but only among the next limit of the campaign's
	// pending deliveries after cursor, in an order of the store's
	// choosing, and returns what it removed with the cursor of the next
	// call.
	//
	// cursor is "" for the first call, then the next of the call before;
	// its text is the store's own. next is "" when the call went past the
	// campaign's last pending delivery: the cancellation is complete.
	// Each call is atomic on its own: it removes all of what it returns,
	// or nothing. The deliveries a call visits and leaves (a later
	// activation's, or, like CancelCampaign, one the store cannot decode)
	// count toward limit, and the walk goes past them; a delivery
	// scheduled after the walk passed its place may be left, which the
	// engine cancels when it claims it (it never sends a delivery of a
	// campaign stopped after it was scheduled).
	//
	// A limit below 1, or a cursor the store did not return, is an error
	// wrapping [ErrInvalidQuery].
	CancelCampaignBatch(ctx context.Context, ns, campaignID, cursor string, limit int) (removed []Claim, next string, err error)
}
