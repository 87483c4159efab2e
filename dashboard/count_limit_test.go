package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// listOnly is a store that can list its pending deliveries (and keeps
// tallies, for the funnel that says how many wait) but hides the bounded
// count of a follow-up's, as a wrapper written before it does.
type listOnly struct {
	store.Store
	store.PendingLister
	store.Tallier
}

// countLimitDashboard returns a dashboard over an engine on a memory store
// (wrapped in listOnly when hide is set) whose resend has n pending
// deliveries.
func countLimitDashboard(t *testing.T, n int, hide bool) *handler {
	t.Helper()
	ctx := context.Background()
	mem := store.NewMemory()
	var s store.Store = mem
	if hide {
		s = listOnly{mem, mem, mem}
	}
	clk := clock.NewMock()
	clk.Set(fixtureNow)
	e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), connector.WithClock(clk))
	noError(t)(err)
	noError(t)(e.Apply(ctx, []rule.Campaign{{ID: "newsletter"}, {ID: "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}, Delay: rule.After(24 * time.Hour)}}))
	ops := make([]store.Op, n)
	for i := range ops {
		user := fmt.Sprintf("u%06d", i)
		due := fixtureNow.Add(24*time.Hour + time.Duration(i)*time.Second)
		ops[i] = store.Op{UserID: user, Now: fixtureNow, Fn: func(u *store.UserState, _ bool) {
			p := u.NewPending()
			p.ID, p.CampaignID, p.Activation, p.DueAt, p.ReadyAt = "d-"+user, "resend", 1, due, due
			p.Trigger = event.Event{ID: "r-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter", Time: fixtureNow}
			u.Pending = append(u.Pending, p)
		}}
	}
	noError(t)(mem.UpdateBatch(ctx, "", ops))
	return mustHandler(t, engineSource{e})
}

// At the count limit and around it, the campaigns page and the campaign
// page's Waiting now give the exact count up to the limit, with neither a
// "≥" nor the note that there are more, and a lower bound past it, with
// the note: with the store's bounded count of a follow-up's and with a
// store that hides it (the page counts from the list then).
func TestPendingCountsAroundTheLimit(t *testing.T) {
	for _, hide := range []bool{false, true} {
		for _, n := range []int{countLimit - 1, countLimit, countLimit + 1} {
			t.Run(fmt.Sprintf("hidden=%v/%d", hide, n), func(t *testing.T) {
				h := countLimitDashboard(t, n, hide)
				want, more := thousands(int64(n)), n > countLimit
				if more {
					want = "≥ " + thousands(countLimit)
				}
				page := body(t, get(t, h, "/"), http.StatusOK)
				if got := shownAfter(t, page, `campaign?id=resend#pending" data-pending>`); got != want {
					t.Errorf("the campaigns page shows %q pending, want %q", got, want)
				}
				if note := strings.Contains(page, "More pending deliveries than the page counts"); note != more {
					t.Errorf("the campaigns page's note that there are more: %v, want %v", note, more)
				}
				page = body(t, get(t, h, "/campaign?id=resend"), http.StatusOK)
				if got := shownAfter(t, page, `data-waiting>`); got != want {
					t.Errorf("the campaign page shows %q waiting, want %q", got, want)
				}
			})
		}
	}
}

// shownAfter returns the text of the page from start (not included) to
// the end of its element.
func shownAfter(t *testing.T, page, start string) string {
	t.Helper()
	return strings.TrimPrefix(section(t, page, start, "</a>"), start)
}
