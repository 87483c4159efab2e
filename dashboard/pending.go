package dashboard

import (
	"context"
	"errors"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// pendingPage is how many pending deliveries a campaign page lists at once.
const pendingPage = 50

// countLimit bounds a count of pending deliveries: each follow-up's with
// the store's bounded count, all follow-ups' together when the pages
// count from the list; beyond it the counts are shown as lower bounds.
const (
	countLimit = 10_000
	countBatch = store.MaxPendingPage
)

// pendingCounts counts the pending deliveries of every campaign, or of
// campaign id alone when id is set, paging through them up to countLimit.
// complete is false when there are more: the read past countLimit asks
// for one delivery, so that exactly countLimit is complete.
func pendingCounts(ctx context.Context, src source, id string) (counts map[string]int64, complete bool, err error) {
	counts = map[string]int64{}
	q := pendingQuery{CampaignID: id}
	for seen := 0; ; {
		q.Limit = min(countBatch, countLimit+1-seen)
		claims, err := src.Pending(ctx, q)
		if err != nil {
			return nil, false, err
		}
		more := seen+len(claims) > countLimit
		if more {
			claims = claims[:countLimit-seen]
		}
		for _, c := range claims {
			counts[c.Pending.CampaignID]++
		}
		seen += len(claims)
		if more || len(claims) < q.Limit {
			return counts, !more, nil
		}
		last := claims[len(claims)-1].Pending
		q.AfterDue, q.AfterID = last.DueAt, last.ID
	}
}

// pendingCountOf counts the pending deliveries of campaign id up to
// countLimit, with the store's bounded count (on SQLite and PostgreSQL a
// read of at most countLimit+1 index entries, whatever the backlog).
// complete is false when there are more. A store that cannot count them
// is paged through, as pendingCounts does.
func pendingCountOf(ctx context.Context, src source, id string) (n int64, complete bool, err error) {
	n, err = src.CampaignPendingCount(ctx, id, countLimit+1)
	switch {
	case errors.Is(err, errNoPendingCount):
		counts, complete, err := pendingCounts(ctx, src, id)
		return counts[id], complete, err
	case err != nil:
		return 0, false, err
	case n > countLimit:
		return countLimit, false, nil
	}
	return n, true, nil
}

// shownPendingCounts counts the pending deliveries of each follow-up of
// ids, each up to countLimit as pendingCountOf does: a page's read costs
// at most len(ids) bounded counts, where a count of every follow-up's in
// due order (pendingCounts) reads up to countBatch deliveries of each
// follow-up per batch. lower holds the follow-ups counted up to the limit
// alone. A store that cannot count a follow-up's has every follow-up's
// counted, up to countLimit in all, as pendingCounts does; lower is nil
// then, and complete says whether those counts are all exact.
func shownPendingCounts(ctx context.Context, src source, ids []string) (counts map[string]int64, lower map[string]bool, complete bool, err error) {
	counts, lower = map[string]int64{}, map[string]bool{}
	for _, id := range ids {
		n, err := src.CampaignPendingCount(ctx, id, countLimit+1)
		switch {
		case errors.Is(err, errNoPendingCount):
			counts, complete, err := pendingCounts(ctx, src, "")
			return counts, nil, complete, err
		case err != nil:
			return nil, nil, false, err
		case n > countLimit:
			counts[id], lower[id] = countLimit, true
		default:
			counts[id] = n
		}
	}
	return counts, lower, len(lower) == 0, nil
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
