package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// A delivery marked as being sent whose lease has run out was left by an
// engine that stopped (or lost the store) during the send: the campaign and
// user pages say so, and that it goes out again, rather than "being sent"
// for as long as no engine takes it up. A send whose lease still runs is
// "being sent".
func TestPendingListsSayWhenASendWasInterrupted(t *testing.T) {
	f := newFake(fixtureNow)
	f.add(rule.Campaign{ID: "newsletter"}, rule.Active)
	f.add(rule.Campaign{ID: "resend", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}, rule.Active)
	sending := func(user string, readyAt time.Time) store.Pending {
		return store.Pending{
			ID: "d-" + user, CampaignID: "resend", Activation: 1,
			Trigger: event.Event{UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"},
			DueAt:   fixtureNow.Add(-10 * time.Minute), ReadyAt: readyAt, Attempt: 1, Token: 7, Sending: true,
		}
	}
	live := sending("ann", fixtureNow.Add(40*time.Second))
	left := sending("bob", fixtureNow.Add(-3*time.Minute))
	for _, p := range []store.Pending{live, left} {
		f.pending = append(f.pending, store.Claim{UserID: p.Trigger.UserID, Pending: p})
		f.explain[[2]string{p.Trigger.UserID, "resend"}] = connector.Explanation{UserID: p.Trigger.UserID, CampaignID: "resend", Pending: []store.Pending{p}}
	}
	h := mustHandler(t, f)

	list := section(t, body(t, get(t, h, "/campaign?id=resend"), http.StatusOK), `id="pending"`, "</section>")
	ann := section(t, list, `data-delivery="d-ann"`, "</tr>")
	bob := section(t, list, `data-delivery="d-bob"`, "</tr>")
	userRow := func(user string) string {
		return section(t, body(t, get(t, h, "/user?id="+user), http.StatusOK), `data-pending="d-`+user+`"`, "</tr>")
	}
	for where, row := range map[string]string{"campaign page": ann, "user page": userRow("ann")} {
		if !strings.Contains(row, "being sent") || strings.Contains(row, "interrupted") {
			t.Errorf("%s: a send whose lease runs should read as being sent: %s", where, row)
		}
	}
	for where, row := range map[string]string{"campaign page": bob, "user page": userRow("bob")} {
		if strings.Contains(row, "being sent") || !strings.Contains(row, "interrupted") || !strings.Contains(row, "sent again") {
			t.Errorf("%s: a send whose lease ran out should read as interrupted, to be sent again: %s", where, row)
		}
	}
}

// A delivery whose send was interrupted stays marked as being sent while
// a later engine defers it (a send window, a rate limit) or waits out a
// directory outage: given back, with no lease (token 0), until a time to
// come. It is not being sent: its state says the send was interrupted.
func TestPendingStateOfAnInterruptedSendPutOff(t *testing.T) {
	p := store.Pending{ID: "d", CampaignID: "resend", DueAt: fixtureNow.Add(-time.Hour),
		ReadyAt: fixtureNow.Add(2 * time.Hour), Attempt: 1, Sending: true}
	if got := pendingState(p, fixtureNow); !strings.HasPrefix(got, "send interrupted") {
		t.Errorf("put off after an interrupted send, with no lease: %q", got)
	}
	p.Token = 9
	if got := pendingState(p, fixtureNow); got != "being sent" {
		t.Errorf("under a live lease: %q", got)
	}
}

// A delivery that fell due more than a minute ago and that no engine has
// taken is stuck: nothing sends deliveries. Its state says so, rather
// than "waiting", on the campaign and user pages; one that fell due
// seconds ago, which the next tick sends, is waiting.
func TestPendingListsSayWhenADeliveryIsOverdue(t *testing.T) {
	f := newFake(fixtureNow)
	f.add(rule.Campaign{ID: "newsletter"}, rule.Active)
	f.add(rule.Campaign{ID: "resend", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}, rule.Active)
	due := func(user string, at time.Time, control bool) store.Pending {
		return store.Pending{ID: "d-" + user, CampaignID: "resend", Activation: 1, Control: control,
			Trigger: event.Event{UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"}, DueAt: at, ReadyAt: at}
	}
	for _, p := range []store.Pending{due("ann", fixtureNow.Add(-3*time.Hour), false), due("cleo", fixtureNow.Add(-3*time.Hour), true),
		due("bob", fixtureNow.Add(-30*time.Second), false)} {
		f.pending = append(f.pending, store.Claim{UserID: p.Trigger.UserID, Pending: p})
		f.explain[[2]string{p.Trigger.UserID, "resend"}] = connector.Explanation{UserID: p.Trigger.UserID, CampaignID: "resend", Pending: []store.Pending{p}}
	}
	h := mustHandler(t, f)
	list := section(t, body(t, get(t, h, "/campaign?id=resend"), http.StatusOK), `id="pending"`, "</section>")
	userRow := func(user string) string {
		return section(t, body(t, get(t, h, "/user?id="+user), http.StatusOK), `data-pending="d-`+user+`"`, "</tr>")
	}
	for _, user := range []string{"ann", "cleo"} {
		for where, row := range map[string]string{"campaign page": section(t, list, `data-delivery="d-`+user+`"`, "</tr>"), "user page": userRow(user)} {
			if !strings.Contains(row, "overdue by 3 hours: no engine has taken it") {
				t.Errorf("%s: %s's delivery, due 3 hours ago, does not read as overdue: %s", where, user, row)
			}
			// A hold-out is not sent: the first engine to run holds it out.
			if then := map[string]string{"ann": "sends it", "cleo": "holds it out"}[user]; !strings.Contains(row, then) {
				t.Errorf("%s: %s's overdue delivery does not say the first engine to run %s: %s", where, user, then, row)
			}
		}
	}
	for where, row := range map[string]string{"campaign page": section(t, list, `data-delivery="d-bob"`, "</tr>"), "user page": userRow("bob")} {
		if !strings.Contains(row, "waiting") || strings.Contains(row, "overdue") {
			t.Errorf("%s: a delivery due seconds ago should read as waiting: %s", where, row)
		}
	}
}
