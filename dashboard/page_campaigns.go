package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// followUpsPage is how many follow-ups the campaigns page shows at once:
// each comes with a table of sparklines (about 40 KB of HTML when every
// figure moves), and the page reloads itself every few seconds.
const followUpsPage = 20

// originalsPage is how many originals the campaigns page lists at once,
// and namedPerOriginal how many of the follow-ups that name one its row
// links to: the rest are a link to the list of them all.
const (
	originalsPage    = 50
	namedPerOriginal = 10
)

// The campaigns page's parameters: the two lists' cursors, and the
// original whose follow-ups alone the page lists.
const (
	paramAfter          = "after"
	paramOriginalsAfter = "originals_after"
	paramOriginal       = "original"
)

// campaignsBody is the campaigns page: the follow-ups with their figures
// over the last day and week, a page of them at a time in ID order, then
// the originals, a page of them at a time in ID order too.
type campaignsBody struct {
	FollowUps []followUpRow
	Originals []originalRow
	// Page and OriginalsPage say which follow-ups FollowUps holds and
	// which originals Originals holds.
	Page          followUpPaging
	OriginalsPage followUpPaging
	// Of is the original whose follow-ups alone FollowUps lists; "" for all.
	Of      string
	Windows []window
	Longest window // the last of Windows
	Metrics []metric
	// TalliesNote and PendingNote say why figures are missing, if they are.
	TalliesNote string
	PendingNote string
	// PendingComplete is false when there were too many pending
	// deliveries to count them all: the counts of the rows whose
	// PendingLower is set are lower bounds, or, when the store cannot
	// count a follow-up's, every count is.
	PendingComplete bool
	// PendingPerRow is set when each row's count is its own, bounded by
	// countLimit, rather than its share of the first countLimit
	// deliveries of all.
	PendingPerRow bool
}

// followUpPaging places a page of follow-ups, or of originals, among all
// of them.
type followUpPaging struct {
	First, Last, Total int64  // 1-based positions of the page's first and last; Total of them all
	After              string // the cursor the page was asked with ("": the first page)
	Next               string // the cursor of the next page; "" on the last
	// FirstURL and NextURL are the addresses of the first and the next
	// page, with the page's other parameters (the other list's cursor).
	FirstURL, NextURL string
	Noun              string // what the list holds: "Follow-ups", "Originals"
	Anchor            string // the id of the list's heading, "" for none
}

// followUpRow is one follow-up of the campaigns page.
type followUpRow struct {
	Rec     store.CampaignRecord
	Words   []string
	Pending int64
	// PendingLower is set when Pending is a lower bound: the follow-up
	// has more than the page counts.
	PendingLower bool
	Warnings     int
	Summaries    []summary // one per window of the page
	// Quiet is set when the campaign took no decision in any window: the
	// page says so instead of a table of zeros.
	Quiet bool
}

// originalRow is one original campaign and the first namedPerOriginal
// follow-ups that name it.
type originalRow struct {
	Rec       store.CampaignRecord
	FollowUps []string
	More      int64  // how many more follow-ups name it
	AllURL    string // the campaigns page listing them all, when More > 0
}

func (h *handler) campaignsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	of := q.Get(paramOriginal)
	if len(of) > maxUserID {
		h.problem(w, http.StatusBadRequest, "That campaign ID is longer than any the engine accepts.")
		return
	}
	if err := event.CheckText(of); err != nil {
		// The page shows the original back: bytes no campaign ID can
		// hold name none, and are not written into the page.
		h.problem(w, http.StatusBadRequest, "That campaign ID "+err.Error()+": the engine accepts no such ID.")
		return
	}
	recs, err := h.src.Campaigns(ctx)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	warnings, err := h.src.Check(ctx)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	now := h.src.Now()
	body := campaignsBody{Of: of, Windows: []window{lastDay, lastWeek}, Longest: lastWeek, Metrics: campaignMetrics}
	named := map[string][]string{}
	var followUps, originals []store.CampaignRecord
	for _, rec := range recs {
		c := &rec.Campaign
		if !c.IsFollowUp() {
			originals = append(originals, rec)
			continue
		}
		naming := false
		for _, t := range c.Triggers {
			// A follow-up naming an original in several triggers is listed
			// once. The follow-ups come one after the other, so only the
			// last name of the list can be c's: looking at it alone keeps
			// the page linear in the follow-ups that name one original.
			if ids := named[t.CampaignID]; t.CampaignID != "" && (len(ids) == 0 || ids[len(ids)-1] != c.ID) {
				named[t.CampaignID] = append(ids, c.ID)
			}
			naming = naming || t.CampaignID == of
		}
		if of == "" || naming {
			followUps = append(followUps, rec)
		}
	}
	var shown, shownOriginals []store.CampaignRecord
	shown, body.Page = pageOf(followUps, q.Get(paramAfter), followUpsPage)
	body.Page.Noun = "Follow-ups"
	body.Page.FirstURL, body.Page.NextURL = pagerURLs(q, paramAfter, body.Page.Next)
	shownOriginals, body.OriginalsPage = pageOf(originals, q.Get(paramOriginalsAfter), originalsPage)
	body.OriginalsPage.Noun, body.OriginalsPage.Anchor = "Originals", "originals"
	body.OriginalsPage.FirstURL, body.OriginalsPage.NextURL = pagerURLs(q, paramOriginalsAfter, body.OriginalsPage.Next)
	for _, rec := range shownOriginals {
		row := originalRow{Rec: rec, FollowUps: named[rec.Campaign.ID]}
		if n := len(row.FollowUps); n > namedPerOriginal {
			row.FollowUps, row.More = row.FollowUps[:namedPerOriginal], int64(n-namedPerOriginal)
			row.AllURL = "?" + url.Values{paramOriginal: {rec.Campaign.ID}}.Encode()
		}
		body.Originals = append(body.Originals, row)
	}
	grouped, err := h.shownTallies(r, shown, now)
	if err != nil {
		body.TalliesNote = h.note(r, err)
	}
	ids := make([]string, len(shown))
	for i, rec := range shown {
		ids[i] = rec.Campaign.ID
	}
	counts, lower, complete, err := shownPendingCounts(ctx, h.src, ids)
	if err != nil {
		body.PendingNote = h.note(r, err)
	}
	body.PendingComplete, body.PendingPerRow = complete, lower != nil
	for _, rec := range shown {
		c := &rec.Campaign
		row := followUpRow{Rec: rec, Words: rulesInWords(c, h.cfg.location), Pending: counts[c.ID],
			PendingLower: lower[c.ID] || lower == nil && !complete}
		row.Quiet = true
		acts := actionsOf(c)
		for _, wn := range body.Windows {
			s := summarize(grouped[c.ID], campaignMetrics, wn, now, acts)
			row.Summaries = append(row.Summaries, s)
			for _, f := range s.Figures {
				row.Quiet = row.Quiet && f.Total() == 0
			}
		}
		for _, wg := range warnings {
			if wg.CampaignID == c.ID {
				row.Warnings++
			}
		}
		body.FollowUps = append(body.FollowUps, row)
	}
	h.render(w, r, http.StatusOK, "campaigns", page{Title: "Campaigns", Nav: "campaigns", Body: body})
}

// shownTallies returns the tallies of the last week of the follow-ups
// shown, by campaign. It asks the store for theirs only (the page reloads
// itself every few seconds: a week of every campaign's tallies is
// hundreds of thousands), and keeps theirs only too, for a store that
// ignores [store.TallyQuery.CampaignIDs]. With none shown, it asks
// nothing: an empty list would select every campaign.
func (h *handler) shownTallies(r *http.Request, shown []store.CampaignRecord, now time.Time) (map[string][]tally, error) {
	if len(shown) == 0 {
		return nil, nil
	}
	ids := make([]string, len(shown))
	for i, rec := range shown {
		ids[i] = rec.Campaign.ID
	}
	since, until := lastWeek.bounds(now)
	tallies, err := h.src.Tallies(r.Context(), tallyQuery{Since: since, Until: until, CampaignIDs: ids})
	return byCampaign(tallies, shown), err
}

// pageOf returns the campaigns (of all, in any order) that come after ID
// after in ID order, up to size of them, and where they stand among all.
// A cursor naming no campaign (one deleted since the link was made) still
// starts the page at the next ID.
func pageOf(all []store.CampaignRecord, after string, size int) ([]store.CampaignRecord, followUpPaging) {
	all = slices.Clone(all)
	slices.SortFunc(all, func(a, b store.CampaignRecord) int { return strings.Compare(a.Campaign.ID, b.Campaign.ID) })
	start := 0
	if after != "" {
		start, _ = slices.BinarySearchFunc(all, after, func(r store.CampaignRecord, id string) int {
			return strings.Compare(r.Campaign.ID, id)
		})
		if start < len(all) && all[start].Campaign.ID == after {
			start++
		}
	}
	end := min(start+size, len(all))
	p := followUpPaging{First: int64(start) + 1, Last: int64(end), Total: int64(len(all)), After: after}
	if end < len(all) {
		p.Next = all[end-1].Campaign.ID
	}
	return all[start:end], p
}

// pagerURLs returns the addresses of the first and the next page of the
// list whose cursor is param, keeping the page's other parameters: the
// other list stays where it is. next is the next page's cursor, "" for
// none.
func pagerURLs(q url.Values, param, next string) (first, nextURL string) {
	keep := url.Values{}
	for _, k := range []string{paramOriginal, paramAfter, paramOriginalsAfter} {
		if v := q.Get(k); v != "" && k != param {
			keep.Set(k, v)
		}
	}
	first = "./"
	if len(keep) > 0 {
		first = "?" + keep.Encode()
	}
	if next != "" {
		keep.Set(param, next)
		nextURL = "?" + keep.Encode()
	}
	return first, nextURL
}

// note turns the error of an optional part of a page into the notice shown
// in its place: the store lacking the feature is said plainly, any other
// failure is logged too.
func (h *handler) note(r *http.Request, err error) string {
	switch {
	case errors.Is(err, errNoTallies):
		return "the engine's store keeps no decision tallies (it does not implement store.Tallier, as the memory, SQLite and PostgreSQL stores do)."
	case errors.Is(err, errNoPendingList):
		return "the engine's store cannot list pending deliveries (it does not implement store.PendingLister, as the memory, SQLite and PostgreSQL stores do)."
	}
	return h.logFailure(r, err)
}
