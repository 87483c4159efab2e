package dashboard

import (
	"context"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// pendingPage is how many pending deliveries a campaign page lists at once.
const pendingPage = 50

// countLimit bounds how many pending deliveries the campaigns page counts
// per load; beyond it the counts are shown as lower bounds.
const (
	countLimit = 10_000
	countBatch = store.MaxPendingPage
)

// pendingCounts counts the pending deliveries of every campaign, or of
// campaign id alone when id is set, paging through them up to countLimit.
// complete is false when it stopped there.
func pendingCounts(ctx context.Context, src source, id string) (counts map[string]int64, complete bool, err error) {
	counts = map[string]int64{}
	q := pendingQuery{CampaignID: id, Limit: countBatch}
	for seen := 0; seen < countLimit; {
		claims, err := src.Pending(ctx, q)
		if err != nil {
			return nil, false, err
		}
		for _, c := range claims {
			counts[c.Pending.CampaignID]++
		}
		seen += len(claims)
		if len(claims) < q.Limit {
			return counts, true, nil
		}
		last := claims[len(claims)-1].Pending
		q.AfterDue, q.AfterID = last.DueAt, last.ID
	}
	return counts, false, nil
}

// pendingCountOf counts the pending deliveries of campaign id, as
// pendingCounts does.
func pendingCountOf(ctx context.Context, src source, id string) (n int64, complete bool, err error) {
	counts, complete, err := pendingCounts(ctx, src, id)
	return counts[id], complete, err
}

// cursor is where a page of pending deliveries starts: after the delivery
// due at Due with ID ID, or at the first when ID is "".
type cursor struct {
	Due time.Time
	ID  string
}

// pendingSlice is one page of a campaign's pending deliveries.
type pendingSlice struct {
	Claims []store.Claim
	From   cursor // where this page started
	Next   cursor // where the next starts; Next.ID is "" on the last page
}

// pendingPageAt lists the pending deliveries of campaign id from c.
func pendingPageAt(ctx context.Context, src source, id string, c cursor) (pendingSlice, error) {
	claims, err := src.Pending(ctx, pendingQuery{CampaignID: id, AfterDue: c.Due, AfterID: c.ID, Limit: pendingPage + 1})
	if err != nil {
		return pendingSlice{}, err
	}
	ps := pendingSlice{Claims: claims, From: c}
	if len(claims) > pendingPage {
		ps.Claims = claims[:pendingPage]
		last := ps.Claims[pendingPage-1].Pending
		ps.Next = cursor{last.DueAt, last.ID}
	}
	return ps, nil
}
