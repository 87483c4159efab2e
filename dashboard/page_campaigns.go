package dashboard

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/campaignconnector/campaignconnector/store"
)

// followUpsPage is how many follow-ups the campaigns page shows at once:
// each comes with a table of sparklines (about 40 KB of HTML when every
// figure moves), and the page reloads itself every few seconds.
const followUpsPage = 20

// campaignsBody is the campaigns page: the follow-ups with their figures
// over the last day and week, a page of them at a time in ID order, then
// every original.
type campaignsBody struct {
	FollowUps []followUpRow
	Originals []originalRow
	// Page says which follow-ups FollowUps holds.
	Page    followUpPaging
	Windows []window
	Longest window // the last of Windows
	Metrics []metric
	// TalliesNote and PendingNote say why figures are missing, if they are.
	TalliesNote string
	PendingNote string
	// PendingComplete is false when there were too many pending
	// deliveries to count them all: the counts are lower bounds.
	PendingComplete bool
}

// followUpPaging places a page of follow-ups among all of them.
type followUpPaging struct {
	First, Last, Total int64  // 1-based positions of the page's first and last; Total of them all
	After              string // the cursor the page was asked with ("": the first page)
	Next               string // the cursor of the next page; "" on the last
}

// followUpRow is one follow-up of the campaigns page.
type followUpRow struct {
	Rec       store.CampaignRecord
	Words     []string
	Pending   int64
	Warnings  int
	Summaries []summary // one per window of the page
	// Quiet is set when the campaign took no decision in any window: the
	// page says so instead of a table of zeros.
	Quiet bool
}

// originalRow is one original campaign and the follow-ups that name it.
type originalRow struct {
	Rec       store.CampaignRecord
	FollowUps []string
}

func (h *handler) campaignsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	recs, err := h.src.Campaigns(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	warnings, err := h.src.Check(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.src.Now()
	body := campaignsBody{Windows: []window{lastDay, lastWeek}, Longest: lastWeek, Metrics: campaignMetrics}
	since, until := lastWeek.bounds(now)
	tallies, err := h.src.Tallies(ctx, tallyQuery{Since: since, Until: until})
	if err != nil {
		body.TalliesNote = h.note(r, err)
	}
	grouped := byCampaign(tallies)
	counts, complete, err := pendingCounts(ctx, h.src, "")
	if err != nil {
		body.PendingNote = h.note(r, err)
	}
	body.PendingComplete = complete
	named := map[string][]string{}
	var followUps []store.CampaignRecord
	for _, rec := range recs {
		c := &rec.Campaign
		if !c.IsFollowUp() {
			body.Originals = append(body.Originals, originalRow{Rec: rec})
			continue
		}
		followUps = append(followUps, rec)
		for _, t := range c.Triggers {
			// A follow-up naming an original in several triggers is listed
			// once. The follow-ups come one after the other, so only the
			// last name of the list can be c's: looking at it alone keeps
			// the page linear in the follow-ups that name one original.
			if ids := named[t.CampaignID]; t.CampaignID != "" && (len(ids) == 0 || ids[len(ids)-1] != c.ID) {
				named[t.CampaignID] = append(ids, c.ID)
			}
		}
	}
	var shown []store.CampaignRecord
	shown, body.Page = pageOfFollowUps(followUps, r.URL.Query().Get("after"))
	for _, rec := range shown {
		c := &rec.Campaign
		row := followUpRow{Rec: rec, Words: rulesInWords(c, h.cfg.location), Pending: counts[c.ID]}
		row.Quiet = true
		for _, wn := range body.Windows {
			s := summarize(grouped[c.ID], campaignMetrics, wn, now)
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
	for i := range body.Originals {
		body.Originals[i].FollowUps = named[body.Originals[i].Rec.Campaign.ID]
	}
	h.render(w, r, http.StatusOK, "campaigns", page{Title: "Campaigns", Nav: "campaigns", Body: body})
}

// pageOfFollowUps returns the follow-ups (of all, in any order) that come
// after ID after in ID order, up to followUpsPage of them, and where they
// stand among all. A cursor naming no follow-up (one deleted since the
// link was made) still starts the page at the next ID.
func pageOfFollowUps(all []store.CampaignRecord, after string) ([]store.CampaignRecord, followUpPaging) {
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
	end := min(start+followUpsPage, len(all))
	p := followUpPaging{First: int64(start) + 1, Last: int64(end), Total: int64(len(all)), After: after}
	if end < len(all) {
		p.Next = all[end-1].Campaign.ID
	}
	return all[start:end], p
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
