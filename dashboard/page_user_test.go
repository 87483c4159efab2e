package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
)

// A delivery sent again after an engine stopped during its send has no
// outcome for the earlier attempt: the timeline says the user may have
// received it twice, and says nothing of the kind after a recorded retry,
// or when the log no longer holds the delivery's beginning.
func TestTimelineSaysWhenAnAttemptWasCutShort(t *testing.T) {
	f := populatedFake()
	at := fixtureNow.Add(-time.Hour)
	dec := func(kind rule.DecisionKind, id string, attempt int) rule.Decision {
		return rule.Decision{Kind: kind, CampaignID: "resend", UserID: "zoe", DeliveryID: id, Attempt: attempt, At: at}
	}
	f.explain[[2]string{"zoe", "resend"}] = connector.Explanation{UserID: "zoe", CampaignID: "resend", Decisions: []rule.Decision{
		dec(rule.Scheduled, "cut", 0), dec(rule.Delivered, "cut", 2),
		dec(rule.Scheduled, "retried", 0), dec(rule.Retried, "retried", 1), dec(rule.Delivered, "retried", 2),
		dec(rule.Delivered, "log-dropped-its-start", 3),
	}}
	tl := section(t, body(t, get(t, mustHandler(t, f), "/user?id=zoe"), http.StatusOK), `id="timeline"`, "</section>")
	const note = "attempt 1 was cut short before its outcome was recorded"
	if strings.Count(tl, note) != 1 || strings.Count(tl, "was cut short") != 1 {
		t.Errorf("the timeline says %d times that an attempt was cut short, want once (delivery cut):\n%s", strings.Count(tl, "was cut short"), tl)
	}
	if i := strings.Index(tl, note); i < 0 || !strings.HasPrefix(tl[i+strings.Index(tl[i:], "<code>"):], "<code>cut</code>") {
		t.Errorf("the note is not on delivery cut's row:\n%s", tl)
	}
}

// A directory outage's retries are no attempt's outcome (they keep the
// attempt count of the last attempt made): one after an attempt cut short
// does not hide it, and none gets a note of its own. A delivery scheduled
// again under the same ID (its trigger replayed) is judged afresh.
func TestTimelineCutShortIgnoresDirectoryRetries(t *testing.T) {
	f := populatedFake()
	at := fixtureNow.Add(-time.Hour)
	dec := func(kind rule.DecisionKind, reason rule.Reason, id string, attempt int) rule.Decision {
		return rule.Decision{Kind: kind, Reason: reason, CampaignID: "resend", UserID: "zoe", DeliveryID: id, Attempt: attempt, At: at}
	}
	f.explain[[2]string{"zoe", "resend"}] = connector.Explanation{UserID: "zoe", CampaignID: "resend", Decisions: []rule.Decision{
		// Attempt 1 cut short, then an outage before attempt 2.
		dec(rule.Scheduled, "", "outage", 0), dec(rule.Retried, rule.ReasonDirectoryError, "outage", 1),
		dec(rule.Delivered, "", "outage", 2),
		// Attempt 1 retried, attempt 2 cut short, then an outage that
		// outlasts the maximum deferral.
		dec(rule.Scheduled, "", "failed", 0), dec(rule.Retried, rule.ReasonSendError, "failed", 1),
		dec(rule.Retried, rule.ReasonDirectoryError, "failed", 2), dec(rule.Failed, rule.ReasonDirectoryError, "failed", 2),
		// Sent after a retry, then scheduled again and sent after a cut.
		dec(rule.Scheduled, "", "again", 0), dec(rule.Retried, rule.ReasonSendError, "again", 1), dec(rule.Delivered, "", "again", 2),
		dec(rule.Scheduled, "", "again", 0), dec(rule.Delivered, "", "again", 2),
	}}
	tl := section(t, body(t, get(t, mustHandler(t, f), "/user?id=zoe"), http.StatusOK), `id="timeline"`, "</section>")
	if n := strings.Count(tl, "was cut short"); n != 2 {
		t.Errorf("the timeline says %d times that an attempt was cut short, want twice (outage's send, again's second send):\n%s", n, tl)
	}
	rows := strings.Split(tl, "</tr>")
	for _, r := range rows {
		if strings.Contains(r, "was cut short") && !strings.Contains(r, "<code>outage</code>") && !strings.Contains(r, "<code>again</code>") {
			t.Errorf("a note on the wrong delivery: %s", r)
		}
	}
}

// A user whose send the decision log no longer holds shows Sent 0 beside
// the time they last received it: the page says that its counts are the
// log's, and does not claim, as the pages of tallies do, that they come
// from the store's hourly tallies. It names no Go API.
func TestUserPageSaysItsCountsAreTheLogs(t *testing.T) {
	f := populatedFake()
	received := fixtureNow.Add(-40 * 24 * time.Hour)
	f.explain[[2]string{"old", "resend"}] = connector.Explanation{UserID: "old", CampaignID: "resend", Received: received,
		Decisions: []rule.Decision{{Kind: rule.Suppressed, Reason: rule.ReasonNotReeligible, CampaignID: "resend", UserID: "old", At: fixtureNow}}}
	h := mustHandler(t, f)
	page := body(t, get(t, h, "/user?id=old"), http.StatusOK)
	if got := number(t, page, "data-sent"); got != 0 {
		t.Fatalf("Sent %d, want 0", got)
	}
	if !strings.Contains(page, "count what the decision log still holds") {
		t.Error("the page does not say that its counts are the decision log's")
	}
	for _, target := range []string{"/user", "/user?id=old"} {
		page := body(t, get(t, h, target), http.StatusOK)
		if strings.Contains(page, "hourly tallies") || strings.Contains(page, "(Explain)") {
			t.Errorf("%s: the page speaks of tallies or of Explain", target)
		}
	}
	if !strings.Contains(body(t, get(t, h, "/"), http.StatusOK), "from the store's hourly tallies") {
		t.Error("the campaigns page no longer says where its counts come from")
	}
}

// The Users page without an ID says where user IDs come from and where
// the dashboard links to users, so that a manager knows what to enter.
func TestTheUsersPageSaysWhatToLookUp(t *testing.T) {
	page := body(t, get(t, mustHandler(t, populatedFake()), "/user"), http.StatusOK)
	if !strings.Contains(page, `data-empty>Enter a user's ID as your app sends it with their events`) {
		t.Errorf("the Users page does not say what to enter:\n%s", section(t, page, "<main", "</main>"))
	}
}

// A user the engine recorded nothing about is most often a mistyped ID:
// the page says to check it, and shows the ID quoted, so that a space
// shows, and in ASCII when it holds other characters, so that a
// look-alike letter shows. It searches no other user.
func TestAnUnknownUsersPageSuggestsATypo(t *testing.T) {
	h := mustHandler(t, populatedFake())
	for _, tc := range []struct{ id, quoted, ascii string }{
		{"nobody", `&#34;nobody&#34;`, ""},
		{"ann ", `&#34;ann &#34;`, ""},
		{"\u0430nn", "&#34;\u0430nn&#34;", `&#34;\u0430nn&#34;`}, // a Cyrillic a
	} {
		page := body(t, get(t, h, "/user?id="+url.QueryEscape(tc.id)), http.StatusOK)
		empty := oneLine(section(t, page, "data-empty>", "</p>"))
		for _, want := range []string{
			`The engine has recorded nothing about the user <code class="id" data-quoted>` + tc.quoted + `</code>`,
			"Check the ID for a typo: it must be exactly as your app sends it with their events",
			"If it is right, no follow-up has triggered for this user",
		} {
			if !strings.Contains(empty, want) {
				t.Errorf("%q: the page does not say %q:\n%s", tc.id, want, empty)
			}
		}
		if got := strings.Contains(empty, "data-ascii"); got != (tc.ascii != "") || !strings.Contains(empty, tc.ascii) {
			t.Errorf("%q: the page shows an ASCII form %t, want %q:\n%s", tc.id, got, tc.ascii, empty)
		}
	}
}
