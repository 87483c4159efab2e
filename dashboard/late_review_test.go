package dashboard

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store"
)

// countFails is a source whose pending list answers the campaign page's
// page of deliveries but fails the count's batches and its bounded count
// (a store timing out on a campaign with many pending, say).
type countFails struct{ *fakeSource }

func (c countFails) Pending(ctx context.Context, q pendingQuery) ([]store.Claim, error) {
	if q.Limit == countBatch {
		return nil, errors.New("store: statement timeout")
	}
	return c.fakeSource.Pending(ctx, q)
}

func (c countFails) CampaignPendingCount(context.Context, string, int64) (int64, error) {
	return 0, errors.New("store: statement timeout")
}

// The count of the deliveries waiting is an extra: when it fails, the page
// still lists the deliveries it read, and says the count is missing,
// rather than hiding the list behind "Not listed".
func TestLateReviewACountThatFailsKeepsThePendingList(t *testing.T) {
	f := populatedFake()
	if len(f.pending) == 0 {
		t.Fatal("the fixture has no pending deliveries")
	}
	page := body(t, get(t, mustHandler(t, countFails{f}), "/campaign?id=resend"), http.StatusOK)
	pending := section(t, page, `id="pending"`, "</section>")
	if strings.Contains(pending, `data-note="pending"`) || !strings.Contains(pending, `data-delivery="`) {
		t.Errorf("the list read is not shown when only the count failed:\n%s", pending)
	}
	if strings.Contains(page, "data-waiting") {
		t.Error("a count of the deliveries waiting that was not made is shown")
	}
	if !strings.Contains(page, `data-note="waiting"`) {
		t.Error("the page does not say the count is missing")
	}
}
