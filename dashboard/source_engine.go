package dashboard

import (
	"context"
	"errors"
	"fmt"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// Tallies implements source with [connector.Engine.Tallies].
func (s engineSource) Tallies(ctx context.Context, q tallyQuery) ([]tally, error) {
	ts, err := s.Engine.Tallies(ctx, q)
	return ts, unsupported(err, errNoTallies)
}

// Pending implements source with [connector.Engine.PendingDeliveries].
func (s engineSource) Pending(ctx context.Context, q pendingQuery) ([]store.Claim, error) {
	cs, err := s.Engine.PendingDeliveries(ctx, q)
	return cs, unsupported(err, errNoPendingList)
}

// CampaignPendingCount implements source with
// [connector.Engine.CampaignPendingCount].
func (s engineSource) CampaignPendingCount(ctx context.Context, id string, limit int64) (int64, error) {
	n, err := s.Engine.CampaignPendingCount(ctx, id, limit)
	return n, unsupported(err, errNoPendingCount)
}

// unsupported marks an engine's "the store cannot" as the page's missing
// part; any other error stays as it is.
func unsupported(err, missing error) error {
	if errors.Is(err, connector.ErrNotSupported) {
		return fmt.Errorf("%w: %w", missing, err)
	}
	return err
}
