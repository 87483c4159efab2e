package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// The campaign page says how many deliveries wait now, whenever they were
// scheduled: what left the funnel's Scheduled step by no other way yet.
// Another campaign's deliveries do not count, the pending list's heading
// gives the same figure, and past the count limit the figure is a lower
// bound.
func TestCampaignPageCountsTheDeliveriesWaiting(t *testing.T) {
	f := populatedFake()
	want := int64(len(f.pending)) // all the resend's
	addPending(f, "nudge", 5)
	h := mustHandler(t, f)
	page := body(t, get(t, h, "/campaign?id=resend"), http.StatusOK)
	if got := number(t, section(t, page, `id="funnel"`, "</section>"), "data-waiting"); got != want {
		t.Errorf("the funnel says %d waiting, want %d", got, want)
	}
	heading := section(t, page, `id="pending"`, "</h2>")
	if !strings.Contains(heading, fmt.Sprintf("(%s)", thousands(want))) {
		t.Errorf("the pending list's heading does not give %d: %s", want, heading)
	}

	addPending(f, "resend", countLimit) // past the limit
	page = body(t, get(t, h, "/campaign?id=resend"), http.StatusOK)
	if w := section(t, page, "data-waiting", "</a>"); !strings.Contains(w, "≥ "+thousands(countLimit)) {
		t.Errorf("past the count limit, want a lower bound of %d: %s", countLimit, w)
	}
}

// addPending gives campaign id n more pending deliveries.
func addPending(f *fakeSource, id string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		p := store.Pending{
			ID: fmt.Sprintf("%s-%06d", id, i), CampaignID: id, Activation: 1,
			Trigger: event.Event{UserID: fmt.Sprintf("w%06d", i), Kind: event.EmailReceived, CampaignID: "newsletter"},
			DueAt:   fixtureNow.Add(24 * time.Hour),
		}
		p.ReadyAt = p.DueAt
		f.pending = append(f.pending, store.Claim{UserID: p.Trigger.UserID, Pending: p})
	}
}

// countingSource counts the calls to Pending.
type countingSource struct {
	source
	calls int
}

func (c *countingSource) Pending(ctx context.Context, q pendingQuery) ([]store.Claim, error) {
	c.calls++
	return c.source.Pending(ctx, q)
}

// When the first page of the list holds every pending delivery, the page
// counts them from it: one read of the pending deliveries, not two.
func TestAShortListIsItsOwnCount(t *testing.T) {
	f := newFake(fixtureNow)
	for _, c := range populatedFake().campaigns {
		f.add(c.Campaign, c.State)
	}
	addPending(f, "resend", 7)
	src := &countingSource{source: f}
	page := body(t, get(t, mustHandler(t, src), "/campaign?id=resend"), http.StatusOK)
	if got := number(t, page, "data-waiting"); got != 7 {
		t.Errorf("the page says %d waiting, want 7", got)
	}
	if src.calls != 1 {
		t.Errorf("the page read the pending deliveries %d times, want 1", src.calls)
	}
}

// The campaigns page counts the pending deliveries of each follow-up it
// shows, up to the count limit each, with the store's bounded count: a
// follow-up with more is a lower bound, one whose deliveries fall due
// after those is counted exactly all the same, and the page reads no list
// of pending deliveries (the list of every follow-up's reads up to a
// batch of each follow-up's per call, ten calls a load at the limit).
func TestCampaignsPageCountsEachFollowUpUpToTheLimit(t *testing.T) {
	f := newFake(fixtureNow)
	for _, c := range populatedFake().campaigns {
		f.add(c.Campaign, c.State)
	}
	addPending(f, "cart_reminder", countLimit+5) // due with resend's, listed first
	addPending(f, "resend", 3)
	src := &countingSource{source: f}
	page := body(t, get(t, mustHandler(t, src), "/"), http.StatusOK)
	if got := section(t, page, `campaign?id=cart_reminder#pending" data-pending>`, "</a>"); !strings.Contains(got, "≥ "+thousands(countLimit)) {
		t.Errorf("past the count limit, want a lower bound of %d: %s", countLimit, got)
	}
	if got := number(t, page, `campaign?id=resend#pending" data-pending`); got != 3 {
		t.Errorf("resend shows %d pending, want 3", got)
	}
	if got := section(t, page, `campaign?id=resend#pending" data-pending>`, "</a>"); strings.Contains(got, "≥") {
		t.Errorf("resend's exact count is shown as a lower bound: %s", got)
	}
	if !strings.Contains(page, "the pending counts marked ≥ are lower bounds") {
		t.Error("the page does not say which counts are lower bounds")
	}
	if src.calls != 0 {
		t.Errorf("the page listed pending deliveries %d times, want none", src.calls)
	}
	if !slices.Equal(f.counted, []string{"cart_reminder", "resend"}) {
		t.Errorf("the page counted the pending deliveries of %q, want those of the follow-ups shown", f.counted)
	}
}

// A store that cannot count a follow-up's pending deliveries has the
// campaigns page count them from the list of every follow-up's, up to the
// count limit in all: every count is then a lower bound.
func TestCampaignsPageCountsFromTheListWithoutABoundedCount(t *testing.T) {
	f := newFake(fixtureNow)
	for _, c := range populatedFake().campaigns {
		f.add(c.Campaign, c.State)
	}
	f.noCount = true
	addPending(f, "resend", 3)
	page := body(t, get(t, mustHandler(t, f), "/"), http.StatusOK)
	if got := number(t, page, `campaign?id=resend#pending" data-pending`); got != 3 {
		t.Errorf("resend shows %d pending, want 3", got)
	}
	addPending(f, "cart_reminder", countLimit+5)
	page = body(t, get(t, mustHandler(t, f), "/"), http.StatusOK)
	if got := section(t, page, `campaign?id=resend#pending" data-pending>`, "</a>"); !strings.Contains(got, "≥ ") {
		t.Errorf("past the count limit in all, want every count a lower bound: %s", got)
	}
	if !strings.Contains(page, "the pending counts are lower bounds") {
		t.Error("the page does not say the counts are lower bounds")
	}
}
