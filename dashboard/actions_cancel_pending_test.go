package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// cancelFailsUntil is a memory store whose cancellations fail while down
// is set.
type cancelFailsUntil struct {
	*store.Memory
	down atomic.Bool
}

func (s *cancelFailsUntil) CancelCampaign(ctx context.Context, ns, id string) ([]store.Claim, error) {
	if s.down.Load() {
		return nil, errors.New("store down")
	}
	return s.Memory.CancelCampaign(ctx, ns, id)
}

func (s *cancelFailsUntil) CancelCampaignBatch(ctx context.Context, ns, id, cursor string, limit int) ([]store.Claim, string, error) {
	if s.down.Load() {
		return nil, "", errors.New("store down")
	}
	return s.Memory.CancelCampaignBatch(ctx, ns, id, cursor, limit)
}

const cancelPendingButton = `value="cancel_pending"`

// TestAStopCutShortIsFinishedFromItsPage: a stop whose cancellation
// failed leaves ann's delivery pending; the campaign's page offers to
// cancel it, which fails while the store is down (the page says so, with
// the reference) and then works: the page confirms it, counts nothing
// waiting and no longer offers the button. Before that, an address
// claiming the stop or the cancellation done confirms nothing the page
// contradicts.
func TestAStopCutShortIsFinishedFromItsPage(t *testing.T) {
	s := &cancelFailsUntil{Memory: store.NewMemory()}
	s.down.Store(true)
	_, h, logged := stopFixture(t, s)
	ck, token := startSession(t, h)
	rec := post(h, url.Values{"op": {opStop}, "id": {"resend"}, "csrf": {token}}, ck, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("stop: status %d, want 303: %s", rec.Code, rec.Body)
	}
	page := body(t, get(t, h, "/campaign?id=resend"), http.StatusOK)
	if !strings.Contains(page, cancelPendingButton) {
		t.Fatalf("the page of a stopped follow-up with a delivery waiting offers no cancellation: %s", section(t, page, `<h1>`, `</h1>`))
	}
	if p := body(t, get(t, h, "/campaign?id=newsletter"), http.StatusOK); strings.Contains(p, cancelPendingButton) {
		t.Error("the active original's page offers to cancel pending deliveries")
	}

	// An address that claims the deliveries gone, forged or written
	// while sends were in flight, confirms only what the page shows.
	for _, c := range []struct{ op, note, want string }{
		{opCancelPending, "Cancelled:", ""},
		{opStop, "are cancelled", "Stopped."},
	} {
		page := body(t, get(t, h, "/campaign?id=resend&done="+c.op), http.StatusOK)
		if strings.Contains(page, c.note) {
			t.Errorf("done=%s: the page says the deliveries are gone above one still waiting", c.op)
		}
		if flash := strings.Contains(page, `class="flash"`); flash != (c.want != "") {
			t.Errorf("done=%s: a note shown: %v, want %v", c.op, flash, c.want != "")
		} else if flash && !strings.Contains(section(t, page, `class="flash"`, "</p>"), c.want) {
			t.Errorf("done=%s: the note: %s, want %q", c.op, section(t, page, `class="flash"`, "</p>"), c.want)
		}
	}

	rec = post(h, url.Values{"op": {opCancelPending}, "id": {"resend"}, "csrf": {token}}, ck, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("cancel while down: status %d, want 303: %s", rec.Code, rec.Body)
	}
	loc := rec.Header().Get("Location")
	m := regexp.MustCompile(`ref=([A-Z2-7]{10})`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("the redirect %q carries no reference", loc)
	}
	flash := section(t, body(t, get(t, h, "/"+loc), http.StatusOK), `class="flash"`, "</p>")
	if !strings.Contains(flash, "failed again") || !strings.Contains(flash, m[1]) {
		t.Errorf("the note of a failed cancellation: %s", flash)
	}
	if !strings.Contains(logged.String(), "cancel_pending, its pending deliveries not all cancelled") {
		t.Errorf("the log lacks the failed cancellation: %s", logged.String())
	}

	s.down.Store(false)
	rec = post(h, url.Values{"op": {opCancelPending}, "id": {"resend"}, "csrf": {token}}, ck, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("cancel: status %d, want 303: %s", rec.Code, rec.Body)
	}
	page = body(t, get(t, h, "/"+rec.Header().Get("Location")), http.StatusOK)
	if flash := section(t, page, `class="flash"`, "</p>"); !strings.Contains(flash, "Cancelled: no delivery of the campaign is left pending.") {
		t.Errorf("the confirmation: %s", flash)
	}
	if strings.Contains(page, cancelPendingButton) {
		t.Error("the page still offers to cancel, with nothing waiting")
	}
	if !strings.Contains(page, `data-waiting>0</a>`) {
		t.Errorf("the page counts deliveries still waiting: %s", section(t, page, `Waiting now`, `</p>`))
	}
	if !strings.Contains(logged.String(), "campaignconnector dashboard: cancel_pending") {
		t.Errorf("the audit trail lacks the cancellation: %s", logged.String())
	}
	// The confirmation is the state's to bear out: on an active
	// campaign's page, the same address says nothing.
	if p := body(t, get(t, h, "/campaign?id=newsletter&done=cancel_pending"), http.StatusOK); strings.Contains(p, "Cancelled:") {
		t.Error("the page confirms a cancellation the campaign's state does not bear out")
	}
}

// TestCancelPendingIsOfferedOnlyWithActions: a read-only dashboard does
// not offer it, and refuses the action.
func TestCancelPendingIsOfferedOnlyWithActions(t *testing.T) {
	s := &cancelFailsUntil{Memory: store.NewMemory()}
	s.down.Store(true)
	e, _, _ := stopFixture(t, s)
	if err := e.Stop(context.Background(), "resend"); err == nil {
		t.Fatal("the stop's cancellation did not fail")
	}
	h := mustHandler(t, engineSource{e})
	if page := body(t, get(t, h, "/campaign?id=resend"), http.StatusOK); strings.Contains(page, cancelPendingButton) {
		t.Error("a read-only dashboard offers to cancel pending deliveries")
	}
}

// listFails is a source whose listing of pending deliveries fails (a
// store timing out, or one that cannot list them).
type listFails struct{ source }

func (listFails) Pending(context.Context, pendingQuery) ([]store.Claim, error) {
	return nil, errors.New("store: statement timeout")
}

// TestCancelPendingIsOfferedWhenThePageCannotTell: when the page cannot
// list what waits, the page of a stopped follow-up still offers the
// cancellation (which cancels nothing when nothing is left), and an
// active campaign's page does not.
func TestCancelPendingIsOfferedWhenThePageCannotTell(t *testing.T) {
	s := &cancelFailsUntil{Memory: store.NewMemory()}
	s.down.Store(true)
	e, _, _ := stopFixture(t, s)
	if err := e.Stop(context.Background(), "resend"); err == nil {
		t.Fatal("the stop's cancellation did not fail")
	}
	h := mustHandler(t, listFails{engineSource{e}}, WithActions())
	page := body(t, get(t, h, "/campaign?id=resend"), http.StatusOK)
	if !strings.Contains(page, `data-note="pending"`) {
		t.Fatal("the page does not say the list is missing")
	}
	if !strings.Contains(page, cancelPendingButton) {
		t.Error("a stopped follow-up whose pending deliveries cannot be listed offers no cancellation")
	}
	if p := body(t, get(t, h, "/campaign?id=newsletter"), http.StatusOK); strings.Contains(p, cancelPendingButton) {
		t.Error("the active original's page offers to cancel pending deliveries")
	}
}

// campaignCountFails is a source whose count of a follow-up's pending deliveries
// fails, its list working.
type campaignCountFails struct{ source }

func (campaignCountFails) CampaignPendingCount(context.Context, string, int64) (int64, error) {
	return 0, errors.New("store: statement timeout")
}

// TestAConfirmationThatNothingWaitsYieldsWhenThePageCannotCount: a stop
// cut short leaves more deliveries than a page lists; when the page lists
// them but cannot count them, or cannot list them at all, an address that
// claims them cancelled confirms nothing the page does not bear out.
func TestAConfirmationThatNothingWaitsYieldsWhenThePageCannotCount(t *testing.T) {
	s := &cancelFailsUntil{Memory: store.NewMemory()}
	e, _, _ := stopFixture(t, s)
	ctx := context.Background()
	for i := range pendingPage {
		user := fmt.Sprint("user-", i)
		noError(t)(e.Track(ctx, event.Event{ID: "r-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"}))
	}
	s.down.Store(true)
	if err := e.Stop(ctx, "resend"); err == nil {
		t.Fatal("the stop's cancellation did not fail")
	}
	for _, src := range []source{campaignCountFails{engineSource{e}}, listFails{engineSource{e}}} {
		h := mustHandler(t, src, WithActions())
		for _, c := range []struct{ op, note string }{{opCancelPending, "Cancelled:"}, {opStop, "are cancelled"}} {
			page := body(t, get(t, h, "/campaign?id=resend&done="+c.op), http.StatusOK)
			if strings.Contains(page, c.note) {
				t.Errorf("%T, done=%s: the page says the deliveries are gone, which it cannot tell", src, c.op)
			}
			if !strings.Contains(page, cancelPendingButton) {
				t.Errorf("%T, done=%s: no cancellation offered", src, c.op)
			}
		}
	}
}
