package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/dashboard"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

func TestDashboardOnMemory(t *testing.T) { checkDashboard(t, "memory", store.NewMemory()) }

// prefix is where the test mounts the dashboard: every link must stay
// under it.
const prefix = "/ops/campaigns"

// serveDashboard serves the dashboard of e, with opts, under prefix, with
// a live refresh every second and its log discarded, until the test
// ends, and returns its address.
func serveDashboard(t *testing.T, e *connector.Engine, opts ...dashboard.Option) string {
	t.Helper()
	h, err := dashboard.New(e, append([]dashboard.Option{dashboard.WithPrefix(prefix), dashboard.WithRefresh(time.Second),
		dashboard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + prefix + "/"
}

// checkDashboard runs the scenario on s, serves its dashboard under a
// prefix and goes through every page in Chromium, comparing what they
// show with the engine's own answers.
func checkDashboard(t *testing.T, name string, s store.Store) {
	b := newBrowser(t) // first: without a browser, skip before the scenario runs
	sc := newScenario(t, s)
	base := serveDashboard(t, sc.engine, dashboard.WithActions())
	shot := func(page string) { b.screenshot(name + "-" + page) }

	t.Run("campaigns page shows the tallies, which match the decision log", func(t *testing.T) {
		b.t = t
		b.navigate(base)
		b.clean("campaigns page")
		shot("campaigns")
		shown := eval[map[string]float64](b, `(() => {
			const out = {};
			for (const e of document.querySelectorAll('article[data-campaign] [data-metric]')) {
				out[e.closest('article').dataset.campaign + ' ' + e.dataset.metric + ' ' + e.dataset.window] = Number(e.textContent.replace(/\s/g, ''));
			}
			for (const e of document.querySelectorAll('article[data-campaign] [data-pending]')) {
				out[e.closest('article').dataset.campaign + ' pending'] = Number(e.textContent.replace(/\s/g, ''));
			}
			return out;
		})()`)
		now := sc.engine.Now()
		if !sc.canTally(t) {
			// Until the engine keeps tallies, the page must say so where
			// the figures go.
			if eval[bool](b, `!!document.querySelector('[data-metric]') || !document.querySelector('[data-note="tallies"]')`) {
				t.Error("an engine without tallies: the page shows figures, or no notice")
			}
		}
		for _, id := range []string{"resend", "cart_reminder"} {
			if !sc.canTally(t) {
				break
			}
			for _, w := range []struct {
				key  string
				span time.Duration
			}{{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}} {
				until := now.Truncate(time.Hour).Add(time.Hour)
				got := sc.decided(t, id, until.Add(-w.span), until)
				if tallied := sc.tallied(t, id, until.Add(-w.span), until); !maps.Equal(tallied, got) {
					t.Errorf("%s over %s: the tallies hold %v, the decision log %v", id, w.key, tallied, got)
				}
				for metric, want := range map[string]int64{
					"triggered":          triggered(got),
					"scheduled":          got[rule.Scheduled],
					"cancelled":          got[rule.Cancelled],
					"suppressed":         got[rule.Suppressed],
					"sent":               got[rule.Delivered],
					"failed":             got[rule.Failed],
					"held_out":           got[rule.HeldOut],
					"converted":          convertedSent(got),
					"converted_held_out": got[convertedHeldOut],
				} {
					key := id + " " + metric + " " + w.key
					if v, ok := shown[key]; !ok || int64(v) != want {
						t.Errorf("%s: the page shows %v (present %t), the decision log holds %d", key, v, ok, want)
					}
				}
			}
		}
		for _, id := range []string{"resend", "cart_reminder"} {
			if !sc.canListPending(t) {
				if !eval[bool](b, `!!document.querySelector('[data-note="pending"]')`) {
					t.Error("an engine that cannot list pending deliveries: no notice")
				}
				break
			}
			if got, want := shown[id+" pending"], len(sc.pending(t, id)); int(got) != want {
				t.Errorf("%s pending: the page shows %v, the engine has %d", id, got, want)
			}
		}
		// The scenario must have exercised what the page counts.
		week := sc.decided(t, "cart_reminder", now.Add(-7*24*time.Hour), now.Add(time.Hour))
		for _, k := range []rule.DecisionKind{rule.Delivered, rule.HeldOut, rule.Converted, rule.Failed, rule.Cancelled} {
			if week[k] == 0 {
				t.Errorf("the scenario produced no %s decision for cart_reminder", k)
			}
		}
		if resends := sc.decided(t, "resend", now.Add(-7*24*time.Hour), now.Add(time.Hour)); resends[suppressedWhenDue] == 0 {
			t.Error("the scenario dropped no resend when due")
		}
	})

	t.Run("campaign page shows the funnel and pages through pending deliveries", func(t *testing.T) {
		b.t = t
		b.navigate(base)
		b.click(`article[data-campaign="resend"] h3 a`)
		if loc := b.location(); loc != base+"campaign?id=resend" {
			t.Fatalf("the campaign link led to %s", loc)
		}
		b.clean("campaign page")
		shot("campaign")
		now := sc.engine.Now()
		until := now.Truncate(time.Hour).Add(time.Hour)
		got := sc.decided(t, "resend", until.Add(-7*24*time.Hour), until)
		if !sc.canTally(t) {
			if !eval[bool](b, `!!document.querySelector('[data-note="tallies"]') && !document.querySelector('[data-step]')`) {
				t.Error("an engine without tallies: no notice in place of the funnel")
			}
			got = nil
		}
		steps := eval[map[string]float64](b, `Object.fromEntries([...document.querySelectorAll('[data-step]')].map(e => [e.dataset.step, Number(e.textContent.replace(/\s/g, ''))]))`)
		for step, want := range map[string]int64{
			"triggered": triggered(got), "scheduled": got[rule.Scheduled],
			"sent": got[rule.Delivered], "converted": convertedSent(got),
		} {
			if got != nil && int64(steps[step]) != want {
				t.Errorf("funnel step %s: the page shows %v, the decision log holds %d", step, steps[step], want)
			}
		}
		if !sc.canListPending(t) {
			if !eval[bool](b, `!!document.querySelector('[data-note="pending"]')`) {
				t.Error("an engine that cannot list pending deliveries: no notice")
			}
			return
		}
		var listed []string
		for page := 1; ; page++ {
			ids := eval[[]string](b, `[...document.querySelectorAll('#pending tr[data-delivery]')].map(e => e.dataset.delivery)`)
			listed = append(listed, ids...)
			if page == 2 {
				shot("campaign-pending-2")
			}
			if !eval[bool](b, `!!document.querySelector('#pending a[rel=next]')`) {
				break
			}
			if page > 5 {
				t.Fatal("the pages of pending deliveries never end")
			}
			b.click(`#pending a[rel=next]`)
			b.clean("pending deliveries, page " + fmt.Sprint(page+1))
		}
		want := sc.pending(t, "resend")
		slices.Sort(want)
		sorted := slices.Sorted(slices.Values(listed))
		if len(want) <= 50 {
			t.Fatalf("only %d pending resends: the scenario must fill more than one page", len(want))
		}
		if !slices.Equal(sorted, want) {
			t.Errorf("the pages list %d deliveries (%d distinct of the engine's %d)", len(listed), len(slices.Compact(sorted)), len(want))
		}
	})

	t.Run("user page shows the timeline of a user of the pending list", func(t *testing.T) {
		b.t = t
		user := "wave-00"
		if sc.canListPending(t) {
			b.navigate(base + "campaign?id=resend")
			user = eval[string](b, `document.querySelector('#pending td a').textContent`)
			b.click(`#pending td a`)
			if loc := b.location(); !strings.HasPrefix(loc, base+"user?id=") {
				t.Fatalf("the user link led to %s", loc)
			}
		} else {
			b.navigate(base + "user?id=" + user)
		}
		b.clean("user page")
		var want int
		recs, err := sc.engine.Campaigns(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			x, err := sc.engine.Explain(context.Background(), user, rec.Campaign.ID)
			if err != nil {
				t.Fatal(err)
			}
			want += len(x.Decisions)
		}
		if got := eval[int](b, `document.querySelectorAll('#timeline tr[data-decision]').length`); got != want || want == 0 {
			t.Errorf("%s: the timeline shows %d decisions, Explain has %d", user, got, want)
		}
		b.navigate(base + "user?id=" + failingUser)
		shot("user")
		if !eval[bool](b, `!!document.querySelector('#timeline tr[data-decision="failed"]')`) {
			t.Errorf("%s's timeline does not show the failed reminder", failingUser)
		}
		b.clean("failing user's page")
		// The error text of the failed sends takes the width: the
		// campaign IDs beside it keep their words whole, on a phone too,
		// where the table scrolls in its box and the page keeps its width.
		for _, width := range []int64{1280, 375} {
			b.do(fmt.Sprintf("a window %d px wide", width), chromedp.EmulateViewport(width, 800))
			broken := eval[[]string](b, `[...document.querySelectorAll('#timeline tr[data-decision] td:nth-child(2) a')].filter(a => a.getClientRects().length !== 1 || a.offsetHeight > 1.5 * parseFloat(getComputedStyle(a).lineHeight)).map(a => a.textContent)`)
			if len(broken) > 0 {
				t.Errorf("at %d px the timeline breaks the campaign IDs %q over lines", width, broken)
			}
			if w := eval[[]int](b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
				t.Errorf("at %d px the user page is %d px wide", width, w[0])
			}
		}
		b.do("the window's own size", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
			return err
		}))
	})

	t.Run("on a phone, tables keep their words whole and the pages their width", func(t *testing.T) {
		b.t = t
		b.do("a window 390 px wide", chromedp.EmulateViewport(390, 800))
		defer b.do("the window's own size", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
			return err
		}))
		var charts int
		for _, page := range []string{"", "campaign?id=cart_reminder", "user?id=" + failingUser, "health"} {
			b.navigate(base + page)
			if w := eval[[]int](b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
				t.Errorf("%q at 390 px: the page is %d px wide", page, w[0])
			}
			// A table too wide scrolls in its box; squeezed into the
			// window instead, its text columns wrap their words a letter
			// a line ("abandone" above "d_cart"). Words of up to 24
			// characters, between spaces and hyphens, fit on a line.
			broken := eval[[]string](b, `(() => {
				const broken = new Set();
				for (const cell of document.querySelectorAll('main td, main th')) {
					const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
					for (let n = walker.nextNode(); n; n = walker.nextNode()) {
						for (const m of n.data.matchAll(/[^\s\-\u2010]+/g)) {
							if (m[0].length < 3 || m[0].length > 24) { continue; }
							const r = document.createRange();
							r.setStart(n, m.index);
							r.setEnd(n, m.index + m[0].length);
							const tops = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
							if (tops.size > 1) { broken.add(m[0]); }
						}
					}
				}
				return [...broken].slice(0, 10);
			})()`)
			if len(broken) > 0 {
				t.Errorf("%q at 390 px breaks these words over lines: %q", page, broken)
			}
			// A fact's value too long for the line goes below its name,
			// at its indent, not further left.
			outdented := eval[[]string](b, `[...document.querySelectorAll('main .facts dd')]
				.filter(dd => dd.getBoundingClientRect().left < dd.previousElementSibling.getBoundingClientRect().left - 0.5)
				.map(dd => dd.previousElementSibling.textContent)`)
			if len(outdented) > 0 {
				t.Errorf("%q at 390 px sets the values of %q left of their names", page, outdented)
			}
			// A chart scales with its width: squeezed into the window, its
			// text shrinks below what one can read. It keeps a least width
			// in a box that scrolls, where its smallest text is 8 px or more.
			charts += eval[int](b, `document.querySelectorAll('main svg.chart, main svg.funnel').length`)
			small := eval[[]string](b, `[...document.querySelectorAll('main svg.chart, main svg.funnel')].flatMap(svg => {
				const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
				return [...svg.querySelectorAll('text')]
					.map(e => parseFloat(getComputedStyle(e).fontSize) * scale)
					.filter(px => px < 8)
					.map(px => svg.getAttribute('class') + ' ' + px.toFixed(1) + ' px');
			}).filter((x, i, all) => all.indexOf(x) === i)`)
			if len(small) > 0 {
				t.Errorf("%q at 390 px shrinks the text of its charts to %q", page, small)
			}
		}
		if charts == 0 && sc.canTally(t) {
			t.Error("no page at 390 px shows a chart: the test of their text checked none")
		}
	})

	t.Run("an unknown user's long ID wraps in the page's width", func(t *testing.T) {
		b.t = t
		// The page quotes an ID no one is known by, and its ASCII form: a
		// long one without a space, pasted in by mistake, wraps there
		// rather than widen the page past the window.
		b.do("a window 390 px wide", chromedp.EmulateViewport(390, 800))
		defer b.do("the window's own size", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
			return err
		}))
		id := strings.Repeat("\u0430", 10) + strings.Repeat("x", 990)
		b.navigate(base + "user?id=" + url.QueryEscape(id))
		if !eval[bool](b, `!!document.querySelector('main [data-empty] [data-quoted]') && !!document.querySelector('main [data-empty] [data-ascii]')`) {
			t.Fatal("the unknown user's page does not quote the ID and its ASCII form")
		}
		if w := eval[[]int](b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
			t.Errorf("at 390 px the page of a user with a 1,000-character ID is %d px wide", w[0])
		}
	})

	t.Run("each action's form is a line of its own", func(t *testing.T) {
		b.t = t
		// At 1280 px the Stop button's explanation ran on into "archiving
		// is final" and Archive, on one line, and seemed to be Archive's.
		b.do("a window 1280 px wide", chromedp.EmulateViewport(1280, 800))
		defer b.do("the window's own size", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
			return err
		}))
		for _, page := range []string{"campaign?id=cart_reminder", "campaign?id=abandoned_cart"} {
			b.navigate(base + page)
			forms := eval[[][]float64](b, `[...document.querySelectorAll('main .actions form')].map(f => { const r = f.getBoundingClientRect(); return [r.top, r.bottom]; })`)
			if len(forms) < 2 {
				t.Fatalf("%q shows %d action forms, want Stop and Archive", page, len(forms))
			}
			for i := 1; i < len(forms); i++ {
				if forms[i][0] < forms[i-1][1] {
					t.Errorf("%q at 1280 px sets action form %d beside form %d: tops and bottoms %v", page, i+1, i, forms)
				}
			}
		}
	})

	t.Run("hostile values are shown as text and run nothing", func(t *testing.T) {
		b.t = t
		b.navigate(base)
		b.click(`nav a[href="user"]`)
		b.clean("users page")
		v, _ := json.Marshal(hostileUser)
		b.click(`main form button`, "e.form.elements.id.value = "+string(v)) // looking up the hostile user
		if got := eval[string](b, `document.querySelector('h1 code').textContent`); got != hostileUser {
			t.Errorf("the page shows the user as %q", got)
		}
		if n := eval[int](b, `document.querySelectorAll('img, script:not([src])').length`); n != 0 {
			t.Errorf("the hostile values made %d elements", n)
		}
		shot("hostile-user")
		b.clean("hostile user's page") // an alert would be reported here

		b.navigate(base)
		id, _ := json.Marshal(hostileCampaign)
		ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
		defer cancel()
		_, err := chromedp.RunResponse(ctx, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('article[data-campaign]')]
			.find(a => a.dataset.campaign === `+string(id)+`).querySelector('h3 a').click()`))
		if err != nil {
			t.Fatalf("following the hostile campaign's link: %v", err)
		}
		if got := eval[string](b, `document.querySelector('h1 code').textContent`); got != hostileCampaign {
			t.Errorf("the campaign page shows the campaign as %q", got)
		}
		if !strings.Contains(eval[string](b, `document.querySelector('pre.json').textContent`), `alert(5)`) {
			t.Error("the definition's hostile message is not shown as text")
		}
		if n := eval[int](b, `document.querySelectorAll('img, script:not([src]), svg[onload]').length`); n != 0 {
			t.Errorf("the hostile campaign made %d elements", n)
		}
		shot("hostile-campaign")
		b.clean("hostile campaign's page")
	})

	t.Run("health page shows Stats and the warnings", func(t *testing.T) {
		b.t = t
		// An event naming no campaign, by a long ID (the default limit is
		// 256 bytes).
		typo := strings.Repeat("newsleter-", 25)
		if err := sc.engine.Track(context.Background(), event.Event{UserID: "typo-user", Kind: event.EmailOpened, CampaignID: typo}); err != nil {
			t.Fatal(err)
		}
		b.navigate(base)
		b.click(`nav a[href="health"]`)
		b.clean("health page")
		shot("health")
		stats, err := sc.engine.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		shown := eval[map[string]float64](b, `Object.fromEntries([...document.querySelectorAll('[data-stat]')].map(e => [e.dataset.stat, Number(e.textContent.replace(/\s/g, ''))]))`)
		for key, want := range map[string]int64{"Campaigns": stats.Campaigns, "Users": stats.Users, "Pending": stats.Pending, "Interactions": stats.Interactions} {
			if int64(shown[key]) != want {
				t.Errorf("%s: the page shows %v, Stats says %d", key, shown[key], want)
			}
		}
		if !eval[bool](b, `!!document.querySelector('[data-warning="draft_follow_up"]')`) {
			t.Error("the warning about the draft spring_survey is not shown")
		}
		if lines := eval[int](b, `document.querySelector('[data-warning="draft_follow_up"] a').getClientRects().length`); lines != 1 {
			t.Errorf("the warning's campaign ID spring_survey takes %d lines, want 1", lines)
		}
		if !eval[bool](b, fmt.Sprintf(`!!document.querySelector('#unknown-campaigns [data-unknown-events="%s"]')`, typo)) {
			t.Error("the unknown campaign ID is not listed")
		}
		if w := eval[[]int](b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
			t.Errorf("the page is %d px wide in a window of %d: the long ID does not wrap", w[0], w[1])
		}
	})

	t.Run("live refresh updates the figures in place", func(t *testing.T) {
		b.t = t
		b.navigate(base + "health")
		eval[bool](b, `window.notReloaded = true`)
		for i := range 3 {
			if err := sc.engine.Track(context.Background(), event.Event{UserID: fmt.Sprintf("late-%d", i), Kind: event.EmailReceived, CampaignID: "newsletter"}); err != nil {
				t.Fatal(err)
			}
		}
		// The health page shows the figures of one read of the store for
		// 30 s on the engine's clock.
		sc.advance(t, 30*time.Second)
		stats, err := sc.engine.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
		defer cancel()
		expr := fmt.Sprintf(`window.notReloaded === true && document.querySelector('[data-stat="Pending"]').textContent.replace(/\s/g, '') === '%d'`, stats.Pending)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
			t.Errorf("the page did not show the new pending count %d in place: %v", stats.Pending, err)
		}
		b.clean("live refresh")
	})

	t.Run("actions stop, publish and archive through their forms", func(t *testing.T) {
		b.t = t
		state := func(id string) rule.State {
			rec, err := sc.engine.Campaign(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			return rec.State
		}
		b.navigate(base + "campaign?id=cart_reminder")
		b.click(`button[value="stop"]`)
		if got := eval[string](b, `document.querySelector('[data-state]').textContent`); got != "stopped" || state("cart_reminder") != rule.Stopped {
			t.Errorf("after Stop the page says %q and the engine %s", got, state("cart_reminder"))
		}
		if !eval[bool](b, `!!document.querySelector('.flash')`) {
			t.Error("no confirmation after Stop")
		}
		b.click(`button[value="publish"]`)
		if state("cart_reminder") != rule.Active {
			t.Errorf("after Publish the engine has cart_reminder %s", state("cart_reminder"))
		}
		b.navigate(base + "campaign?id=spring_survey")
		b.act("clicking Archive without the confirmation", `button[value="archive"]`, "e.click()")
		if state("spring_survey") != rule.Draft || b.location() != base+"campaign?id=spring_survey" {
			t.Errorf("Archive went through without its confirmation: %s at %s", state("spring_survey"), b.location())
		}
		b.click(`button[value="archive"]`, "e.form.elements.confirm.click()") // ticking the confirmation
		if state("spring_survey") != rule.Archived {
			t.Errorf("after a confirmed Archive the engine has spring_survey %s", state("spring_survey"))
		}
		shot("after-archive")
		b.clean("actions")
	})
}
