package dashboard

import (
	"context"
	"errors"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// source is everything the dashboard reads from and does to an engine. The
// pages call nothing else, so a test can serve them from a fake.
type source interface {
	Now() time.Time
	Campaigns(ctx context.Context) ([]store.CampaignRecord, error)
	Campaign(ctx context.Context, id string) (store.CampaignRecord, error)
	Stats(ctx context.Context) (store.Stats, error)
	// EventCounts returns what the engine did with the events it took,
	// from its own counters: no store call.
	EventCounts() store.EventCounts
	UnknownCampaigns() []connector.UnknownCampaign
	// RecentFailures returns the latest failed attempts of this engine's
	// deliveries, the latest first, from its own list: no store call.
	RecentFailures() []rule.Decision
	Check(ctx context.Context) ([]connector.Warning, error)
	// ExplainUser returns what the engine recorded about the user, one
	// explanation per campaign, from one read of the user's state.
	ExplainUser(ctx context.Context, userID string) ([]connector.Explanation, error)
	// Tallies returns the namespace's per-hour decision counts, or an error
	// wrapping errNoTallies when the store keeps none.
	Tallies(ctx context.Context, q tallyQuery) ([]tally, error)
	// Pending pages through pending deliveries, or returns an error
	// wrapping errNoPendingList when the store cannot list them.
	Pending(ctx context.Context, q pendingQuery) ([]store.Claim, error)
	// CampaignPendingCount counts the pending deliveries of follow-up id
	// up to limit, stopping there, or returns an error
	// wrapping errNoPendingCount when the store cannot: the pages then
	// count with Pending.
	CampaignPendingCount(ctx context.Context, id string, limit int64) (int64, error)
	Publish(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
	Archive(ctx context.Context, id string) error
	// CancelPending cancels what a stop left pending of campaign id
	// ([connector.Engine.CancelPending]).
	CancelPending(ctx context.Context, id string) error
}

// errNoTallies and errNoPendingList say that the engine's store lacks what
// a part of a page needs: the page shows a notice there instead of failing.
var (
	errNoTallies     = errors.New("dashboard: the store keeps no decision tallies")
	errNoPendingList = errors.New("dashboard: the store cannot list pending deliveries")
	// errNoPendingCount is no notice: the pages count with the list.
	errNoPendingCount = errors.New("dashboard: the store cannot count a follow-up's pending deliveries")
)

// The store's types, under the names the pages use.
type (
	tally        = store.Tally
	tallyQuery   = store.TallyQuery
	pendingQuery = store.PendingQuery
)

// engineSource is the source of a real engine.
type engineSource struct {
	*connector.Engine
}

// Publish implements source, without a backfill.
func (s engineSource) Publish(ctx context.Context, id string) error {
	return s.Engine.Publish(ctx, id)
}
