package store

import (
	"context"
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// MaxPendingPage is the largest page [PendingLister.ListPending] returns.
const MaxPendingPage = 1000

// PendingQuery pages through pending deliveries of one campaign (or all:
// ""), in (DueAt, ID) order, starting strictly after the cursor (AfterDue,
// AfterID) when AfterID is set: pass the last delivery of a page to get the
// next. Limit, from 1 to [MaxPendingPage], bounds the page.
type PendingQuery struct {
	CampaignID string
	AfterDue   time.Time
	AfterID    string
	Limit      int
}

// Validate reports a Limit out of range, or a CampaignID or an AfterID
// that is not valid text ([event.CheckText]: no delivery has such an ID,
// and a store that cannot hold the text would fail the read as if it
// were down), as an error wrapping [ErrInvalidQuery]; an ID's error is a
// [*rule.ValidationError] naming the field ("campaign_id" or "after_id").
func (q *PendingQuery) Validate() error {
	if q.Limit < 1 || q.Limit > MaxPendingPage {
		return fmt.Errorf("%w: pending page of %d deliveries: the limit goes from 1 to %d", ErrInvalidQuery, q.Limit, MaxPendingPage)
	}
	for _, f := range [...]struct{ name, id string }{{"campaign_id", q.CampaignID}, {"after_id", q.AfterID}} {
		if err := event.CheckText(f.id); err != nil {
			return &rule.ValidationError{Object: "pending query", Field: f.name, Reason: err.Error(), Err: ErrInvalidQuery}
		}
	}
	return nil
}

// PendingLister is implemented by stores that can list pending deliveries
// (memory, PostgreSQL, SQLite), for dashboards and support tools: the
// engine never calls it on its hot paths.
type PendingLister interface {
	// ListPending returns up to q.Limit pending deliveries of namespace ns
	// (claimed or not) with their users, ordered by DueAt then ID
	// (byte-wise), those of q.CampaignID only when it is set, and only
	// those after the cursor when q.AfterID is set. A page shorter than
	// q.Limit is the last. A store that keeps times at a coarser
	// precision orders and compares by DueAt at that precision (PostgreSQL:
	// microseconds). Delivery IDs are unique in a namespace (the engine's
	// are), so the cursor is exact. The claims are copies, event
	// properties included: the caller may change them. An invalid q
	// ([PendingQuery.Validate]) is an error wrapping [ErrInvalidQuery].
	ListPending(ctx context.Context, ns string, q PendingQuery) ([]Claim, error)
}

// CampaignPendingCounter is implemented by stores that count one
// follow-up's pending deliveries up to a bound (memory, PostgreSQL,
// SQLite), for dashboards: a count of a follow-up with a large backlog
// stops at the bound rather than reading all of it. PostgreSQL and SQLite
// read at most the bound's index entries; the memory store reads its due
// queues, about the namespace's pending deliveries at most.
//
// The Run of store/storetest checks it when the store implements it.
type CampaignPendingCounter interface {
	// CampaignPendingCount returns how many pending deliveries of
	// follow-up campaignID namespace ns holds (claimed or not), or limit
	// when it holds limit or more: a SQL store reads at most limit index
	// entries. A limit below 1, or a campaignID that is empty or not
	// valid text ([event.CheckText]), is an error wrapping
	// [ErrInvalidQuery].
	CampaignPendingCount(ctx context.Context, ns, campaignID string, limit int64) (int64, error)
}

// CheckCampaignCount reports the arguments of a
// [CampaignPendingCounter.CampaignPendingCount] it refuses, as an error
// wrapping [ErrInvalidQuery]; an ID's error is a [*rule.ValidationError]
// naming the field "campaign_id".
func CheckCampaignCount(campaignID string, limit int64) error {
	if limit < 1 {
		return fmt.Errorf("%w: pending count up to %d: the limit is 1 at least", ErrInvalidQuery, limit)
	}
	reason := "is empty"
	if campaignID != "" {
		err := event.CheckText(campaignID)
		if err == nil {
			return nil
		}
		reason = err.Error()
	}
	return &rule.ValidationError{Object: "pending count", Field: "campaign_id", Reason: reason, Err: ErrInvalidQuery}
}
