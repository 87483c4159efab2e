package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// campaignBody is the page of one campaign.
type campaignBody struct {
	Rec      store.CampaignRecord
	FollowUp bool
	Words    []string
	Window   window
	Windows  []window
	// Day says which calendar day Window is, when it is one.
	Day      *dayShown
	Done     string // the action just carried out, if any
	Ops      []string
	Warnings []connector.Warning
	JSON     string

	// NamedBy lists the first namedPerOriginal follow-ups that trigger on
	// the campaign (an original, or a follow-up that others follow), in ID
	// order; NamedByMore counts the others, listed at NamedByURL.
	// NamedByNote says why there is no list: the campaigns could not be
	// read.
	NamedBy     []string
	NamedByMore int64
	NamedByURL  string
	NamedByNote string

	// Figures, when the store keeps tallies.
	TalliesNote string
	Funnel      []funnelStep
	// FunnelWords says what a funnel that sent nothing means.
	FunnelWords []string
	FunnelChart template.HTML
	// Control sets the conversions of the users sent it beside those of
	// the users held out in its control group; nil when it has none.
	Control    *control
	Kinds      []kindSeries
	KindsChart template.HTML
	// Days counts the decisions of the last calendar days in Zone, the
	// dashboard's time zone, newest first, under DayMetrics.
	Days       []dayRow
	DayMetrics []metric
	Zone       string

	PendingNote string
	Pending     pendingSlice
	// Waiting counts the campaign's pending deliveries now, whenever
	// scheduled: what left the funnel's Scheduled step by no other way
	// yet. WaitingComplete is false when it is a lower bound. WaitingNote
	// says why there is no count (the list may still be shown).
	Waiting         int64
	WaitingComplete bool
	WaitingNote     string
}

func (h *handler) campaignPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	id := q.Get("id")
	if id == "" {
		h.problem(w, http.StatusBadRequest, "Which campaign? The address needs ?id=.")
		return
	}
	if len(id) > maxUserID {
		// Longer than the campaign IDs events may name: not echoed back.
		h.problem(w, http.StatusBadRequest, "That campaign ID is longer than any the engine accepts.")
		return
	}
	win, err := rangeParam(r, lastWeek)
	if err != nil {
		h.problem(w, http.StatusBadRequest, err.Error())
		return
	}
	now := h.src.Now()
	day, shown, isDay, err := dayParam(q, now, h.cfg.location, tallyRetention(h.src))
	if err != nil {
		h.problem(w, http.StatusBadRequest, err.Error())
		return
	}
	if isDay {
		win = day // a day rather than a range, when the address has both
	}
	from, err := parseCursor(q.Get("after_due"), q.Get("after_id"))
	if err != nil {
		h.problem(w, http.StatusBadRequest, err.Error())
		return
	}
	rec, err := h.src.Campaign(ctx, id)
	if errors.Is(err, connector.ErrUnknownCampaign) {
		h.problem(w, http.StatusNotFound, fmt.Sprintf("No campaign %q.", id))
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	warnings, err := h.src.Check(ctx)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	def, err := json.MarshalIndent(rec.Campaign, "", "  ")
	if err != nil {
		h.fail(w, r, fmt.Errorf("dashboard: campaign %q as JSON: %w", id, err))
		return
	}
	body := campaignBody{
		Rec: rec, FollowUp: rec.Campaign.IsFollowUp(), Words: rulesInWords(&rec.Campaign, h.cfg.location), Window: win, Windows: windows,
		Done: doneNote(q.Get("done"), rec.State), JSON: string(def),
	}
	if note := partNote(q.Get("done"), q.Get("ref"), rec.State); note != "" {
		body.Done = note
	}
	if body.Done != "" && q.Get("done") == opPublish && rec.Activation > 1 {
		body.Done = resumedNote // a resume of a stopped campaign
	}
	if isDay {
		body.Day = &shown
	}
	if h.csrf != nil {
		body.Ops = allowedOps(rec.State)
	}
	for _, wg := range warnings {
		if wg.CampaignID == id {
			body.Warnings = append(body.Warnings, wg)
		}
	}
	if recs, err := h.src.Campaigns(ctx); err != nil {
		body.NamedByNote = h.note(r, err)
	} else {
		body.NamedBy = followUpsNaming(recs, id)
	}
	if n := len(body.NamedBy); n > namedPerOriginal {
		body.NamedBy, body.NamedByMore = body.NamedBy[:namedPerOriginal], int64(n-namedPerOriginal)
		body.NamedByURL = "./?" + url.Values{paramOriginal: {id}}.Encode()
	}
	if body.FollowUp {
		since, until := win.bounds(now)
		if isDay && shown.Gone != "" {
			since, until = lastDay.bounds(now) // no figures of the day to read
		}
		// One read for the window and the calendar days, which can begin
		// before it (yesterday in a zone behind UTC, a week of days) or
		// end after it (a day before today).
		if days := daysSince(now, h.cfg.location); days.Before(since) {
			since = days
		}
		if _, end := lastDay.bounds(now); end.After(until) {
			until = end
		}
		tallies, err := h.src.Tallies(ctx, tallyQuery{Since: since, Until: until, CampaignID: id})
		if err != nil {
			body.TalliesNote = h.note(r, err)
		} else if !isDay || shown.Gone == "" {
			s := summarize(tallies, funnelMetrics, win, now, actionsOf(&rec.Campaign))
			body.Funnel, body.Control = funnel(s), controlGroup(s, rec.Campaign.ControlPercent)
			body.FunnelChart = funnelChart(body.Funnel)
			body.Kinds = decisionsOverTime(tallies, win, now)
			body.FunnelWords = funnelWords(body.Funnel, body.Kinds, rec, win, now, keptSince(now, tallyRetention(h.src)), h.cfg.location)
			body.KindsChart = stackedChart(body.Kinds, win, h.cfg.location)
		}
		if err == nil {
			body.Days, body.DayMetrics, body.Zone = countByDay(tallies, now, h.cfg.location), dayMetrics, h.cfg.location.String()
		}
		switch body.Pending, err = pendingPageAt(ctx, h.src, id, from); {
		case err != nil:
			body.PendingNote = h.note(r, err)
		case from.ID == "" && body.Pending.Next.ID == "":
			// The first page holds them all: no need to count again.
			body.Waiting, body.WaitingComplete = int64(len(body.Pending.Claims)), true
		default:
			if body.Waiting, body.WaitingComplete, err = pendingCountOf(ctx, h.src, id); err != nil {
				body.WaitingNote = h.note(r, err) // the page read is listed all the same
			}
		}
		// The page may show deliveries waiting: it counts some, lists
		// some (a count that failed is 0 beside a page of them), or
		// could not list or count them.
		unknown := body.PendingNote != "" || body.WaitingNote != ""
		mayWait := body.Waiting > 0 || len(body.Pending.Claims) > 0 || unknown
		body.Done = listedNote(q.Get("done"), body.Done, mayWait)
		// What a stop or an archive cut short left: never sent, but
		// listed until each falls due, unless an operator cancels it now.
		// When the page could not list or count them, it offers the
		// cancellation all the same: with nothing left, it cancels
		// nothing.
		if h.csrf != nil && (body.Waiting > 0 || unknown) && (rec.State == rule.Stopped || rec.State == rule.Archived) {
			body.Ops = append(body.Ops, opCancelPending)
		}
	}
	h.render(w, r, http.StatusOK, "campaign", page{Title: "Campaign " + id, Nav: "campaigns", Body: body})
}

// rangeParam reads the window a page counts over from its range
// parameter, def when it has none.
func rangeParam(r *http.Request, def window) (window, error) {
	k := r.URL.Query().Get("range")
	if k == "" {
		return def, nil
	}
	if w, ok := windowByKey(k); ok {
		return w, nil
	}
	return window{}, fmt.Errorf("unknown range %q: use 24h, 7d or 30d", k)
}

// parseCursor reads the start of a page of pending deliveries from the
// query: after_due (RFC 3339) and after_id, both or neither.
func parseCursor(due, id string) (cursor, error) {
	if due == "" && id == "" {
		return cursor{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, due)
	if err != nil || id == "" {
		// The values are echoed clipped: an address is anyone's to write,
		// and a megabyte of it would come back in the answer.
		return cursor{}, fmt.Errorf("bad page of pending deliveries: after_due must be an RFC 3339 time and after_id set (got %q, %q)", clipText(due), clipText(id))
	}
	if len(id) > maxUserID {
		return cursor{}, errors.New("bad page of pending deliveries: after_id is longer than any delivery ID")
	}
	if err := event.CheckText(id); err != nil {
		return cursor{}, fmt.Errorf("bad page of pending deliveries: after_id %v", err)
	}
	return cursor{Due: t, ID: id}, nil
}

// DueParam writes the cursor's time for the next page's address.
func (c cursor) DueParam() string { return c.Due.UTC().Format(time.RFC3339Nano) }

// allowedOps are the actions the lifecycle allows from state s.
func allowedOps(s rule.State) []string {
	var ops []string
	if s.CanBecome(rule.Active) {
		ops = append(ops, opPublish)
	}
	if s.CanBecome(rule.Stopped) {
		ops = append(ops, opStop)
	}
	if s.CanBecome(rule.Archived) {
		ops = append(ops, opArchive)
	}
	return ops
}

// followUpsNaming returns the IDs of the follow-ups among recs that
// trigger on the campaign id, each once, sorted.
func followUpsNaming(recs []store.CampaignRecord, id string) []string {
	var out []string
	for _, rec := range recs {
		if slices.ContainsFunc(rec.Campaign.Triggers, func(t rule.Trigger) bool { return t.CampaignID == id }) {
			out = append(out, rec.Campaign.ID)
		}
	}
	slices.Sort(out)
	return out
}
