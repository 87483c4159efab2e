package dashboard

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// fixtureSum adds up, straight from the fixture's tallies, the counts of
// campaign id and the given kinds in the hours [now's hour − hours + 1,
// now's hour].
func fixtureSum(f *fakeSource, id string, hours int, kinds ...rule.DecisionKind) int64 {
	last := f.now.Truncate(time.Hour)
	first := last.Add(-time.Duration(hours-1) * time.Hour)
	var n int64
	for _, t := range f.tallies {
		for _, k := range kinds {
			kind := t.Kind
			if k == suppressedWhenDue && t.Kind == rule.Suppressed && t.Rule == store.RuleWhenDue {
				kind = suppressedWhenDue
			}
			if t.CampaignID == id && kind == k && !t.Hour.Before(first) && !t.Hour.After(last) {
				n += t.Count
			}
		}
	}
	return n
}

// suppressedWhenDue, passed to fixtureSum, sums the suppressions of
// scheduled deliveries when they came due.
const suppressedWhenDue rule.DecisionKind = "suppressed when due"

// fixtureTriggered is the funnel's first step over the last hours: the
// schedulings and the triggers suppressed on arrival.
func fixtureTriggered(f *fakeSource, id string, hours int) int64 {
	return fixtureSum(f, id, hours, rule.Scheduled, rule.Suppressed) - fixtureSum(f, id, hours, suppressedWhenDue)
}

func TestCampaignsPageShowsEachWindowsCounts(t *testing.T) {
	f := populatedFake()
	page := body(t, get(t, mustHandler(t, f), "/"), http.StatusOK)
	resend := section(t, page, `data-campaign="resend"`, "</article>")
	for _, w := range []struct {
		key   string
		hours int
	}{{"24h", 24}, {"7d", 7 * 24}} {
		for _, m := range []struct {
			key   string
			kinds []rule.DecisionKind
		}{
			{"triggered", []rule.DecisionKind{rule.Scheduled, rule.Suppressed}},
			{"scheduled", []rule.DecisionKind{rule.Scheduled}},
			{"cancelled", []rule.DecisionKind{rule.Cancelled}},
			{"suppressed", []rule.DecisionKind{rule.Suppressed}},
			{"sent", []rule.DecisionKind{rule.Delivered}},
			{"failed", []rule.DecisionKind{rule.Failed}},
			{"held_out", []rule.DecisionKind{rule.HeldOut}},
			{"converted", []rule.DecisionKind{rule.Converted}},
		} {
			got := number(t, resend, `data-metric="`+m.key+`" data-window="`+w.key+`"`)
			want := fixtureSum(f, "resend", w.hours, m.kinds...)
			if m.key == "triggered" {
				want = fixtureTriggered(f, "resend", w.hours)
			}
			if got != want {
				t.Errorf("%s over %s: page shows %d, the tallies hold %d", m.key, w.key, got, want)
			}
		}
	}
	cancelled := fixtureSum(f, "resend", 24, rule.Cancelled)
	if want := `while waiting, the user opens the email "newsletter" (exception)`; !strings.Contains(resend, esc(want)+": "+thousands(cancelled)) {
		t.Errorf("the cancellations are not broken down by exception (%q: %d)", want, cancelled)
	}
	if got := number(t, resend, "data-pending"); got != int64(len(f.pending)) {
		t.Errorf("pending: page shows %d, the store holds %d", got, len(f.pending))
	}
	if !strings.Contains(section(t, page, `data-campaign="cart_reminder"`, "</article>"), "data-quiet") {
		t.Error("a follow-up without decisions shows a table of zeros")
	}
	if !strings.Contains(section(t, page, `<h2 id="originals">Originals`, "</table>"), `data-original="newsletter"`) {
		t.Error("the original newsletter is not listed")
	}
}

func TestCampaignPageShowsTheFunnelOfItsWindow(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f)
	for _, w := range []struct {
		key   string
		hours int
	}{{"24h", 24}, {"7d", 7 * 24}, {"30d", 30 * 24}} {
		page := body(t, get(t, h, "/campaign?id=resend&range="+w.key), http.StatusOK)
		for step, kinds := range map[string][]rule.DecisionKind{
			"triggered": {rule.Scheduled, rule.Suppressed},
			"scheduled": {rule.Scheduled},
			"sent":      {rule.Delivered},
			"converted": {rule.Converted},
		} {
			want := fixtureSum(f, "resend", w.hours, kinds...)
			if step == "triggered" {
				want = fixtureTriggered(f, "resend", w.hours)
			}
			if got := number(t, page, `data-step="`+step+`"`); got != want {
				t.Errorf("%s, step %s: page shows %d, the tallies hold %d", w.key, step, got, want)
			}
		}
		for _, k := range []rule.DecisionKind{rule.Scheduled, rule.Retried, rule.Failed, rule.Cancelled} {
			if got, want := number(t, page, `data-kind="`+string(k)+`"`), fixtureSum(f, "resend", w.hours, k); got != want {
				t.Errorf("%s, %s over time: page shows %d, the tallies hold %d", w.key, k, got, want)
			}
		}
	}
	page := body(t, get(t, h, "/campaign?id=cart_reminder"), http.StatusOK)
	if !strings.Contains(section(t, page, `id="warnings"`, "</section>"), `data-warning="unknown_campaign"`) {
		t.Error("the warning about cart_reminder is not on its page")
	}
	if !strings.Contains(page, `&#34;control_percent&#34;: 10`) {
		t.Error("the definition is not shown as JSON")
	}
}

func TestUserPageShowsTheTimeline(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f)
	page := body(t, get(t, h, "/user?id=ann"), http.StatusOK)
	tl := section(t, page, `id="timeline"`, "</section>")
	if strings.Index(tl, `data-decision="scheduled"`) > strings.Index(tl, `data-decision="delivered"`) ||
		!strings.Contains(tl, `data-decision="delivered"`) {
		t.Error("the timeline does not show scheduled, then delivered")
	}
	if !strings.Contains(tl, "rcv-1") || !strings.Contains(tl, "d-ann") {
		t.Error("the timeline lacks the trigger event or the delivery")
	}
	if got := number(t, page, "data-sent"); got != 1 {
		t.Errorf("sent %d times, want 1", got)
	}
	if !strings.Contains(body(t, get(t, h, "/user?id=nobody"), http.StatusOK), "data-empty") {
		t.Error("an unknown user is not said to have no history")
	}
	f.noLog = true
	if !strings.Contains(body(t, get(t, h, "/user?id=ann"), http.StatusOK), `data-note="log"`) {
		t.Error("an engine without a decision log is not said to have none")
	}
}

func TestPagesSayWhenTheStoreKeepsNoTallies(t *testing.T) {
	f := populatedFake()
	f.noTallies = true
	h := mustHandler(t, f)
	for _, p := range []string{"/", "/campaign?id=resend", "/health"} {
		page := body(t, get(t, h, p), http.StatusOK)
		if !strings.Contains(page, `data-note="tallies"`) || strings.Contains(page, "data-metric=") {
			t.Errorf("%s: no notice, or figures shown without tallies", p)
		}
	}
}

func TestStatsOfAnyShapeAreListed(t *testing.T) {
	type nested struct {
		Kept, Dropped int64
		By            map[string]int64
	}
	v := struct {
		Tracked   int64
		IgnoredBy map[string]int64
		Queue     nested
		Label     string
		unseen    int
	}{7, map[string]int64{"too_old": 2, "duplicate": 3}, nested{4, 5, map[string]int64{"unknown_campaign": 1}}, "x", 9}
	_ = v.unseen
	var got []string
	for _, r := range structRowsOf(v) {
		got = append(got, r.Label+"="+r.Value)
		for _, p := range r.Parts {
			got = append(got, "  "+p.Label+"="+p.Value)
		}
	}
	want := []string{"Tracked=7", "Ignored by=5", "  duplicate=3", "  too old=2", "Queue=", "  Kept=4", "  Dropped=5", "  By=1", "  By: unknown campaign=1", "Label=x"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestCampaignsPageListsFollowUpsAPageAtATime: with more follow-ups than
// a page holds, following the "Next page" links from the first page shows
// each follow-up once, in ID order, with its own figures, and every page
// lists every original.
func TestCampaignsPageListsFollowUpsAPageAtATime(t *testing.T) {
	f := newFake(fixtureNow)
	f.add(rule.Campaign{ID: "newsletter"}, rule.Active)
	f.add(rule.Campaign{ID: "promo"}, rule.Stopped)
	var want []string
	const n = 2*followUpsPage + 3
	for i := range n {
		// IDs that need escaping in a query, in an order unlike insertion.
		id := fmt.Sprintf("f/%02d &é?x=%d", (i*7)%n, i)
		want = append(want, id)
		f.add(rule.Campaign{ID: id, Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay: rule.After(time.Hour)}, rule.Active)
		f.tallies = append(f.tallies, tally{Hour: fixtureNow.Truncate(time.Hour), CampaignID: id, Kind: rule.Scheduled, Count: int64(i + 1)})
	}
	slices.Sort(want)
	h := mustHandler(t, f)
	var got []string
	target := "/"
	for pages := 0; target != ""; pages++ {
		require.Less(t, pages, 3, "more pages than %d follow-ups need", n)
		page := body(t, get(t, h, target), http.StatusOK)
		require.Contains(t, page, `data-original="newsletter"`)
		require.Contains(t, page, `data-original="promo"`)
		ids := regexpMust(`data-campaign="([^"]*)"`).FindAllStringSubmatch(page, -1)
		require.LessOrEqual(t, len(ids), followUpsPage)
		first := len(got) + 1
		for _, m := range ids {
			id := html.UnescapeString(m[1])
			got = append(got, id)
			i, err := strconv.Atoi(id[strings.LastIndexByte(id, '=')+1:])
			require.NoError(t, err)
			art := section(t, page, `data-campaign="`+m[1]+`"`, "</article>")
			require.Equal(t, int64(i+1), number(t, art, `data-metric="scheduled" data-window="24h"`), "figures of %q", id)
		}
		require.Contains(t, page, fmt.Sprintf("Follow-ups %d–%d of %d.", first, len(got), n))
		require.Equal(t, target != "/", strings.Contains(page, `rel="first"`), "a First page link on every page but the first")
		target = ""
		if next := regexpMust(`rel="next" href="([^"]*)"`).FindStringSubmatch(page); next != nil {
			target = "/" + html.UnescapeString(next[1])
		}
	}
	require.Equal(t, want, got)

	// A cursor naming no follow-up (deleted since) starts at the next ID;
	// one past the last says there is nothing after it.
	page := body(t, get(t, h, "/?after="+url.QueryEscape(want[followUpsPage-1]+"!")), http.StatusOK)
	require.Contains(t, page, `data-campaign="`+html.EscapeString(want[followUpsPage])+`"`)
	page = body(t, get(t, h, "/?after=~"), http.StatusOK)
	require.NotContains(t, page, "data-campaign=")
	require.Contains(t, page, "No follow-up after this point.")
	require.Contains(t, page, `rel="first"`)
}

// TestCampaignsPageWithOnePageHasNoPager: follow-ups that fit on one
// page come without page links.
func TestCampaignsPageWithOnePageHasNoPager(t *testing.T) {
	page := body(t, get(t, mustHandler(t, populatedFake()), "/"), http.StatusOK)
	require.Contains(t, page, `data-campaign="resend"`)
	require.NotContains(t, page, "data-pager")
}

// TestOriginalsListEachFollowUpThatNamesThemOnce: the originals table
// names each follow-up that triggers on an original once, even one that
// names it in several triggers; an original named by many links to the
// first few and to the list of them all, which pages through every one.
func TestOriginalsListEachFollowUpThatNamesThemOnce(t *testing.T) {
	f := newFake(fixtureNow)
	f.add(rule.Campaign{ID: "newsletter"}, rule.Active)
	f.add(rule.Campaign{ID: "promo"}, rule.Active)
	f.add(rule.Campaign{ID: "both", Delay: rule.After(time.Hour), Triggers: []rule.Trigger{
		{Kind: event.EmailReceived, CampaignID: "newsletter"}, {Kind: event.EmailOpened, CampaignID: "promo"},
		{Kind: event.EmailClicked, CampaignID: "newsletter"}}}, rule.Active)
	const n = 500
	for i := range n {
		f.add(rule.Campaign{ID: fmt.Sprintf("f%04d", i), Delay: rule.After(time.Hour), Triggers: []rule.Trigger{
			{Kind: event.EmailReceived, CampaignID: "newsletter"}, {Kind: event.EmailOpened, CampaignID: "newsletter"}}}, rule.Active)
	}
	h := mustHandler(t, f)
	page := body(t, get(t, h, "/"), http.StatusOK)
	row := func(id string) string { return section(t, page, `data-original="`+id+`"`, "</tr>") }
	require.Equal(t, 1, strings.Count(row("promo"), `href="campaign?id=both"`))
	require.NotContains(t, row("promo"), "data-more")
	require.Equal(t, 1, strings.Count(row("newsletter"), `href="campaign?id=both"`))
	require.Equal(t, namedPerOriginal, strings.Count(row("newsletter"), `<a href="campaign?id=`)-1, "follow-ups named by the newsletter's row")
	require.Contains(t, row("newsletter"), fmt.Sprintf("and %d more", n+1-namedPerOriginal))

	// The list of them all: every follow-up that names the newsletter, once.
	more := regexpMust(`href="([^"]*)" data-more`).FindStringSubmatch(row("newsletter"))
	require.NotNil(t, more)
	seen := map[string]int{}
	for target, pages := "/"+html.UnescapeString(more[1]), 0; target != ""; pages++ {
		require.Less(t, pages, n/followUpsPage+2)
		page := body(t, get(t, h, target), http.StatusOK)
		require.Contains(t, page, "Follow-ups of <bdi>newsletter</bdi>")
		for _, m := range regexpMust(`data-campaign="([^"]*)"`).FindAllStringSubmatch(page, -1) {
			seen[m[1]]++
		}
		target = ""
		if next := regexpMust(`rel="next" href="([^"]*)"`).FindStringSubmatch(page); next != nil {
			target = "/" + html.UnescapeString(next[1])
			require.Contains(t, target, "original=newsletter", "the next page keeps to the newsletter's follow-ups")
		}
	}
	require.Len(t, seen, n+1)
	for id, k := range seen {
		require.Equal(t, 1, k, "%s listed %d times", id, k)
	}
	page = body(t, get(t, h, "/?original=promo"), http.StatusOK)
	require.Equal(t, 1, strings.Count(page, "data-campaign="), "promo's follow-ups")
	page = body(t, get(t, h, "/?original=nobody"), http.StatusOK)
	require.Contains(t, page, "No follow-up triggers on it.")
}

// TestCampaignsPageListsOriginalsAPageAtATime: with more originals than a
// page holds, the originals' "Next page" links show each once, in ID
// order, and leave the page of follow-ups where it is.
func TestCampaignsPageListsOriginalsAPageAtATime(t *testing.T) {
	f := newFake(fixtureNow)
	var want []string
	const n = 2*originalsPage + 3
	for i := range n {
		id := fmt.Sprintf("o/%03d &é?x=%d", (i*7)%n, i)
		want = append(want, id)
		f.add(rule.Campaign{ID: id}, rule.Active)
	}
	for i := range followUpsPage + 1 {
		f.add(rule.Campaign{ID: fmt.Sprintf("f%02d", i), Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: want[0]}}}, rule.Active)
	}
	slices.Sort(want)
	h := mustHandler(t, f)
	var got []string
	target := "/?after=f" + fmt.Sprint(followUpsPage-1) // the second page of follow-ups
	for pages := 0; target != ""; pages++ {
		require.Less(t, pages, 3, "more pages than %d originals need", n)
		page := body(t, get(t, h, target), http.StatusOK)
		require.Equal(t, 1, strings.Count(page, "data-campaign="), "the second page of follow-ups is kept")
		ids := regexpMust(`data-original="([^"]*)"`).FindAllStringSubmatch(page, -1)
		require.LessOrEqual(t, len(ids), originalsPage)
		first := len(got) + 1
		for _, m := range ids {
			got = append(got, html.UnescapeString(m[1]))
		}
		require.Contains(t, page, fmt.Sprintf("Originals %d–%d of %d.", first, len(got), n))
		target = ""
		if next := regexpMust(`rel="next" href="([^"]*#originals)"`).FindStringSubmatch(page); next != nil {
			target = "/" + html.UnescapeString(next[1])
		}
	}
	require.Equal(t, want, got)
}

// TestCampaignsPageHoldsUpWithManyCampaigns: the page's size does not grow
// with the number of campaigns past a page of each list.
func TestCampaignsPageHoldsUpWithManyCampaigns(t *testing.T) {
	size := func(originals, followUps int) int {
		f := newFake(fixtureNow)
		for i := range originals {
			f.add(rule.Campaign{ID: fmt.Sprintf("original-%03d", i)}, rule.Active)
		}
		for i := range followUps {
			f.add(rule.Campaign{ID: fmt.Sprintf("follow-up-%03d", i), Delay: rule.After(time.Hour),
				Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "original-000"}}}, rule.Active)
		}
		return len(body(t, get(t, mustHandler(t, f), "/"), http.StatusOK))
	}
	one, many := size(originalsPage, followUpsPage), size(250, 250)
	require.Less(t, many, one+2000, "a page of 500 campaigns (%d bytes) against one of a page of each (%d bytes)", many, one)
}

// BenchmarkCampaignsPageManyFollowUpsOfOneOriginal loads the campaigns
// page with 100,000 follow-ups that all trigger on one original.
func BenchmarkCampaignsPageManyFollowUpsOfOneOriginal(b *testing.B) {
	f := newFake(fixtureNow)
	f.add(rule.Campaign{ID: "newsletter"}, rule.Active)
	for i := range 100_000 {
		f.add(rule.Campaign{ID: fmt.Sprintf("f%06d", i), Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}, rule.Active)
	}
	h, err := newHandler(f, quietLogger())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
